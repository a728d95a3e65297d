package tokenizer

import (
	"os"
	"testing"
)

// benchText is the corpus of the encode benchmarks: $ATTN_TOKENIZE_CORPUS
// (the speed script sets it to tinyshakespeare), else a committed vector file.
func benchText(b *testing.B) string {
	path := os.Getenv("ATTN_TOKENIZE_CORPUS")
	if path == "" {
		path = "../testdata/tokenizer/vectors/transformers.js-openai-community-gpt2.json"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

// BenchmarkGPT2Encode encodes the corpus on one goroutine, with a fresh
// merge cache every iteration so that the cost of the first pass counts.
func BenchmarkGPT2Encode(b *testing.B) {
	tok := gpt2(b)
	text := benchText(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		tok.resetCache()
		tok.EncodeOrdinary(text)
	}
}

// BenchmarkGPT2EncodeBatch encodes the corpus split into lines over all
// cores.
func BenchmarkGPT2EncodeBatch(b *testing.B) {
	tok := gpt2(b)
	text := benchText(b)
	var lines []string
	for len(text) > 0 {
		n := min(len(text), 4096)
		lines = append(lines, text[:n])
		text = text[n:]
	}
	b.SetBytes(int64(len(benchText(b))))
	for b.Loop() {
		if _, err := EncodeBatch(tok, lines, false); err != nil {
			b.Fatal(err)
		}
	}
}
