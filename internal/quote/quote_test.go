package quote

import (
	"strings"
	"testing"
)

func TestShort(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"short", "hello", `"hello"`},
		{"exactly max", strings.Repeat("a", Max), `"` + strings.Repeat("a", Max) + `"`},
		{"long", strings.Repeat("a", 50000), `"` + strings.Repeat("a", Max) + `"… (50000 bytes)`},
		{"cut inside a character", strings.Repeat("a", Max-1) + "é" + strings.Repeat("b", 10), `"` + strings.Repeat("a", Max-1) + `"… (91 bytes)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Short(tc.in); got != tc.want {
				t.Errorf("Short = %s, want %s", got, tc.want)
			}
		})
	}
}
