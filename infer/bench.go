package infer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/model"
)

// GenerateBenchConfig is one warm generation benchmark (attn bench
// generate): PromptLen random prompt ids (a fixed seed, within the
// vocabulary), then New greedy tokens with EOS ignored, Runs times after
// one cold run. The model's weights are as it was loaded (model.WithDType).
type GenerateBenchConfig struct {
	PromptLen, New, Runs int
}

// GenerateBenchResult is what `attn bench generate --json` prints.
// PrefillTokensPerSecond and TokensPerSecond are medians over the Runs
// warm runs, each into a fresh cache; ColdPrefillTokensPerSecond is the
// first run's, before any weight was touched. For an encoder-decoder the
// prompt is the source: prefill is its encoding (with the first decoder
// step from decoder_start_token_id), decode the New decoder tokens.
type GenerateBenchResult struct {
	Name                       string  `json:"name"`
	Architecture               string  `json:"architecture"`
	PromptLen                  int     `json:"prompt_len"`
	New                        int     `json:"new"`
	Runs                       int     `json:"runs"`
	Threads                    int     `json:"threads"`
	DType                      string  `json:"dtype"`
	PrefillTokensPerSecond     float64 `json:"prefill_tokens_per_second"`
	TokensPerSecond            float64 `json:"tokens_per_second"`
	ColdPrefillTokensPerSecond float64 `json:"cold_prefill_tokens_per_second"`
}

// BenchGenerate measures m (loaded from dir, whose generation config gives
// an encoder-decoder's decoder start token) as c says.
func BenchGenerate(m model.Model, dir string, c GenerateBenchConfig) (*GenerateBenchResult, error) {
	info := m.Info()
	if c.PromptLen < 1 || c.New < 2 || c.Runs < 1 {
		return nil, fmt.Errorf("infer: bench generate: prompt length %d, new %d, runs %d: want ≥ 1, ≥ 2, ≥ 1", c.PromptLen, c.New, c.Runs)
	}
	if info.Vocab < 1 {
		return nil, fmt.Errorf("infer: bench generate: %s does not generate tokens", info.Architecture)
	}
	base, err := generate.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	cfg := generate.Greedy(c.New, nil)
	cfg.IgnoreEOS = true
	cfg.PadTokenID, cfg.DecoderStartTokenID = base.PadTokenID, base.DecoderStartTokenID
	rng := rand.New(rand.NewPCG(1, 2))
	prompt := make([]int, c.PromptLen)
	for i := range prompt {
		prompt[i] = rng.IntN(info.Vocab)
	}
	var run func() (*generate.Result, error)
	seq2seq := IsEncoderDecoder(m)
	if seq2seq {
		s2s, err := NewSeq2Seq(m)
		if err != nil {
			return nil, err
		}
		run = func() (*generate.Result, error) { return generate.GenerateSeq2Seq(s2s, [][]int{prompt}, cfg, nil) }
	} else {
		lm, err := NewLM(m)
		if err != nil {
			return nil, err
		}
		run = func() (*generate.Result, error) { return generate.Generate(lm, [][]int{prompt}, cfg, nil) }
	}
	if _, err := fitPrompts([][]int{prompt}, cfg, info.Context, seq2seq, TruncateNone); err != nil {
		return nil, err
	}
	prefill, decode := make([]float64, 0, c.Runs+1), make([]float64, 0, c.Runs+1)
	for range c.Runs + 1 {
		res, err := run()
		if err != nil {
			return nil, err
		}
		if len(res.IDs) != 1 || len(res.IDs[0]) != c.New {
			return nil, errors.New("infer: bench generate: the run stopped before its new tokens")
		}
		prefill = append(prefill, float64(c.PromptLen)/max(res.PrefillTime, time.Nanosecond).Seconds())
		decode = append(decode, res.TokensPerSecond())
	}
	dtype := string(model.DTypeOf(m))
	return &GenerateBenchResult{
		Name: "generate", Architecture: info.Architecture, PromptLen: c.PromptLen, New: c.New, Runs: c.Runs,
		Threads: runtime.GOMAXPROCS(0), DType: dtype,
		PrefillTokensPerSecond: median(prefill[1:]), TokensPerSecond: median(decode[1:]), ColdPrefillTokensPerSecond: prefill[0],
	}, nil
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
