package nn

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/tensor"
)

// Tolerances against the PyTorch fixtures of tools/golden (float32):
// forward values |got − want| ≤ fwdAtol + fwdRtol·|want|, gradients
// |got − want| ≤ gradAtol + gradRtol·|want|.
const (
	fwdAtol, fwdRtol   = 1e-5, 1e-5
	gradAtol, gradRtol = 1e-5, 1e-4
)

// fixture is one golden file of testdata/nn.
type fixture struct {
	t    testing.TB
	name string
	f    *safetensors.File
}

func openFixture(t testing.TB, name string) *fixture {
	t.Helper()
	f, err := safetensors.Open(filepath.Join("..", "testdata", "nn", name+".safetensors"))
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return &fixture{t: t, name: name, f: f}
}

// load copies the fixture's parameters into m by their state_dict names.
func (fx *fixture) load(m Module) {
	fx.t.Helper()
	if err := Load(m, fx.f, ""); err != nil {
		fx.t.Fatal(err)
	}
}

// tensor returns a copy of the named float tensor.
func (fx *fixture) tensor(name string) *tensor.Tensor {
	fx.t.Helper()
	d, shape, err := fx.f.Float32(name)
	if err != nil {
		fx.t.Fatalf("%s: %v", fx.name, err)
	}
	return tensor.FromSlice(append([]float32(nil), d...), shape...)
}

// bools returns the named 0/1 integer tensor as []bool (true where 1).
func (fx *fixture) bools(name string) ([]bool, []int) {
	fx.t.Helper()
	d, shape, err := fx.f.Int64(name)
	if err != nil {
		fx.t.Fatalf("%s: %v", fx.name, err)
	}
	out := make([]bool, len(d))
	for i, v := range d {
		out[i] = v != 0
	}
	return out, shape
}

// closeTo reports the first element where got and want differ by more than
// atol + rtol·|want| (infinities must match exactly), or "" if none.
func closeTo(got, want *tensor.Tensor, atol, rtol float64) string {
	if !tensor.SameShape(got, want) {
		return fmt.Sprintf("shape %v, want %v", got.Shape, want.Shape)
	}
	g, w := got.Contiguous().Data(), want.Contiguous().Data()
	worst, at := 0.0, -1
	for i := range w {
		a, b := float64(g[i]), float64(w[i])
		if math.IsInf(b, 0) || math.IsNaN(a) {
			if a != b {
				return fmt.Sprintf("element %d: got %g, want %g", i, a, b)
			}
			continue
		}
		if d := math.Abs(a-b) - (atol + rtol*math.Abs(b)); d > worst {
			worst, at = d, i
		}
	}
	if at >= 0 {
		return fmt.Sprintf("element %d: got %.8g, want %.8g (|diff| %.3g)", at, g[at], w[at], math.Abs(float64(g[at])-float64(w[at])))
	}
	return ""
}

func expectClose(t testing.TB, what string, got, want *tensor.Tensor, atol, rtol float64) {
	t.Helper()
	if msg := closeTo(got, want, atol, rtol); msg != "" {
		t.Errorf("%s: %s", what, msg)
	}
}
