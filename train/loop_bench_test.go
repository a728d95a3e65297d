package train

import (
	"math/rand/v2"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
)

// BenchmarkShakespeareCharStep is one iteration of the shakespeare-char
// recipe (GPT 4 layers × 4 heads × 128, vocabulary 65, 12 windows of 64
// tokens, dropout 0 as the recipe): forward, backward, clipping and the
// AdamW update.
func BenchmarkShakespeareCharStep(b *testing.B) {
	noDropout := 0.0
	m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 4, Heads: 4, Hidden: 128, Vocab: 65, Context: 64, Seed: 1, Dropout: &noDropout})
	if err != nil {
		b.Fatal(err)
	}
	data := make([]int32, 10000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = int32(rng.IntN(65))
	}
	const bs, t = 12, 64
	ids, targets := make([]int, bs*t), make([]int, bs*t)
	benchStep(b, m, func(g *autograd.Graph) (*autograd.Var, error) {
		Batch(rng, data, bs, t, ids, targets)
		l, _, err := LogitsLoss(g, m, &model.Inputs{B: bs, T: t, InputIDs: ids}, targets)
		return l, err
	})
}

// BenchmarkMaskedLMStep is one masked-LM iteration of a small BERT on
// BERT's WordPiece vocabulary (1 layer × 2 heads × 64, vocabulary 30522,
// 64 windows of 64 tokens, 15% of positions scored): forward, backward,
// clipping and AdamW. The head over the vocabulary is most of the work.
func BenchmarkMaskedLMStep(b *testing.B) {
	m, err := model.Init(model.InitOptions{Arch: "bert", Head: "BertForMaskedLM", Layers: 1, Heads: 2, Hidden: 64, Vocab: 30522, Context: 64, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	const bs, t = 64, 64
	rng := rand.New(rand.NewPCG(1, 2))
	ids, labels := make([]int, bs*t), make([]int, bs*t)
	benchStep(b, m, func(g *autograd.Graph) (*autograd.Var, error) {
		for i := range ids {
			ids[i], labels[i] = 1000+rng.IntN(29000), IgnoreIndex
			if rng.Float64() < 0.15 {
				labels[i] = ids[i]
				ids[i] = 103 // [MASK]
			}
		}
		l, _, err := LMLoss(g, m, MaskedLM, &model.Inputs{B: bs, T: t, InputIDs: ids}, labels)
		return l, err
	})
}

// benchStep times training iterations of m: the loss of a fresh batch
// (lossOf, in a reset graph), backward, clipping at 1 and AdamW (β2 0.99,
// weight decay 0.1).
func benchStep(b *testing.B, m model.Model, lossOf func(g *autograd.Graph) (*autograd.Var, error)) {
	named := m.NamedParameters("", nil)
	ps := make([]*autograd.Var, len(named))
	for i, p := range named {
		ps[i] = p.Var
	}
	opt, err := NewAdamW(0.9, 0.99, 1e-8, DecayGroups(ps, 1e-3, 0.1)...)
	if err != nil {
		b.Fatal(err)
	}
	g := autograd.NewGraph(true)
	b.ReportAllocs()
	for b.Loop() {
		g.Reset()
		opt.ZeroGrad()
		l, err := lossOf(g)
		if err != nil {
			b.Fatal(err)
		}
		if err := g.Backward(l); err != nil {
			b.Fatal(err)
		}
		if _, err := ClipGradNorm(ps, 1); err != nil {
			b.Fatal(err)
		}
		if err := opt.Step(1); err != nil {
			b.Fatal(err)
		}
	}
}
