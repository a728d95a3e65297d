package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/tensor"
)

// TestGoldenTorch runs each op on the inputs of testdata/autograd/
// ops.safetensors (made by tools/golden/autograd_ops.py with PyTorch) and
// compares the output and the gradient of every input under the same
// upstream gradient. Tolerances: forward |a−b| ≤ 1e-5 + 1e-5·|b|,
// gradients |a−b| ≤ 1e-5 + 1e-4·|b|.
func TestGoldenTorch(t *testing.T) {
	f, err := safetensors.Open("../testdata/autograd/ops.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	load := func(name string) *tensor.Tensor {
		d, s, err := f.Float32(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return tensor.FromSlice(d, s...)
	}
	ids := func(name string) []int {
		d, _, err := f.Int64(name + ".ids")
		if err != nil {
			t.Fatalf("%s.ids: %v", name, err)
		}
		out := make([]int, len(d))
		for i, v := range d {
			out[i] = int(v)
		}
		return out
	}
	tests := []struct {
		name string
		n    int // inputs
		fwd  func(g *Graph, in []*Var) *Var
	}{
		{"linear", 3, func(g *Graph, in []*Var) *Var { return g.Linear(in[0], in[1], in[2]) }},
		{"matmul_tt", 2, func(g *Graph, in []*Var) *Var { return g.MatMul(in[0], in[1], true, true) }},
		{"matmul_shared", 2, func(g *Graph, in []*Var) *Var { return g.MatMul(in[0], in[1], false, false) }},
		{"layer_norm", 3, func(g *Graph, in []*Var) *Var { return g.LayerNorm(in[0], in[1], in[2], 1e-5) }},
		{"rms_norm", 2, func(g *Graph, in []*Var) *Var { return g.RMSNorm(in[0], in[1], 1e-6) }},
		{"gelu", 1, func(g *Graph, in []*Var) *Var { return g.GELU(in[0]) }},
		{"gelu_tanh", 1, func(g *Graph, in []*Var) *Var { return g.GELUTanh(in[0]) }},
		{"relu", 1, func(g *Graph, in []*Var) *Var { return g.ReLU(in[0]) }},
		{"silu", 1, func(g *Graph, in []*Var) *Var { return g.SiLU(in[0]) }},
		{"tanh", 1, func(g *Graph, in []*Var) *Var { return g.Tanh(in[0]) }},
		{"softmax", 1, func(g *Graph, in []*Var) *Var { return g.Softmax(in[0]) }},
		{"log_softmax", 1, func(g *Graph, in []*Var) *Var { return g.LogSoftmax(in[0]) }},
		{"cross_entropy", 1, func(g *Graph, in []*Var) *Var { return g.CrossEntropy(in[0], ids("cross_entropy"), -100) }},
		{"embedding", 1, func(g *Graph, in []*Var) *Var { return g.Embedding(in[0], ids("embedding"), 2, 3) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := make([]*Var, tc.n)
			for i := range in {
				in[i] = Param(load(fmt.Sprintf("%s.in.%d", tc.name, i)))
			}
			g := NewGraph(true)
			y := tc.fwd(g, in)
			compare(t, "forward", y.Value, load(tc.name+".y"), 1e-5, 1e-5)
			dy := load(tc.name + ".dy")
			if err := g.Backward(g.Sum(g.Mul(y, Const(dy)))); err != nil {
				t.Fatal(err)
			}
			for i, v := range in {
				compare(t, fmt.Sprintf("grad %d", i), v.Grad, load(fmt.Sprintf("%s.grad.%d", tc.name, i)), 1e-5, 1e-4)
			}
		})
	}
}

// compare fails t unless got and want have one shape and
// |got−want| ≤ atol + rtol·|want| element-wise.
func compare(t *testing.T, what string, got, want *tensor.Tensor, atol, rtol float64) {
	t.Helper()
	// The fixture writer stores a scalar (shape []) as [1].
	scalar := got.Len() == 1 && want.Len() == 1 && got.Rank() <= 1 && want.Rank() <= 1
	if !tensor.SameShape(got, want) && !scalar {
		t.Fatalf("%s: shape %v, torch %v", what, got.Shape, want.Shape)
	}
	g, w := got.Contiguous().Data(), want.Contiguous().Data()
	for i := range g {
		if d := math.Abs(float64(g[i] - w[i])); !(d <= atol+rtol*math.Abs(float64(w[i]))) {
			t.Fatalf("%s[%d] = %v, torch %v (|diff| %.3g)", what, i, g[i], w[i], d)
		}
	}
}
