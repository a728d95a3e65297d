package infer

import (
	"testing"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/model"
)

// BenchmarkDecode generates 32 tokens after an 8-token prompt with a
// freshly initialised GPT-2 (4 layers, C 256, V 8192: 11 MB of weights,
// small enough for a unit benchmark) through the fused float32 and
// bfloat16 steps and through the generic model forward; ns/op is per
// generation, tokens/s is reported.
func BenchmarkDecode(b *testing.B) {
	m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 4, Heads: 4, Hidden: 256, Vocab: 8192, Context: 128, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		o    LMOptions
	}{{"fused-f32", LMOptions{}}, {"fused-bf16", LMOptions{BF16: true}}, {"reference", LMOptions{Reference: true}}} {
		b.Run(c.name, func(b *testing.B) {
			lm, err := NewLMWith(m, c.o)
			if err != nil {
				b.Fatal(err)
			}
			cfg := generate.Greedy(32, nil)
			var tps float64
			for b.Loop() {
				res, err := generate.Generate(lm, [][]int{{1, 2, 3, 4, 5, 6, 7, 8}}, cfg, nil)
				if err != nil {
					b.Fatal(err)
				}
				tps += res.TokensPerSecond()
			}
			b.ReportMetric(tps/float64(b.N), "tokens/s")
		})
	}
}
