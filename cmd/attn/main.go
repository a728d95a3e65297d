// Command attn is the command-line face of the attn Transformer engine.
//
// Every verb lives in its own file, parses flags and calls one library
// function; everything it does a Go program can do by import.
package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

var logLevel string

var rootCmd = &cobra.Command{
	Use:   "attn",
	Short: "attn — a Transformer engine in pure Go",
	Long: `attn runs, trains and shows self-attention Transformers on the CPU:
GPT-2, BERT, ViT, Marian and BART checkpoints from Hugging Face, and models it trains itself.`,
	SilenceUsage:  true,
	SilenceErrors: true,
	PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
			return fmt.Errorf("--log-level %q: %w", logLevel, err)
		}
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})))
		return nil
	},
}

func init() {
	rootCmd.PersistentFlags().StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn or error")
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "attn:", err)
		os.Exit(1)
	}
}
