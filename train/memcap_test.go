package train

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// TestCapHeap: without a limit, capHeap sets one above the heap in use
// and restores none; a limit already set is left alone.
func TestCapHeap(t *testing.T) {
	if os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOMEMLIMIT is set: capHeap leaves it")
	}
	prev := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prev)
	debug.SetMemoryLimit(math.MaxInt64)
	restore := capHeap()
	if got := debug.SetMemoryLimit(-1); got == math.MaxInt64 || got < 64<<20 {
		t.Errorf("limit after capHeap: %d", got)
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit after restore: %d, want none", got)
	}
	debug.SetMemoryLimit(1 << 40)
	restore = capHeap()
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("capHeap replaced a limit already set: %d", got)
	}
	restore()
}
