package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/attn-dev/attn/autograd"
)

// benchLayer is a small-GPT-sized layer: B=4, T=128, C=256, NH=4, FF=1024.
func benchLayer(b *testing.B) (*EncoderLayer, *autograd.Var) {
	l, err := NewEncoderLayer(LayerConfig{DModel: 256, NHead: 4, DimFF: 1024, Activation: GELU, NormFirst: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	x := autograd.Const(randomTensor(rand.New(rand.NewPCG(1, 1)), 4, 128, 256))
	return l, x
}

// BenchmarkEncoderLayerInference is one pre-norm causal encoder layer
// forward in an inference graph (no tape).
func BenchmarkEncoderLayerInference(b *testing.B) {
	l, x := benchLayer(b)
	g := autograd.NewGraph(false)
	masks := &Masks{Causal: true}
	b.ReportAllocs()
	for b.Loop() {
		g.Reset()
		if _, _, err := l.Forward(g, x, masks, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncoderLayerTrainStep is forward + backward of the same layer
// (gradients of every parameter).
func BenchmarkEncoderLayerTrainStep(b *testing.B) {
	l, x := benchLayer(b)
	g := autograd.NewGraph(true)
	masks := &Masks{Causal: true}
	b.ReportAllocs()
	for b.Loop() {
		g.Reset()
		out, _, err := l.Forward(g, x, masks, false)
		if err != nil {
			b.Fatal(err)
		}
		if err := g.Backward(g.Sum(out)); err != nil {
			b.Fatal(err)
		}
	}
}
