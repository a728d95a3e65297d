package attention

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naive64 is an independent float64 oracle for Forward, written straight
// from the Params documentation (it shares nothing with plan except the
// dropout hash). It returns out, lse and probs.
func naive64(p *Params, q, k, v []float64) (out, lse, probs []float64) {
	nkv := p.NKV
	if nkv == 0 {
		nkv = p.NH
	}
	scale := float64(p.Scale)
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(p.HS))
	}
	hs := p.HS
	out = make([]float64, p.B*p.NH*p.Tq*hs)
	lse = make([]float64, p.B*p.NH*p.Tq)
	probs = make([]float64, p.B*p.NH*p.Tq*p.Tk)
	isGlobal := map[int]bool{}
	for _, g := range p.Global {
		isGlobal[g] = true
	}
	var thresh uint32
	if p.DropoutP > 0 {
		thresh = uint32(math.Ceil(float64(p.DropoutP) * (1 << 32)))
	}
	s := make([]float64, p.Tk)
	for b := 0; b < p.B; b++ {
		for h := 0; h < p.NH; h++ {
			kvh := h / (p.NH / nkv)
			for i := 0; i < p.Tq; i++ {
				r := (b*p.NH+h)*p.Tq + i
				ia := i + p.Tk - p.Tq
				m := math.Inf(-1)
				for j := 0; j < p.Tk; j++ {
					var dot float64
					for x := 0; x < hs; x++ {
						dot += q[r*hs+x] * k[((b*nkv+kvh)*p.Tk+j)*hs+x]
					}
					s[j] = scale * dot
					if p.Mask != nil {
						ms := p.MaskShape
						idx := ((min(b, ms[0]-1)*ms[1]+min(h, ms[1]-1))*ms[2]+min(i, ms[2]-1))*ms[3] + min(j, ms[3]-1)
						s[j] += float64(p.Mask[idx])
					}
					hidden := (p.Causal && j > ia) ||
						(p.KeyPadding != nil && p.KeyPadding[b*p.Tk+j]) ||
						(p.Window > 0 && math.Abs(float64(ia-j)) >= float64(p.Window) && !isGlobal[ia] && !isGlobal[j]) ||
						(p.BlockLayout != nil && !p.BlockLayout[(i/p.BlockSize)*((p.Tk+p.BlockSize-1)/p.BlockSize)+j/p.BlockSize])
					if hidden {
						s[j] = math.Inf(-1)
					}
					m = math.Max(m, s[j])
				}
				if math.IsInf(m, -1) {
					lse[r] = m
					continue
				}
				var sum float64
				for j := range s {
					sum += math.Exp(s[j] - m)
				}
				lse[r] = m + math.Log(sum)
				for j := range s {
					pr := math.Exp(s[j]-m) / sum
					probs[r*p.Tk+j] = pr
					if p.DropoutP > 0 {
						if keepHash(p.Seed, uint64(r*p.Tk+j), thresh) {
							pr /= 1 - float64(p.DropoutP)
						} else {
							pr = 0
						}
					}
					for x := 0; x < hs; x++ {
						out[r*hs+x] += pr * v[((b*nkv+kvh)*p.Tk+j)*hs+x]
					}
				}
			}
		}
	}
	return out, lse, probs
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// TestReferenceMatchesNaive64 checks the reference forward (out, lse,
// probs) against the float64 oracle on every conformance case small enough,
// covering the masks the PyTorch fixtures do not: window, global tokens,
// block layouts, dropout and fully masked rows.
func TestReferenceMatchesNaive64(t *testing.T) {
	for ci, c := range confCases() {
		if c.B*c.NH*c.Tq*c.Tk*c.HS > 3e6 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(ci), 5))
			p := c.params(rng)
			q, k, v, _ := c.inputs(rng)
			wantOut, wantLse, wantProbs := naive64(p, to64(q), to64(k), to64(v))
			got := run(t, p, Ref, q, k, v, make([]float32, len(q)))
			closeTo(t, "out", got.out, to32(wantOut), 1e-5, 1e-5)
			closeTo(t, "lse", got.lse, to32(wantLse), 1e-5, 1e-5)
			closeTo(t, "probs", got.probs, to32(wantProbs), 1e-6, 1e-5)
		})
	}
}

// TestReferenceGradFiniteDiff checks the reference backward against central
// differences of the float64 oracle's L = Σ out∘dout, including dropout
// (same seed) and grouped heads.
func TestReferenceGradFiniteDiff(t *testing.T) {
	cases := []confCase{
		{name: "causal_gqa_dropout", B: 1, NH: 4, NKV: 2, Tq: 6, Tk: 8, HS: 5, causal: true, dropout: 0.3},
		{name: "window_global_pad_mask", B: 2, NH: 2, Tq: 9, Tk: 9, HS: 4, window: 3, global: []int{4}, pad: true, mask: [4]int{2, 1, 9, 9}},
		{name: "block_sparse", B: 1, NH: 1, Tq: 10, Tk: 10, HS: 3, blockSize: 3, scale: 0.4},
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(ci), 17))
			p := c.params(rng)
			q, k, v, dout := c.inputs(rng)
			got := run(t, p, Ref, q, k, v, dout)
			q64, k64, v64, do64 := to64(q), to64(k), to64(v), to64(dout)
			loss := func() float64 {
				out, _, _ := naive64(p, q64, k64, v64)
				var l float64
				for i, o := range out {
					l += o * do64[i]
				}
				return l
			}
			for _, g := range []struct {
				name string
				x    []float64
				grad []float32
			}{{"dq", q64, got.dq}, {"dk", k64, got.dk}, {"dv", v64, got.dv}} {
				num := make([]float32, len(g.x))
				for i := range g.x {
					const eps = 1e-6
					x0 := g.x[i]
					g.x[i] = x0 + eps
					lp := loss()
					g.x[i] = x0 - eps
					lm := loss()
					g.x[i] = x0
					num[i] = float32((lp - lm) / (2 * eps))
				}
				closeTo(t, g.name, g.grad, num, 1e-4, 1e-4)
			}
		})
	}
}
