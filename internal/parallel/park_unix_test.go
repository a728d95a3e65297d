//go:build unix

package parallel

import (
	"syscall"
	"testing"
	"time"
)

// TestIdleWorkersPark checks that the polling after a loop is bounded:
// once the loops stop, the process must go quiet instead of burning a core
// per worker.
func TestIdleWorkersPark(t *testing.T) {
	For(1000, 1, func(lo, hi int) {})
	time.Sleep(10 * spinWait) // past the polling
	// The quietest of three windows: a garbage collection or another
	// package's test loading the machine can cost one window some CPU,
	// polling workers would cost every window a core.
	used := time.Hour
	for range 3 {
		before := cpuTime(t)
		time.Sleep(200 * time.Millisecond)
		used = min(used, cpuTime(t)-before)
	}
	if used > 50*time.Millisecond {
		t.Errorf("idle process used at least %v of CPU in each of three 200ms windows: workers still polling", used)
	}
}

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Skipf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
