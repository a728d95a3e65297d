package kernels

import (
	"math/rand/v2"
	"runtime"
	"sort"
	"time"
)

// SgemmShape is one matrix product to measure: C (M×N) = op(A)·op(B) with
// op(A) M×K and op(B) K×N; TransA/TransB store A as K×M / B as N×K.
type SgemmShape struct {
	M, N, K        int
	TransA, TransB bool
}

// DefaultSgemmShapes are the shapes `attn bench matmul` measures by
// default: square 1024³ and 2048³, the GPT-2-small decode GEMV
// 1×768·768×3072 (weights K×N, and N×K as in nn.Linear), and a GPT-small
// training projection 768×384·384×1536 with the two products its backward
// pass needs (dW = Xᵀ·dY, dX = dY·Wᵀ).
var DefaultSgemmShapes = []SgemmShape{
	{M: 1024, N: 1024, K: 1024},
	{M: 2048, N: 2048, K: 2048},
	{M: 1, N: 3072, K: 768},
	{M: 1, N: 3072, K: 768, TransB: true},
	{M: 768, N: 1536, K: 384},
	{M: 384, N: 1536, K: 768, TransA: true},
	{M: 768, N: 384, K: 1536, TransB: true},
}

// SgemmMeasurement is the result of MeasureSgemm.
type SgemmMeasurement struct {
	Shape SgemmShape
	// Seconds is the median wall time of one Sgemm call after warm-up.
	Seconds float64
	// GFLOPS is 2·M·N·K / Seconds / 1e9.
	GFLOPS float64
	// PeakExtraBytes is what Sgemm allocated beyond its operands on its
	// first call (pack buffers, pooled and reused afterwards) plus whatever
	// the timed calls allocated (zero in steady state).
	PeakExtraBytes uint64
	Runs           int
}

// MeasureSgemm times Sgemm (alpha 1, beta 0) on random operands of shape s:
// two warm-up calls, then up to maxRuns timed calls (at least 5, stopping
// once budget has elapsed), and reports the median.
func MeasureSgemm(s SgemmShape, maxRuns int, budget time.Duration) SgemmMeasurement {
	r := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	a, b, c := fill(s.M*s.K), fill(s.K*s.N), make([]float32, s.M*s.N)
	lda, ldb := s.K, s.N
	if s.TransA {
		lda = s.M
	}
	if s.TransB {
		ldb = s.K
	}
	call := func() { Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, c, s.N) }
	var ms runtime.MemStats
	ReleaseScratch() // the first call allocates its scratch afresh
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	call()
	runtime.ReadMemStats(&ms)
	extra := ms.TotalAlloc - before
	call()
	times := make([]float64, 0, max(maxRuns, 5))
	runtime.ReadMemStats(&ms)
	before = ms.TotalAlloc
	deadline := time.Now().Add(budget)
	for len(times) < max(maxRuns, 5) {
		t0 := time.Now()
		call()
		times = append(times, time.Since(t0).Seconds())
		if len(times) >= 5 && time.Now().After(deadline) {
			break
		}
	}
	runtime.ReadMemStats(&ms)
	extra += ms.TotalAlloc - before
	sort.Float64s(times)
	sec := times[len(times)/2]
	return SgemmMeasurement{
		Shape:          s,
		Seconds:        sec,
		GFLOPS:         2 * float64(s.M) * float64(s.N) * float64(s.K) / sec / 1e9,
		PeakExtraBytes: extra,
		Runs:           len(times),
	}
}
