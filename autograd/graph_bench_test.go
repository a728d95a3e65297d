package autograd

import (
	"math/rand/v2"
	"testing"

	"github.com/attn-dev/attn/tensor"
)

// benchBlock is newBlock at the size of a small GPT layer: B=4, T=64,
// C=256, NH=4, V=512.
func benchBlock() *block { return newBlockSized(11, 4, 64, 256, 4, 512, 0.05) }

// BenchmarkBlockTrainStep is one Reset+forward+backward of a Transformer
// block with embedding, tied LM head and cross-entropy through a reused
// graph; allocs/op shows the steady state.
func BenchmarkBlockTrainStep(b *testing.B) {
	k := benchBlock()
	g := NewGraph(true)
	step := func() {
		g.Reset()
		if err := g.Backward(k.forward(g)); err != nil {
			b.Fatal(err)
		}
	}
	step() // warm the arena: allocs/op is the steady state
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
}

// BenchmarkBlockInference is the same forward with no tape.
func BenchmarkBlockInference(b *testing.B) {
	k := benchBlock()
	g := NewGraph(false)
	k.forward(g)
	b.ReportAllocs()
	for b.Loop() {
		g.Reset()
		k.forward(g)
	}
}

// BenchmarkGPTTrainStep is forward+backward (no optimizer) of the small
// GPT of ../shared/bench: 6 layers, C=384, NH=6, T=256, B=8, V=65, with
// learned positions and an untied head; tok/s = B·T per step. Skipped
// with -short (it needs about 1 GB).
func BenchmarkGPTTrainStep(b *testing.B) {
	if testing.Short() {
		b.Skip("large")
	}
	const nl, bsz, t, c, nh, v = 6, 8, 256, 384, 6, 65
	layers := make([]*block, nl)
	for i := range layers {
		layers[i] = newBlockSized(uint64(i), bsz, t, c, nh, v, 0.05)
	}
	r := rand.New(rand.NewPCG(1, 2))
	pos, head := Param(randTensor(r, t, c)), Param(randTensor(r, v, c))
	lnf := Param(tensor.New(c))
	lnf.Value.Fill(1)
	k0 := layers[0]
	g := NewGraph(true)
	step := func() {
		g.Reset()
		x := g.Add(g.Embedding(k0.wte, k0.ids, bsz, t), pos)
		for _, l := range layers {
			x = l.layer(g, x, 0)
		}
		logits := g.Linear(g.LayerNorm(x, lnf, nil, 1e-5), head, nil)
		if err := g.Backward(g.CrossEntropy(logits, k0.targets, -100)); err != nil {
			b.Fatal(err)
		}
	}
	step()
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(bsz*t*b.N)/b.Elapsed().Seconds(), "tok/s")
}

// benchOp times forward+backward of one op on an input of the given shape.
func benchOp(b *testing.B, shape []int, op func(g *Graph, x *Var) *Var) {
	r := rand.New(rand.NewPCG(5, 5))
	x := Param(randTensor(r, shape...))
	g := NewGraph(true)
	step := func() {
		g.Reset()
		if err := g.Backward(g.Sum(op(g, x))); err != nil {
			b.Fatal(err)
		}
	}
	step()
	b.SetBytes(int64(4 * x.Value.Len()))
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
}

func BenchmarkOps(b *testing.B) {
	c := 768
	gamma, beta := Param(tensor.New(c)), Param(tensor.New(c))
	gamma.Value.Fill(1)
	targets := make([]int, 256)
	for i := range targets {
		targets[i] = (i * 7919) % 8192
	}
	for _, bc := range []struct {
		name  string
		shape []int
		op    func(g *Graph, x *Var) *Var
	}{
		{"LayerNorm/1024x768", []int{1024, c}, func(g *Graph, x *Var) *Var { return g.LayerNorm(x, gamma, beta, 1e-5) }},
		{"GELU/1024x3072", []int{1024, 3072}, (*Graph).GELU},
		{"GELUTanh/1024x3072", []int{1024, 3072}, (*Graph).GELUTanh},
		{"Softmax/1024x1024", []int{1024, 1024}, (*Graph).Softmax},
		{"CrossEntropy/256x8192", []int{256, 8192}, func(g *Graph, x *Var) *Var { return g.CrossEntropy(x, targets, -100) }},
		{"Add/1024x768", []int{1024, c}, func(g *Graph, x *Var) *Var { return g.Add(x, x) }},
	} {
		b.Run(bc.name, func(b *testing.B) { benchOp(b, bc.shape, bc.op) })
	}
}
