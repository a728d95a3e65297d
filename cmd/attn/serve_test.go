package main

import (
	"strings"
	"testing"
)

// TestServeVerbErrors: bad flags are refused before anything listens.
func TestServeVerbErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"serve"}, "needs at least one --model"},
		{"bad spec", []string{"serve", "--model", "=x"}, "want DIR or NAME=DIR"},
		{"no slots", []string{"serve", "--model", "x", "--max-concurrent", "0"}, "max concurrent requests 0"},
		{"bad timeout", []string{"serve", "--model", "x", "--timeout", "-1s"}, "timeout"},
		{"bad addr", []string{"serve", "--model", "x", "--addr", "127.0.0.1:99999"}, "--addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runVerb(t, "", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v: %v, want %q", tc.args, err, tc.want)
			}
		})
	}
}
