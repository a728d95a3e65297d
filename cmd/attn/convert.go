package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/torchfile"
)

func init() {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "convert IN OUT",
		Short: "Convert a PyTorch checkpoint (pytorch_model.bin) to safetensors, without running it",
		Long: `convert reads a checkpoint written by torch.save (a state dict) and writes its
tensors, dtypes unchanged, to a safetensors file. Nothing in the pickle is run:
only tensors, their storages and OrderedDict are understood, and a file that
names anything else (os.system, eval, ...) is refused.

IN may be a directory holding pytorch_model.bin; OUT may be a directory, which
receives model.safetensors. OUT is replaced atomically.`,
		Example: `  attn convert testdata/torchfile/gpt2/pytorch_model.bin /tmp/model.safetensors
  attn convert testdata/torchfile/gpt2 /tmp        # a directory: pytorch_model.bin -> /tmp/model.safetensors
  attn convert testdata/torchfile/mixed.bin /tmp/mixed.safetensors --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, out := args[0], args[1]
			if st, err := os.Stat(in); err == nil && st.IsDir() {
				in = filepath.Join(in, "pytorch_model.bin")
			}
			if st, err := os.Stat(out); err == nil && st.IsDir() {
				out = filepath.Join(out, "model.safetensors")
			}
			if err := torchfile.Convert(in, out); err != nil {
				return err
			}
			return reportConvert(cmd, out, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"out", "tensors", "bytes", "dtypes"} as JSON`)
	rootCmd.AddCommand(cmd)
}

// reportConvert prints what the converted file at path holds.
func reportConvert(cmd *cobra.Command, path string, asJSON bool) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dtypes := map[string]int{}
	for _, n := range f.Names() {
		info, _ := f.Info(n)
		dtypes[string(info.DType)]++
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{
			"out": path, "tensors": len(f.Names()), "bytes": st.Size(), "dtypes": dtypes,
		})
	}
	var parts []string
	for d, n := range dtypes {
		parts = append(parts, fmt.Sprintf("%d %s", n, d))
	}
	sort.Strings(parts)
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d tensors (%s), %s\n", path, len(f.Names()), strings.Join(parts, ", "), humanBytes(st.Size()))
	return nil
}
