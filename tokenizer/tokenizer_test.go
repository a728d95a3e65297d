package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEncodeBatchMatchesSequential(t *testing.T) {
	tok := gpt2(t)
	var texts []string
	for i := range 200 {
		texts = append(texts, strings.Repeat("To be, or not to be: that is the question. ", i%7)+string(rune('a'+i%26)))
	}
	got, err := EncodeBatch(tok, texts, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range texts {
		want, _ := tok.Encode(s, false)
		if !slices.Equal(got[i], want) {
			t.Fatalf("text %d differs", i)
		}
	}
	c, _ := NewChar("ab")
	if _, err := EncodeBatch(c, []string{"ab", "abc"}, false); err == nil || !strings.Contains(err.Error(), "text 1") {
		t.Errorf("want an error naming text 1, got %v", err)
	}
}

func TestLoadDetects(t *testing.T) {
	td := filepath.Join("..", "testdata", "tokenizer")
	empty := t.TempDir()
	spmOnly := t.TempDir()
	data, err := os.ReadFile(filepath.Join(spmDir(), "bpe.model"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(spmOnly, "target.spm"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir     string
		want    string // type name, or "" for an error
		errPart string
	}{
		{filepath.Join(td, "gpt2"), "*tokenizer.BPE", ""},
		{filepath.Join(td, "bert"), "*tokenizer.WordPiece", ""},
		{filepath.Join(td, "hf", "tiny-gpt2"), "*tokenizer.BPE", ""},
		{filepath.Join(spmDir(), "marian"), "*tokenizer.Marian", ""},
		{spmOnly, "*tokenizer.SentencePiece", ""},
		{spmDir(), "", "several SentencePiece models"},
		{empty, "", "no tokenizer files"},
		{filepath.Join(td, "nonexistent"), "", "no such file"},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			tok, err := Load(tc.dir)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("want an error containing %q, got %v", tc.errPart, err)
				}
				if errors.Is(err, ErrNoTokenizer) != (tc.dir == empty) {
					t.Errorf("errors.Is(%v, ErrNoTokenizer) = %v", err, !(tc.dir == empty))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := typeName(tok); got != tc.want {
				t.Fatalf("Load gave %s, want %s", got, tc.want)
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *BPE:
		return "*tokenizer.BPE"
	case *WordPiece:
		return "*tokenizer.WordPiece"
	case *Marian:
		return "*tokenizer.Marian"
	case *SentencePiece:
		return "*tokenizer.SentencePiece"
	}
	return "?"
}

func TestHFJSONRefusesUnsupported(t *testing.T) {
	tests := []struct {
		name, json, errPart string
	}{
		{"unigram model", `{"model":{"type":"Unigram","vocab":[]}}`, `model "Unigram" is not supported`},
		{"nfc normalizer", `{"normalizer":{"type":"NFC"},"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{},"merges":[]}}`, `normalizer (with a BPE model) "NFC"`},
		{"metaspace", `{"pre_tokenizer":{"type":"Metaspace"},"model":{"type":"BPE","vocab":{},"merges":[]}}`, `pre_tokenizer (with a BPE model) "Metaspace"`},
		{"dropout", `{"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","dropout":0.1,"vocab":{},"merges":[]}}`, "dropout"},
		{"wordpiece decoder", `{"pre_tokenizer":{"type":"BertPreTokenizer"},"decoder":{"type":"BPEDecoder"},"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}`, `decoder (with a WordPiece model) "BPEDecoder"`},
		{"post processor", `{"pre_tokenizer":{"type":"ByteLevel"},"post_processor":{"type":"Sequence"},"model":{"type":"BPE","vocab":{},"merges":[]}}`, `post_processor "Sequence"`},
		{"single word", `{"added_tokens":[{"id":0,"content":"x","single_word":true}],"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{},"merges":[]}}`, "single_word"},
		{"bad merge", `{"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":0},"merges":["a b"]}}`, "not in the vocabulary"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseHFJSON([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Fatalf("want an error containing %q, got %v", tc.errPart, err)
			}
		})
	}
}

func TestEncodeInputTruncatePad(t *testing.T) {
	tok := bert(t)
	b := "the quick brown fox"
	tests := []struct {
		name          string
		a             string
		b             *string
		maxLen, padTo int
		ids, typeIDs  []int
		mask          []int
	}{
		{"single", "hello world", nil, 0, 0, []int{101, 7592, 2088, 102}, []int{0, 0, 0, 0}, []int{1, 1, 1, 1}},
		{"pad", "hello", nil, 0, 5, []int{101, 7592, 102, 0, 0}, []int{0, 0, 0, 0, 0}, []int{1, 1, 1, 0, 0}},
		{"pair truncated longest first", "hello world", &b, 7, 0,
			[]int{101, 7592, 2088, 102, 1996, 4248, 102}, []int{0, 0, 0, 0, 1, 1, 1}, []int{1, 1, 1, 1, 1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := EncodeInput(tok, tc.a, tc.b, EncodeOptions{AddSpecial: true, MaxLength: tc.maxLen, PadTo: tc.padTo})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(e.IDs, tc.ids) || !slices.Equal(e.TypeIDs, tc.typeIDs) || !slices.Equal(e.AttentionMask, tc.mask) {
				t.Fatalf("got %v %v %v\nwant %v %v %v", e.IDs, e.TypeIDs, e.AttentionMask, tc.ids, tc.typeIDs, tc.mask)
			}
			if len(e.Tokens) != len(e.IDs) {
				t.Fatalf("%d tokens for %d ids", len(e.Tokens), len(e.IDs))
			}
		})
	}
	if _, err := EncodeInput(tok, "a", &b, EncodeOptions{AddSpecial: true, MaxLength: 2}); err == nil {
		t.Error("max length 2 cannot hold [CLS] [SEP] [SEP]: want an error")
	}
	if _, err := EncodeInput(gpt2(t), "a", nil, EncodeOptions{PadTo: 4}); err == nil || !strings.Contains(err.Error(), "no pad token") {
		t.Errorf("GPT-2 has no pad token: want an error, got %v", err)
	}
}

func TestDecodeRejectsUnknownIDs(t *testing.T) {
	c, _ := NewChar("ab")
	sp, err := LoadSentencePiece(filepath.Join(spmDir(), "bpe.model"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []Tokenizer{gpt2(t), bert(t), c, sp} {
		if _, err := tok.Decode([]int{0, tok.VocabSize()}, false); err == nil || !strings.Contains(err.Error(), "position 1") {
			t.Errorf("%T: want an error naming position 1, got %v", tok, err)
		}
		if _, err := tok.Decode([]int{-1}, false); err == nil {
			t.Errorf("%T: id -1 decoded", tok)
		}
	}
}

func TestIgnoreMerges(t *testing.T) {
	const file = `{"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false},
	"model":{"type":"BPE","ignore_merges":%v,"vocab":{"a":0,"b":1,"c":2,"ab":3,"abc":4},"merges":["a b"]}}`
	for _, tc := range []struct {
		ignore bool
		want   []int
	}{{false, []int{3, 2}}, {true, []int{4}}} {
		tok, err := parseHFJSON([]byte(strings.ReplaceAll(file, "%v", map[bool]string{false: "false", true: "true"}[tc.ignore])))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := tok.Encode("abc", false); !slices.Equal(got, tc.want) {
			t.Errorf("ignore_merges=%v: got %v want %v", tc.ignore, got, tc.want)
		}
	}
}

// TestEncodeInputMatchesEncode: for every kind of tokenizer, the single
// sequence input is Encode's ids, with and without special tokens.
func TestEncodeInputMatchesEncode(t *testing.T) {
	c, _ := NewChar("Hello, wörld! 生")
	toks := []Tokenizer{gpt2(t), bert(t), c}
	for _, d := range []string{filepath.Join(hfDir(), "tiny-bart"), filepath.Join(spmDir(), "marian")} {
		tok, err := Load(d)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	sp, err := LoadSentencePiece(filepath.Join(spmDir(), "unigram.model"))
	if err != nil {
		t.Fatal(err)
	}
	toks = append(toks, sp)
	for _, tok := range toks {
		for _, special := range []bool{false, true} {
			const text = "Hello, wörld! 生"
			want, err := tok.Encode(text, special)
			if err != nil {
				t.Fatal(err)
			}
			e, err := EncodeInput(tok, text, nil, EncodeOptions{AddSpecial: special})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(e.IDs, want) {
				t.Errorf("%T special=%v: EncodeInput %v, Encode %v", tok, special, e.IDs, want)
			}
		}
	}
}

func TestEncodeInputBatch(t *testing.T) {
	tok := bert(t)
	firsts := []string{"hello", "hello world again", "a"}
	seconds := []string{"x", "y", "z"}
	got, err := EncodeInputBatch(tok, firsts, seconds, EncodeOptions{AddSpecial: true, MaxLength: 6}, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		if len(e.IDs) != 6 || len(e.TypeIDs) != 6 || len(e.AttentionMask) != 6 || len(e.Tokens) != 6 {
			t.Fatalf("encoding %d: lengths %d %d %d %d, want 6", i, len(e.IDs), len(e.TypeIDs), len(e.AttentionMask), len(e.Tokens))
		}
		want, _ := EncodeInput(tok, firsts[i], &seconds[i], EncodeOptions{AddSpecial: true, MaxLength: 6, PadTo: 6})
		if !slices.Equal(e.IDs, want.IDs) || !slices.Equal(e.AttentionMask, want.AttentionMask) {
			t.Errorf("encoding %d: %v, one at a time %v", i, e.IDs, want.IDs)
		}
	}
	if _, err := EncodeInputBatch(tok, firsts, seconds[:1], EncodeOptions{}, false); err == nil {
		t.Error("mismatched batch lengths: want an error")
	}
	if _, err := EncodeInputBatch(gpt2(t), []string{"a", "a b c"}, nil, EncodeOptions{}, true); err == nil {
		t.Error("GPT-2 cannot pad: want an error")
	}
}
