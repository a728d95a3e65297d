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
			runtime.GC()
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
