package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Marian is the tokenizer of Marian translation models as Hugging Face's
// MarianTokenizer runs it: a source SentencePiece model segments the text into
// pieces, vocab.json maps each piece to a model id (<unk> for pieces it
// lacks), and </s> ends every sequence. A leading ">>xx<<" language code is
// kept as one token. Decoding maps ids back through vocab.json and joins the
// pieces with the target SentencePiece model.
//
// Not done: MarianTokenizer's optional Moses punctuation normalisation (it
// runs only when sacremoses is installed).
type Marian struct {
	src, tgt *SentencePiece
	vocab    map[string]int
	tokens   []string
	unk, eos int
	added    *addedVocab
}

// LoadMarian reads source.spm, target.spm (source.spm when absent) and
// vocab.json from dir.
func LoadMarian(dir string) (*Marian, error) {
	src, err := LoadSentencePiece(filepath.Join(dir, "source.spm"))
	if err != nil {
		return nil, fmt.Errorf("marian: %w", err)
	}
	tgt := src
	if _, err := os.Stat(filepath.Join(dir, "target.spm")); err == nil {
		if tgt, err = LoadSentencePiece(filepath.Join(dir, "target.spm")); err != nil {
			return nil, fmt.Errorf("marian: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "target_vocab.json")); err == nil {
		return nil, fmt.Errorf("marian %s: separate source and target vocabularies (target_vocab.json) are not supported", dir)
	}
	data, err := os.ReadFile(filepath.Join(dir, "vocab.json"))
	if err != nil {
		return nil, fmt.Errorf("marian: %w", err)
	}
	var vocab map[string]int
	if err := json.Unmarshal(data, &vocab); err != nil {
		return nil, fmt.Errorf("marian vocab.json: %w", err)
	}
	return NewMarian(src, tgt, vocab)
}

// NewMarian builds a Marian tokenizer; vocab must hold <unk> and </s>.
func NewMarian(src, tgt *SentencePiece, vocab map[string]int) (*Marian, error) {
	m := &Marian{src: src, tgt: tgt, vocab: vocab}
	var err error
	if m.tokens, err = invertVocab("marian vocab.json", vocab); err != nil {
		return nil, err
	}
	var ok bool
	if m.unk, ok = vocab["<unk>"]; !ok {
		return nil, fmt.Errorf("marian vocab.json: <unk> is missing")
	}
	if m.eos, ok = vocab["</s>"]; !ok {
		return nil, fmt.Errorf("marian vocab.json: </s> is missing")
	}
	var added []addedToken
	for _, s := range []string{"</s>", "<unk>", "<pad>"} {
		if id, ok := vocab[s]; ok {
			added = append(added, addedToken{Content: s, ID: id, Special: true})
		}
	}
	m.added, err = newAddedVocab(added)
	return m, err
}

// Encode implements Tokenizer for source text; addSpecial appends </s>.
func (m *Marian) Encode(text string, addSpecial bool) ([]int, error) {
	return m.encode(m.src, text, addSpecial), nil
}

// EncodeTarget encodes target-language text (labels) with the target
// SentencePiece model, as MarianTokenizer's text_target does.
func (m *Marian) EncodeTarget(text string, addSpecial bool) ([]int, error) {
	return m.encode(m.tgt, text, addSpecial), nil
}

func (m *Marian) encode(sp *SentencePiece, text string, addSpecial bool) []int {
	var ids []int
	m.added.split(text, func(s string) {
		if strings.HasPrefix(s, ">>") {
			if end := strings.Index(s, "<<"); end >= 0 {
				code := s[:end+2]
				id, ok := m.vocab[code]
				if !ok {
					id = m.unk
				}
				ids = append(ids, id)
				s = s[end+2:]
			}
		}
		for _, p := range sp.EncodePieces(s) {
			id, ok := m.vocab[p]
			if !ok {
				id = m.unk
			}
			ids = append(ids, id)
		}
	}, func(t *addedToken) { ids = append(ids, t.ID) })
	if addSpecial {
		ids = append(ids, m.eos)
	}
	return ids
}

// Decode implements Tokenizer as MarianTokenizer.decode: runs of pieces are
// joined by the target model, special tokens are written as they are
// spelled followed by a space (or dropped with skipSpecial), and the result
// is trimmed.
func (m *Marian) Decode(ids []int, skipSpecial bool) (string, error) {
	var sb strings.Builder
	var run []string
	for i, id := range ids {
		if id < 0 || id >= len(m.tokens) || m.tokens[id] == "" {
			return "", fmt.Errorf("decode position %d: id %d: %w", i, id, ErrUnknownID)
		}
		if m.added.special[id] {
			if skipSpecial {
				continue
			}
			sb.WriteString(m.tgt.DecodePieces(run))
			sb.WriteString(m.tokens[id])
			sb.WriteByte(' ')
			run = run[:0]
			continue
		}
		run = append(run, m.tokens[id])
	}
	sb.WriteString(m.tgt.DecodePieces(run))
	return strings.TrimSpace(strings.ReplaceAll(sb.String(), "▁", " ")), nil
}

// layout implements templated: A </s>, and A B </s> for a pair.
func (m *Marian) layout() (*template, int, string) {
	t := &template{
		single: []templatePiece{{Seq: 0}, {Seq: -1, IDs: []int{m.eos}}},
		pair:   []templatePiece{{Seq: 0}, {Seq: 1}, {Seq: -1, IDs: []int{m.eos}}},
	}
	if id, ok := m.vocab["<pad>"]; ok {
		return t, id, "<pad>"
	}
	return t, -1, ""
}

// VocabSize implements Tokenizer.
func (m *Marian) VocabSize() int { return len(m.tokens) }

// TokenToID implements Tokenizer.
func (m *Marian) TokenToID(token string) (int, bool) {
	id, ok := m.vocab[token]
	return id, ok
}

// IDToToken implements Tokenizer.
func (m *Marian) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(m.tokens) || m.tokens[id] == "" {
		return "", false
	}
	return m.tokens[id], true
}
