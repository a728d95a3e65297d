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
	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/tokenizer"
	"github.com/spf13/cobra"
)

func init() {
	var dir, inputs, out, text string
	var dtype dtypeFlag
	var hidden, attentions bool
	var repeat int
	cmd := &cobra.Command{
		Use: "forward [--model NAME|DIR] (--inputs IN.safetensors | --text TEXT) --out OUT.safetensors",
		Example: `  attn forward --model testdata/models/gpt2 --inputs testdata/models/gpt2/inputs.safetensors --out /tmp/out.safetensors
  attn forward --text "To be, or not to be" --out /tmp/out.safetensors --hidden-states --attentions
  attn show /tmp/out.safetensors`,
		Short: "Run a model's forward pass on tensors from a safetensors file",
		Long: `forward loads the Hugging Face checkpoint in DIR (config.json +
model.safetensors) and runs its forward on the inputs in IN, named as
transformers' keyword arguments: input_ids, attention_mask (1 real, 0 pad;
absent = all ones), token_type_ids, position_ids, decoder_input_ids,
decoder_attention_mask (integers, [B,T]) and pixel_values (F32 [B,C,H,W]).
--text TEXT instead tokenizes TEXT with the model's tokenizer (special
tokens added) into input_ids [1,T].

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
			if (inputs == "") == (text == "") {
				return fmt.Errorf("forward needs exactly one of --inputs and --text")
			}
			if dir == "" || (out == "" && repeat <= 1) {
				return fmt.Errorf("forward needs --model and --out")
			}
			if text != "" {
				var err error
				if inputs, err = textInputs(dir, text); err != nil {
					return err
				}
				defer os.Remove(inputs)
			}
			t0 := time.Now()
			m, err := dtype.loadModel(dir)
			if err != nil {
				return err
			}
			defer m.Close()
			rss := residentBytes()
			info := m.Info()
			slog.Info("loaded", "model", dir, "architecture", info.Architecture, "seconds", time.Since(t0).Seconds(), "rss", rss, "file_bytes", info.FileBytes)
			var st *model.ForwardStats
			if err := slowStep(cmd, "running the forward pass", func() (err error) {
				st, err = model.RunFile(m, inputs, out, model.Options{HiddenStates: hidden, Attentions: attentions}, repeat)
				return err
			}); err != nil {
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
	f.StringVar(&text, "text", "", "text to tokenize into input_ids instead of --inputs")
	f.StringVar(&out, "out", "", "safetensors file to write the outputs to")
	f.BoolVar(&hidden, "hidden-states", true, "write hidden_states.N (output_hidden_states; --hidden-states=false to skip)")
	f.BoolVar(&attentions, "attentions", true, "write attentions.N (output_attentions; slower: the probabilities are materialised; --attentions=false to skip)")
	f.IntVar(&repeat, "repeat", 1, "run the forward this many times and print timing JSON")
	rootCmd.AddCommand(cmd)
}

// textInputs tokenizes text with the tokenizer in dir (special tokens
// added) and writes it as input_ids [1,T] to a temporary safetensors file,
// whose path it returns.
func textInputs(dir, text string) (string, error) {
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return "", fmt.Errorf("--text needs the model's tokenizer: %w", err)
	}
	ids, err := tok.Encode(text, true)
	if err != nil {
		return "", fmt.Errorf("--text: %w", err)
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("--text %q has no tokens", text)
	}
	ids64 := make([]int64, len(ids))
	for i, id := range ids {
		ids64[i] = int64(id)
	}
	f, err := os.CreateTemp("", "attn-forward-*.safetensors")
	if err != nil {
		return "", err
	}
	f.Close()
	if err := safetensors.Write(f.Name(), []safetensors.Tensor{safetensors.I64("input_ids", []int{1, len(ids)}, ids64)}, nil); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
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
