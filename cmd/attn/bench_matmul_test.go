package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchMatmulJSON(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		m, n, k int
		transB  bool
	}{
		{"shape flags", []string{"--m", "17", "--n", "9", "--k", "5"}, 17, 9, 5, false},
		{"transposed gemv", []string{"--m", "1", "--n", "40", "--k", "8", "--transb"}, 1, 40, 8, true},
		{"unset dims default", []string{"--m", "3", "--n", "2"}, 3, 2, 1024, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"bench", "matmul", "--json", "--runs", "5", "--budget", "1ms"}, tc.args...)
			out := strings.TrimSpace(runAttn(t, "", args...))
			if strings.Contains(out, "\n") {
				t.Fatalf("want one JSON line, got %q", out)
			}
			var r struct {
				Name           string  `json:"name"`
				M              int     `json:"m"`
				N              int     `json:"n"`
				K              int     `json:"k"`
				TransB         bool    `json:"transb"`
				Threads        int     `json:"threads"`
				Seconds        float64 `json:"seconds"`
				GFLOPS         float64 `json:"gflops"`
				PeakExtraBytes *uint64 `json:"peak_extra_bytes"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%q: %v", out, err)
			}
			if r.Name != "matmul" || r.M != tc.m || r.N != tc.n || r.K != tc.k || r.TransB != tc.transB {
				t.Errorf("got %s, want matmul m=%d n=%d k=%d transb=%v", out, tc.m, tc.n, tc.k, tc.transB)
			}
			if r.Threads < 1 || !(r.Seconds > 0) || !(r.GFLOPS > 0) || r.PeakExtraBytes == nil {
				t.Errorf("implausible measurement %s", out)
			}
		})
	}
}
