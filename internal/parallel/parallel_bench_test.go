package parallel

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkWake measures how late the second chunk of a two-chunk loop
// starts after the loop is dispatched (wake-µs-p50/p90), when the caller
// was busy with serial work for gap before the loop (as decode is between
// its GEMVs) or, for sleep, blocked (a fresh request after an idle spell).
// The chunks themselves do about 20 µs of work each; chunk-µs-p50 is the
// wall time of the whole loop.
func BenchmarkWake(b *testing.B) {
	if Workers() < 2 {
		b.Skip("needs 2 workers")
	}
	for _, tc := range []struct {
		name  string
		gap   time.Duration
		sleep bool
	}{
		{"busy-gap=0", 0, false},
		{"busy-gap=20us", 20 * time.Microsecond, false},
		{"busy-gap=200us", 200 * time.Microsecond, false},
		{"sleep=1ms", time.Millisecond, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var t0, started time.Time
			fn := func(lo, hi int) {
				if lo > 0 {
					started = time.Now()
				}
				spinFor(20 * time.Microsecond)
			}
			wake := make([]float64, 0, b.N)
			loop := make([]float64, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if tc.sleep {
					time.Sleep(tc.gap)
				} else {
					spinFor(tc.gap)
				}
				t0 = time.Now()
				For(2, 1, fn)
				loop = append(loop, float64(time.Since(t0).Nanoseconds())/1e3)
				wake = append(wake, float64(started.Sub(t0).Nanoseconds())/1e3)
			}
			b.StopTimer()
			slices.Sort(wake)
			slices.Sort(loop)
			b.ReportMetric(wake[len(wake)/2], "wake-µs-p50")
			b.ReportMetric(wake[len(wake)*9/10], "wake-µs-p90")
			b.ReportMetric(loop[len(loop)/2], "loop-µs-p50")
		})
	}
}

// spinFor busy-waits for d (serial work standing in for a layer's
// non-parallel steps).
func spinFor(d time.Duration) {
	for t := time.Now(); time.Since(t) < d; {
	}
}

// BenchmarkForOverhead is the cost of an empty loop over all workers.
func BenchmarkForOverhead(b *testing.B) {
	for _, n := range []int{2, 64} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				For(n, 1, func(lo, hi int) {})
			}
		})
	}
}
