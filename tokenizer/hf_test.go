package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// hfCases are reference encodings by Hugging Face tokenizers and tiktoken,
// made by tools/golden/tokenizer_hf.sh.
type hfCases struct {
	TinyGPT2     hfSet `json:"tiny_gpt2"`
	TinyBart     hfSet `json:"tiny_bart"`
	Bert         hfSet `json:"bert"`
	GPT2Tiktoken []struct {
		Text string `json:"text"`
		IDs  []int  `json:"ids"`
	} `json:"gpt2_tiktoken"`
}

type hfSet struct {
	Cases []struct {
		Text        string   `json:"text"`
		IDs         []int    `json:"ids"`
		PlainIDs    []int    `json:"plain_ids"`
		Tokens      []string `json:"tokens"`
		Decoded     string   `json:"decoded"`
		DecodedSkip string   `json:"decoded_skip"`
	} `json:"cases"`
	Pairs []struct {
		A, B          string
		IDs           []int `json:"ids"`
		TypeIDs       []int `json:"type_ids"`
		AttentionMask []int `json:"attention_mask"`
	} `json:"pairs"`
}

func hfDir() string { return filepath.Join("..", "testdata", "tokenizer", "hf") }

func readHFCases(t *testing.T) hfCases {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(hfDir(), "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c hfCases
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// bertFromSkeleton is the bert-base-uncased tokenizer.json, rebuilt from the
// committed skeleton (the real file with its vocab emptied) and vocab.txt.
func bertFromSkeleton(t *testing.T) []byte {
	t.Helper()
	var skel map[string]any
	data, err := os.ReadFile(filepath.Join(hfDir(), "bert-skeleton.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &skel); err != nil {
		t.Fatal(err)
	}
	vocab := map[string]int{}
	txt, err := os.ReadFile(filepath.Join("..", "testdata", "tokenizer", "bert", "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(txt), "\n"), "\n") {
		vocab[line] = i
	}
	skel["model"].(map[string]any)["vocab"] = vocab
	out, err := json.Marshal(skel)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func checkHFSet(t *testing.T, name string, tok Tokenizer, set hfSet, checkDecode bool) {
	t.Helper()
	if len(set.Cases) < 40 {
		t.Fatalf("%s: only %d cases", name, len(set.Cases))
	}
	for i, c := range set.Cases {
		ids, err := tok.Encode(c.Text, true)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, c.IDs) && len(ids)+len(c.IDs) > 0 {
			t.Errorf("%s case %d Encode(%q, special)\n got %v\nwant %v", name, i, c.Text, ids, c.IDs)
			continue
		}
		plain, _ := tok.Encode(c.Text, false)
		if !slices.Equal(plain, c.PlainIDs) && len(plain)+len(c.PlainIDs) > 0 {
			t.Errorf("%s case %d Encode(%q)\n got %v\nwant %v", name, i, c.Text, plain, c.PlainIDs)
		}
		toks, err := Tokens(tok, plain)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(c.Tokens)
		for i := range want {
			// An lstrip added token (<mask>) is reported with the space it absorbed.
			if i < len(toks) && strings.TrimSpace(want[i]) == toks[i] {
				want[i] = toks[i]
			}
		}
		if !slices.Equal(toks, want) && len(toks)+len(want) > 0 {
			t.Errorf("%s case %d tokens of %q\n got %q\nwant %q", name, i, c.Text, toks, c.Tokens)
		}
		if !checkDecode {
			continue
		}
		for _, skip := range []bool{false, true} {
			want := c.Decoded
			if skip {
				want = c.DecodedSkip
			}
			got, err := tok.Decode(ids, skip)
			if err != nil {
				t.Fatal(err)
			}
			// Hugging Face decodes to a Rust String: invalid UTF-8 becomes U+FFFD.
			got = rustLossy(got)
			if _, wp := tok.(*WordPiece); wp {
				// transformers cleans up the whole string after the Rust
				// decoder's per-token clean-up; Decode does the former.
				want = CleanUpTokenizationSpaces(want)
			}
			if got != want {
				t.Errorf("%s case %d Decode(skip=%v): got %q want %q", name, i, skip, got, want)
			}
		}
	}
}

func checkHFPairs(t *testing.T, name string, tok Tokenizer, set hfSet) {
	t.Helper()
	if len(set.Pairs) == 0 {
		t.Fatalf("%s: no pair cases", name)
	}
	for _, p := range set.Pairs {
		e, err := EncodeInput(tok, p.A, &p.B, EncodeOptions{AddSpecial: true})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(e.IDs, p.IDs) || !slices.Equal(e.TypeIDs, p.TypeIDs) || !slices.Equal(e.AttentionMask, p.AttentionMask) {
			t.Errorf("%s pair (%q, %q)\n got %v %v %v\nwant %v %v %v", name, p.A, p.B,
				e.IDs, e.TypeIDs, e.AttentionMask, p.IDs, p.TypeIDs, p.AttentionMask)
		}
	}
}

func TestHFTokenizerJSON(t *testing.T) {
	ref := readHFCases(t)
	t.Run("tiny-gpt2", func(t *testing.T) {
		tok, err := Load(filepath.Join(hfDir(), "tiny-gpt2"))
		if err != nil {
			t.Fatal(err)
		}
		checkHFSet(t, "tiny-gpt2", tok, ref.TinyGPT2, true)
	})
	t.Run("tiny-bart", func(t *testing.T) {
		tok, err := Load(filepath.Join(hfDir(), "tiny-bart"))
		if err != nil {
			t.Fatal(err)
		}
		checkHFSet(t, "tiny-bart", tok, ref.TinyBart, true)
		checkHFPairs(t, "tiny-bart", tok, ref.TinyBart)
	})
	t.Run("bert", func(t *testing.T) {
		tok, err := parseHFJSON(bertFromSkeleton(t))
		if err != nil {
			t.Fatal(err)
		}
		checkHFSet(t, "bert tokenizer.json", tok, ref.Bert, true)
		checkHFPairs(t, "bert", tok, ref.Bert)
	})
	t.Run("bert-vocab.txt", func(t *testing.T) {
		tok, err := Load(filepath.Join("..", "testdata", "tokenizer", "bert"))
		if err != nil {
			t.Fatal(err)
		}
		checkHFSet(t, "bert vocab.txt", tok, ref.Bert, true)
	})
	t.Run("gpt2-tiktoken", func(t *testing.T) {
		tok := gpt2(t)
		for i, c := range ref.GPT2Tiktoken {
			ids, _ := tok.Encode(c.Text, false)
			if !slices.Equal(ids, c.IDs) && len(ids)+len(c.IDs) > 0 {
				t.Errorf("case %d Encode(%q)\n got %v\nwant %v", i, c.Text, ids, c.IDs)
			}
		}
	})
}

// TestHFFilesAgree checks that the slow files (vocab.json + merges.txt with
// tokenizer_config.json) give the same ids as tokenizer.json.
func TestHFFilesAgree(t *testing.T) {
	ref := readHFCases(t)
	for _, tc := range []struct {
		dir string
		set hfSet
	}{{"tiny-gpt2", ref.TinyGPT2}, {"tiny-bart", ref.TinyBart}} {
		dir := filepath.Join(hfDir(), tc.dir)
		tok, err := loadBPEDir(filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt"), readConfigs(dir))
		if err != nil {
			t.Fatal(err)
		}
		checkHFSet(t, tc.dir+" vocab.json+merges.txt", tok, tc.set, false)
	}
}

// rustLossy is Rust's String::from_utf8_lossy: each maximal invalid
// subsequence becomes one U+FFFD.
func rustLossy(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || n > 1 {
			sb.WriteString(s[i : i+n])
			i += n
			continue
		}
		sb.WriteRune(utf8.RuneError)
		i += maximalSubpart(s[i:])
	}
	return sb.String()
}

// maximalSubpart is the length of the longest prefix of s that starts a
// well-formed UTF-8 sequence (at least 1), per Unicode's table 3-7.
func maximalSubpart(s string) int {
	c := s[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(s); k++ {
		b := s[n]
		if b < lo || b > hi {
			break
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}
