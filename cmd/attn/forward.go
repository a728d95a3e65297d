package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/attn-dev/attn/model"
	"github.com/spf13/cobra"
)

func init() {
	var dir, inputs, out string
	var dtype dtypeFlag
	var hidden, attentions bool
	var repeat int
	cmd := &cobra.Command{
		Use:   "forward --model DIR --inputs IN.safetensors --out OUT.safetensors",
		Short: "Run a model's forward pass on tensors from a safetensors file",
		Long: `forward loads the Hugging Face checkpoint in DIR (config.json +
model.safetensors) and runs its forward on the inputs in IN, named as
transformers' keyword arguments: input_ids, attention_mask (1 real, 0 pad;
absent = all ones), token_type_ids, position_ids, decoder_input_ids,
decoder_attention_mask (integers, [B,T]) and pixel_values (F32 [B,C,H,W]).

OUT receives F32 tensors named as transformers' output fields: logits,
last_hidden_state, pooler_output, hidden_states.N (N = 0..L), attentions.N
([B,heads,Tq,Tk], post-softmax); for encoder-decoders
encoder_last_hidden_state, encoder_hidden_states.N, encoder_attentions.N,
decoder_hidden_states.N, decoder_attentions.N, cross_attentions.N.

With --repeat N it runs the forward N times and prints one JSON line with
the median time (forward only) and the resident memory after loading.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := intRange("repeat", repeat, 1, maxRuns); err != nil {
				return err
			}
			if dir == "" || inputs == "" || (out == "" && repeat <= 1) {
				return fmt.Errorf("forward needs --model, --inputs and --out")
			}
			t0 := time.Now()
			opts, err := dtype.options()
			if err != nil {
				return err
			}
			m, err := model.Load(dir, opts...)
			if err != nil {
				return err
			}
			defer m.Close()
			rss := residentBytes()
			info := m.Info()
			slog.Info("loaded", "model", dir, "architecture", info.Architecture, "seconds", time.Since(t0).Seconds(), "rss", rss, "file_bytes", info.FileBytes)
			st, err := model.RunFile(m, inputs, out, model.Options{HiddenStates: hidden, Attentions: attentions}, repeat)
			if err != nil {
				return err
			}
			if repeat <= 1 {
				return nil
			}
			s := append([]float64(nil), st.Seconds...)
			sort.Float64s(s)
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{
				"name": "forward", "architecture": info.Architecture, "threads": runtime.GOMAXPROCS(0),
				"seconds": s[len(s)/2], "min_seconds": s[0], "runs": len(s),
				"rss_after_load": rss, "file_bytes": info.FileBytes,
			})
		},
	}
	f := cmd.Flags()
	dtype.register(f)
	f.StringVar(&dir, "model", "", "checkpoint directory (config.json + model.safetensors)")
	f.StringVar(&inputs, "inputs", "", "safetensors file of input tensors")
	f.StringVar(&out, "out", "", "safetensors file to write the outputs to")
	f.BoolVar(&hidden, "hidden-states", true, "write hidden_states.N (output_hidden_states)")
	f.BoolVar(&attentions, "attentions", true, "write attentions.N (output_attentions; slower: the probabilities are materialised)")
	f.IntVar(&repeat, "repeat", 1, "run the forward this many times and print timing JSON")
	rootCmd.AddCommand(cmd)
}

// residentBytes is the process's resident set size (VmRSS), 0 where
// /proc is unavailable.
func residentBytes() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
