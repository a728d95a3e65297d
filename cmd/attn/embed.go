package main

import (
	"encoding/json"
	"fmt"

	"github.com/attn-dev/attn/infer"
	"github.com/spf13/cobra"
)

// printJSON writes v as one JSON document without HTML escaping.
func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func init() {
	var dir, trunc, pool string
	var dtype dtypeFlag
	var texts []string
	var layer int
	cmd := &cobra.Command{
		Use:   "embed --model DIR --text TEXT [--text TEXT ...] [--layer N] [--pool mean|cls|none]",
		Short: "Print contextual embeddings of texts as JSON",
		Long: `embed runs the model on each text (tokenized with its special tokens) and
prints the hidden states after layer N (0: the embedding layer; -1, the
default: the last layer; for encoder-decoders the encoder's), pooled over the
tokens by mean (default), cls (the first token) or none (one vector per
token), as JSON: {"layer": N, "pool": ..., "embeddings": [{"text", "ids",
"tokens", "vector" | "vectors"}]}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := infer.ParsePooling(pool)
			if err != nil {
				return err
			}
			if len(texts) == 0 {
				return fmt.Errorf("embed needs at least one --text")
			}
			t, err := loadTask(dir, trunc, &dtype)
			if err != nil {
				return err
			}
			defer t.Close()
			res, err := t.EmbedTexts(texts, layer, p)
			if err != nil {
				return contextHint(err)
			}
			return printJSON(cmd, map[string]any{"model": dir, "layer": layer, "pool": p, "embeddings": res})
		},
	}
	cmd.Flags().StringVar(&dir, "model", "", "checkpoint directory")
	dtype.register(cmd.Flags())
	cmd.Flags().StringArrayVar(&texts, "text", nil, "text to embed (repeatable)")
	cmd.Flags().IntVar(&layer, "layer", -1, "hidden layer: 0 embeddings … L last; negative counts from the end")
	cmd.Flags().StringVar(&pool, "pool", "mean", "pooling: mean, cls or none")
	registerTruncate(cmd, &trunc)
	_ = cmd.MarkFlagRequired("model")
	rootCmd.AddCommand(cmd)
}
