package infer

import (
	"fmt"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/internal/quote"
)

// Truncation says what to do with an input longer than the model's context.
type Truncation string

const (
	TruncateNone  Truncation = ""      // refuse it with a *ContextError
	TruncateLeft  Truncation = "left"  // drop tokens at the start: keep the end
	TruncateRight Truncation = "right" // drop tokens at the end: keep the start
)

// ParseTruncation checks a --truncate value ("" for none).
func ParseTruncation(s string) (Truncation, error) {
	switch t := Truncation(s); t {
	case TruncateNone, TruncateLeft, TruncateRight:
		return t, nil
	}
	return "", fmt.Errorf("infer: truncation %s: want left (keep the end) or right (keep the start)", quote.Short(s))
}

// ContextError is an input that does not fit the model's context: Tokens
// input tokens plus New tokens to generate (0 for a task that generates
// none) exceed Limit positions.
type ContextError struct {
	What               string // "prompt", "source", "text"
	Tokens, New, Limit int
}

func (e *ContextError) Error() string {
	if e.New > 0 {
		return fmt.Sprintf("infer: the %s (%d tokens) plus %d new tokens exceeds the model's context of %d tokens", e.What, e.Tokens, e.New, e.Limit)
	}
	return fmt.Sprintf("infer: the %s (%d tokens) exceeds the model's context of %d tokens", e.What, e.Tokens, e.Limit)
}

// fit returns ids cut by t so that len(ids)+reserve ≤ limit, or a
// *ContextError when they do not fit and t is TruncateNone (or nothing of
// them could be kept). Special tokens at the cut end are lost with it.
func fit(what string, ids []int, reserve, limit int, t Truncation) ([]int, error) {
	if limit <= 0 || len(ids)+reserve <= limit {
		return ids, nil
	}
	keep := limit - reserve
	if t == TruncateNone || keep < 1 {
		return nil, &ContextError{What: what, Tokens: len(ids), New: reserve, Limit: limit}
	}
	if t == TruncateLeft {
		return ids[len(ids)-keep:], nil
	}
	return ids[:keep], nil
}

// fitPrompts checks (and truncates as t says) each prompt of a generation
// against the model's context of limit positions: for a decoder-only model
// the prompt plus the tokens cfg generates, for an encoder-decoder the
// source alone (its decoder sequence, the start token plus the new tokens,
// is checked too).
func fitPrompts(prompts [][]int, cfg generate.Config, limit int, seq2seq bool, t Truncation) ([][]int, error) {
	out := make([][]int, len(prompts))
	for i, p := range prompts {
		var err error
		if seq2seq {
			n := cfg.MaxNewTokens // the decoder's length is 1 + n
			if n == 0 {
				n = cfg.MaxLength - 1
			}
			if n+1 > limit && limit > 0 {
				return nil, &ContextError{What: "decoder start token", Tokens: 1, New: n, Limit: limit}
			}
			out[i], err = fit("source", p, 0, limit, t)
		} else {
			reserve := cfg.MaxNewTokens
			if reserve == 0 {
				reserve = max(0, cfg.MaxLength-len(p))
			}
			out[i], err = fit("prompt", p, reserve, limit, t)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
