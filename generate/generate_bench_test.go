package generate

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkGreedyLoop is the decoding loop's own cost per generated token
// (processors, argmax, bookkeeping) over a fake model whose logits cost
// little: the overhead a real model's step pays on top.
func BenchmarkGreedyLoop(b *testing.B) {
	f := &fakeLM{v: 1000}
	cfg := Greedy(64, nil)
	cfg.RepetitionPenalty, cfg.NoRepeatNGramSize = 1.2, 3
	for b.Loop() {
		if _, err := Generate(f, [][]int{{1, 2, 3, 4}}, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBeamSearch decodes 4 beams × 16 tokens over a fake model.
func BenchmarkBeamSearch(b *testing.B) {
	f := &fakeLM{v: 1000}
	cfg := DefaultConfig()
	cfg.NumBeams, cfg.MaxNewTokens, cfg.EOSTokenIDs = 4, 16, []int{7}
	for b.Loop() {
		if _, err := Generate(f, [][]int{{1, 2, 3}}, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWarpers is temperature, top-k 50 and top-p 0.9 on one row of
// GPT-2's 50257 logits (the per-token cost of sampling).
func BenchmarkWarpers(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, 50257)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 3)
	}
	cfg := DefaultConfig()
	cfg.DoSample, cfg.Temperature, cfg.TopK, cfg.TopP = true, 0.8, 50, 0.9
	w := newWarper(&cfg, len(logits))
	s := make([]float32, len(logits))
	for b.Loop() {
		copy(s, logits)
		w.apply(s)
		draw(rng, s, w.probs)
	}
}
