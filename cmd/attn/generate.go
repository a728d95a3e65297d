package main

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/tokenizer"
	"github.com/spf13/cobra"
)

// genFlags are the sampling flags shared by generate and translate.
type genFlags struct {
	maxNew      int
	temperature float64
	topK        int
	topP        float64
	repetition  float64
	beams       int
	seed        uint64
	stops       []string
	ignoreEOS   bool
	numReturn   int
	truncate    string
}

func (f *genFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&f.maxNew, "max-new-tokens", 32, "tokens to generate at most (0: the model's max_length)")
	fl.Float64Var(&f.temperature, "temperature", 0, "0: plain greedy; > 0: sample at this temperature (default: the model's generation_config.json)")
	fl.IntVar(&f.topK, "top-k", 50, "when sampling, keep the k most likely tokens (0: all)")
	fl.Float64Var(&f.topP, "top-p", 1, "when sampling, keep the smallest set of tokens of probability ≥ p")
	fl.Float64Var(&f.repetition, "repetition-penalty", 0, "penalty > 1 on tokens already present (0: the model's)")
	fl.IntVar(&f.beams, "num-beams", 0, "beam search with this many beams (0: the model's)")
	fl.Uint64Var(&f.seed, "seed", 0, "random seed for sampling")
	fl.StringSliceVar(&f.stops, "stop", nil, "stop once the generated text contains this string (repeatable)")
	fl.BoolVar(&f.ignoreEOS, "ignore-eos", false, "keep generating after the end-of-sequence token")
	registerTruncate(cmd, &f.truncate)
	fl.IntVar(&f.numReturn, "num-return-sequences", 0, "sequences per input: independent samples, or the best beams, best first (default: the model's)")
	addThreadsFlag(cmd)
}

// check validates each flag the user gave, naming it; vocab bounds
// --num-beams.
func (f *genFlags) check(cmd *cobra.Command, vocab int) error {
	return firstErr(
		givenRange(cmd, "max-new-tokens", f.maxNew, 0, math.MaxInt),
		checkFloat("temperature", f.temperature, !cmd.Flags().Changed("temperature") || f.temperature >= 0 && !math.IsInf(f.temperature, 0),
			"0 (greedy) or a positive finite temperature"),
		givenRange(cmd, "top-k", f.topK, 0, math.MaxInt),
		checkFloat("top-p", f.topP, f.topP > 0 && f.topP <= 1, "a probability in (0, 1]"),
		checkFloat("repetition-penalty", f.repetition, !cmd.Flags().Changed("repetition-penalty") || f.repetition > 0 && !math.IsInf(f.repetition, 0),
			"a positive finite penalty (1: none)"),
		givenRange(cmd, "num-beams", f.beams, 1, max(1, min(vocab, maxSequences))),
		givenRange(cmd, "num-return-sequences", f.numReturn, 1, maxSequences),
	)
}

// truncation parses --truncate.
func (f *genFlags) truncation() (infer.Truncation, error) { return parseTruncate(f.truncate) }

// config turns the flags into generation settings over the model's own
// (vocab ids): --temperature 0 is plain greedy (argmax every step, no
// forced or banned token) whatever the model's generation config says.
func (f *genFlags) config(cmd *cobra.Command, base generate.Config, vocab int) (generate.Config, error) {
	if err := f.check(cmd, vocab); err != nil {
		return base, err
	}
	if _, err := f.truncation(); err != nil {
		return base, err
	}
	changed := cmd.Flags().Changed
	var c generate.Config
	if changed("temperature") && f.temperature == 0 {
		c = generate.Greedy(f.maxNew, base.EOSTokenIDs)
		c.MaxLength = base.MaxLength
		c.PadTokenID, c.BOSTokenID, c.DecoderStartTokenID = base.PadTokenID, base.BOSTokenID, base.DecoderStartTokenID
	} else {
		c = base
		c.MaxNewTokens = f.maxNew
		if changed("temperature") && f.temperature > 0 {
			c.DoSample, c.Temperature, c.NumBeams = true, f.temperature, 1
		}
		if changed("top-k") {
			c.TopK = f.topK
		}
		if changed("top-p") {
			c.TopP = f.topP
		}
		if changed("repetition-penalty") {
			c.RepetitionPenalty = f.repetition
		}
		if changed("num-beams") {
			c.NumBeams = f.beams
		}
	}
	c.Seed, c.StopStrings, c.IgnoreEOS = f.seed, f.stops, f.ignoreEOS
	if changed("num-return-sequences") {
		c.NumReturnSequences = f.numReturn
	}
	return c, nil
}

func init() {
	var dir string
	var dtype dtypeFlag
	var prompts, promptIDs []string
	var asJSON, verbose bool
	var gf genFlags
	cmd := &cobra.Command{
		Use: "generate [--model NAME|DIR] (--prompt TEXT | --prompt-ids 1,2,3)...",
		Example: `  attn generate --prompt "JULIET:"
  attn generate --prompt "KING RICHARD:" --temperature 0.8 --top-k 40 --seed 7 --max-new-tokens 100
  attn generate --prompt "To be" --prompt "O Romeo" --num-return-sequences 2 --temperature 0.9 --json
  attn generate --model testdata/generate/tiny-random-gpt2 --prompt-ids 0,0,0,52 --temperature 0 --json
  attn pull gpt2 && attn generate --model gpt2 --prompt "Hello, I'm a language model," --dtype bf16`,
		Short: "Continue a prompt with a language model (or translate with an encoder-decoder)",
		Long: `generate loads the checkpoint in DIR and decodes with its KV cache: the prompt
in one forward pass, then one token per step.

Without --temperature it follows the model's generation_config.json (greedy
or beam search, forced/banned tokens); --temperature 0 is plain greedy
(argmax every step, stopping at EOS); --temperature T > 0 samples, with
--top-k, --top-p and --seed. For an encoder-decoder (Marian, BART) the
prompt is the encoder's input and decoding starts from
decoder_start_token_id. A prompt that does not fit the model's context
with --max-new-tokens is refused, or cut by --truncate left (keep its end)
or right (keep its start).

The text streams to stdout as it is generated; --json prints instead
{"ids": [new ids], "text": ..., "prefill_tokens_per_second": ...,
"tokens_per_second": ...}; --verbose reports the speeds on stderr.

--num-return-sequences N yields N sequences per prompt (N samples, or the
N best beams); several --prompt (or --prompt-ids) flags generate the
prompts as one batch, left-padded. Then nothing streams: each sequence's
text is printed on a line of its own, and --json prints a line per prompt,
the object above for one sequence, a list of them for N > 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(prompts) == 0) == (len(promptIDs) == 0) {
				return fmt.Errorf("generate needs exactly one of --prompt and --prompt-ids")
			}
			opts, err := dtype.options()
			if err != nil {
				return err
			}
			var ids [][]int
			for _, p := range promptIDs {
				seq, err := tokenizer.ParseIDs([]byte(p))
				if err != nil {
					return fmt.Errorf("--prompt-ids: %w", err)
				}
				if len(seq) == 0 {
					return fmt.Errorf("--prompt-ids is empty")
				}
				ids = append(ids, seq)
			}
			g, err := infer.LoadGenerator(dir, opts...)
			if err != nil {
				return err
			}
			defer g.Close()
			cfg, err := gf.config(cmd, g.Config, g.Model.Info().Vocab)
			if err != nil {
				return err
			}
			trunc, _ := gf.truncation()
			out := cmd.OutOrStdout()
			if len(prompts)+len(ids) > 1 || cfg.NumReturnSequences > 1 {
				res, err := g.GenerateBatch(infer.BatchRequest{Prompts: prompts, PromptIDs: ids, Config: cfg, Truncate: trunc})
				if err != nil {
					return contextHint(err)
				}
				return printBatch(cmd, g, res, asJSON, verbose)
			}
			req := infer.Request{Config: cfg, Truncate: trunc}
			if len(prompts) == 1 {
				req.Prompt = prompts[0]
			} else {
				req.PromptIDs = ids[0]
			}
			if !asJSON && g.Tokenizer != nil {
				req.OnText = func(piece string) error {
					_, err := fmt.Fprint(out, piece)
					return err
				}
			}
			res, err := g.Generate(req)
			if err != nil {
				return contextHint(err)
			}
			if verbose {
				if !asJSON && g.Tokenizer != nil {
					fmt.Fprintln(out)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "prompt: %d tokens, %.1f tokens/s; generation: %d tokens, %.1f tokens/s\n",
					len(res.PromptIDs), res.PrefillTokensPerSecond, len(res.IDs), res.TokensPerSecond)
				if !asJSON && g.Tokenizer != nil {
					return nil
				}
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetEscapeHTML(false)
				return enc.Encode(res)
			}
			if g.Tokenizer == nil {
				b, _ := json.Marshal(res.IDs)
				_, err = fmt.Fprintln(out, string(b))
				return err
			}
			_, err = fmt.Fprintln(out)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "model", "", "checkpoint directory (config.json, model.safetensors, tokenizer)")
	cmd.Flags().StringArrayVar(&prompts, "prompt", nil, "prompt text, tokenized with the model's tokenizer (repeat for a batch)")
	cmd.Flags().StringArrayVar(&promptIDs, "prompt-ids", nil, "prompt token ids, e.g. 1,2,3 (repeat for a batch)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"ids": [...], "text": ..., "prefill_tokens_per_second": ..., "tokens_per_second": ...}`)
	cmd.Flags().BoolVar(&verbose, "verbose", false, "report prompt and generation speed in tokens/s on stderr")
	dtype.register(cmd.Flags())
	gf.register(cmd)
	rootCmd.AddCommand(cmd)
}

// printBatch prints the generations of a batch or of several sequences
// per prompt: with asJSON a line per prompt (the single-sequence object,
// or a list of them when there are several), otherwise each sequence's
// text (its ids without a tokenizer) on a line.
func printBatch(cmd *cobra.Command, g *infer.Generator, res []*infer.Generation, asJSON, verbose bool) error {
	out := cmd.OutOrStdout()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for _, gen := range res {
		var err error
		switch {
		case asJSON && len(gen.Sequences) == 1:
			err = enc.Encode(gen)
		case asJSON:
			list := make([]infer.Generation, len(gen.Sequences))
			for i, s := range gen.Sequences {
				list[i] = infer.Generation{IDs: s.IDs, Text: s.Text,
					PrefillTokensPerSecond: gen.PrefillTokensPerSecond, TokensPerSecond: gen.TokensPerSecond}
			}
			err = enc.Encode(list)
		default:
			for _, s := range gen.Sequences {
				if g.Tokenizer == nil {
					b, _ := json.Marshal(s.IDs)
					_, err = fmt.Fprintln(out, string(b))
				} else {
					_, err = fmt.Fprintln(out, s.Text)
				}
				if err != nil {
					break
				}
			}
		}
		if err != nil {
			return err
		}
	}
	if verbose && len(res) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "prefill %.1f tokens/s; generation %.1f tokens/s (%d prompts)\n",
			res[0].PrefillTokensPerSecond, res[0].TokensPerSecond, len(res))
	}
	return nil
}
