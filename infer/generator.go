package infer

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
)

// Generator is a loaded generative checkpoint: the model, its tokenizer
// (nil when the directory has none; then prompts must be ids) and its
// generation_config.json.
type Generator struct {
	Model     model.Model
	Tokenizer tokenizer.Tokenizer
	Config    generate.Config
	lm        generate.Model
	shared    *Slot // decode steps shared with other generators (Share)
	s2s       generate.Seq2Seq
	tokErr    error // why the directory's tokenizer files could not be loaded
}

// LoadGenerator loads a decoder-only (GPT-2, BartForCausalLM) or
// encoder-decoder (Marian, BART) checkpoint directory for generation;
// opts choose how the weights are held (model.WithDType).
func LoadGenerator(dir string, opts ...model.Option) (*Generator, error) {
	m, err := model.Load(dir, opts...)
	if err != nil {
		return nil, err
	}
	g, err := NewGenerator(m, dir)
	if err != nil {
		m.Close()
		return nil, err
	}
	return g, nil
}

// NewGenerator wraps a loaded model; dir is read for the tokenizer and
// the generation config (both optional).
func NewGenerator(m model.Model, dir string) (*Generator, error) {
	g := &Generator{Model: m}
	var err error
	if IsEncoderDecoder(m) {
		g.s2s, err = NewSeq2Seq(m)
		g.lm = g.s2s
	} else {
		g.lm, err = NewLM(m)
	}
	if err != nil {
		return nil, err
	}
	if g.Config, err = generate.LoadConfig(dir); err != nil {
		return nil, err
	}
	switch tok, err := tokenizer.Load(dir); {
	case err == nil:
		g.Tokenizer = tok
	case !errors.Is(err, tokenizer.ErrNoTokenizer):
		// Prompt ids still work; a text prompt reports this error.
		g.tokErr = err
	}
	return g, nil
}

// Share makes the generator's sampling and greedy generations share
// their decode steps with the other generators sharing b (a Batcher of
// the same model); beam search still decodes alone.
func (g *Generator) Share(b *Batcher) error {
	s, err := b.NewSlot(g.lm)
	if err != nil {
		return err
	}
	g.shared = s
	return nil
}

// Close releases the model.
func (g *Generator) Close() error { return g.Model.Close() }

// EncoderDecoder reports whether the prompt is the encoder's input.
func (g *Generator) EncoderDecoder() bool { return g.s2s != nil }

// Request is one generation: a text prompt (tokenized with the model's
// special tokens) or prompt ids, the settings, and optionally a callback
// receiving the generated text as it grows.
type Request struct {
	Prompt    string
	PromptIDs []int
	Config    generate.Config
	// Truncate cuts a prompt that does not fit the context with the new
	// tokens; TruncateNone refuses it with a *ContextError.
	Truncate Truncation
	// OnText receives each new piece of text (whole UTF-8 characters),
	// when one sequence is generated (Config.NumReturnSequences ≤ 1).
	OnText func(piece string) error
}

// BatchRequest is several prompts generated together, in one batch (for
// a decoder-only model left-padded and masked, as transformers does): text
// prompts or prompt ids, one of the two.
type BatchRequest struct {
	Prompts   []string
	PromptIDs [][]int
	Config    generate.Config
	Truncate  Truncation // as Request.Truncate
}

// Sequence is one generated continuation: its new ids and their text.
type Sequence struct {
	IDs  []int  `json:"ids"`
	Text string `json:"text"`
}

// Generation is the outcome of one prompt.
type Generation struct {
	PromptIDs              []int   `json:"-"`
	IDs                    []int   `json:"ids"`
	Text                   string  `json:"text"`
	PrefillTokensPerSecond float64 `json:"prefill_tokens_per_second"`
	TokensPerSecond        float64 `json:"tokens_per_second"`
	// Sequences are all Config.NumReturnSequences continuations (beam
	// search's best first); IDs and Text are the first one's.
	Sequences []Sequence `json:"-"`
}

// Generate runs one request: for a decoder-only model it continues the
// prompt, for an encoder-decoder the prompt is the encoder input (mask all
// ones) and decoding starts from the decoder start token. IDs are the new
// tokens only; Text is their decoding without special tokens (empty without
// a tokenizer).
func (g *Generator) Generate(req Request) (*Generation, error) {
	ids := req.PromptIDs
	if ids == nil {
		var err error
		if ids, err = g.encode(req.Prompt); err != nil {
			return nil, err
		}
	}
	out, err := g.run([][]int{ids}, req.Config, req.Truncate, req.OnText)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// GenerateBatch runs several prompts as one batch with the same settings
// and returns one Generation per prompt, in order (their speeds are the
// batch's).
func (g *Generator) GenerateBatch(req BatchRequest) ([]*Generation, error) {
	if (len(req.Prompts) == 0) == (len(req.PromptIDs) == 0) {
		return nil, errors.New("infer: a batch needs text prompts or prompt ids (one of the two)")
	}
	prompts := req.PromptIDs
	for _, p := range req.Prompts {
		ids, err := g.encode(p)
		if err != nil {
			return nil, err
		}
		prompts = append(prompts, ids)
	}
	return g.run(prompts, req.Config, req.Truncate, nil)
}

// encode tokenizes a text prompt with the model's special tokens.
func (g *Generator) encode(prompt string) ([]int, error) {
	if g.tokErr != nil {
		return nil, fmt.Errorf("infer: the model's tokenizer: %w", g.tokErr)
	}
	if g.Tokenizer == nil {
		return nil, errors.New("infer: the model directory has no tokenizer: give prompt ids")
	}
	ids, err := g.Tokenizer.Encode(prompt, true)
	if err != nil {
		return nil, fmt.Errorf("infer: tokenizing the prompt: %w", err)
	}
	return ids, nil
}

// run generates from the prompts as one batch; onText streams the text of
// a lone sequence.
func (g *Generator) run(prompts [][]int, cfg generate.Config, t Truncation, onText func(string) error) ([]*Generation, error) {
	for i, p := range prompts {
		if len(p) == 0 {
			return nil, fmt.Errorf("infer: prompt %d is empty", i)
		}
	}
	prompts, err := fitPrompts(prompts, cfg, g.Model.Info().Context, g.s2s != nil, t)
	if err != nil {
		return nil, err
	}
	var decode func([]int) (string, error)
	if g.Tokenizer != nil {
		decode = func(ids []int) (string, error) { return g.Tokenizer.Decode(ids, true) }
	}
	n := max(1, cfg.NumReturnSequences)
	opt := &generate.Options{Decode: decode}
	if onText != nil && decode != nil && len(prompts) == 1 && n == 1 {
		st := &textStream{decode: decode, emit: onText}
		opt.OnToken = func(_, id int) error { return st.push(id) }
	}
	var res *generate.Result
	if g.s2s != nil {
		res, err = generate.GenerateSeq2Seq(g.s2s, prompts, cfg, opt)
	} else {
		lm := g.lm
		if g.shared != nil && cfg.NumBeams <= 1 {
			lm = g.shared
		}
		res, err = generate.Generate(lm, prompts, cfg, opt)
	}
	if err != nil {
		return nil, err
	}
	if len(res.IDs) != len(prompts)*n {
		return nil, fmt.Errorf("infer: %d sequences for %d prompts × %d", len(res.IDs), len(prompts), n)
	}
	out := make([]*Generation, len(prompts))
	for i, p := range prompts {
		gen := &Generation{PromptIDs: p, PrefillTokensPerSecond: res.PrefillTokensPerSecond(), TokensPerSecond: res.TokensPerSecond()}
		for _, ids := range res.IDs[i*n : (i+1)*n] {
			seq := Sequence{IDs: ids}
			if seq.IDs == nil {
				seq.IDs = []int{}
			}
			if decode != nil {
				if seq.Text, err = decode(seq.IDs); err != nil {
					return nil, fmt.Errorf("infer: decoding the output: %w", err)
				}
			}
			gen.Sequences = append(gen.Sequences, seq)
		}
		gen.IDs, gen.Text = gen.Sequences[0].IDs, gen.Sequences[0].Text
		out[i] = gen
	}
	return out, nil
}

// textStream turns tokens into text pieces: it decodes everything generated
// so far and emits what was added since the last piece, holding back while
// the text ends inside a multi-byte character (a byte-level BPE token may
// carry half a character) or differs from what was emitted (a tokenizer
// whose spacing depends on the next token).
type textStream struct {
	decode func([]int) (string, error)
	emit   func(string) error
	ids    []int
	sent   string
}

func (s *textStream) push(id int) error {
	s.ids = append(s.ids, id)
	text, err := s.decode(s.ids)
	if err != nil {
		return err
	}
	if strings.HasSuffix(text, string(utf8.RuneError)) || !strings.HasPrefix(text, s.sent) || len(text) == len(s.sent) {
		return nil
	}
	piece := text[len(s.sent):]
	s.sent = text
	return s.emit(piece)
}

// Translate translates text with an encoder-decoder (Marian, BART) as its
// generation config says (beam search, max_length, forced and banned
// tokens) and returns the detokenized output.
func (g *Generator) Translate(text string) (string, error) {
	if g.s2s == nil {
		return "", fmt.Errorf("infer: translation needs an encoder-decoder, not %s", g.Model.Info().Architecture)
	}
	cfg := g.Config
	cfg.MaxNewTokens = 0
	res, err := g.Generate(Request{Prompt: text, Config: cfg})
	if err != nil {
		return "", err
	}
	return res.Text, nil
}
