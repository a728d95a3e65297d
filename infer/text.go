package infer

import (
	"errors"
	"fmt"

	"github.com/attn-dev/attn/internal/quote"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
)

// Task is a loaded checkpoint and its tokenizer (nil for image models).
type Task struct {
	Model     model.Model
	Tokenizer tokenizer.Tokenizer
	Dir       string
	// Truncate cuts a text longer than the model's context;
	// TruncateNone refuses it with a *ContextError.
	Truncate Truncation
}

// Load opens the checkpoint in dir (opts as model.Load takes them) and,
// when the directory has one, its tokenizer.
func Load(dir string, opts ...model.Option) (*Task, error) {
	m, err := model.Load(dir, opts...)
	if err != nil {
		return nil, err
	}
	t := &Task{Model: m, Dir: dir}
	if m.Info().Vocab > 0 {
		if t.Tokenizer, err = tokenizer.Load(dir); err != nil {
			m.Close()
			return nil, fmt.Errorf("infer: %s has no usable tokenizer: %w", dir, err)
		}
	}
	return t, nil
}

// Close releases the model.
func (t *Task) Close() error { return t.Model.Close() }

func (t *Task) encode(texts []string) ([][]int, error) {
	if t.Tokenizer == nil {
		return nil, errors.New("infer: the model has no tokenizer")
	}
	if len(texts) == 0 {
		return nil, errors.New("infer: no text")
	}
	seqs := make([][]int, len(texts))
	for i, s := range texts {
		ids, err := t.Tokenizer.Encode(s, true)
		if err != nil {
			return nil, fmt.Errorf("infer: tokenizing %s: %w", quote.Short(s), err)
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("infer: %s has no tokens", quote.Short(s))
		}
		if seqs[i], err = fit("text", ids, 0, t.Model.Info().Context, t.Truncate); err != nil {
			return nil, err
		}
	}
	return seqs, nil
}

// EmbedTexts tokenizes texts (with the model's special tokens) and returns
// their embeddings (see Embed), with the texts and token strings filled in.
func (t *Task) EmbedTexts(texts []string, layer int, pool Pooling) ([]Embedding, error) {
	seqs, err := t.encode(texts)
	if err != nil {
		return nil, err
	}
	res, err := Embed(t.Model, seqs, layer, pool)
	if err != nil {
		return nil, err
	}
	for i := range res {
		res[i].Text = texts[i]
		if res[i].Tokens, err = tokenizer.Tokens(t.Tokenizer, res[i].IDs); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// maskTokens are the mask spellings of BERT-style and RoBERTa/BART-style
// vocabularies.
var maskTokens = []string{"[MASK]", "<mask>"}

// MaskToken returns the tokenizer's mask token and its id.
func (t *Task) MaskToken() (string, int, error) {
	if t.Tokenizer != nil {
		for _, m := range maskTokens {
			if id, ok := t.Tokenizer.TokenToID(m); ok {
				return m, id, nil
			}
		}
	}
	return "", 0, errors.New("infer: the tokenizer has no mask token ([MASK] or <mask>)")
}

// FillMaskText predicts the k most likely tokens for each mask token in
// text, with their spellings.
func (t *Task) FillMaskText(text string, k int) ([]MaskPrediction, error) {
	name, id, err := t.MaskToken()
	if err != nil {
		return nil, err
	}
	seqs, err := t.encode([]string{text})
	if err != nil {
		return nil, err
	}
	res, err := FillMask(t.Model, seqs[0], id, k)
	if errors.Is(err, ErrNoMask) {
		return nil, fmt.Errorf("the text has no %s to fill: write %s where a word is missing (%w)", name, name, ErrNoMask)
	}
	if err != nil {
		return nil, err
	}
	for i := range res {
		for j := range res[i].Candidates {
			c := &res[i].Candidates[j]
			c.Token, _ = t.Tokenizer.IDToToken(c.ID)
			c.Text, _ = t.Tokenizer.Decode([]int{c.ID}, false)
		}
	}
	return res, nil
}

// ClassifyTexts classifies each text (see ClassifyText).
func (t *Task) ClassifyTexts(texts []string) ([][]Label, error) {
	seqs, err := t.encode(texts)
	if err != nil {
		return nil, err
	}
	return ClassifyText(t.Model, seqs)
}

// Similarity compares word across sentences a and b layer by layer (see
// Similarity).
func (t *Task) Similarity(word, a, b string) ([]LayerSimilarity, error) {
	if t.Tokenizer == nil {
		return nil, errors.New("infer: the model has no tokenizer")
	}
	return Similarity(t.Model, t.Tokenizer, word, a, b)
}
