package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/attn-dev/attn/hub"
	"github.com/attn-dev/attn/internal/quote"
)

// modelDir resolves a --model value to a checkpoint directory: an
// existing path wins, else a NAME[@REVISION] pulled into the cache, else
// an error saying how to get one. It never touches the network.
func modelDir(v string) (string, error) {
	if _, err := os.Stat(v); err == nil || v == "" {
		return v, nil
	}
	if _, err := hub.ParseName(v); err != nil {
		return "", fmt.Errorf("--model %s: no such directory", quote.Short(v))
	}
	home, err := hub.Home()
	if err != nil {
		return "", fmt.Errorf("--model %s: no such directory, and %w", quote.Short(v), err)
	}
	dir, err := hub.Cache{Dir: home}.Resolve(v)
	if errors.Is(err, hub.ErrNotCached) {
		return "", fmt.Errorf("--model %s: no such directory, and %w", quote.Short(v), err)
	}
	if err != nil {
		return "", fmt.Errorf("--model %s: %w", quote.Short(v), err)
	}
	return dir, nil
}

// resolveModelFlag rewrites a verb's --model NAME into the directory it
// names (modelDir), before the verb runs, so that every verb takes a
// pulled name. serve, whose --model repeats, resolves its own.
func resolveModelFlag(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("model")
	if f == nil || f.Value.Type() != "string" || !f.Changed {
		return nil
	}
	dir, err := modelDir(f.Value.String())
	if err != nil {
		return err
	}
	return f.Value.Set(dir)
}
