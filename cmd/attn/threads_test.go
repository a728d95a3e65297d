package main

import (
	"runtime"
	"strings"
	"testing"

	"github.com/attn-dev/attn/internal/parallel"
)

// TestThreadsFlag checks that every verb with --threads gets it applied
// (GOMAXPROCS and the worker pool) by the root, and rejects it when
// negative before doing any work.
func TestThreadsFlag(t *testing.T) {
	const tiny = "../../testdata/generate/tiny-random-gpt2"
	procs, workers := runtime.GOMAXPROCS(0), parallel.Workers()
	t.Cleanup(func() {
		runtime.GOMAXPROCS(procs)
		parallel.SetWorkers(workers)
	})
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"generate", []string{"generate", "--model", tiny, "--prompt-ids", "0,52", "--max-new-tokens", "1", "--temperature", "0", "--json", "--threads", "1"}, ""},
		{"bench matmul", []string{"bench", "matmul", "--m", "4", "--n", "4", "--k", "4", "--runs", "5", "--budget", "1ms", "--json", "--threads", "1"}, ""},
		{"generate negative", []string{"generate", "--model", tiny, "--prompt-ids", "0", "--threads", "-1"}, "--threads -1"},
		{"translate negative", []string{"translate", "--model", tiny, "--threads", "-2"}, "--threads -2"},
		{"bench matmul negative", []string{"bench", "matmul", "--list", "--threads", "-3"}, "--threads -3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime.GOMAXPROCS(2)
			parallel.SetWorkers(2)
			_, err := runVerb(t, "", tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p, w := runtime.GOMAXPROCS(0), parallel.Workers(); p != 1 || w != 1 {
				t.Errorf("after --threads 1: GOMAXPROCS %d, workers %d, want 1 and 1", p, w)
			}
		})
	}
}
