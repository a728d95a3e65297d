package main

import (
	"errors"
	"fmt"
	"math"

	"github.com/attn-dev/attn/infer"
	"github.com/spf13/cobra"
)

func init() {
	var (
		dir    string
		dtype  dtypeFlag
		c      infer.GenerateBenchConfig
		asJSON bool
	)
	cmd := &cobra.Command{
		Use: "generate --model DIR --prompt-len P --new N --runs R",
		Example: `  attn bench generate --model testdata/generate/tiny-random-gpt2 --prompt-len 16 --new 16 --runs 3
  attn init --arch gpt2 --layers 12 --heads 12 --hidden 768 --vocab 50257 --context 1024 --out /tmp/gpt2s
  attn bench generate --model /tmp/gpt2s --prompt-len 512 --new 64 --dtype bf16 --json`,
		Short: "Measure warm prefill and decode speed of a generative model",
		Long: `generate times a P-token prompt of random ids (fixed seed) prefilled into a
fresh cache, then N greedy new tokens (EOS ignored), R times after one cold
run: prefill_tokens_per_second and tokens_per_second are the medians of the
R warm runs, cold_prefill_tokens_per_second the first run's (weights not yet
touched). For Marian and BART the P tokens are the source: the prefill is
its encoding, then N decoder tokens from decoder_start_token_id.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := firstErr(
				intRange("prompt-len", c.PromptLen, 1, math.MaxInt), intRange("new", c.New, 2, math.MaxInt),
				intRange("runs", c.Runs, 1, maxRuns),
			); err != nil {
				return err
			}
			m, err := dtype.loadModel(dir)
			if err != nil {
				return err
			}
			defer m.Close()
			r, err := infer.BenchGenerate(m, dir, c)
			var ce *infer.ContextError
			if errors.As(err, &ce) {
				return fmt.Errorf("--prompt-len %d with --new %d does not fit the model's context of %d tokens", c.PromptLen, c.New, ce.Limit)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd, struct {
					Model string `json:"model"`
					*infer.GenerateBenchResult
				}{dir, r})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "generate %s %s P=%d N=%d runs=%d threads=%d: prefill %.1f tokens/s (cold %.1f), decode %.1f tokens/s\n",
				r.Architecture, r.DType, r.PromptLen, r.New, r.Runs, r.Threads, r.PrefillTokensPerSecond, r.ColdPrefillTokensPerSecond, r.TokensPerSecond)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "model", "", "checkpoint directory of a GPT-2, Marian or BART model")
	f.IntVar(&c.PromptLen, "prompt-len", 128, "prompt (source) tokens P")
	f.IntVar(&c.New, "new", 64, "new tokens N (at least 2: the first comes from the prefill)")
	f.IntVar(&c.Runs, "runs", 5, "warm runs after the cold one")
	dtype.register(f)
	addThreadsFlag(cmd)
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	benchCmd.AddCommand(cmd)
}
