package model

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/tensor"
)

// openInputs reads dir/inputs.safetensors.
func openInputs(t *testing.T, path string) *Inputs {
	t.Helper()
	src, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	in, err := ReadInputs(src)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// compareOutputs checks every tensor of the golden file against out
// with |a − b| ≤ 1e-4 + 1e-4·|b|, and that out has no tensor the golden
// file lacks.
func compareOutputs(t *testing.T, path string, out *Outputs, strict bool) {
	t.Helper()
	want, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	names := map[string]bool{}
	for _, n := range want.Names() {
		names[n] = true
		w, shape, err := want.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		got := out.Get(n)
		if got == nil {
			t.Errorf("%s: missing from the outputs", n)
			continue
		}
		if !tensor.EqualShape(got.Shape, shape) {
			t.Errorf("%s: shape %v, want %v", n, got.Shape, shape)
			continue
		}
		g := got.Contiguous().Data()
		worst, at := 0.0, 0
		for i := range w {
			d := math.Abs(float64(g[i]) - float64(w[i]))
			if ex := d - (1e-4 + 1e-4*math.Abs(float64(w[i]))); ex > worst || math.IsNaN(d) {
				worst, at = ex, i
				if math.IsNaN(d) {
					worst = math.Inf(1)
				}
			}
		}
		if worst > 0 {
			t.Errorf("%s: element %d = %g, want %g (beyond tolerance by %g)", n, at, g[at], w[at], worst)
		}
	}
	t.Logf("%d tensors compared", len(names))
	for _, n := range out.Names {
		if strict && !names[n] {
			t.Errorf("%s: produced but not in %s", n, path)
		}
	}
}

var allOutputs = Options{HiddenStates: true, Attentions: true}

var goldenModels = []struct{ name, dir string }{
	{"gpt2", "gpt2"},
	{"gpt2-hub-layout", "gpt2-hub-layout"},
	{"bert-mlm", "bert-mlm"},
	{"bert-cls", "bert-cls"},
	{"vit", "vit"},
	{"marian", "marian"},
	{"bart", "bart"},
}

// TestGolden runs each fixture model on its inputs against the PyTorch
// outputs; the packed variant does it twice (packing, then from the
// copies) with PackLinearWeights on.
func TestGolden(t *testing.T) {
	var packedBytes int64
	for _, packed := range []bool{false, true} {
		for _, tc := range goldenModels {
			t.Run(fmt.Sprintf("%s/packed=%v", tc.name, packed), func(t *testing.T) {
				dir := filepath.Join("..", "testdata", "models", tc.dir)
				io := dir
				if tc.dir == "gpt2-hub-layout" {
					io = filepath.Join("..", "testdata", "models", "gpt2")
				}
				m, err := Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				in := openInputs(t, filepath.Join(io, "inputs.safetensors"))
				g := autograd.NewGraph(false)
				PackLinearWeights(m, packed)
				runs := 1
				if packed {
					runs = 2
				}
				var out *Outputs
				for range runs {
					g.Reset()
					if out, err = m.Forward(g, in, allOutputs); err != nil {
						t.Fatal(err)
					}
				}
				for _, p := range m.NamedParameters("", nil) {
					packedBytes += p.Var.PackedLinearBytes()
				}
				compareOutputs(t, filepath.Join(io, "outputs.safetensors"), out, true)
			})
		}
	}
	if packedBytes == 0 {
		t.Error("no fixture forward used a packed weight: the packed variant tests nothing")
	}
}

func newPixels(b, c, side int) *tensor.Tensor {
	t := tensor.New(b, c, side, side)
	for i := range t.Data() {
		t.Data()[i] = float32(i%7) / 7
	}
	return t
}
