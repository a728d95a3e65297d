package attention

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/attn-dev/attn/internal/memlimit"
	"github.com/attn-dev/attn/internal/parallel"
)

// BenchConfig is one attention measurement: B, NH, NKV (0 = NH), Tq, Tk,
// HS, Causal and Window as in Params; Kernel; Backward times Backward alone
// (given the saved out and lse) instead of Forward; Runs timed runs after
// one warm-up (0 means 5).
type BenchConfig struct {
	B, NH, NKV, Tq, Tk, HS int
	Causal                 bool
	Window                 int
	Kernel                 Kernel
	Backward               bool
	Runs                   int
}

// BenchResult is what `attn bench attention --json` prints.
type BenchResult struct {
	Name      string  `json:"name"`
	Kernel    string  `json:"kernel"`
	Direction string  `json:"direction"`
	Batch     int     `json:"batch"`
	Heads     int     `json:"heads"`
	KVHeads   int     `json:"kv_heads"`
	Seq       int     `json:"seq"`
	KVSeq     int     `json:"kv_seq"`
	HeadDim   int     `json:"head_dim"`
	Causal    bool    `json:"causal"`
	Window    int     `json:"window"`
	Threads   int     `json:"threads"`
	Runs      int     `json:"runs"`
	Seconds   float64 `json:"seconds"`
	Flops     float64 `json:"flops"`
	GFlops    float64 `json:"gflops"`
	// PeakExtraBytes is the heap allocated by one cold call (after two
	// GCs have emptied the workspace pools): an upper bound on the memory
	// the call needs beyond its inputs and outputs.
	PeakExtraBytes uint64 `json:"peak_extra_bytes"`
}

// BenchFlops is the useful work of one call: 4·Tq·Tk·HS·NH·B for the
// forward pass (two products of 2·HS flops per query-key pair), halved when
// causal, scaled to the visible pairs of a window (2·W−1 keys per query,
// W when causal), and 2.5 times that for the backward pass (five products
// instead of two).
func BenchFlops(c BenchConfig) float64 {
	pairs := float64(c.Tq) * float64(c.Tk)
	switch {
	case c.Window > 0 && c.Causal:
		pairs = float64(c.Tq) * float64(min(c.Window, c.Tk))
	case c.Window > 0:
		pairs = float64(c.Tq) * float64(min(2*c.Window-1, c.Tk))
	case c.Causal:
		pairs /= 2
	}
	f := 4 * pairs * float64(c.HS) * float64(c.NH) * float64(c.B)
	if c.Backward {
		f *= 2.5
	}
	return f
}

// Bench measures one configuration on random inputs: one warm-up call, then
// the median of Runs timed calls.
func Bench(c BenchConfig) (BenchResult, error) {
	if c.Runs <= 0 {
		c.Runs = 5
	}
	p := &Params{B: c.B, NH: c.NH, NKV: c.NKV, Tq: c.Tq, Tk: c.Tk, HS: c.HS,
		Causal: c.Causal, Window: c.Window, Kernel: c.Kernel}
	pl, err := newPlan(p)
	if err != nil {
		return BenchResult{}, fmt.Errorf("bench: %w", err)
	}
	nq, nkv := pl.B*pl.NH*pl.Tq*pl.HS, pl.B*pl.NKV*pl.Tk*pl.HS
	bytes := memlimit.Float32s([]int{2, nq}, []int{2, nkv}, []int{pl.B, pl.NH, pl.Tq})
	if c.Backward {
		bytes *= 2
	}
	if err := memlimit.Check(fmt.Sprintf("bench: attention B=%d NH=%d Tq=%d Tk=%d HS=%d", pl.B, pl.NH, pl.Tq, pl.Tk, pl.HS), bytes); err != nil {
		return BenchResult{}, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	q, k, v := fill(nq), fill(nkv), fill(nkv)
	out, lse := make([]float32, nq), make([]float32, pl.B*pl.NH*pl.Tq)
	var dout, dq, dk, dv []float32
	call := func() error { return Forward(p, q, k, v, out, lse, nil) }
	if c.Backward {
		// The forward pass that produces out and lse is not timed.
		if err := call(); err != nil {
			return BenchResult{}, fmt.Errorf("bench: %w", err)
		}
		dout, dq, dk, dv = fill(nq), make([]float32, nq), make([]float32, nkv), make([]float32, nkv)
		call = func() error { return Backward(p, q, k, v, out, lse, dout, dq, dk, dv) }
	}
	var ms0, ms1 runtime.MemStats
	ReleaseScratch() // the measured call starts cold
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	if err := call(); err != nil {
		return BenchResult{}, fmt.Errorf("bench: %w", err)
	}
	runtime.ReadMemStats(&ms1)
	times := make([]float64, c.Runs)
	for i := range times {
		t0 := time.Now()
		if err := call(); err != nil {
			return BenchResult{}, fmt.Errorf("bench: %w", err)
		}
		times[i] = time.Since(t0).Seconds()
	}
	slices.Sort(times)
	sec := times[len(times)/2]
	dir := "fwd"
	if c.Backward {
		dir = "bwd"
	}
	flops := BenchFlops(c)
	return BenchResult{Name: "attention", Kernel: c.Kernel.String(), Direction: dir,
		Batch: c.B, Heads: c.NH, KVHeads: pl.NKV, Seq: c.Tq, KVSeq: c.Tk, HeadDim: c.HS,
		Causal: c.Causal, Window: c.Window, Threads: parallel.Workers(), Runs: c.Runs,
		Seconds: sec, Flops: flops, GFlops: flops / sec / 1e9,
		PeakExtraBytes: ms1.TotalAlloc - ms0.TotalAlloc}, nil
}
