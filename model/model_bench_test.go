package model

import (
	"testing"

	"github.com/attn-dev/attn/autograd"
)

// benchForward times one forward of a freshly initialised model of the
// given shape on 1×t tokens (head outputs only, weights packed after a
// warm-up forward, as tools/bench/forward.sh).
func benchForward(b *testing.B, o InitOptions, t int) {
	m, err := Init(o)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int, t)
	for i := range ids {
		ids[i] = (i * 7919) % o.Vocab
	}
	in := &Inputs{B: 1, T: t, InputIDs: ids}
	g := autograd.NewGraph(false)
	PackLinearWeights(m, true) // as RunFile for repeated forwards
	if _, err := m.Forward(g, in, Options{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g.Reset()
		if _, err := m.Forward(g, in, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(t*b.N)/b.Elapsed().Seconds(), "tok/s")
}

func BenchmarkForwardBERTBase128(b *testing.B) {
	benchForward(b, InitOptions{Arch: "bert", Layers: 12, Heads: 12, Hidden: 768, FFN: 3072, Vocab: 30522, Context: 512}, 128)
}

func BenchmarkForwardGPT2Small512(b *testing.B) {
	benchForward(b, InitOptions{Arch: "gpt2", Layers: 12, Heads: 12, Hidden: 768, Vocab: 50257, Context: 1024}, 512)
}

// BenchmarkDecodeGPT2Small is one cached decode step at position 128.
func BenchmarkDecodeGPT2Small(b *testing.B) {
	m, err := Init(InitOptions{Arch: "gpt2", Layers: 12, Heads: 12, Hidden: 768, Vocab: 50257, Context: 1024})
	if err != nil {
		b.Fatal(err)
	}
	gm := m.(*GPT2)
	cache, err := gm.NewCache(1, 1024)
	if err != nil {
		b.Fatal(err)
	}
	g := autograd.NewGraph(false)
	prompt := make([]int, 128)
	if _, err := gm.Forward(g, &Inputs{B: 1, T: 128, InputIDs: prompt}, Options{Cache: cache, LastLogits: true}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g.Reset()
		if _, err := gm.Forward(g, &Inputs{B: 1, T: 1, InputIDs: []int{1}}, Options{Cache: cache, LastLogits: true}); err != nil {
			b.Fatal(err)
		}
		for _, kv := range cache.Self {
			kv.Len-- // stay at position 128
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}
