package attention

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/attn-dev/attn/internal/alloctest"
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
// pooled per call. Strided k and v (a KV cache read in place) included.
// alloctest.PerCall, not testing.AllocsPerRun: see there why.
func TestCallsAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	const b, nh, l, hs = 2, 4, 130, 32 // two query and key blocks of every kernel
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
	// A cache of 256 positions per head holding 120: k and v read in place.
	const cacheT, filled = 256, 120
	kc, vc := make([]float32, b*nh*cacheT*hs), make([]float32, b*nh*cacheT*hs)
	for _, tc := range []struct {
		name string
		p    Params
		k, v []float32
	}{
		{"flash", Params{B: b, NH: nh, Tq: l, Tk: l, HS: hs, Kernel: Flash}, k, v},
		{"flash causal dropout", Params{B: b, NH: nh, Tq: l, Tk: l, HS: hs, Causal: true, DropoutP: 0.1, Seed: 3}, k, v},
		{"flash gqa masks", Params{B: b, NH: nh, NKV: 2, Tq: l, Tk: l, HS: hs, KeyPadding: pad, Mask: mask, MaskShape: [4]int{1, 1, l, l}}, k[:n/2], v[:n/2]},
		{"sparse window global", Params{B: b, NH: nh, Tq: l, Tk: l, HS: hs, Window: 16, Global: []int{0, 7}}, k, v},
		{"flash strided cache", Params{B: b, NH: nh, Tq: 40, Tk: filled, HS: hs, Causal: true, KVHeadStride: cacheT * hs}, kc, vc},
	} {
		p := tc.p
		nq, nkv := b*nh*p.Tq*hs, b*p.Tk*hs*nh
		if p.NKV != 0 {
			nkv = nkv / (p.NH / p.NKV)
		}
		step := func() {
			if err := Forward(&p, q[:nq], tc.k, tc.v, out[:nq], lse[:b*nh*p.Tq], nil); err != nil {
				t.Fatal(err)
			}
			if err := Backward(&p, q[:nq], tc.k, tc.v, out[:nq], lse[:b*nh*p.Tq], dout[:nq], dq[:nq], dk[:nkv], dv[:nkv]); err != nil {
				t.Fatal(err)
			}
		}
		if a := alloctest.PerCall(step); a != 0 {
			t.Errorf("%s: %v allocations per Forward+Backward, want 0", tc.name, a)
		}
	}
	// Decode: one query row against a cache, contiguous and in place.
	for _, tc := range []struct {
		name   string
		tk     int
		stride int
	}{
		{"decode", 1500, 0},
		{"decode strided cache", 1500, 2048 * hs},
	} {
		p := Params{B: 1, NH: nh, Tq: 1, Tk: tc.tk, HS: hs, KVHeadStride: tc.stride}
		blk := tc.tk * hs
		if tc.stride != 0 {
			blk = tc.stride
		}
		kc, vc := make([]float32, nh*blk), make([]float32, nh*blk)
		dec := func() {
			if err := Forward(&p, q[:nh*hs], kc, vc, out[:nh*hs], nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		if a := alloctest.PerCall(dec); a != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tc.name, a)
		}
	}
}
