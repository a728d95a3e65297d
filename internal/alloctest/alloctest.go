// Package alloctest measures the heap allocations of a steady-state call,
// for the tests that pin hot paths to zero allocations.
package alloctest

import (
	"runtime"
	"runtime/debug"

	"github.com/attn-dev/attn/internal/parallel"
)

// RunsPerWorker is how many calls PerCall measures per parallel worker.
const RunsPerWorker = 50

// PerCall returns the heap allocations per call of f, rounded down as
// testing.AllocsPerRun rounds them: the mean over RunsPerWorker calls per
// parallel worker, after one warm-up call, with the garbage collector off.
//
// testing.AllocsPerRun(10, f) is flaky for code that runs parallel loops:
// the free lists (attention's calls and workspaces, the GEMM buffers) hold
// one object per worker that has taken part in a loop, and on a loaded
// machine a worker may win its first item only during the measurement — a
// dozen one-off allocations, which ten runs report as "1 per call". Such
// one-offs are bounded by the number of workers, so over RunsPerWorker
// calls per worker they round down to 0, while an allocation made on every
// call still counts 1. With the collector off, no collection (nor what the
// runtime allocates for one) falls inside the window either.
func PerCall(f func()) float64 {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	f()
	runs := RunsPerWorker * parallel.Workers()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&m1)
	return float64((m1.Mallocs - m0.Mallocs) / uint64(runs))
}
