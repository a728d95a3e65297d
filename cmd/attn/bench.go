package main

import "github.com/spf13/cobra"

// benchCmd groups the micro-benchmarks; each kernel adds its own subcommand.
var benchCmd = &cobra.Command{
	Use: "bench",
	Example: `  attn bench matmul
  attn bench attention --seq 2048 --causal --kernel flash
  attn bench generate --model testdata/generate/tiny-random-gpt2 --prompt-len 16 --new 16`,
	Short: "Measure a kernel's speed (one JSON object per measurement with --json)",
}

func init() { rootCmd.AddCommand(benchCmd) }
