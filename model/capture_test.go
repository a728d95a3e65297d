package model_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
)

// TestCaptureQKV: the queries and keys a Capture keeps give back its
// weights: for every captured row, softmax(q·kᵀ/√HS) over the keys the
// row sees (weight > 0) is the captured weight.
func TestCaptureQKV(t *testing.T) {
	eachCase(t, 13, func(t *testing.T, m model.Model, rng *rand.Rand) {
		s := newSample(m, rng, []int{9, 12, 7, 12, 12, 12, 12, 12}, []int{8, 5, 8, 6, 8, 8, 8, 8})
		in := s.inputs(m)
		info := m.Info()
		layers, heads := info.Layers, info.Heads
		if kindOf(m) == encDec {
			layers, heads = min(layers, info.DecoderLayers), min(heads, info.DecoderHeads)
		}
		c := &model.Capture{Layers: []int{layers - 1}, Heads: []int{heads - 1, 0}, QKV: true}
		if heads == 1 {
			c.Heads = c.Heads[:1]
		}
		forward(t, m, false, in, model.Options{Capture: c})
		if len(c.Q) != 1 || len(c.K) != 1 || len(c.V) != 1 || len(c.Q[0]) != len(c.Heads) {
			t.Fatalf("q, k, v: %d, %d, %d layers, want 1 of %d heads", len(c.Q), len(c.K), len(c.V), len(c.Heads))
		}
		for hi, h := range c.Heads {
			q, k, w := c.Q[0][hi], c.K[0][hi], c.Self[0][hi]
			b, tq, hs := q.Shape[0], q.Shape[1], q.Shape[2]
			tk := k.Shape[1]
			if c.V[0][hi].Shape[1] != tk || c.V[0][hi].Shape[2] != hs {
				t.Fatalf("head %d: v %v, k %v", h, c.V[0][hi].Shape, k.Shape)
			}
			qd, kd, wd := q.Data(), k.Data(), w.Data()
			for bi := range b {
				for i := range tq {
					row := wd[(bi*tq+i)*tk : (bi*tq+i+1)*tk]
					s := make([]float64, tk)
					hi, sum := math.Inf(-1), 0.0
					for j := range tk {
						for d := range hs {
							s[j] += float64(qd[(bi*tq+i)*hs+d]) * float64(kd[(bi*tk+j)*hs+d])
						}
						s[j] /= math.Sqrt(float64(hs))
						if row[j] > 0 {
							hi = max(hi, s[j])
						}
					}
					for j := range tk {
						if row[j] > 0 {
							s[j] = math.Exp(s[j] - hi)
							sum += s[j]
						}
					}
					for j := range tk {
						if row[j] > 0 && math.Abs(s[j]/sum-float64(row[j])) > 1e-4 {
							t.Fatalf("head %d row %d query %d key %d: softmax(q·kᵀ/√HS) = %g, captured weight %g", h, bi, i, j, s[j]/sum, row[j])
						}
					}
				}
			}
		}
	})
}

// TestHeadMask: a mask of ones changes nothing, switching a head off
// changes the output, and a mask of the wrong shape or with a NaN is an
// error naming it.
func TestHeadMask(t *testing.T) {
	eachCase(t, 14, func(t *testing.T, m model.Model, rng *rand.Rand) {
		s := newSample(m, rng, []int{9, 12, 7, 12, 12, 12, 12, 12}, []int{8, 5, 8, 6, 8, 8, 8, 8})
		in := s.inputs(m)
		info := m.Info()
		mask := func(v float32) [][]float32 {
			hm := make([][]float32, info.Layers)
			for l := range hm {
				hm[l] = make([]float32, info.Heads)
				for h := range hm[l] {
					hm[l][h] = 1
				}
			}
			hm[0][0] = v
			return hm
		}
		plain := forward(t, m, false, in, model.Options{})
		ones := forward(t, m, false, in, model.Options{HeadMask: mask(1)})
		sameOutputs(t, "head mask of ones", ones, plain, 1e-6, nil)
		off := forward(t, m, false, in, model.Options{HeadMask: mask(0)})
		name := off.Names[0]
		a, b := off.Get(name).Contiguous().Data(), plain.Get(name).Contiguous().Data()
		diff := 0.0
		for i := range a {
			diff = max(diff, math.Abs(float64(a[i]-b[i])))
		}
		if diff < 1e-6 {
			t.Errorf("%s: switching head 0 of layer 0 off changed nothing (max diff %g)", name, diff)
		}
		nan := mask(float32(math.NaN()))
		wide := mask(1)
		wide[0] = make([]float32, info.Heads+1)
		for _, tc := range []struct {
			hm   [][]float32
			want string
		}{
			{mask(1)[:info.Layers-1], "layers"},
			{wide, "heads"},
			{nan, "NaN"},
		} {
			_, err := m.Forward(autograd.NewGraph(false), in, model.Options{HeadMask: tc.hm})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("head mask %v: %v, want an error naming %s", tc.hm, err, tc.want)
			}
		}
	})
}
