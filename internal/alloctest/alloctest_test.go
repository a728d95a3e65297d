package alloctest

import (
	"testing"

	"github.com/attn-dev/attn/internal/parallel"
)

var sink []byte

func TestPerCall(t *testing.T) {
	calls := 0
	for _, c := range []struct {
		name string
		f    func()
		want float64
	}{
		{"nothing", func() {}, 0},
		{"every call", func() { sink = make([]byte, 64) }, 1},
		{"two per call", func() { sink = make([]byte, 64); sink = make([]byte, 128) }, 2},
		// A free list filling up late: 20 allocations per worker, once.
		{"one-off", func() {
			calls++
			if calls > 3 && calls <= 3+20*parallel.Workers() {
				sink = make([]byte, 64)
			}
		}, 0},
	} {
		if got := PerCall(c.f); got != c.want {
			t.Errorf("%s: %v allocations per call, want %v", c.name, got, c.want)
		}
	}
}
