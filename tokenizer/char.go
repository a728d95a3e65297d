package tokenizer

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Char is a character-level tokenizer for tiny models (nanoGPT's
// shakespeare_char): one id per distinct character, ids in code point order.
// A character outside the vocabulary is an error, never a silent stand-in.
//
// A checkpoint keeps it in CharVocabFile (MarshalJSON's form), which Load
// reads.
type Char struct {
	chars []rune
	ids   map[rune]int
}

// NewChar builds the vocabulary of every character in corpus. Invalid UTF-8
// in corpus is an error.
func NewChar(corpus string) (*Char, error) {
	if !utf8.ValidString(corpus) {
		return nil, fmt.Errorf("char tokenizer: corpus is not valid UTF-8")
	}
	seen := map[rune]bool{}
	for _, r := range corpus {
		seen[r] = true
	}
	chars := make([]rune, 0, len(seen))
	for r := range seen {
		chars = append(chars, r)
	}
	slices.Sort(chars)
	return NewCharVocab(chars)
}

// NewCharVocab builds a Char over chars (id = index).
func NewCharVocab(chars []rune) (*Char, error) {
	c := &Char{chars: slices.Clone(chars), ids: make(map[rune]int, len(chars))}
	for i, r := range chars {
		if _, dup := c.ids[r]; dup {
			return nil, fmt.Errorf("char tokenizer: %q appears twice in the vocabulary", r)
		}
		c.ids[r] = i
	}
	return c, nil
}

// Encode implements Tokenizer; there are no special tokens.
func (c *Char) Encode(text string, addSpecial bool) ([]int, error) {
	ids := make([]int, 0, len(text))
	for i, r := range text {
		id, ok := c.ids[r]
		if !ok {
			if r == utf8.RuneError {
				return nil, fmt.Errorf("char tokenizer: invalid UTF-8 at byte %d", i)
			}
			return nil, fmt.Errorf("char tokenizer: %q at byte %d is not in the vocabulary", r, i)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Decode implements Tokenizer.
func (c *Char) Decode(ids []int, skipSpecial bool) (string, error) {
	out := make([]rune, len(ids))
	for i, id := range ids {
		if id < 0 || id >= len(c.chars) {
			return "", fmt.Errorf("decode position %d: id %d: %w", i, id, ErrUnknownID)
		}
		out[i] = c.chars[id]
	}
	return string(out), nil
}

// VocabSize implements Tokenizer.
func (c *Char) VocabSize() int { return len(c.chars) }

// TokenToID implements Tokenizer.
func (c *Char) TokenToID(token string) (int, bool) {
	r, n := utf8.DecodeRuneInString(token)
	if n == 0 || n != len(token) {
		return 0, false
	}
	id, ok := c.ids[r]
	return id, ok
}

// IDToToken implements Tokenizer.
func (c *Char) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(c.chars) {
		return "", false
	}
	return string(c.chars[id]), true
}

// CharVocabFile is the file of a checkpoint directory that holds a Char
// tokenizer.
const CharVocabFile = "char_vocab.json"

// MarshalJSON writes the vocabulary as a JSON string of its characters in id
// order.
func (c *Char) MarshalJSON() ([]byte, error) { return json.Marshal(string(c.chars)) }

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Char) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("char tokenizer: %w", err)
	}
	d, err := NewCharVocab([]rune(s))
	if err != nil {
		return err
	}
	*c = *d
	return nil
}
