package tokenizer

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is a token matched whole in the raw text before the model runs
// (Hugging Face's added_tokens): <|endoftext|>, [CLS], </s>, ...
type addedToken struct {
	Content string
	ID      int
	Special bool // dropped by Decode(..., skipSpecial=true)
	LStrip  bool // absorbs the whitespace on its left
	RStrip  bool // absorbs the whitespace on its right
}

// addedVocab finds added tokens in text: leftmost match first, the longest
// token when several start at the same place.
type addedVocab struct {
	tokens  []addedToken // longest first
	byID    map[int]*addedToken
	special map[int]bool
}

func newAddedVocab(toks []addedToken) (*addedVocab, error) {
	a := &addedVocab{byID: map[int]*addedToken{}, special: map[int]bool{}}
	for _, t := range toks {
		if t.Content == "" {
			return nil, fmt.Errorf("added token id %d: empty content", t.ID)
		}
		if t.ID < 0 {
			return nil, fmt.Errorf("added token %q: negative id %d", t.Content, t.ID)
		}
		a.tokens = append(a.tokens, t)
	}
	sort.SliceStable(a.tokens, func(i, j int) bool { return len(a.tokens[i].Content) > len(a.tokens[j].Content) })
	for i := range a.tokens {
		t := &a.tokens[i]
		a.byID[t.ID] = t
		if t.Special {
			a.special[t.ID] = true
		}
	}
	return a, nil
}

// split calls text for every stretch of ordinary text and tok for every
// added token found in s, in order. Empty stretches are not reported.
func (a *addedVocab) split(s string, text func(string), tok func(*addedToken)) {
	if a == nil || len(a.tokens) == 0 {
		if s != "" {
			text(s)
		}
		return
	}
	// next[k] caches where token k next occurs at or after pos (-1: never).
	next := make([]int, len(a.tokens))
	for k := range next {
		next[k] = -2
	}
	pos := 0
	for pos < len(s) {
		best, bestAt := -1, len(s)
		for k := range a.tokens {
			if next[k] == -1 {
				continue
			}
			if next[k] < pos {
				at := strings.Index(s[pos:], a.tokens[k].Content)
				if at < 0 {
					next[k] = -1
					continue
				}
				next[k] = pos + at
			}
			if next[k] < bestAt {
				best, bestAt = k, next[k]
			}
		}
		if best < 0 {
			text(s[pos:])
			return
		}
		t := &a.tokens[best]
		end := bestAt + len(t.Content)
		before := s[pos:bestAt]
		if t.LStrip {
			before = strings.TrimRightFunc(before, unicode.IsSpace)
		}
		if before != "" {
			text(before)
		}
		tok(t)
		if t.RStrip {
			for end < len(s) {
				r, n := utf8.DecodeRuneInString(s[end:])
				if !unicode.IsSpace(r) {
					break
				}
				end += n
			}
		}
		pos = end
	}
}

// templatePiece is one item of a post-processing template: a special token
// (Seq < 0) or the ids of sequence A (Seq 0) or B (Seq 1).
type templatePiece struct {
	Seq    int
	IDs    []int
	TypeID int
}

// template adds the special tokens a model expects around its input, as
// Hugging Face's post-processors do (TemplateProcessing, BertProcessing,
// RobertaProcessing), and assigns token type ids.
type template struct {
	single, pair []templatePiece
}

// bertTemplate is [CLS] A [SEP] and [CLS] A [SEP] B [SEP] with type ids 0 for
// A and its tokens, 1 for B and its [SEP].
func bertTemplate(cls, sep int) *template {
	return &template{
		single: []templatePiece{{Seq: -1, IDs: []int{cls}}, {Seq: 0}, {Seq: -1, IDs: []int{sep}}},
		pair: []templatePiece{{Seq: -1, IDs: []int{cls}}, {Seq: 0}, {Seq: -1, IDs: []int{sep}},
			{Seq: 1, TypeID: 1}, {Seq: -1, IDs: []int{sep}, TypeID: 1}},
	}
}

// robertaTemplate is <s> A </s> and <s> A </s></s> B </s>, all type id 0.
func robertaTemplate(cls, sep int) *template {
	return &template{
		single: []templatePiece{{Seq: -1, IDs: []int{cls}}, {Seq: 0}, {Seq: -1, IDs: []int{sep}}},
		pair: []templatePiece{{Seq: -1, IDs: []int{cls}}, {Seq: 0}, {Seq: -1, IDs: []int{sep, sep}},
			{Seq: 1}, {Seq: -1, IDs: []int{sep}}},
	}
}

// apply lays out a (and b when pair) by the template; t == nil adds nothing
// and gives A type 0, B type 1.
func (t *template) apply(a, b []int, pair bool) (ids, typeIDs []int) {
	var pieces []templatePiece
	switch {
	case t == nil && pair:
		pieces = []templatePiece{{Seq: 0}, {Seq: 1, TypeID: 1}}
	case t == nil:
		pieces = []templatePiece{{Seq: 0}}
	case pair:
		pieces = t.pair
	default:
		pieces = t.single
	}
	for _, p := range pieces {
		src := p.IDs
		switch p.Seq {
		case 0:
			src = a
		case 1:
			src = b
		}
		ids = append(ids, src...)
		for range src {
			typeIDs = append(typeIDs, p.TypeID)
		}
	}
	return ids, typeIDs
}

// WithBERTSpecials returns a copy of b that knows [PAD], [CLS], [SEP] and
// [MASK] as special tokens with the ids after its vocabulary (n, n+1, n+2,
// n+3) and lays out text as BERT does ([CLS] A [SEP]): the vocabulary of an
// encoder trained on a byte-level BPE that had none of them. A BPE that has
// all four already is returned as it is.
func (b *BPE) WithBERTSpecials() (*BPE, error) {
	names := []string{"[PAD]", "[CLS]", "[SEP]", "[MASK]"}
	has := 0
	for _, s := range names {
		if _, ok := b.TokenToID(s); ok {
			has++
		}
	}
	if has == len(names) {
		return b, nil
	}
	if has > 0 {
		return nil, fmt.Errorf("tokenizer: BPE has only some of %v", names)
	}
	// A copy through its own file format: BPE holds a pool that must not be
	// copied.
	var buf bytes.Buffer
	if err := b.WriteHFJSON(&buf); err != nil {
		return nil, err
	}
	t, err := parseHFJSON(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("tokenizer: copy of BPE: %w", err)
	}
	c := t.(*BPE)
	n := c.VocabSize()
	var toks []addedToken
	if c.added != nil {
		toks = append(toks, c.added.tokens...)
	}
	for i, s := range names {
		// [MASK] takes the space before it, as RoBERTa's <mask> does: "to
		// [MASK]" is one token and a mask, where a byte-level word would
		// carry its space.
		toks = append(toks, addedToken{Content: s, ID: n + i, Special: true, LStrip: s == "[MASK]"})
	}
	if err := c.setAdded(toks); err != nil {
		return nil, err
	}
	c.post = bertTemplate(n+1, n+2)
	c.AllowSpecial = true
	return c, nil
}
