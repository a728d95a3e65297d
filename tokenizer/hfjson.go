package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
)

// hfAddedToken is an entry of tokenizer.json's added_tokens.
type hfAddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// hfFile is the part of a Hugging Face tokenizer.json this package reads.
type hfFile struct {
	AddedTokens   []hfAddedToken  `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Model         json.RawMessage `json:"model"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
}

// component is any tokenizer.json component: a "type" plus its options.
type component struct {
	Type string `json:"type"`
	// ByteLevel
	AddPrefixSpace *bool `json:"add_prefix_space"`
	UseRegex       *bool `json:"use_regex"`
	// BertNormalizer
	CleanText          *bool `json:"clean_text"`
	HandleChineseChars *bool `json:"handle_chinese_chars"`
	StripAccents       *bool `json:"strip_accents"`
	Lowercase          *bool `json:"lowercase"`
	// WordPiece decoder
	Prefix  *string `json:"prefix"`
	Cleanup *bool   `json:"cleanup"`
	// BertProcessing, RobertaProcessing: [token, id]
	Sep []any `json:"sep"`
	Cls []any `json:"cls"`
	// TemplateProcessing
	Single        []map[string]templateItem `json:"single"`
	Pair          []map[string]templateItem `json:"pair"`
	SpecialTokens map[string]struct {
		IDs []int `json:"ids"`
	} `json:"special_tokens"`
}

type templateItem struct {
	ID     string `json:"id"`
	TypeID int    `json:"type_id"`
}

// hfModel is the "model" section.
type hfModel struct {
	Type                    string          `json:"type"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
	UnkToken                *string         `json:"unk_token"`
	Dropout                 *float64        `json:"dropout"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	FuseUnk                 bool            `json:"fuse_unk"`
	MaxInputCharsPerWord    int             `json:"max_input_chars_per_word"`
}

func parseComponent(raw json.RawMessage, what string) (*component, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &c, nil
}

// unsupported refuses a component by name.
func unsupported(what string, c *component) error {
	return fmt.Errorf("%s %q is not supported", what, c.Type)
}

// LoadHFJSON reads a Hugging Face tokenizer.json. Supported are the
// combinations GPT-2, RoBERTa/BART and BERT use: a byte-level BPE model with
// the ByteLevel pre-tokenizer and decoder, and a WordPiece model with
// BertNormalizer, BertPreTokenizer and the WordPiece decoder; post-processors
// ByteLevel, TemplateProcessing, BertProcessing and RobertaProcessing. Any
// other component is refused by name.
func LoadHFJSON(path string) (Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	t, err := parseHFJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func parseHFJSON(data []byte) (Tokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	var m hfModel
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	norm, err := parseComponent(f.Normalizer, "normalizer")
	if err != nil {
		return nil, err
	}
	pre, err := parseComponent(f.PreTokenizer, "pre_tokenizer")
	if err != nil {
		return nil, err
	}
	post, err := parseComponent(f.PostProcessor, "post_processor")
	if err != nil {
		return nil, err
	}
	dec, err := parseComponent(f.Decoder, "decoder")
	if err != nil {
		return nil, err
	}
	if s := string(f.Truncation); s != "" && s != "null" {
		slog.Warn("tokenizer.json truncation is not applied by Encode; use EncodeInput's MaxLength", "truncation", s)
	}
	if s := string(f.Padding); s != "" && s != "null" {
		slog.Warn("tokenizer.json padding is not applied by Encode; use EncodeInput's PadTo", "padding", s)
	}
	var added []addedToken
	for _, a := range f.AddedTokens {
		if a.SingleWord {
			return nil, fmt.Errorf("added token %q: single_word is not supported", a.Content)
		}
		added = append(added, addedToken{Content: a.Content, ID: a.ID, Special: a.Special, LStrip: a.LStrip, RStrip: a.RStrip})
	}
	switch m.Type {
	case "BPE":
		return hfByteLevelBPE(&m, norm, pre, post, dec, added)
	case "WordPiece":
		return hfWordPiece(&f, &m, norm, pre, post, dec, added)
	case "":
		return nil, fmt.Errorf("model has no type")
	}
	return nil, fmt.Errorf("model %q is not supported", m.Type)
}

func hfByteLevelBPE(m *hfModel, norm, pre, post, dec *component, added []addedToken) (*BPE, error) {
	if norm != nil {
		return nil, unsupported("normalizer (with a BPE model)", norm)
	}
	if pre == nil || pre.Type != "ByteLevel" {
		if pre == nil {
			return nil, fmt.Errorf("BPE model without a pre_tokenizer is not supported (only byte-level BPE is)")
		}
		return nil, unsupported("pre_tokenizer (with a BPE model)", pre)
	}
	if dec != nil && dec.Type != "ByteLevel" {
		return nil, unsupported("decoder (with a byte-level BPE model)", dec)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("BPE dropout %v is not supported (encoding would not be deterministic)", *m.Dropout)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, fmt.Errorf("BPE continuing_subword_prefix %q is not supported", *m.ContinuingSubwordPrefix)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, fmt.Errorf("BPE end_of_word_suffix %q is not supported", *m.EndOfWordSuffix)
	}
	if m.ByteFallback {
		return nil, fmt.Errorf("BPE byte_fallback is not supported with a ByteLevel pre-tokenizer")
	}
	var vocab map[string]int
	if err := json.Unmarshal(m.Vocab, &vocab); err != nil {
		return nil, fmt.Errorf("model vocab: %w", err)
	}
	merges, err := parseHFMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	b, err := NewBPE(vocab, merges)
	if err != nil {
		return nil, err
	}
	if m.UnkToken != nil {
		if m.FuseUnk {
			return nil, fmt.Errorf("BPE fuse_unk is not supported")
		}
		id, ok := vocab[*m.UnkToken]
		if !ok {
			return nil, fmt.Errorf("BPE unk_token %q is not in the vocabulary", *m.UnkToken)
		}
		b.unk = id
	}
	if m.IgnoreMerges {
		b.setIgnoreMerges()
	}
	if pre.AddPrefixSpace != nil {
		b.addPrefixSpace = *pre.AddPrefixSpace
	}
	if pre.UseRegex != nil {
		b.splitWords = *pre.UseRegex
	}
	if err := b.setAdded(added); err != nil {
		return nil, err
	}
	if post != nil && post.Type != "ByteLevel" {
		if b.post, err = hfTemplate(post, b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// parseHFMerges accepts both spellings of merges: "a b" strings and
// ["a", "b"] pairs.
func parseHFMerges(raw json.RawMessage) ([][2]string, error) {
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		out := make([][2]string, len(strs))
		for i, s := range strs {
			l, r, ok := cutMerge(s)
			if !ok {
				return nil, fmt.Errorf("merge %d %q: want two tokens separated by a space", i+1, s)
			}
			out[i] = [2]string{l, r}
		}
		return out, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("model merges: %w", err)
	}
	return pairs, nil
}

func hfWordPiece(f *hfFile, m *hfModel, norm, pre, post, dec *component, added []addedToken) (*WordPiece, error) {
	if pre == nil || pre.Type != "BertPreTokenizer" {
		if pre == nil {
			return nil, fmt.Errorf("WordPiece model without a pre_tokenizer is not supported")
		}
		return nil, unsupported("pre_tokenizer (with a WordPiece model)", pre)
	}
	if norm != nil && norm.Type != "BertNormalizer" {
		return nil, unsupported("normalizer (with a WordPiece model)", norm)
	}
	if dec != nil && dec.Type != "WordPiece" {
		return nil, unsupported("decoder (with a WordPiece model)", dec)
	}
	if dec != nil && dec.Cleanup != nil && !*dec.Cleanup {
		return nil, fmt.Errorf("WordPiece decoder without cleanup is not supported")
	}
	var vocab map[string]int
	if err := json.Unmarshal(m.Vocab, &vocab); err != nil {
		return nil, fmt.Errorf("model vocab: %w", err)
	}
	unk := "[UNK]"
	if m.UnkToken != nil {
		unk = *m.UnkToken
	}
	prefix := "##"
	if m.ContinuingSubwordPrefix != nil {
		prefix = *m.ContinuingSubwordPrefix
	}
	if dec != nil && dec.Prefix != nil && *dec.Prefix != prefix {
		return nil, fmt.Errorf("WordPiece decoder prefix %q differs from the model's %q", *dec.Prefix, prefix)
	}
	w, err := newWordPiece(vocab, unk, prefix)
	if err != nil {
		return nil, err
	}
	if m.MaxInputCharsPerWord > 0 {
		w.MaxInputCharsPerWord = m.MaxInputCharsPerWord
	}
	w.CleanText, w.ChineseChars, w.StripAccents, w.Lowercase = false, false, false, false
	if norm != nil {
		w.CleanText = norm.CleanText == nil || *norm.CleanText
		w.ChineseChars = norm.HandleChineseChars == nil || *norm.HandleChineseChars
		w.Lowercase = norm.Lowercase == nil || *norm.Lowercase
		// strip_accents null follows lowercase, as in BERT.
		w.StripAccents = w.Lowercase
		if norm.StripAccents != nil {
			w.StripAccents = *norm.StripAccents
		}
	}
	if norm != nil {
		for _, a := range f.AddedTokens {
			if a.Normalized {
				return nil, fmt.Errorf("added token %q: matching after normalisation (normalized: true) is not supported", a.Content)
			}
		}
	}
	if w.added, err = newAddedVocab(added); err != nil {
		return nil, err
	}
	for _, a := range added {
		if err := checkIDs(fmt.Sprintf("added token %q", a.Content), a.ID, len(w.tokens)); err != nil {
			return nil, err
		}
		for a.ID >= len(w.tokens) {
			w.tokens = append(w.tokens, "")
		}
		if w.tokens[a.ID] == "" {
			w.tokens[a.ID] = a.Content
			w.vocab[a.Content] = a.ID
		}
	}
	if post != nil {
		if w.post, err = hfTemplate(post, w); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// hfTemplate converts a post_processor into a template.
func hfTemplate(c *component, tok Tokenizer) (*template, error) {
	tokenID := func(v []any, what string) (int, error) {
		if len(v) != 2 {
			return 0, fmt.Errorf("post_processor %s %s: want [token, id]", c.Type, what)
		}
		id, ok := v[1].(float64)
		if !ok || id < 0 || id != float64(int(id)) {
			return 0, fmt.Errorf("post_processor %s %s: id %v is not a token id", c.Type, what, v[1])
		}
		return int(id), nil
	}
	switch c.Type {
	case "BertProcessing", "RobertaProcessing":
		cls, err := tokenID(c.Cls, "cls")
		if err != nil {
			return nil, err
		}
		sep, err := tokenID(c.Sep, "sep")
		if err != nil {
			return nil, err
		}
		if c.Type == "BertProcessing" {
			return bertTemplate(cls, sep), nil
		}
		return robertaTemplate(cls, sep), nil
	case "TemplateProcessing":
		conv := func(items []map[string]templateItem) ([]templatePiece, error) {
			var out []templatePiece
			for _, it := range items {
				for kind, v := range it {
					switch kind {
					case "Sequence":
						seq := map[string]int{"A": 0, "B": 1}[v.ID]
						if v.ID != "A" && v.ID != "B" {
							return nil, fmt.Errorf("post_processor TemplateProcessing: sequence %q", v.ID)
						}
						out = append(out, templatePiece{Seq: seq, TypeID: v.TypeID})
					case "SpecialToken":
						st, ok := c.SpecialTokens[v.ID]
						if !ok {
							return nil, fmt.Errorf("post_processor TemplateProcessing: special token %q has no ids", v.ID)
						}
						for _, id := range st.IDs {
							if _, ok := tok.IDToToken(id); !ok {
								return nil, fmt.Errorf("post_processor TemplateProcessing: special token %q id %d: %w", v.ID, id, ErrUnknownID)
							}
						}
						out = append(out, templatePiece{Seq: -1, IDs: st.IDs, TypeID: v.TypeID})
					default:
						return nil, fmt.Errorf("post_processor TemplateProcessing: item %q is not supported", kind)
					}
				}
			}
			return out, nil
		}
		single, err := conv(c.Single)
		if err != nil {
			return nil, err
		}
		pair, err := conv(c.Pair)
		if err != nil {
			return nil, err
		}
		return &template{single: single, pair: pair}, nil
	}
	return nil, unsupported("post_processor", c)
}

// WriteHFJSON writes b as a Hugging Face tokenizer.json (BPE model with the
// ByteLevel pre-tokenizer, post-processor and decoder), which Hugging Face
// tokenizers and LoadHFJSON read back.
func (b *BPE) WriteHFJSON(w io.Writer) error {
	type merge struct {
		rank uint64
		l, r int
	}
	ms := make([]merge, 0, b.nMerges)
	b.merges.each(func(k, v uint64) {
		ms = append(ms, merge{rank: v >> 32, l: int(k >> 32), r: int(uint32(k))})
	})
	sort.Slice(ms, func(i, j int) bool { return ms[i].rank < ms[j].rank })
	merges := make([]string, len(ms))
	for i, m := range ms {
		merges[i] = b.tokens[m.l] + " " + b.tokens[m.r]
	}
	addedToks := []hfAddedToken{}
	if b.added != nil {
		for _, t := range b.added.tokens {
			addedToks = append(addedToks, hfAddedToken{ID: t.ID, Content: t.Content, LStrip: t.LStrip, RStrip: t.RStrip, Special: t.Special})
		}
		sort.Slice(addedToks, func(i, j int) bool { return addedToks[i].ID < addedToks[j].ID })
	}
	byteLevel := func(prefix bool, trim bool) map[string]any {
		return map[string]any{"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": trim, "use_regex": b.splitWords}
	}
	var post any = byteLevel(true, false)
	if b.post != nil {
		post = b.post.hfJSON(b)
	}
	var unk any
	if b.unk >= 0 {
		unk = b.tokens[b.unk]
	}
	file := map[string]any{
		"version":        "1.0",
		"truncation":     nil,
		"padding":        nil,
		"added_tokens":   addedToks,
		"normalizer":     nil,
		"pre_tokenizer":  byteLevel(b.addPrefixSpace, true),
		"post_processor": post,
		"decoder":        byteLevel(true, true),
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": unk, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false,
			"vocab": b.vocab, "merges": merges,
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(file); err != nil {
		return fmt.Errorf("tokenizer.json: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("tokenizer.json: %w", err)
	}
	return nil
}

// hfJSON spells the template as a TemplateProcessing post-processor.
func (t *template) hfJSON(tok Tokenizer) map[string]any {
	special := map[string]any{}
	conv := func(ps []templatePiece) []any {
		var out []any
		for _, p := range ps {
			if p.Seq >= 0 {
				out = append(out, map[string]any{"Sequence": map[string]any{"id": []string{"A", "B"}[p.Seq], "type_id": p.TypeID}})
				continue
			}
			for _, id := range p.IDs {
				name, _ := tok.IDToToken(id)
				special[name] = map[string]any{"id": name, "ids": []int{id}, "tokens": []string{name}}
				out = append(out, map[string]any{"SpecialToken": map[string]any{"id": name, "type_id": p.TypeID}})
			}
		}
		return out
	}
	return map[string]any{"type": "TemplateProcessing", "single": conv(t.single), "pair": conv(t.pair), "special_tokens": special}
}
