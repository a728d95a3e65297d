package server

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/attn-dev/attn/tokenizer"
)

// MaxInputs bounds the prompts of one completion or the inputs of one
// embedding request.
const MaxInputs = 256

// texts is OpenAI's prompt/input field: a string, strings, token ids or
// lists of token ids.
type texts struct {
	text []string
	ids  [][]int
}

func (t *texts) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var s string
	if json.Unmarshal(b, &s) == nil {
		t.text = []string{s}
		return nil
	}
	var ss []string
	if json.Unmarshal(b, &ss) == nil {
		t.text = ss
		return nil
	}
	var ids []int
	if json.Unmarshal(b, &ids) == nil {
		t.ids = [][]int{ids}
		return nil
	}
	var idss [][]int
	if json.Unmarshal(b, &idss) == nil {
		t.ids = idss
		return nil
	}
	return badRequest("want a string, strings, token ids or lists of token ids, not %s", short(string(b)))
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// encode turns the inputs into token ids (text with the model's special
// tokens), checking ids against the vocabulary and lengths against the
// limit: 422 beyond it. A text without tokens becomes empty (OpenAI
// reads an empty prompt as GPT-2's <|endoftext|>), or is an error when
// empty is nil.
func (t *texts) encode(field string, tok tokenizer.Tokenizer, vocab, limit int, empty []int) ([][]int, *apiError) {
	n := len(t.text) + len(t.ids)
	if n == 0 {
		return nil, badRequest("%s is empty", field)
	}
	if n > MaxInputs {
		return nil, badRequest("%s holds %d inputs, more than %d", field, n, MaxInputs)
	}
	out := t.ids
	for i, s := range t.text {
		if tok == nil {
			return nil, badRequest("the model has no tokenizer: give %s as token ids", field)
		}
		ids, err := tok.Encode(s, true)
		if err != nil {
			return nil, badRequest("%s[%d]: tokenizing: %v", field, i, err)
		}
		if len(ids) == 0 && empty != nil {
			ids = empty
		}
		out = append(out, ids)
	}
	for i, ids := range out {
		if len(ids) == 0 {
			return nil, badRequest("%s[%d] has no tokens", field, i)
		}
		if len(ids) > limit {
			return nil, newError(422, "input_too_long", "%s[%d] has %d tokens, more than the limit of %d", field, i, len(ids), limit)
		}
		for j, id := range ids {
			if id < 0 || id >= vocab {
				return nil, badRequest("%s[%d][%d]: token id %d outside the vocabulary [0, %d)", field, i, j, id, vocab)
			}
		}
	}
	return out, nil
}

// stops is OpenAI's stop field: a string or up to 4 strings.
type stops []string

func (s *stops) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = stops{one}
	} else if err := json.Unmarshal(b, (*[]string)(s)); err != nil {
		return badRequest("stop: want a string or a list of strings")
	}
	if len(*s) > 4 {
		return badRequest("stop: %d strings, at most 4", len(*s))
	}
	for _, x := range *s {
		if x == "" {
			return badRequest("stop: an empty string")
		}
	}
	return nil
}

// sampling are the generation fields completions and chat share.
type sampling struct {
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	Temperature         *float64 `json:"temperature"`
	TopP                *float64 `json:"top_p"`
	N                   *int     `json:"n"`
	Seed                *int64   `json:"seed"`
	Stop                stops    `json:"stop"`
	Stream              bool     `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	PresencePenalty  *float64 `json:"presence_penalty"`
	FrequencyPenalty *float64 `json:"frequency_penalty"`
	User             string   `json:"user"`
}

// check validates the ranges and returns max new tokens (def when
// absent) and n.
func (p *sampling) check(def, limit int) (maxNew, n int, e *apiError) {
	maxNew = def
	for _, f := range []struct {
		name string
		v    *int
	}{{"max_tokens", p.MaxTokens}, {"max_completion_tokens", p.MaxCompletionTokens}} {
		if f.v == nil {
			continue
		}
		if *f.v < 1 || *f.v > limit {
			return 0, 0, badRequest("%s %d outside [1, %d]", f.name, *f.v, limit)
		}
		maxNew = *f.v
	}
	n = 1
	if p.N != nil {
		if *p.N < 1 || *p.N > MaxChoices {
			return 0, 0, badRequest("n %d outside [1, %d]", *p.N, MaxChoices)
		}
		n = *p.N
	}
	if t := p.Temperature; t != nil && !(*t >= 0 && *t <= 2) {
		return 0, 0, badRequest("temperature %g outside [0, 2]", *t)
	}
	if t := p.TopP; t != nil && !(*t > 0 && *t <= 1) {
		return 0, 0, badRequest("top_p %g outside (0, 1]", *t)
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"presence_penalty", p.PresencePenalty}, {"frequency_penalty", p.FrequencyPenalty}} {
		if f.v != nil && *f.v != 0 {
			return 0, 0, badRequest("%s is not supported (only 0)", f.name)
		}
	}
	if p.StreamOptions != nil && !p.Stream {
		return 0, 0, badRequest("stream_options needs stream: true")
	}
	return maxNew, n, nil
}

func (p *sampling) includeUsage() bool { return p.StreamOptions != nil && p.StreamOptions.IncludeUsage }

// cutStop returns text up to the first stop string and whether one was
// found.
func cutStop(text string, stop []string) (string, bool) {
	at := -1
	for _, s := range stop {
		if i := strings.Index(text, s); i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	if at < 0 {
		return text, false
	}
	return text[:at], true
}

// stopFilter passes streamed text on, holding back a tail that could
// begin a stop string, so that a stop string is never sent.
type stopFilter struct {
	stop    []string
	emit    func(string) error
	pending string
	sent    int // bytes emitted
	done    bool
}

func (f *stopFilter) push(piece string) error {
	if f.done {
		return nil
	}
	f.pending += piece
	if cut, found := cutStop(f.pending, f.stop); found {
		f.done = true
		return f.out(cut)
	}
	hold := 0
	for _, s := range f.stop {
		for k := min(len(s)-1, len(f.pending)); k > hold; k-- {
			if strings.HasSuffix(f.pending, s[:k]) {
				hold = k
				break
			}
		}
	}
	return f.out(f.pending[:len(f.pending)-hold])
}

func (f *stopFilter) out(s string) error {
	f.pending = f.pending[len(s):]
	if f.done {
		f.pending = ""
	}
	if s == "" {
		return nil
	}
	f.sent += len(s)
	return f.emit(s)
}

// finish emits what the final text adds to what was sent.
func (f *stopFilter) finish(final string) error {
	if f.sent < len(final) {
		s := final[f.sent:]
		f.sent = len(final)
		return f.emit(s)
	}
	return nil
}
