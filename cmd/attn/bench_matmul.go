package main

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/internal/memlimit"
	"github.com/attn-dev/attn/internal/parallel"
)

func init() {
	var (
		asJSON, list   bool
		m, n, k        int
		runs           int
		transA, transB bool
		budget         time.Duration
	)
	cmd := &cobra.Command{
		Use: "matmul",
		Example: `  attn bench matmul
  attn bench matmul --m 128 --n 768 --k 3072 --runs 5 --json
  attn bench matmul --list`,
		Short: "Measure SGEMM C = op(A)·op(B) (default: square, decode and GPT-small training shapes)",
		Long: `matmul times kernels.Sgemm and prints one line per shape: the median of
several runs after warm-up, GFLOP/s = 2·M·N·K / seconds, and the bytes the
kernel allocated beyond its operands. Without --m/--n/--k it runs 1024³,
2048³, the decode GEMV 1×768·768×3072 (both weight layouts) and the
768×384·384×1536 projection with its backward products.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := firstErr(
				givenRange(cmd, "m", m, 1, math.MaxInt), givenRange(cmd, "n", n, 1, math.MaxInt), givenRange(cmd, "k", k, 1, math.MaxInt),
				intRange("runs", runs, 1, maxRuns),
				checkFloat("budget", budget.Seconds(), budget > 0, "a positive duration"),
			); err != nil {
				return err
			}
			shapes := kernels.DefaultSgemmShapes
			if m > 0 || n > 0 || k > 0 {
				s := kernels.SgemmShape{M: m, N: n, K: k, TransA: transA, TransB: transB}
				for _, d := range []*int{&s.M, &s.N, &s.K} {
					if *d == 0 {
						*d = 1024
					}
				}
				shapes = []kernels.SgemmShape{s}
			}
			for _, s := range shapes {
				if err := memlimit.Check(fmt.Sprintf("bench matmul %dx%dx%d", s.M, s.N, s.K),
					memlimit.Float32s([]int{s.M, s.K}, []int{s.K, s.N}, []int{s.M, s.N})); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if list {
				for _, s := range shapes {
					fmt.Fprintf(out, "%d,%d,%d,%d,%d\n", s.M, s.N, s.K, b2i(s.TransA), b2i(s.TransB))
				}
				return nil
			}
			for _, s := range shapes {
				r := kernels.MeasureSgemm(s, runs, budget)
				if !asJSON {
					fmt.Fprintf(out, "matmul %dx%dx%d transa=%v transb=%v threads=%d impl=%s: %.3f ms, %.1f GFLOP/s, %d extra bytes\n",
						s.M, s.N, s.K, s.TransA, s.TransB, parallel.Workers(), kernels.Implementation(), r.Seconds*1e3, r.GFLOPS, r.PeakExtraBytes)
					continue
				}
				line, err := json.Marshal(map[string]any{
					"name": "matmul", "impl": kernels.Implementation(),
					"m": s.M, "n": s.N, "k": s.K, "transa": s.TransA, "transb": s.TransB,
					"threads": parallel.Workers(), "seconds": r.Seconds, "gflops": r.GFLOPS,
					"peak_extra_bytes": r.PeakExtraBytes, "runs": r.Runs,
				})
				if err != nil {
					return fmt.Errorf("bench matmul: %w", err)
				}
				fmt.Fprintln(out, string(line))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print one JSON object per shape")
	f.BoolVar(&list, "list", false, "print the shapes as M,N,K,TRANSA,TRANSB lines (0/1) instead of measuring")
	f.IntVar(&m, "m", 0, "rows of C (with --n/--k: measure this one shape; unset ones default to 1024)")
	f.IntVar(&n, "n", 0, "columns of C")
	f.IntVar(&k, "k", 0, "inner dimension")
	f.BoolVar(&transA, "transa", false, "A stored K×M (op(A) = Aᵀ)")
	f.BoolVar(&transB, "transb", false, "B stored N×K (op(B) = Bᵀ)")
	addThreadsFlag(cmd)
	f.IntVar(&runs, "runs", 21, "timed runs per shape (at least 5 are made; fewer than asked if --budget runs out)")
	f.DurationVar(&budget, "budget", 3*time.Second, "time budget per shape for the timed runs")
	benchCmd.AddCommand(cmd)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
