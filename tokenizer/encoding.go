package tokenizer

import (
	"fmt"
	"strings"
)

// Truncate shortens the pair (a, b) for a model input of at most maxLen ids
// of which reserved go to special tokens, removing one id at a time from the
// end of the longer sequence (Hugging Face's "longest_first"). maxLen <= 0
// means no limit.
func Truncate(a, b []int, reserved, maxLen int) ([]int, []int, error) {
	if maxLen <= 0 {
		return a, b, nil
	}
	if reserved > maxLen {
		return nil, nil, fmt.Errorf("truncate to %d ids: the special tokens alone take %d", maxLen, reserved)
	}
	for len(a)+len(b)+reserved > maxLen {
		if len(a) > len(b) {
			a = a[:len(a)-1]
		} else {
			b = b[:len(b)-1]
		}
	}
	return a, b, nil
}

// Pad extends e to length T with padID (type id 0, attention mask 0) on the
// right; an encoding already that long is left alone.
func (e *Encoding) Pad(T, padID int, padToken string) {
	for len(e.IDs) < T {
		e.IDs = append(e.IDs, padID)
		e.Tokens = append(e.Tokens, padToken)
		e.TypeIDs = append(e.TypeIDs, 0)
		e.AttentionMask = append(e.AttentionMask, 0)
	}
}

// EncodeOptions shapes the model input EncodeInput builds.
type EncodeOptions struct {
	// AddSpecial adds the model's special tokens ([CLS] A [SEP] B [SEP],
	// <s> A </s></s> B </s>, A </s>, ...), as add_special_tokens=True.
	AddSpecial bool
	// MaxLength truncates longest-first so that at most MaxLength ids
	// remain, special tokens included (0: no limit).
	MaxLength int
	// PadTo pads on the right with the pad token up to PadTo ids (0: no
	// padding); a tokenizer without a pad token is an error.
	PadTo int
}

// templated is implemented by tokenizers whose model adds special tokens:
// the template (nil: none), the pad id (-1: none) and its spelling.
type templated interface {
	layout() (post *template, padID int, padToken string)
}

// EncodeInput builds the model input for first, or for the pair (first,
// *second) when second is non-nil: ids, tokens, token type ids (0 for the
// first sequence, 1 for the second where the model has them) and attention
// mask, truncated and padded as opt says.
func EncodeInput(tok Tokenizer, first string, second *string, opt EncodeOptions) (Encoding, error) {
	var post *template
	padID, padToken := -1, ""
	if t, ok := tok.(templated); ok {
		post, padID, padToken = t.layout()
	}
	if !opt.AddSpecial {
		post = nil
	}
	pair := second != nil
	a, err := tok.Encode(first, false)
	if err != nil {
		return Encoding{}, err
	}
	var b []int
	if pair {
		if b, err = tok.Encode(*second, false); err != nil {
			return Encoding{}, err
		}
	}
	specials, _ := post.apply(nil, nil, pair)
	if a, b, err = Truncate(a, b, len(specials), opt.MaxLength); err != nil {
		return Encoding{}, err
	}
	var e Encoding
	e.IDs, e.TypeIDs = post.apply(a, b, pair)
	if e.Tokens, err = Tokens(tok, e.IDs); err != nil {
		return Encoding{}, err
	}
	e.AttentionMask = make([]int, len(e.IDs))
	for i := range e.AttentionMask {
		e.AttentionMask[i] = 1
	}
	if opt.PadTo > len(e.IDs) {
		if padID < 0 {
			return Encoding{}, fmt.Errorf("padding to %d asked for, but the tokenizer has no pad token", opt.PadTo)
		}
		e.Pad(opt.PadTo, padID, padToken)
	}
	return e, nil
}

// CleanUpTokenizationSpaces removes the spaces a word-level decode leaves
// before punctuation and English contractions, as Hugging Face's
// clean_up_tokenization does: " ." -> ".", " ?" -> "?", " !" -> "!",
// " ," -> ",", " ' " -> "'", " n't" -> "n't", " 'm" -> "'m", " 's" -> "'s",
// " 've" -> "'ve", " 're" -> "'re".
func CleanUpTokenizationSpaces(s string) string {
	return cleanUpReplacer.Replace(s)
}

// The replacements are applied one after another, as the reference does; a
// single strings.Replacer would match them in one pass and differ on
// overlaps such as " ' s".
var cleanUpPairs = []string{" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'",
	" n't", "n't", " 'm", "'m", " 's", "'s", " 've", "'ve", " 're", "'re"}

type sequentialReplacer []string

func (r sequentialReplacer) Replace(s string) string {
	for i := 0; i+1 < len(r); i += 2 {
		s = strings.ReplaceAll(s, r[i], r[i+1])
	}
	return s
}

var cleanUpReplacer = sequentialReplacer(cleanUpPairs)
