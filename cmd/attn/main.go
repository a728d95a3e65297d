// Command attn is the command-line face of the attn Transformer engine.
//
// Every verb lives in its own file, parses flags and calls one library
// function; everything it does a Go program can do by import.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/attn-dev/attn/internal/parallel"
)

var (
	logLevel string
	offline  bool // --offline: nothing touches the network
)

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
		if err := applyThreads(cmd); err != nil {
			return err
		}
		return resolveModelFlag(cmd)
	},
}

// addThreadsFlag gives a verb that runs parallel work the --threads flag;
// the root applies it (applyThreads) before the verb runs, so no verb
// sets the thread count itself.
func addThreadsFlag(cmd *cobra.Command) {
	cmd.Flags().Int("threads", 0, "worker threads (default: all cores)")
}

// applyThreads sets GOMAXPROCS and the kernels' worker pool from the
// --threads of cmd, when cmd has the flag and it is set.
func applyThreads(cmd *cobra.Command) error {
	if cmd.Flags().Lookup("threads") == nil {
		return nil
	}
	n, err := cmd.Flags().GetInt("threads")
	if err != nil {
		return fmt.Errorf("--threads: %w", err)
	}
	if err := givenRange(cmd, "threads", n, 1, maxThreads()); err != nil {
		return err
	}
	if n > 0 {
		runtime.GOMAXPROCS(n)
		parallel.SetWorkers(n)
	}
	return nil
}

// version is set at link time (-ldflags "-X main.version=v1.2.3"); a
// build from a checkout reports its module version or VCS revision.
var version = ""

// versionString describes this build: version, commit and Go.
func versionString() string {
	v, rev, dirty := version, "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		if dirty {
			rev += "+changes"
		}
		v += " (" + rev + ")"
	}
	return fmt.Sprintf("%s, %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func init() {
	rootCmd.Version = versionString()
	rootCmd.PersistentFlags().StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	rootCmd.PersistentFlags().BoolVar(&offline, "offline", false, "never touch the network (also ATTN_OFFLINE=1): models come from the cache only")
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "attn:", err)
		os.Exit(1)
	}
}
