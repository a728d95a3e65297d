package attention

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/attn-dev/attn/safetensors"
)

// fixture is one testdata/attention file: tensors by name plus metadata.
type fixture struct {
	f32  map[string][]float32
	i64  map[string][]int64
	meta map[string]string
}

func readFixture(path string) (*fixture, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fx := &fixture{f32: map[string][]float32{}, i64: map[string][]int64{}, meta: f.Metadata()}
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		if info.DType == safetensors.DTypeI64 {
			v, _, err := f.Int64(name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			fx.i64[name] = append([]int64(nil), v...) // v aliases the mapping, gone at Close
			continue
		}
		v, _, err := f.Float32(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		fx.f32[name] = append([]float32(nil), v...)
	}
	return fx, nil
}

func (fx *fixture) int(t *testing.T, key string) int {
	t.Helper()
	n, err := strconv.Atoi(fx.meta[key])
	if err != nil {
		t.Fatalf("metadata %s: %v", key, err)
	}
	return n
}

// TestReferenceMatchesTorch pins the reference kernel (and, through the
// conformance suite, every other kernel) to PyTorch's eager attention and
// autograd gradients, computed in float64 by tools/golden/attention.py.
func TestReferenceMatchesTorch(t *testing.T) {
	paths, err := filepath.Glob("../testdata/attention/*.safetensors")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures found (%v)", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".safetensors")
		t.Run(name, func(t *testing.T) {
			fx, err := readFixture(path)
			if err != nil {
				t.Fatal(err)
			}
			scale, err := strconv.ParseFloat(fx.meta["scale"], 64)
			if err != nil {
				t.Fatalf("metadata scale: %v", err)
			}
			p := &Params{B: fx.int(t, "B"), NH: fx.int(t, "NH"), NKV: fx.int(t, "NKV"),
				Tq: fx.int(t, "Tq"), Tk: fx.int(t, "Tk"), HS: fx.int(t, "HS"),
				Scale: float32(scale), Causal: fx.int(t, "causal") == 1}
			if pad, ok := fx.i64["key_padding"]; ok {
				p.KeyPadding = make([]bool, len(pad))
				for i, x := range pad {
					p.KeyPadding[i] = x != 0
				}
			}
			if m, ok := fx.f32["mask"]; ok {
				p.Mask = m
				for d, s := range strings.Split(fx.meta["mask_shape"], ",") {
					p.MaskShape[d], _ = strconv.Atoi(s)
				}
			}
			q, k, v, dout := fx.f32["q"], fx.f32["k"], fx.f32["v"], fx.f32["dout"]
			for _, kern := range []Kernel{Ref, Flash, Decode} {
				t.Run(kern.String(), func(t *testing.T) {
					p := *p
					p.Kernel = kern
					out := make([]float32, len(q))
					lse := make([]float32, p.B*p.NH*p.Tq)
					var probs []float32
					if kern == Ref {
						probs = make([]float32, p.B*p.NH*p.Tq*p.Tk)
					}
					if err := Forward(&p, q, k, v, out, lse, probs); err != nil {
						t.Fatal(err)
					}
					closeTo(t, "out", out, fx.f32["out"], 1e-5, 1e-5)
					closeTo(t, "lse", lse, fx.f32["lse"], 1e-5, 1e-5)
					if probs != nil {
						closeTo(t, "probs", probs, fx.f32["probs"], 1e-6, 1e-5)
					}
					dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
					if err := Backward(&p, q, k, v, out, lse, dout, dq, dk, dv); err != nil {
						t.Fatal(err)
					}
					closeTo(t, "dq", dq, fx.f32["dq"], 1e-4, 1e-4)
					closeTo(t, "dk", dk, fx.f32["dk"], 1e-4, 1e-4)
					closeTo(t, "dv", dv, fx.f32["dv"], 1e-4, 1e-4)
				})
			}
		})
	}
}

// closeTo fails unless |got−want| ≤ atol + rtol·|want| elementwise.
func closeTo(t *testing.T, name string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", name, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsInf(w, -1) && math.IsInf(g, -1) {
			continue
		}
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			if bad < 5 {
				t.Errorf("%s[%d] = %g, want %g (diff %.3g)", name, i, g, w, g-w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements out of tolerance", name, bad, len(got))
	}
}
