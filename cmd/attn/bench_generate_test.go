package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchGenerate runs `attn bench generate --json` on a decoder-only
// model and both encoder-decoders: one JSON object with every field and
// positive speeds.
func TestBenchGenerate(t *testing.T) {
	for _, tc := range []struct {
		name, dir, arch string
		extra           []string
	}{
		{"gpt2", "../../testdata/generate/tiny-random-gpt2", "GPT2LMHeadModel", nil},
		{"gpt2 bf16", "../../testdata/generate/tiny-random-gpt2", "GPT2LMHeadModel", []string{"--dtype", "bf16"}},
		{"marian", "../../testdata/models/marian", "MarianMTModel", nil},
		{"bart", "../../testdata/models/bart", "BartForConditionalGeneration", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"bench", "generate", "--model", tc.dir, "--prompt-len", "12", "--new", "5", "--runs", "2", "--json"}, tc.extra...)
			out := strings.TrimSpace(runAttn(t, "", args...))
			if strings.Contains(out, "\n") {
				t.Fatalf("want one JSON line, got %q", out)
			}
			var r struct {
				Model, Name, Architecture, DType string
				PromptLen                        int `json:"prompt_len"`
				New, Runs, Threads               int
				Prefill                          float64 `json:"prefill_tokens_per_second"`
				Decode                           float64 `json:"tokens_per_second"`
				Cold                             float64 `json:"cold_prefill_tokens_per_second"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%q: %v", out, err)
			}
			want := "f32"
			if len(tc.extra) > 0 {
				want = "bf16"
			}
			if r.Model != tc.dir || r.Name != "generate" || r.Architecture != tc.arch || r.PromptLen != 12 || r.New != 5 || r.Runs != 2 || r.DType != want || r.Threads < 1 {
				t.Errorf("fields of %s", out)
			}
			if !(r.Prefill > 0) || !(r.Decode > 0) || !(r.Cold > 0) {
				t.Errorf("speeds of %s", out)
			}
		})
	}
}
