package main

import (
	"fmt"
	"math"
	"strconv"

	"github.com/spf13/cobra"
)

func init() {
	var dir, trunc, text string
	var dtype dtypeFlag
	var k int
	var asJSON bool
	cmd := &cobra.Command{
		Use: "fill-mask [--model NAME|DIR] --text TEXT [--top-k 5]",
		Example: `  attn fill-mask --text "To be, or not to [MASK], that is the question."
  attn fill-mask --text "My [MASK] is as boundless as the sea." --top-k 10 --json`,
		Short: "Predict the tokens hidden behind [MASK] with a masked language model",
		Long: `fill-mask runs a masked language model (BertForMaskedLM) on TEXT, which must
contain the tokenizer's mask token ([MASK], or <mask> for RoBERTa-style
vocabularies), and prints for every mask the top-k tokens with their
probabilities.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := intRange("top-k", k, 1, math.MaxInt); err != nil {
				return err
			}
			t, err := loadTask(dir, trunc, &dtype)
			if err != nil {
				return err
			}
			defer t.Close()
			res, err := t.FillMaskText(text, k)
			if err != nil {
				return contextHint(err)
			}
			if asJSON {
				return printJSON(cmd, map[string]any{"text": text, "masks": res})
			}
			out := cmd.OutOrStdout()
			for _, p := range res {
				fmt.Fprintf(out, "mask at token %d:\n", p.Position)
				for _, c := range p.Candidates {
					fmt.Fprintf(out, "  %-16s %.4f\n", strconv.Quote(c.Text), c.Prob)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "model", "", "checkpoint directory")
	dtype.register(cmd.Flags())
	cmd.Flags().StringVar(&text, "text", "", "text containing the mask token")
	cmd.Flags().IntVar(&k, "top-k", 5, "candidates per mask")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"masks": [{"position", "candidates": [{"id", "token", "text", "prob"}]}]}`)
	registerTruncate(cmd, &trunc)
	_ = cmd.MarkFlagRequired("text")
	rootCmd.AddCommand(cmd)
}
