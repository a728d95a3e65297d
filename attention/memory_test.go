package attention

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestTiledMemoryIsLinear checks that the tiled kernels allocate O(L)
// bytes, not O(L²): at Tq = Tk = L the bytes one cold call allocates must
// stay under a bound linear in L (per-worker tiles and Kᵀ, the backward's
// per-row D and dq partials), far below the L² scores a materialising
// kernel would need.
func TestTiledMemoryIsLinear(t *testing.T) {
	const hs, nh = 16, 2
	for _, c := range []struct {
		name     string
		L        int
		kern     Kernel
		backward bool
		window   int
	}{
		{"flash fwd", 4096, Flash, false, 0},
		{"flash bwd", 4096, Flash, true, 0},
		{"sparse fwd", 4096, Sparse, false, 64},
		{"decode", 1, Decode, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			tk := max(c.L, 4096)
			p := &Params{B: 1, NH: nh, Tq: c.L, Tk: tk, HS: hs, Causal: true, Window: c.window, Kernel: c.kern}
			rng := rand.New(rand.NewPCG(1, 1))
			q, k, v := randn(rng, nh*c.L*hs, 1), randn(rng, nh*tk*hs, 1), randn(rng, nh*tk*hs, 1)
			out, lse := make([]float32, len(q)), make([]float32, nh*c.L)
			dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
			if err := Forward(p, q, k, v, out, lse, nil); err != nil {
				t.Fatal(err)
			}
			var m0, m1 runtime.MemStats
			ReleaseScratch() // a cold call
			runtime.GC()
			runtime.ReadMemStats(&m0)
			var err error
			if c.backward {
				err = Backward(p, q, k, v, out, lse, out, dq, dk, dv)
			} else {
				err = Forward(p, q, k, v, out, lse, nil)
			}
			runtime.ReadMemStats(&m1)
			if err != nil {
				t.Fatal(err)
			}
			extra := m1.TotalAlloc - m0.TotalAlloc
			// Linear bound: one head's Kᵀ per worker, the backward's private
			// dq copies (up to 4 per worker, capped by dqPartBudget) and
			// 1 MiB of tiles; the scores would be 4·NH·Tq·Tk bytes.
			w := uint64(runtime.GOMAXPROCS(0))
			bound := w*uint64(4*hs*tk) + min(4*w*uint64(4*len(q)), dqPartBudget) + 1<<20
			if extra > bound {
				t.Errorf("allocated %d bytes, want ≤ %d (L² scores would be %d)", extra, bound, 4*nh*c.L*tk)
			}
			t.Logf("allocated %d bytes (bound %d)", extra, bound)
		})
	}
}

// TestCallsAllocateNothing checks that, once warm, Forward and Backward
// of every fast kernel allocate nothing: plans, work items and scratch are
// pooled per call.
func TestCallsAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	const b, nh, l, hs = 2, 4, 200, 32
	n := b * nh * l * hs
	q, k, v, out, dout := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	dq, dk, dv := make([]float32, n), make([]float32, n), make([]float32, n)
	lse := make([]float32, b*nh*l)
	for i := range q {
		q[i], k[i], v[i], dout[i] = float32(i%7)*0.1, float32(i%5)*0.1, float32(i%3), float32(i%11)*0.01
	}
	pad := make([]bool, b*l)
	pad[l-1] = true
	mask := make([]float32, l*l)
	for _, tc := range []struct {
		name string
		p    Params
	}{
		{"flash", Params{B: b, NH: nh, Tq: l, Tk: l, HS: hs, Kernel: Flash}},
		{"flash causal dropout", Params{B: b, NH: nh, Tq: l, Tk: l, HS: hs, Causal: true, DropoutP: 0.1, Seed: 3}},
		{"flash gqa masks", Params{B: b, NH: nh, NKV: 2, Tq: l, Tk: l, HS: hs, KeyPadding: pad, Mask: mask, MaskShape: [4]int{1, 1, l, l}}},
		{"sparse window global", Params{B: b, NH: nh, Tq: l, Tk: l, HS: hs, Window: 16, Global: []int{0, 7}}},
	} {
		p := tc.p
		nkv := n
		if p.NKV != 0 {
			nkv = n / (p.NH / p.NKV)
		}
		step := func() {
			if err := Forward(&p, q, k[:nkv], v[:nkv], out, lse, nil); err != nil {
				t.Fatal(err)
			}
			if err := Backward(&p, q, k[:nkv], v[:nkv], out, lse, dout, dq, dk[:nkv], dv[:nkv]); err != nil {
				t.Fatal(err)
			}
		}
		step()
		if a := testing.AllocsPerRun(10, step); a != 0 {
			t.Errorf("%s: %v allocations per Forward+Backward, want 0", tc.name, a)
		}
	}
	// Decode: one query row against a cache.
	p := Params{B: 1, NH: nh, Tq: 1, Tk: 1500, HS: hs}
	kc, vc := make([]float32, nh*1500*hs), make([]float32, nh*1500*hs)
	dec := func() {
		if err := Forward(&p, q[:nh*hs], kc, vc, out[:nh*hs], nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	dec()
	if a := testing.AllocsPerRun(10, dec); a != 0 {
		t.Errorf("decode: %v allocations per call, want 0", a)
	}
}
