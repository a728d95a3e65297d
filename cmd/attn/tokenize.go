package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/attn-dev/attn/tokenizer"
	"github.com/spf13/cobra"
)

func init() {
	var model string
	var asJSON, noSpecial bool
	tok := &cobra.Command{
		Use: "tokenize [--model NAME|DIR]",
		Example: `  echo "To be, or not to be" | attn tokenize
  echo "Hello world" | attn tokenize --model testdata/generate/tiny-random-gpt2 --json`,
		Short: "Print the token ids of the text on stdin",
		Long: `tokenize reads the whole of stdin as the text, byte for byte, and prints its
token ids with the tokenizer in DIR (tokenizer.json, vocab.json+merges.txt,
vocab.txt, *.spm or *.model). Special tokens are added as Hugging Face's
add_special_tokens=True adds them unless --no-special-tokens.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tokenizer.Load(model)
			if err != nil {
				return err
			}
			text, err := io.ReadAll(cmd.InOrStdin())
			if err != nil {
				return fmt.Errorf("reading stdin: %w", err)
			}
			ids, err := t.Encode(string(text), !noSpecial)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !asJSON {
				s := make([]string, len(ids))
				for i, id := range ids {
					s[i] = strconv.Itoa(id)
				}
				_, err = fmt.Fprintln(out, strings.Join(s, " "))
				return err
			}
			toks, err := tokenizer.Tokens(t, ids)
			if err != nil {
				return err
			}
			if ids == nil { // an empty text: "ids": [], not null
				ids, toks = []int{}, []string{}
			}
			enc := json.NewEncoder(out)
			enc.SetEscapeHTML(false)
			return enc.Encode(struct {
				IDs    []int    `json:"ids"`
				Tokens []string `json:"tokens"`
			}{ids, toks})
		},
	}
	tok.Flags().StringVar(&model, "model", "", "model directory holding the tokenizer files")
	tok.Flags().BoolVar(&asJSON, "json", false, `print {"ids": [...], "tokens": [...]}`)
	tok.Flags().BoolVar(&noSpecial, "no-special-tokens", false, "do not add the model's special tokens")

	var dmodel string
	var skip bool
	detok := &cobra.Command{
		Use: "detokenize [--model NAME|DIR]",
		Example: `  echo "68,261,11" | attn detokenize
  echo "To be" | attn tokenize | attn detokenize`,
		Short: "Print the text of the token ids on stdin",
		Long: `detokenize reads token ids on stdin ({"ids": [...]}, a JSON array, or
integers separated by spaces, commas or newlines) and writes their text to
stdout exactly, without a trailing newline.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tokenizer.Load(dmodel)
			if err != nil {
				return err
			}
			data, err := io.ReadAll(cmd.InOrStdin())
			if err != nil {
				return fmt.Errorf("reading stdin: %w", err)
			}
			ids, err := tokenizer.ParseIDs(data)
			if err != nil {
				return err
			}
			text, err := t.Decode(ids, skip)
			if err != nil {
				return err
			}
			_, err = io.WriteString(cmd.OutOrStdout(), text)
			return err
		},
	}
	detok.Flags().StringVar(&dmodel, "model", "", "model directory holding the tokenizer files")
	detok.Flags().BoolVar(&skip, "skip-special-tokens", false, "leave special tokens out of the text")

	rootCmd.AddCommand(tok, detok)
}
