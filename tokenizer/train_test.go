package tokenizer

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// trainCorpus is the committed Tatoeba-derived text of the SentencePiece
// fixtures, repeated so that pairs recur.
func trainCorpus(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(spmDir(), "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Repeat(string(data), 3)
}

func TestTrainBPE(t *testing.T) {
	corpus := trainCorpus(t)
	b, err := TrainBPE(strings.NewReader(corpus), TrainOptions{VocabSize: 600, SpecialTokens: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	if b.VocabSize() != 600 {
		t.Fatalf("vocab size %d, want 600", b.VocabSize())
	}
	if id, ok := b.TokenToID("<|endoftext|>"); !ok || id != 0 {
		t.Fatalf("<|endoftext|> id %d %v, want 0", id, ok)
	}
	text := "Tom ne sait pas nager. Ich habe keine Ahnung<|endoftext|>生活 😂"
	ids, _ := b.Encode(text, false)
	if got, _ := b.Decode(ids, false); got != text {
		t.Fatalf("round trip: %q", got)
	}
	// Merges must compress the training text well below one id per byte.
	all, _ := b.Encode(corpus[:20000], false)
	if float64(len(all)) > 0.5*20000 {
		t.Errorf("%d ids for 20000 bytes: merges do not compress", len(all))
	}
	// Deterministic, and the same result however the corpus is streamed.
	b2, err := TrainBPE(&oneByteReader{s: corpus[:len(corpus)/3]}, TrainOptions{VocabSize: 600, SpecialTokens: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	b3, err := TrainBPE(strings.NewReader(corpus[:len(corpus)/3]), TrainOptions{VocabSize: 600, SpecialTokens: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{text, corpus[:3000]} {
		x, _ := b2.Encode(s, false)
		y, _ := b3.Encode(s, false)
		if !slices.Equal(x, y) {
			t.Fatalf("streamed and whole-corpus training differ on %q", s[:40])
		}
	}
	// tokenizer.json round trip through LoadHFJSON.
	var buf bytes.Buffer
	if err := b.WriteHFJSON(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := LoadHFJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	samples := []string{text, corpus[:5000], "  spaces\t\tand\nnewlines  ", "<|endoftext|>x<|endoftext|>"}
	for _, s := range samples {
		x, _ := b.Encode(s, true)
		y, _ := back.Encode(s, true)
		if !slices.Equal(x, y) {
			t.Fatalf("tokenizer.json reload differs on %q", s[:20])
		}
	}
	// tools/golden/tokenizer_hf.sh sets ATTN_TOKENIZER_DUMP to check with
	// Hugging Face tokenizers that the file loads and gives the same ids.
	if dir := os.Getenv("ATTN_TOKENIZER_DUMP"); dir != "" {
		var cases []map[string]any
		for _, s := range samples {
			ids, _ := b.Encode(s, true)
			cases = append(cases, map[string]any{"text": s, "ids": ids})
		}
		data, _ := json.Marshal(cases)
		if err := os.WriteFile(filepath.Join(dir, "trained-cases.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "trained-tokenizer.json"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// oneByteReader hands out its string in small reads, to exercise streaming.
type oneByteReader struct{ s string }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 7)], r.s)
	r.s = r.s[n:]
	return n, nil
}

func TestTrainBPEErrors(t *testing.T) {
	tests := []struct {
		name string
		opt  TrainOptions
	}{
		{"too small", TrainOptions{VocabSize: 100}},
		{"special spells a byte", TrainOptions{VocabSize: 300, SpecialTokens: []string{"a"}}},
		{"repeated special", TrainOptions{VocabSize: 300, SpecialTokens: []string{"<s>", "<s>"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := TrainBPE(strings.NewReader("hello hello"), tc.opt); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestChar(t *testing.T) {
	c, err := NewChar("hello world\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.VocabSize() != 9 {
		t.Fatalf("vocab %d, want 9", c.VocabSize())
	}
	ids, err := c.Encode("low\n", false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{5, 6, 8, 0}; !slices.Equal(ids, want) {
		t.Fatalf("ids %v want %v", ids, want)
	}
	if s, _ := c.Decode(ids, false); s != "low\n" {
		t.Fatalf("decode %q", s)
	}
	if _, err := c.Encode("hex", false); err == nil {
		t.Error("x is not in the vocabulary: want an error")
	}
	data, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Char
	if err := back.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	if ids2, _ := back.Encode("low\n", false); !slices.Equal(ids, ids2) {
		t.Fatal("JSON round trip changed the ids")
	}
}
