package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/attn-dev/attn/autograd"
)

// realDir returns the directory of a real Hugging Face checkpoint: the
// copy committed under testdata/models/real (GPT-2, BartForCausalLM), else
// ../shared/data (absent on CI: the test skips).
func realDir(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range []string{filepath.Join("..", "testdata", "models", "real", name), filepath.Join("..", "..", "shared", "data", name)} {
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
			return dir
		}
	}
	t.Skipf("checkpoint %s not present", name)
	return ""
}

// TestRealCheckpoints runs the real checkpoints of ../shared/data against
// the references in testdata/models/real (their logits are checked where
// the reference has them; BERT's [2, 6, 30522] logits are not committed).
func TestRealCheckpoints(t *testing.T) {
	for _, name := range []string{"tiny-random-gpt2", "bert-tiniest-lmbuddy", "tiny-random-BartForCausalLM"} {
		t.Run(name, func(t *testing.T) {
			m, err := Load(realDir(t, name))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			ref := filepath.Join("..", "testdata", "models", "real", name)
			out, err := m.Forward(autograd.NewGraph(false), openInputs(t, filepath.Join(ref, "inputs.safetensors")), allOutputs)
			if err != nil {
				t.Fatal(err)
			}
			compareOutputs(t, filepath.Join(ref, "outputs.safetensors"), out, false)
		})
	}
}

// decoderModel is what greedy decoding with a cache needs.
type decoderModel interface {
	Model
	NewCache(b, maxT int) (*Cache, error)
}

// greedy decodes n tokens after prompt with a KV cache (one prefill call,
// then one call per token, each computing the last position's logits
// only) and checks every step's logits against a full forward over the
// whole sequence so far. enc is nil for decoder-only models.
func greedy(t *testing.T, m decoderModel, enc *Inputs, prompt []int, n int) []int {
	t.Helper()
	cache, err := m.NewCache(1, len(prompt)+n)
	if err != nil {
		t.Fatal(err)
	}
	g := autograd.NewGraph(false)
	var encoded *Encoded
	if enc != nil {
		if encoded, _, err = m.(*Seq2Seq).Encode(g, enc, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	seq := slices.Clone(prompt)
	var got []int
	step := prompt
	for len(got) < n {
		g.Reset()
		in := &Inputs{B: 1, T: len(step), InputIDs: step}
		full := &Inputs{B: 1, T: len(seq), InputIDs: seq}
		if enc != nil {
			in = &Inputs{B: 1, TDec: len(step), DecoderInputIDs: step}
			full = &Inputs{B: 1, T: enc.T, InputIDs: enc.InputIDs, TDec: len(seq), DecoderInputIDs: seq}
		}
		out, err := m.Forward(g, in, Options{Cache: cache, Encoder: encoded, LastLogits: true})
		if err != nil {
			t.Fatal(err)
		}
		logits := out.Get("logits").Contiguous().Data()
		ref, err := m.Forward(autograd.NewGraph(false), full, Options{})
		if err != nil {
			t.Fatal(err)
		}
		rl := ref.Get("logits").Contiguous().Data()
		rl = rl[len(rl)-len(logits):]
		for i := range logits {
			if d := math.Abs(float64(logits[i] - rl[i])); d > 1e-4+1e-4*math.Abs(float64(rl[i])) {
				t.Fatalf("step %d: cached logit %d = %g, full forward %g", len(got), i, logits[i], rl[i])
			}
		}
		next := argmax(logits)
		got = append(got, next)
		seq = append(seq, next)
		step = []int{next}
	}
	if cache.Len() != len(seq)-1 {
		t.Errorf("cache holds %d positions, want %d", cache.Len(), len(seq)-1)
	}
	return got
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// TestGreedyWithCache reproduces the greedy references (full forward per
// step in PyTorch) by incremental decoding with a KV cache.
func TestGreedyWithCache(t *testing.T) {
	type gen struct {
		PromptIDs    []int `json:"prompt_ids"`
		InputIDs     []int `json:"input_ids"`
		Start        int   `json:"decoder_start_token_id"`
		MaxNewTokens int   `json:"max_new_tokens"`
		IDs          []int `json:"ids"`
	}
	for _, name := range []string{"gpt2", "marian", "bart"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "models", name)
			data, err := os.ReadFile(filepath.Join(dir, "generation.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want gen
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			var enc *Inputs
			prompt := want.PromptIDs
			if want.InputIDs != nil {
				enc = &Inputs{B: 1, T: len(want.InputIDs), InputIDs: want.InputIDs}
				prompt = []int{want.Start}
			}
			got := greedy(t, m.(decoderModel), enc, prompt, want.MaxNewTokens)
			if !slices.Equal(got, want.IDs) {
				t.Errorf("greedy ids %v, want %v", got, want.IDs)
			}
		})
	}
	// The upstream results for the real tiny-random-gpt2 (onnxruntime-genai's tests).
	m, err := Load(realDir(t, "tiny-random-gpt2"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, tc := range []struct{ prompt, want []int }{
		{[]int{0, 0, 0, 52}, []int{204, 204, 204, 204, 204, 204}},
		{[]int{0, 0, 195, 731}, []int{731, 114, 114, 114, 114, 114}},
	} {
		if got := greedy(t, m.(decoderModel), nil, tc.prompt, 6); !slices.Equal(got, tc.want) {
			t.Errorf("tiny-random-gpt2 %v: greedy %v, want %v", tc.prompt, got, tc.want)
		}
	}
}
