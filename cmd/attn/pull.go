package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/attn-dev/attn/hub"
)

// progressPeriod is how often a pull whose stderr is not a terminal
// writes a progress line.
const progressPeriod = 5 * time.Second

func init() {
	var asJSON bool
	var concurrency int
	cmd := &cobra.Command{
		Use:   "pull NAME[@REVISION] ...",
		Short: "Fetch a Hugging Face model repository into the local cache",
		Long: `pull fetches what a checkpoint needs from a Hugging Face model repository —
config.json, model.safetensors (or its index and shards), the tokenizer files,
preprocessor and generation configs — into the cache ($ATTN_HOME, default
~/.cache/attn). REVISION is a branch, tag or commit (default main). Every
file is checked against the hub's size and sha256; an interrupted pull
resumes where it stopped when run again. A repository with PyTorch weights
only (pytorch_model.bin) is converted to safetensors in the cache, reading
the pickle without running anything in it. Afterwards NAME works as --model
NAME in every verb. The endpoint is $HF_ENDPOINT (default
https://huggingface.co); a private or gated repository needs $HF_TOKEN.`,
		Example: `  attn pull openai-community/gpt2
  attn generate --model openai-community/gpt2 --prompt "Hello, I'm a language model," --max-new-tokens 20
  attn pull google-bert/bert-base-uncased@main --concurrency 8
  ATTN_HOME=/tmp/attn attn pull Helsinki-NLP/opus-mt-en-de
  attn list`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := hub.NewClient()
			if err != nil {
				return err
			}
			c.Offline = c.Offline || offline
			if err := givenRange(cmd, "concurrency", concurrency, 1, 64); err != nil {
				return err
			}
			c.Concurrency = concurrency
			if isTerminal(cmd.ErrOrStderr()) {
				c.NewProgress = hub.BarProgress(cmd.ErrOrStderr())
			} else {
				c.NewProgress = hub.LineProgress(cmd.ErrOrStderr(), progressPeriod)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			for _, name := range args {
				p, err := c.Pull(ctx, name)
				if errors.Is(err, context.Canceled) {
					return fmt.Errorf("pull %s interrupted: run it again to resume", name)
				}
				if err != nil {
					return fmt.Errorf("pull %s: %w", name, err)
				}
				if asJSON {
					if err := printJSON(cmd, map[string]any{"name": p.Name.Repo, "revision": p.Name.Revision, "commit": p.Commit, "dir": p.Dir, "files": len(p.Files), "fetched_bytes": p.Fetched, "cached": p.Cached}); err != nil {
						return err
					}
					continue
				}
				how := fmt.Sprintf("%s fetched", humanBytes(p.Fetched))
				if p.Cached {
					how = "offline: the cached copy, not checked for updates"
				} else if p.Fetched == 0 {
					how = "up to date"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s (commit %.12s): %s\n  %s\n", p.Name, p.Commit, how, p.Dir)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per name: name, revision, commit, dir, files, fetched_bytes, cached")
	cmd.Flags().IntVar(&concurrency, "concurrency", hub.DefaultConcurrency, "files downloaded at once")
	rootCmd.AddCommand(cmd)
}
