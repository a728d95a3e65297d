package generate

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Options are the per-call hooks of a generation.
type Options struct {
	// OnToken, when set, is called with every token as it is chosen (row
	// is the batch entry); returning an error stops the generation with
	// that error. Beam search, whose tokens are known only at the end,
	// does not call it.
	OnToken func(row, id int) error
	// Decode turns a row's generated ids into text; it is needed for
	// Config.StopStrings.
	Decode func(ids []int) (string, error)
}

// Result is what a generation produced.
type Result struct {
	// IDs holds each batch entry's new tokens (the EOS that ended it
	// included; for beam search the best hypothesis). With
	// NumReturnSequences n > 1 every prompt yields n entries, prompt i's
	// at i·n … i·n+n−1 (beam search's best first), as transformers
	// returns them.
	IDs [][]int
	// Scores holds beam search's length-penalised sequence scores.
	Scores []float64
	// PromptTokens is the number of positions the prefill processed
	// (rows × padded prompt length, plus the sources' tokens for a
	// Seq2Seq, whose encoder the prefill runs); DecodeTokens the number of tokens
	// produced by the decode steps (rows × steps).
	PromptTokens, DecodeTokens int
	// PrefillTime is the prompt's forward pass (the encoder's too for a
	// Seq2Seq); DecodeTime the rest.
	PrefillTime, DecodeTime time.Duration
}

// PrefillTokensPerSecond is PromptTokens / PrefillTime.
func (r *Result) PrefillTokensPerSecond() float64 {
	return perSecond(r.PromptTokens, r.PrefillTime)
}

// TokensPerSecond is the decode speed: the tokens chosen after the first one
// (which the prefill's logits gave) per second of decode steps.
func (r *Result) TokensPerSecond() float64 { return perSecond(r.DecodeTokens, r.DecodeTime) }

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Generate continues each prompt of a decoder-only model. Prompts of
// different lengths are padded on the left (with the pad id, or the first
// EOS id when the model has none) and their padding is masked. With
// NumBeams > 1 it runs beam search on each prompt. See Result.IDs for
// NumReturnSequences.
func Generate(m Model, prompts [][]int, cfg Config, opt *Options) (*Result, error) {
	if len(prompts) == 0 {
		return nil, errors.New("generate: no prompt")
	}
	for i, p := range prompts {
		if len(p) == 0 {
			return nil, fmt.Errorf("generate: prompt %d is empty", i)
		}
	}
	return run(m, nil, nil, prompts, cfg, opt)
}

// GenerateSeq2Seq translates (or summarises) each source with an
// encoder-decoder: the encoder runs once on the sources, and decoding starts
// from DecoderStartTokenID. The returned IDs are the tokens after that start
// token.
func GenerateSeq2Seq(m Seq2Seq, src [][]int, cfg Config, opt *Options) (*Result, error) {
	if len(src) == 0 {
		return nil, errors.New("generate: no source")
	}
	for i, s := range src {
		if len(s) == 0 {
			return nil, fmt.Errorf("generate: source %d is empty", i)
		}
	}
	if cfg.DecoderStartTokenID < 0 {
		return nil, errors.New("generate: the model has no decoder start token id")
	}
	prompts := make([][]int, len(src))
	for i := range prompts {
		prompts[i] = []int{cfg.DecoderStartTokenID}
	}
	return run(m, m, src, prompts, cfg, opt)
}

// run validates and dispatches; src is the encoder input of a Seq2Seq.
func run(m Model, enc Seq2Seq, src, prompts [][]int, cfg Config, opt *Options) (*Result, error) {
	v := m.VocabSize()
	if err := cfg.Validate(v); err != nil {
		return nil, err
	}
	for i, p := range prompts {
		for j, id := range p {
			if id < 0 || id >= v {
				return nil, fmt.Errorf("generate: prompt %d token %d: id %d outside the vocabulary [0, %d)", i, j, id, v)
			}
		}
	}
	if opt == nil {
		opt = &Options{}
	}
	if len(cfg.StopStrings) > 0 && opt.Decode == nil {
		return nil, errors.New("generate: stop strings need a decode function")
	}
	if e, ok := m.(Ender); ok {
		defer e.End()
	}
	if cfg.NumBeams > 1 {
		return beamSearch(m, enc, src, prompts, cfg)
	}
	return sample(m, enc, src, prompts, cfg, opt)
}

// PadToken is the id fed for left padding and for rows that have finished:
// the pad id, else the first EOS id, else 0.
func (c *Config) PadToken() int {
	switch {
	case c.PadTokenID >= 0:
		return c.PadTokenID
	case len(c.EOSTokenIDs) > 0:
		return c.EOSTokenIDs[0]
	}
	return 0
}

// longest is the length of the longest prompt, T.
func longest(prompts [][]int) int {
	t := 0
	for _, p := range prompts {
		t = max(t, len(p))
	}
	return t
}

// leftPad lays out the prompts, each repeated rep times, padded on the left
// to length t: ids [rows·rep, T] row-major, pad per row, and each row's
// sequence with room for maxLen tokens.
func leftPad(prompts [][]int, rep, padID, t, maxLen int) (ids []int, pad []int, seqs [][]int) {
	rows := len(prompts) * rep
	ids = make([]int, 0, rows*t)
	pad = make([]int, rows)
	seqs = make([][]int, rows)
	for i, p := range prompts {
		for k := range rep {
			r := i*rep + k
			pad[r] = t - len(p)
			s := make([]int, 0, max(maxLen, t))
			for range pad[r] {
				s = append(s, padID)
			}
			s = append(s, p...)
			seqs[r] = s
			ids = append(ids, s...)
		}
	}
	return ids, pad, seqs
}

// prefill runs the encoder (if any) and the prompt's forward pass.
func prefill(m Model, enc Seq2Seq, src [][]int, rep int, ids, pad []int, maxLen int, logits []float32) (time.Duration, error) {
	rows := len(pad)
	start := time.Now()
	if err := m.Begin(rows, maxLen); err != nil {
		return 0, fmt.Errorf("generate: %w", err)
	}
	if enc != nil {
		srcRows := make([][]int, 0, rows)
		for _, s := range src {
			for range rep {
				srcRows = append(srcRows, s)
			}
		}
		if err := enc.Encode(srcRows); err != nil {
			return 0, fmt.Errorf("generate: encoding: %w", err)
		}
	}
	if err := m.Forward(ids, pad, logits); err != nil {
		return 0, fmt.Errorf("generate: prefill: %w", err)
	}
	return time.Since(start), nil
}

// sample is greedy decoding and multinomial sampling (transformers'
// greedy_search and sample): processors, then for sampling the warpers,
// then argmax or a draw from the softmax, per row; finished rows are fed
// the pad token until every row has finished or the length limit is hit.
func sample(m Model, enc Seq2Seq, src, prompts [][]int, cfg Config, opt *Options) (*Result, error) {
	v := m.VocabSize()
	padID := cfg.PadToken()
	t := longest(prompts)
	maxLen := cfg.maxLen(t)
	n := cfg.returns() // independent samples per prompt: rows of their own
	ids, pad, seqs := leftPad(prompts, n, padID, t, maxLen)
	rows := len(seqs)
	res := &Result{IDs: make([][]int, rows)}
	if maxLen <= t {
		return res, nil
	}
	for r := range res.IDs {
		res.IDs[r] = make([]int, 0, maxLen-t)
	}
	logits := make([]float32, rows*v)
	var err error
	if res.PrefillTime, err = prefill(m, enc, src, n, ids, pad, maxLen, logits); err != nil {
		return nil, err
	}
	res.PromptTokens = promptTokens(ids, src)
	proc := newProcessor(&cfg, t)
	var warp *warper
	var rng *rand.Rand
	if cfg.DoSample {
		warp = newWarper(&cfg, v)
		rng = rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	}
	next := make([]int, rows)
	done := make([]bool, rows)
	left := rows
	start := time.Now()
	for cur := t; ; {
		for r := range rows {
			if done[r] {
				next[r] = padID
				seqs[r] = append(seqs[r], padID)
				continue
			}
			scores := logits[r*v : (r+1)*v]
			proc.apply(seqs[r], scores)
			var id int
			if warp != nil {
				warp.apply(scores)
				id = draw(rng, scores, warp.probs)
			} else {
				id = argmax(scores)
			}
			next[r] = id
			seqs[r] = append(seqs[r], id)
			res.IDs[r] = append(res.IDs[r], id)
			if opt.OnToken != nil {
				if err := opt.OnToken(r, id); err != nil {
					return res, err
				}
			}
			stop := cfg.isEOS(id) && !cfg.IgnoreEOS
			if !stop && len(cfg.StopStrings) > 0 {
				if stop, err = hasStopString(opt.Decode, res.IDs[r], cfg.StopStrings); err != nil {
					return res, err
				}
			}
			if stop {
				done[r] = true
				left--
			}
		}
		cur++
		if left == 0 || cur >= maxLen {
			break
		}
		if err := m.Forward(next, pad, logits); err != nil {
			return res, fmt.Errorf("generate: step %d: %w", cur-t, err)
		}
		res.DecodeTokens += rows
	}
	res.DecodeTime = time.Since(start)
	return res, nil
}

// draw samples an index from softmax(scores) (probs is scratch [V]).
func draw(rng *rand.Rand, scores, probs []float32) int {
	softmax(probs, scores)
	u := rng.Float32()
	var cum float32
	last := 0
	for i, p := range probs {
		if p == 0 {
			continue
		}
		cum += p
		last = i
		if u < cum {
			return i
		}
	}
	return last
}

func hasStopString(decode func([]int) (string, error), ids []int, stops []string) (bool, error) {
	text, err := decode(ids)
	if err != nil {
		return false, fmt.Errorf("generate: decoding for stop strings: %w", err)
	}
	for _, s := range stops {
		if s != "" && strings.Contains(text, s) {
			return true, nil
		}
	}
	return false, nil
}

// promptTokens counts the positions a prefill processes: the decoder's
// prompt ids and the encoder's source tokens (src nil for a decoder-only
// model).
func promptTokens(ids []int, src [][]int) int {
	n := len(ids)
	for _, s := range src {
		n += len(s)
	}
	return n
}
