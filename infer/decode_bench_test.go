package infer

import (
	"fmt"
	"os"
	"testing"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/model"
)

// BenchmarkDecode generates 32 tokens after an 8-token prompt with a
// freshly initialised GPT-2 (4 layers, C 256, V 8192: 11 MB of weights,
// small enough for a unit benchmark) with float32 and then bfloat16 weights; ns/op is per
// generation, tokens/s is reported.
func BenchmarkDecode(b *testing.B) {
	m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 4, Heads: 4, Hidden: 256, Vocab: 8192, Context: 128, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		dt   model.DType
	}{{"f32", model.F32}, {"bf16", model.BF16}} {
		b.Run(c.name, func(b *testing.B) {
			if c.dt == model.BF16 {
				if err := model.ToBF16(m); err != nil {
					b.Fatal(err)
				}
			}
			lm, err := NewLM(m)
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

// BenchmarkDecodeRows decodes 16 tokens for 1, 4 and 16 rows at once
// (what a Batcher's shared step does) with ATTN_BENCH_MODEL's checkpoint,
// else the 11 MB GPT-2 of BenchmarkDecode; tokens/s counts every row's.
//
//	ATTN_BENCH_MODEL=/tmp/gpt2s go test -run - -bench DecodeRows ./infer/
func BenchmarkDecodeRows(b *testing.B) {
	var m model.Model
	var err error
	if dir := os.Getenv("ATTN_BENCH_MODEL"); dir != "" {
		m, err = model.Load(dir)
	} else {
		m, err = model.Init(model.InitOptions{Arch: "gpt2", Layers: 4, Heads: 4, Hidden: 256, Vocab: 8192, Context: 128, Seed: 1})
	}
	if err != nil {
		b.Fatal(err)
	}
	for _, rows := range []int{1, 4, 16} {
		b.Run(fmt.Sprint(rows), func(b *testing.B) {
			lm, err := NewLM(m)
			if err != nil {
				b.Fatal(err)
			}
			prompts := make([][]int, rows)
			for i := range prompts {
				prompts[i] = []int{1, 2, 3, 4, 5, 6, 7, 8}
			}
			cfg := generate.Greedy(16, nil)
			var tps float64
			for b.Loop() {
				res, err := generate.Generate(lm, prompts, cfg, nil)
				if err != nil {
					b.Fatal(err)
				}
				tps += res.TokensPerSecond()
			}
			b.ReportMetric(tps/float64(b.N), "tokens/s")
		})
	}
}
