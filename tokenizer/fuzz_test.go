package tokenizer

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// randomText mixes ASCII, spaces, apostrophes, accents, CJK, emoji and
// invalid UTF-8, the material the pre-tokenizer's branches are made of.
func randomText(r *rand.Rand, n int) string {
	atoms := []string{"a", "Z", "7", " ", "  ", "\n", "\t", "'", "'s", "'ll", "!", "é", "ß", "生", "😂", "\u00a0",
		"\u2003", "\xff", "\xe2\x82", "<|endoftext|>", "<|endof", "[CLS]", "##", "▁", "\x00", "ǅ", "٣", "Ⅻ"}
	var sb strings.Builder
	for sb.Len() < n {
		if r.IntN(4) == 0 {
			sb.WriteByte(byte(r.IntN(256)))
		} else {
			sb.WriteString(atoms[r.IntN(len(atoms))])
		}
	}
	return sb.String()
}

func TestBPERoundTripProperty(t *testing.T) {
	tok := gpt2(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		s := randomText(r, r.IntN(80))
		for _, ids := range [][]int{tok.EncodeOrdinary(s), mustEncode(t, tok, s)} {
			got, err := tok.Decode(ids, false)
			if err != nil {
				t.Fatal(err)
			}
			if got != s {
				t.Fatalf("case %d: Decode(Encode(%q)) = %q", i, s, got)
			}
		}
	}
}

func mustEncode(t *testing.T, tok Tokenizer, s string) []int {
	t.Helper()
	ids, err := tok.Encode(s, false)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestMergeHeapMatchesScan pins the O(n log n) merge to the reference scan.
func TestMergeHeapMatchesScan(t *testing.T) {
	tok := gpt2(t)
	r := rand.New(rand.NewPCG(3, 4))
	w := &bpeWorker{}
	words := []string{strings.Repeat("a", 200), strings.Repeat("ab", 90), strings.Repeat("0", 100), " " + strings.Repeat("the", 40)}
	for range 300 {
		words = append(words, randomText(r, 1+r.IntN(150)))
	}
	for _, word := range words {
		var sym []int32
		for i := 0; i < len(word); i++ {
			sym = append(sym, tok.byteIDs[word[i]])
		}
		want := tok.mergeScan(slices.Clone(sym))
		got := tok.mergeHeap(w, slices.Clone(sym))
		if !slices.Equal(got, want) {
			t.Fatalf("word %q: heap %v, scan %v", word, got, want)
		}
	}
}

// TestLongInputsStayFast guards against quadratic paths: one 256 KB word,
// 256 KB of spaces, 256 KB of digits (quadratic work on these would take
// minutes).
func TestLongInputsStayFast(t *testing.T) {
	if testing.Short() {
		t.Skip("256 KB inputs")
	}
	tok := gpt2(t)
	wp := bert(t)
	sp, err := LoadSentencePiece(filepath.Join(spmDir(), "bpe.model"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 1 << 18
	for _, s := range []string{strings.Repeat("a", n), strings.Repeat(" ", n), strings.Repeat("1", n)} {
		start := time.Now()
		ids := tok.EncodeOrdinary(s)
		if got, _ := tok.Decode(ids, false); got != s {
			t.Fatalf("round trip of a %d-byte %q run failed", len(s), s[:1])
		}
		_, _ = wp.Encode(s, true)
		_, _ = sp.Encode(s, false)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%d bytes of %q took %v", n, s[:1], d)
		}
	}
}

func FuzzBPE(f *testing.F) {
	for _, s := range []string{"", "hello world", "it's  \n\n x", "<|endoftext|>", "\xff\xfe", "生活 😂"} {
		f.Add(s)
	}
	tok := gpt2(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := tok.Encode(s, true)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := tok.Decode(ids, false); err != nil || got != s {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", s, got, err)
		}
	})
}

func FuzzWordPiece(f *testing.F) {
	for _, s := range []string{"", "Hello, World!", "[CLS] x [SEP]", "UNwantéd", "生活", "\x00\xff"} {
		f.Add(s)
	}
	tok := bert(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := tok.Encode(s, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tok.Decode(ids, true); err != nil {
			t.Fatal(err)
		}
		if _, err := EncodeInput(tok, s, &s, EncodeOptions{AddSpecial: true, MaxLength: 16, PadTo: 20}); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzSentencePiece(f *testing.F) {
	for _, s := range []string{"", "  Hello   world ", "ﬁ ＦＵＬＬ", "生活 😂", "\xff\x00", "▁▁x"} {
		f.Add(s)
	}
	var toks []*SentencePiece
	for _, m := range []string{"unigram", "bpe", "unigram_unk"} {
		sp, err := LoadSentencePiece(filepath.Join(spmDir(), m+".model"))
		if err != nil {
			f.Fatal(err)
		}
		toks = append(toks, sp)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, sp := range toks {
			ids, _ := sp.Encode(s, false)
			if _, err := sp.Decode(ids, false); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzSentencePieceModel feeds arbitrary bytes to the model-file parser: an
// error is fine, a panic or hang is not.
func FuzzSentencePieceModel(f *testing.F) {
	for _, m := range []string{"bpe", "unigram_unk"} {
		data, err := os.ReadFile(filepath.Join(spmDir(), m+".model"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Add([]byte{0x0a, 0x05, 0x0a, 0x01, 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		sp, err := ParseSentencePiece(data)
		if err != nil {
			return
		}
		ids, _ := sp.Encode("Hello wörld 生 ﬁ", false)
		_, _ = sp.Decode(ids, false)
	})
}

// shrinkHFJSON keeps the ids below keep of a BPE tokenizer.json and the
// merges among them: a seed of a few hundred bytes with every section of
// the real file, so that the fuzzer's executions (and its minimisation of
// each new input, which runs the target over and over) stay cheap.
func shrinkHFJSON(tb testing.TB, data []byte, keep int) []byte {
	tb.Helper()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		tb.Fatal(err)
	}
	m := doc["model"].(map[string]any)
	vocab := map[string]any{}
	for tok, id := range m["vocab"].(map[string]any) {
		if id.(float64) < float64(keep) {
			vocab[tok] = id
		}
	}
	var merges []any
	for _, mg := range m["merges"].([]any) {
		a, b, ok := strings.Cut(mg.(string), " ")
		if _, inA := vocab[a]; ok && inA {
			if _, inB := vocab[b]; inB {
				if _, inAB := vocab[a+b]; inAB {
					merges = append(merges, mg)
				}
			}
		}
	}
	m["vocab"], m["merges"] = vocab, merges
	var added []any
	for _, a := range doc["added_tokens"].([]any) {
		if a.(map[string]any)["id"].(float64) < float64(keep) {
			added = append(added, a)
		}
	}
	doc["added_tokens"] = added
	out, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func FuzzTokenizerJSON(f *testing.F) {
	for _, d := range []string{"tiny-gpt2", "tiny-bart"} {
		data, err := os.ReadFile(filepath.Join(hfDir(), d, "tokenizer.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(shrinkHFJSON(f, data, 300))
	}
	skel, err := os.ReadFile(filepath.Join(hfDir(), "bert-skeleton.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.Replace(skel, []byte(`"vocab":{}`), []byte(`"vocab":{"[UNK]":0,"a":1,"##b":2,"[CLS]":3,"[SEP]":4}`), 1))
	f.Add([]byte(`{"model":{"type":"Unigram"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := parseHFJSON(data)
		if err != nil {
			return
		}
		ids, _ := tok.Encode("Hello <s> [CLS] wörld", true)
		_, _ = tok.Decode(ids, false)
	})
}

// FuzzVocabFiles builds tokenizers from arbitrary vocab.json + merges.txt and
// vocab.txt contents.
func FuzzVocabFiles(f *testing.F) {
	f.Add([]byte(`{"a":0,"b":1,"ab":2,"Ġ":3}`), []byte("#version: 0.2\na b\n"), []byte("[UNK]\n[CLS]\n[SEP]\na\n##b\n"))
	f.Add([]byte(`{"a":-1}`), []byte("a"), []byte(""))
	f.Fuzz(func(t *testing.T, vocabJSON, merges, vocabTxt []byte) {
		dir := t.TempDir()
		write := func(name string, b []byte) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
		if b, err := LoadBPEFiles(write("vocab.json", vocabJSON), write("merges.txt", merges)); err == nil {
			ids, _ := b.Encode("ab ba <|endoftext|>", false)
			_, _ = b.Decode(ids, false)
		}
		if w, err := LoadVocabTxt(write("vocab.txt", vocabTxt)); err == nil {
			ids, _ := w.Encode("ab [CLS] b", true)
			_, _ = w.Decode(ids, false)
		}
	})
}

func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{`{"ids":[1,2]}`, "[3,4]", "5, 6\n7", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { _, _ = ParseIDs([]byte(s)) })
}
