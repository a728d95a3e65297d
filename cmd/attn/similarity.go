package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() {
	var dir, word, a, b string
	var dtype dtypeFlag
	var asJSON bool
	cmd := &cobra.Command{
		Use: "similarity [--model NAME|DIR] [--word bank --a TEXT --b TEXT]",
		Example: `  attn similarity --word lie --a "Here will I lie to night." --b "Thou dost lie, and art false."
  attn pull bert-base-uncased && attn similarity --model bert-base-uncased --json`,
		Short: "Compare one word's contextual vectors in two sentences, layer by layer",
		Long: `similarity finds --word in sentences --a and --b, takes its vector (the mean
of its sub-word tokens) after every layer and prints the cosine similarity of
the two per layer. The default is the classic demonstration: "bank" by a
river and "bank" of an investment start alike at the embedding layer and
drift apart as attention mixes in their contexts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := loadTask(dir, "", &dtype)
			if err != nil {
				return err
			}
			defer t.Close()
			res, err := t.Similarity(word, a, b)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd, map[string]any{"word": word, "a": a, "b": b, "layers": res})
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%q in\n  a: %s\n  b: %s\nlayer  cosine\n", word, a, b)
			for _, r := range res {
				fmt.Fprintf(out, "%5d  %.4f\n", r.Layer, r.Cosine)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "model", "", "checkpoint directory")
	dtype.register(cmd.Flags())
	cmd.Flags().StringVar(&word, "word", "bank", "the word to compare")
	cmd.Flags().StringVar(&a, "a", "We sat on the bank of the river and watched the water.", "first sentence")
	cmd.Flags().StringVar(&b, "b", "She took a loan from the investment bank.", "second sentence")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"layers": [{"layer", "cosine"}]}`)
	rootCmd.AddCommand(cmd)
}
