package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForCoversRangeOnce(t *testing.T) {
	for _, tc := range []struct{ n, grain int }{{0, 1}, {1, 1}, {7, 1}, {1000, 3}, {1000, 1000}, {5, 100}} {
		seen := make([]int32, tc.n)
		For(tc.n, tc.grain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&seen[i], 1)
			}
		})
		for i, s := range seen {
			if s != 1 {
				t.Fatalf("n=%d grain=%d: index %d visited %d times", tc.n, tc.grain, i, s)
			}
		}
	}
}

func TestNestedForDoesNotDeadlock(t *testing.T) {
	var total int64
	For(64, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			For(64, 1, func(lo, hi int) { atomic.AddInt64(&total, int64(hi-lo)) })
		}
	})
	if total != 64*64 {
		t.Fatalf("total = %d, want %d", total, 64*64)
	}
}

func TestSetWorkers(t *testing.T) {
	defer SetWorkers(0)
	for _, n := range []int{1, 3, 2} {
		SetWorkers(n)
		if Workers() != n {
			t.Fatalf("Workers() = %d after SetWorkers(%d)", Workers(), n)
		}
		var chunks atomic.Int32
		For(1000, 1, func(lo, hi int) { chunks.Add(1) })
		if got := int(chunks.Load()); got != n {
			t.Errorf("SetWorkers(%d): loop ran in %d chunks, want %d", n, got, n)
		}
	}
}
