package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// WordPiece is BERT's tokenizer: a basic tokenizer (clean-up, CJK and
// punctuation splitting, optional lowercasing and accent stripping) followed
// by greedy longest-match-first WordPiece over each word, with "##" marking a
// piece that continues a word.
type WordPiece struct {
	// AllowSpecial makes Encode match the added tokens ([CLS], [SEP],
	// [MASK], ...) whole in the text, as Hugging Face does. Load sets it.
	AllowSpecial bool
	// Normalisation, as Hugging Face's BertNormalizer: CleanText drops
	// NUL, U+FFFD and control characters and turns whitespace into spaces;
	// ChineseChars puts spaces around CJK ideographs; StripAccents removes
	// combining marks after NFD; Lowercase lowercases.
	CleanText, ChineseChars, StripAccents, Lowercase bool
	// MaxInputCharsPerWord: a longer word becomes [UNK] (BERT: 100).
	MaxInputCharsPerWord int

	prefix string         // "##"
	vocab  map[string]int // pieces that start a word
	cont   map[string]int // pieces that continue a word, without the prefix
	tokens []string
	unk    int
	added  *addedVocab
	post   *template
}

// NewWordPiece builds an uncased-BERT-style WordPiece over tokens (id = index,
// as in vocab.txt). unk names the unknown token; [CLS] and [SEP], when
// present, make up the post-processing template and, with [PAD] and [MASK],
// are matched whole in text.
func NewWordPiece(tokens []string, unk string) (*WordPiece, error) {
	vocab := make(map[string]int, len(tokens))
	for id, t := range tokens {
		if t == "" {
			continue
		}
		if _, dup := vocab[t]; !dup {
			vocab[t] = id
		}
	}
	w, err := newWordPiece(vocab, unk, "##")
	if err != nil {
		return nil, err
	}
	var added []addedToken
	for _, s := range []string{"[PAD]", unk, "[CLS]", "[SEP]", "[MASK]"} {
		if id, ok := vocab[s]; ok {
			added = append(added, addedToken{Content: s, ID: id, Special: true})
		}
	}
	if w.added, err = newAddedVocab(added); err != nil {
		return nil, err
	}
	cls, okc := vocab["[CLS]"]
	sep, oks := vocab["[SEP]"]
	if okc && oks {
		w.post = bertTemplate(cls, sep)
	}
	return w, nil
}

func newWordPiece(vocab map[string]int, unk, prefix string) (*WordPiece, error) {
	w := &WordPiece{
		AllowSpecial: true, CleanText: true, ChineseChars: true, StripAccents: true, Lowercase: true,
		MaxInputCharsPerWord: 100, prefix: prefix, vocab: map[string]int{}, cont: map[string]int{},
	}
	var err error
	if w.tokens, err = invertVocab("wordpiece vocab", vocab); err != nil {
		return nil, err
	}
	for s, id := range vocab {
		if prefix != "" && strings.HasPrefix(s, prefix) {
			w.cont[s[len(prefix):]] = id
		} else {
			w.vocab[s] = id
		}
	}
	id, ok := vocab[unk]
	if !ok {
		return nil, fmt.Errorf("wordpiece vocab: unknown token %q is not in the vocabulary", unk)
	}
	w.unk = id
	return w, nil
}

// Encode implements Tokenizer.
func (w *WordPiece) Encode(text string, addSpecial bool) ([]int, error) {
	ids := w.encode(text, nil)
	if addSpecial && w.post != nil {
		ids, _ = w.post.apply(ids, nil, false)
	}
	return ids, nil
}

// layout implements templated.
func (w *WordPiece) layout() (*template, int, string) {
	if id, ok := w.vocab["[PAD]"]; ok {
		return w.post, id, "[PAD]"
	}
	return w.post, -1, ""
}

func (w *WordPiece) encode(text string, dst []int) []int {
	if !w.AllowSpecial || w.added == nil {
		return w.encodeText(text, dst)
	}
	w.added.split(text,
		func(s string) { dst = w.encodeText(s, dst) },
		func(t *addedToken) { dst = append(dst, t.ID) })
	return dst
}

// encodeText runs the basic tokenizer and WordPiece over text free of added
// tokens.
func (w *WordPiece) encodeText(text string, dst []int) []int {
	text = w.normalize(text)
	start := -1
	flush := func(end int) {
		if start >= 0 {
			dst = w.wordPieces(text[start:end], dst)
			start = -1
		}
	}
	for i, r := range text {
		switch {
		case unicode.IsSpace(r):
			flush(i)
		case isBertPunct(r):
			flush(i)
			dst = w.wordPieces(text[i:i+utf8.RuneLen(r)], dst)
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(text))
	return dst
}

// normalize applies BertNormalizer. Whitespace ends up as plain spaces, which
// is all the pre-tokenizer splits on.
func (w *WordPiece) normalize(text string) string {
	var sb strings.Builder
	sb.Grow(len(text) + 8)
	for _, r := range text {
		switch {
		case isBertSpace(r):
			sb.WriteByte(' ')
			continue
		case w.CleanText && (r == 0 || r == utf8.RuneError || isBertControl(r)):
			continue
		case w.ChineseChars && isCJK(r):
			sb.WriteByte(' ')
			sb.WriteRune(r)
			sb.WriteByte(' ')
			continue
		}
		sb.WriteRune(r)
	}
	s := sb.String()
	if w.StripAccents {
		s = stripAccents(s)
	}
	if w.Lowercase {
		s = strings.ToLower(s)
	}
	return s
}

func stripAccents(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	d := norm.NFD.String(s)
	var sb strings.Builder
	sb.Grow(len(d))
	for _, r := range d {
		if !unicode.Is(unicode.Mn, r) {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// wordPieces appends the WordPiece split of one word: longest vocabulary
// piece first, "##" pieces after the first; a word that cannot be covered,
// or is longer than MaxInputCharsPerWord runes, is one [UNK].
func (w *WordPiece) wordPieces(word string, dst []int) []int {
	if utf8.RuneCountInString(word) > w.MaxInputCharsPerWord {
		return append(dst, w.unk)
	}
	n := len(dst)
	for start := 0; start < len(word); {
		m := w.vocab
		if start > 0 {
			m = w.cont
		}
		end := len(word)
		found := -1
		for end > start {
			if id, ok := m[word[start:end]]; ok {
				found = id
				break
			}
			_, size := utf8.DecodeLastRuneInString(word[start:end])
			end -= size
		}
		if found < 0 {
			return append(dst[:n], w.unk)
		}
		dst = append(dst, found)
		start = end
	}
	return dst
}

// Decode implements Tokenizer as Hugging Face's WordPiece decoder: tokens
// joined by spaces, "##" pieces glued to the previous token, then
// CleanUpTokenizationSpaces.
func (w *WordPiece) Decode(ids []int, skipSpecial bool) (string, error) {
	var sb strings.Builder
	first := true
	for i, id := range ids {
		if id < 0 || id >= len(w.tokens) || w.tokens[id] == "" {
			return "", fmt.Errorf("decode position %d: id %d: %w", i, id, ErrUnknownID)
		}
		if skipSpecial && w.added != nil && w.added.special[id] {
			continue
		}
		t := w.tokens[id]
		if !first {
			if rest, ok := strings.CutPrefix(t, w.prefix); ok && w.prefix != "" {
				t = rest
			} else {
				sb.WriteByte(' ')
			}
		}
		first = false
		sb.WriteString(t)
	}
	return CleanUpTokenizationSpaces(sb.String()), nil
}

// VocabSize implements Tokenizer.
func (w *WordPiece) VocabSize() int { return len(w.tokens) }

// TokenToID implements Tokenizer.
func (w *WordPiece) TokenToID(token string) (int, bool) {
	if id, ok := w.vocab[token]; ok {
		return id, true
	}
	if rest, ok := strings.CutPrefix(token, w.prefix); ok && w.prefix != "" {
		id, ok := w.cont[rest]
		return id, ok
	}
	return 0, false
}

// IDToToken implements Tokenizer.
func (w *WordPiece) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(w.tokens) || w.tokens[id] == "" {
		return "", false
	}
	return w.tokens[id], true
}

// isBertSpace is BERT's _is_whitespace: space, \t, \n, \r and category Zs.
func isBertSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r)
}

// isBertControl is the BertNormalizer's is_control: categories Cc, Cf, Co
// and Cs except \t, \n, \r. Unassigned code points (Cn) are kept, as the
// Rust tokenizers keep them (Python's slow BertTokenizer drops them).
func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) // unicode.C would include Cn
}

// isBertPunct is BERT's _is_punctuation: the ASCII non-alphanumeric printable
// characters and Unicode category P*.
func isBertPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return r >= utf8.RuneSelf && unicode.In(r, unicode.P)
}

// isCJK is BERT's _is_chinese_char: the CJK Unified Ideographs blocks.
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}
