package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/attn-dev/attn/attention"
	"github.com/spf13/cobra"
)

func init() {
	var (
		c                 attention.BenchConfig
		kernel, direction string
		asJSON            bool
	)
	cmd := &cobra.Command{
		Use: "attention",
		Example: `  attn bench attention
  attn bench attention --seq 4096 --heads 12 --head-dim 64 --causal --kernel flash --json
  attn bench attention --seq 8192 --kernel sparse --window 256 --causal`,
		Short: "Time one attention call (forward or backward) on random inputs",
		Long: `Times attention on random float32 inputs shaped [batch, heads, seq, head-dim]
(keys and values [batch, kv-heads, kv-seq, head-dim]): one warm-up, then the
median of --runs calls. gflops counts 4·seq·kv-seq·head-dim·heads·batch flops
(halved when causal, window-limited with --window, ×2.5 for --direction bwd);
peak_extra_bytes is the heap one cold call allocates beyond inputs and outputs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := attention.ParseKernel(kernel)
			if err != nil {
				return fmt.Errorf("--kernel: %w", err)
			}
			c.Kernel = k
			switch direction {
			case "fwd":
			case "bwd":
				c.Backward = true
			default:
				return fmt.Errorf("--direction %q: want fwd or bwd", direction)
			}
			if err := firstErr(
				intRange("batch", c.B, 1, math.MaxInt), intRange("heads", c.NH, 1, math.MaxInt),
				givenRange(cmd, "kv-heads", c.NKV, 1, c.NH), intRange("seq", c.Tq, 1, math.MaxInt),
				givenRange(cmd, "kv-seq", c.Tk, 1, math.MaxInt), intRange("head-dim", c.HS, 1, math.MaxInt),
				intRange("window", c.Window, 0, math.MaxInt), intRange("runs", c.Runs, 1, maxRuns),
			); err != nil {
				return err
			}
			if c.Tk == 0 {
				c.Tk = c.Tq
			}
			r, err := attention.Bench(c)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(os.Stdout).Encode(r)
			}
			fmt.Printf("attention %s %s B=%d NH=%d NKV=%d Tq=%d Tk=%d HS=%d causal=%v window=%d: %.4f s, %.1f GFLOP/s, %d extra bytes (%d threads)\n",
				r.Kernel, r.Direction, r.Batch, r.Heads, r.KVHeads, r.Seq, r.KVSeq, r.HeadDim, r.Causal, r.Window,
				r.Seconds, r.GFlops, r.PeakExtraBytes, r.Threads)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&c.B, "batch", 1, "batch size B")
	f.IntVar(&c.NH, "heads", 12, "query heads NH")
	f.IntVar(&c.NKV, "kv-heads", 0, "key/value heads NKV (0 = heads)")
	f.IntVar(&c.Tq, "seq", 2048, "query length")
	f.IntVar(&c.Tk, "kv-seq", 0, "key length (0 = seq)")
	f.IntVar(&c.HS, "head-dim", 64, "head size HS")
	f.BoolVar(&c.Causal, "causal", false, "causal mask (bottom-right aligned)")
	f.IntVar(&c.Window, "window", 0, "sliding-window width (0 = none)")
	f.IntVar(&c.Runs, "runs", 5, "timed runs after one warm-up")
	f.StringVar(&kernel, "kernel", "flash", "kernel: auto, ref, flash, sparse or decode")
	f.StringVar(&direction, "direction", "fwd", "fwd or bwd")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	benchCmd.AddCommand(cmd)
}
