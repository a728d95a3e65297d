package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

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
	var asJSON bool
	cmd := &cobra.Command{
		Use: "embed [--model NAME|DIR] --text TEXT [--text TEXT ...] [--layer N] [--pool mean|cls|none]",
		Example: `  attn embed --text "To be, or not to be"
  attn embed --text "my lord" --text "my liege" --pool cls --layer 2
  attn embed --text "To be" --pool none --json`,
		Short: "Print contextual embeddings of texts (and how alike they are)",
		Long: `embed runs the model on each text (tokenized with its special tokens) and
prints the hidden states after layer N (0: the embedding layer; -1, the
default: the last layer; for encoder-decoders the encoder's), pooled over the
tokens by mean (default), cls (the first token) or none (one vector per
token). It prints each text's tokens, the vector's size, norm and first
values, and for several texts the cosine similarity of every pair; --json
prints the vectors: {"layer": N, "pool": ..., "embeddings": [{"text",
"ids", "tokens", "vector" | "vectors"}]}.`,
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
			if asJSON {
				return printJSON(cmd, map[string]any{"model": dir, "layer": layer, "pool": p, "embeddings": res})
			}
			printEmbeddings(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "model", "", "checkpoint directory")
	dtype.register(cmd.Flags())
	cmd.Flags().StringArrayVar(&texts, "text", nil, "text to embed (repeatable)")
	cmd.Flags().IntVar(&layer, "layer", -1, "hidden layer: 0 embeddings … L last; negative counts from the end")
	cmd.Flags().StringVar(&pool, "pool", "mean", "pooling: mean, cls or none")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the vectors as JSON")
	registerTruncate(cmd, &trunc)
	rootCmd.AddCommand(cmd)
}

// printEmbeddings summarises embeddings for a reader: tokens, size, norm
// and the first values of each vector, then the cosine of every pair of
// pooled vectors.
func printEmbeddings(out io.Writer, res []infer.Embedding) {
	head := func(v []float32) string {
		var b strings.Builder
		for i, x := range v[:min(6, len(v))] {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%+.3f", x)
		}
		if len(v) > 6 {
			b.WriteString(" …")
		}
		return b.String()
	}
	for i, e := range res {
		fmt.Fprintf(out, "%d. %q: %d tokens %s\n", i+1, e.Text, len(e.IDs), strings.Join(e.Tokens, " "))
		if e.Vector != nil {
			fmt.Fprintf(out, "   vector [%d], norm %.3f: %s\n", len(e.Vector), norm(e.Vector), head(e.Vector))
		}
		for t, v := range e.Vectors {
			fmt.Fprintf(out, "   token %d [%d], norm %.3f: %s\n", t, len(v), norm(v), head(v))
		}
	}
	if len(res) > 1 && res[0].Vector != nil {
		fmt.Fprintln(out, "cosine similarity:")
		for i := range res {
			for j := i + 1; j < len(res); j++ {
				fmt.Fprintf(out, "   %d · %d  %.4f\n", i+1, j+1, infer.Cosine(res[i].Vector, res[j].Vector))
			}
		}
	}
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}
