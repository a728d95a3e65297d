package main

import "github.com/spf13/cobra"

// benchCmd groups the micro-benchmarks; each kernel adds its own subcommand.
var benchCmd = &cobra.Command{
	Use:   "bench",
	Short: "Measure a kernel's speed (one JSON object per measurement with --json)",
}

func init() { rootCmd.AddCommand(benchCmd) }
