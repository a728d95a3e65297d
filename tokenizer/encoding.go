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

// finishPair lays out a pair with post (when addSpecial) and fills in the
// token spellings, type ids and attention mask.
func finishPair(tok Tokenizer, post *template, a, b []int, addSpecial bool) (Encoding, error) {
	var e Encoding
	if !addSpecial {
		post = nil
	}
	e.IDs, e.TypeIDs = post.apply(a, b, true)
	var err error
	if e.Tokens, err = Tokens(tok, e.IDs); err != nil {
		return Encoding{}, err
	}
	e.AttentionMask = make([]int, len(e.IDs))
	for i := range e.AttentionMask {
		e.AttentionMask[i] = 1
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
