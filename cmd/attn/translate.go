package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/attn-dev/attn/infer"
	"github.com/spf13/cobra"
)

func init() {
	var dir, text string
	var dtype dtypeFlag
	var asJSON, verbose bool
	var gf genFlags
	cmd := &cobra.Command{
		Use: "translate --model DIR [--text TEXT]",
		Example: `  attn pull Helsinki-NLP/opus-mt-en-de
  attn translate --model Helsinki-NLP/opus-mt-en-de --text "The house is wonderful."
  attn translate --model Helsinki-NLP/opus-mt-en-de --text "Good morning" --num-beams 4 --json`,
		Short: "Translate with a Marian or BART model (beam search as its generation config says)",
		Long: `translate encodes TEXT (or each line of stdin; a blank line gives a blank line) with the model's SentencePiece
tokenizer, decodes following generation_config.json / config.json as
transformers does (num_beams, max_length, length_penalty, early_stopping,
forced BOS/EOS, bad_words_ids such as the pad id) and prints the detokenized
translation. --num-beams, --max-new-tokens and --temperature override it.
--num-return-sequences N prints the N best beams per input, best first (a
line each, "rank<TAB>text"; with --json a "sequences" list is added).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := dtype.options()
			if err != nil {
				return err
			}
			g, err := infer.LoadGenerator(dir, opts...)
			if err != nil {
				return err
			}
			defer g.Close()
			if !g.EncoderDecoder() {
				return fmt.Errorf("translate needs an encoder-decoder (Marian, BART); %s is %s", dir, g.Model.Info().Architecture)
			}
			cfg, err := gf.config(cmd, g.Config, g.Model.Info().Vocab)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("max-new-tokens") {
				cfg.MaxNewTokens = 0 // the model's max_length
			}
			lines := []string{text}
			if text == "" {
				lines = nil
				sc := bufio.NewScanner(cmd.InOrStdin())
				sc.Buffer(make([]byte, 1<<16), 1<<24)
				for sc.Scan() {
					lines = append(lines, strings.TrimSpace(sc.Text()))
				}
				if err := sc.Err(); err != nil {
					return fmt.Errorf("reading stdin: %w", err)
				}
			}
			trunc, _ := gf.truncation()
			for _, l := range lines {
				res := &infer.Generation{IDs: []int{}}
				if l != "" { // a blank line in is a blank line out: the output lines up with the input
					if res, err = g.Generate(infer.Request{Prompt: l, Config: cfg, Truncate: trunc}); err != nil {
						return contextHint(err)
					}
				}
				if verbose {
					fmt.Fprintf(cmd.ErrOrStderr(), "source: %d tokens, %.1f tokens/s; target: %d tokens, %.1f tokens/s\n",
						len(res.PromptIDs), res.PrefillTokensPerSecond, len(res.IDs), res.TokensPerSecond)
				}
				if asJSON {
					obj := map[string]any{"source": l, "ids": res.IDs, "text": res.Text}
					if len(res.Sequences) > 1 {
						obj["sequences"] = res.Sequences
					}
					if err := printJSON(cmd, obj); err != nil {
						return err
					}
					continue
				}
				if len(res.Sequences) > 1 {
					for i, s := range res.Sequences {
						fmt.Fprintf(cmd.OutOrStdout(), "%d\t%s\n", i+1, s.Text)
					}
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), res.Text)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "model", "", "Marian or BART checkpoint directory with its tokenizer")
	dtype.register(cmd.Flags())
	cmd.Flags().StringVar(&text, "text", "", "text to translate (default: each line of stdin)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"source", "ids", "text"} per input`)
	cmd.Flags().BoolVar(&verbose, "verbose", false, "report speeds on stderr")
	gf.register(cmd)
	_ = cmd.MarkFlagRequired("model")
	rootCmd.AddCommand(cmd)
}
