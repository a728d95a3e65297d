package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/attn-dev/attn/embedded"
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

// embeddedFor names the embedded model a verb runs when it is given no
// --model: the GPT for what reads or writes text left to right, the
// encoder for vectors and masks. Verbs absent here need --model.
var embeddedFor = map[string]string{
	"generate": embedded.GPT, "attend": embedded.GPT, // generate: also bench generate "tokenize": embedded.GPT,
	"detokenize": embedded.GPT, "show": embedded.GPT, "forward": embedded.GPT,
	"embed": embedded.Encoder, "fill-mask": embedded.Encoder, "similarity": embedded.Encoder,
}

// useEmbedded returns the directory of the embedded model name, saying so
// in one line on stderr.
func useEmbedded(cmd *cobra.Command, name string) (string, error) {
	dir, err := embedded.Dir(name)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "attn: no --model given: using the embedded %s (attn pull NAME for a real one)\n", name)
	return dir, nil
}

// resolveModelFlag rewrites a verb's --model NAME into the directory it
// names (modelDir), before the verb runs, so that every verb takes a
// pulled name; a verb of embeddedFor given none runs the embedded model.
// serve, whose --model repeats, resolves its own.
func resolveModelFlag(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("model")
	if f == nil || f.Value.Type() != "string" {
		return nil
	}
	if !f.Changed {
		name, ok := embeddedFor[cmd.Name()]
		if !ok || cmd.Name() == "show" && cmd.Flags().NArg() > 0 {
			return nil
		}
		dir, err := useEmbedded(cmd, name)
		if err != nil {
			return err
		}
		return f.Value.Set(dir)
	}
	dir, err := modelDir(f.Value.String())
	if err != nil {
		return err
	}
	return f.Value.Set(dir)
}
