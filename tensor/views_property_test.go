package tensor

import (
	"math/rand/v2"
	"testing"
)

// dense is a naive model of a tensor: row-major values and a shape. Each
// view operation is applied to it by materialising the result element by
// element, independently of strides.
type dense struct {
	v     []float32
	shape []int
}

func (d dense) at(idx []int) float32 { return d.v[naiveIndex(d.shape, idx)] }

// build fills a new dense of shape from f(idx).
func build(shape []int, f func(idx []int) float32) dense {
	n := 1
	for _, s := range shape {
		n *= s
	}
	out := dense{v: make([]float32, n), shape: append([]int(nil), shape...)}
	idx := make([]int, len(shape))
	for k := 0; k < n; k++ {
		rem := k
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d] = rem % shape[d]
			rem /= shape[d]
		}
		out.v[k] = f(idx)
	}
	return out
}

// TestRandomViewChains applies random chains of Transpose, Permute, Slice
// and (when contiguous) Reshape to a tensor and to the naive model, and
// checks after every step that the view's elements match.
func TestRandomViewChains(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for trial := 0; trial < 300; trial++ {
		shape := make([]int, 1+r.IntN(4))
		for i := range shape {
			shape[i] = 1 + r.IntN(4)
		}
		tt := seq(shape...)
		m := dense{v: append([]float32(nil), tt.Data()...), shape: shape}
		for step := 0; step < 6; step++ {
			rank := len(m.shape)
			switch r.IntN(4) {
			case 0:
				a, b := r.IntN(rank), r.IntN(rank)
				tt = tt.Transpose(a, b)
				ns := append([]int(nil), m.shape...)
				ns[a], ns[b] = ns[b], ns[a]
				old := m
				m = build(ns, func(idx []int) float32 {
					src := append([]int(nil), idx...)
					src[a], src[b] = src[b], src[a]
					return old.at(src)
				})
			case 1:
				perm := r.Perm(rank)
				tt = tt.Permute(perm...)
				ns := make([]int, rank)
				for i, p := range perm {
					ns[i] = m.shape[p]
				}
				old := m
				m = build(ns, func(idx []int) float32 {
					src := make([]int, rank)
					for i, p := range perm {
						src[p] = idx[i]
					}
					return old.at(src)
				})
			case 2:
				d := r.IntN(rank)
				lo := r.IntN(m.shape[d])
				hi := lo + 1 + r.IntN(m.shape[d]-lo)
				tt = tt.Slice(d, lo, hi)
				ns := append([]int(nil), m.shape...)
				ns[d] = hi - lo
				old := m
				m = build(ns, func(idx []int) float32 {
					src := append([]int(nil), idx...)
					src[d] += lo
					return old.at(src)
				})
			default:
				if !tt.IsContiguous() {
					tt = tt.Contiguous()
				}
				n := len(m.v)
				ns := []int{n}
				if n%2 == 0 && r.IntN(2) == 0 {
					ns = []int{2, -1}
				}
				tt = tt.Reshape(ns...)
				m = dense{v: m.v, shape: append([]int(nil), tt.Shape...)}
			}
			if !EqualShape(tt.Shape, m.shape) {
				t.Fatalf("trial %d step %d: shape %v, model %v", trial, step, tt.Shape, m.shape)
			}
			got := tt.Contiguous().Data()
			for k, want := range m.v {
				if got[k] != want {
					t.Fatalf("trial %d step %d: element %d = %v, model %v (shape %v strides %v offset %d)",
						trial, step, k, got[k], want, tt.Shape, tt.Strides, tt.Offset)
				}
			}
		}
	}
}
