package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/safetensors"
	"github.com/spf13/cobra"
)

func init() {
	var dir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show [--model] DIR | FILE.safetensors",
		Short: "Describe a checkpoint (architecture, sizes, parameters, dtype, file size) or list a file's tensors",
		Long: `show describes the model in a checkpoint directory: architecture, layers,
heads, sizes, parameter count, stored dtypes and file size. Given a
.safetensors file (or a sharded index .json) it lists the file's tensors
instead: name, dtype and shape, and the metadata.`,
		Example: `  attn show --model testdata/models/gpt2
  attn show testdata/models/gpt2/model.safetensors
  attn show --json testdata/models/bert-mlm`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if dir != "" {
					return fmt.Errorf("give the checkpoint once: --model %s or %s", dir, args[0])
				}
				dir = args[0]
			}
			if dir == "" {
				return fmt.Errorf("show needs a checkpoint: attn show DIR (or a .safetensors file)")
			}
			if st, err := os.Stat(dir); err == nil && !st.IsDir() {
				return showFile(cmd, dir, asJSON)
			}
			m, err := model.Load(dir)
			if err != nil {
				return err
			}
			defer m.Close()
			info := m.Info()
			if asJSON {
				return printJSON(cmd, info)
			}
			var dts []string
			for d, n := range info.DTypes {
				dts = append(dts, fmt.Sprintf("%s (%d)", d, n))
			}
			sort.Strings(dts)
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			row := func(k string, v any) { fmt.Fprintf(w, "%s\t%v\n", k, v) }
			row("architecture", info.Architecture+" ("+info.ModelType+")")
			if info.DecoderLayers > 0 {
				row("layers", fmt.Sprintf("encoder %d, decoder %d", info.Layers, info.DecoderLayers))
				row("heads", fmt.Sprintf("encoder %d, decoder %d", info.Heads, info.DecoderHeads))
			} else {
				row("layers", info.Layers)
				row("heads", info.Heads)
			}
			row("hidden size", info.Hidden)
			row("feed-forward", info.FFN)
			row("context", info.Context)
			if info.Vocab > 0 {
				row("vocabulary", info.Vocab)
			}
			row("parameters", fmt.Sprintf("%d (%s)", info.Params, humanCount(info.Params)))
			row("dtype", strings.Join(dts, ", "))
			row("file size", fmt.Sprintf("%d bytes (%s)", info.FileBytes, humanBytes(info.FileBytes)))
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&dir, "model", "", "checkpoint directory (config.json + model.safetensors)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the description as JSON")
	rootCmd.AddCommand(cmd)
}

// showFile lists the tensors of a safetensors file (or a sharded index).
func showFile(cmd *cobra.Command, path string, asJSON bool) error {
	var src safetensors.Source
	var err error
	if strings.HasSuffix(path, ".json") {
		src, err = safetensors.OpenSharded(path)
	} else {
		src, err = safetensors.Open(path)
	}
	if err != nil {
		return err
	}
	defer src.Close()
	type row struct {
		Name  string `json:"name"`
		DType string `json:"dtype"`
		Shape []int  `json:"shape"`
	}
	names := src.Names()
	sort.Strings(names)
	rows := make([]row, 0, len(names))
	var params int64
	for _, n := range names {
		ti, _ := src.Info(n)
		rows = append(rows, row{n, string(ti.DType), ti.Shape})
		params += ti.NumElements()
	}
	if asJSON {
		return printJSON(cmd, map[string]any{"file": path, "tensors": rows, "metadata": src.Metadata(), "params": params})
	}
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "tensor\tdtype\tshape\n")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%v\n", r.Name, r.DType, r.Shape)
	}
	fmt.Fprintf(w, "\n%d tensors, %d parameters (%s)\n", len(rows), params, humanCount(params))
	if md := src.Metadata(); len(md) > 0 {
		keys := make([]string, 0, len(md))
		for k := range md {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "metadata %s\t%s\n", k, md[k])
		}
	}
	return w.Flush()
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
