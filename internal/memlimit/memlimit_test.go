package memlimit

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	if Available() < 1<<20 {
		t.Fatalf("Available() = %d", Available())
	}
	for _, tc := range []struct {
		name   string
		shapes [][]int
		ok     bool
	}{
		{"small", [][]int{{1024, 1024}, {7}}, true},
		{"empty", nil, true},
		{"overflows int", [][]int{{1e9, 1e9, 1e9}}, false},
		{"4 TB", [][]int{{1000000, 1000000}}, false},
		{"one of several", [][]int{{3}, {1 << 62}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check("the test", Float32s(tc.shapes...))
			if (err == nil) != tc.ok {
				t.Fatalf("Check: %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "the test needs about") {
				t.Errorf("message %q does not name what", err)
			}
		})
	}
}
