package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// vectorCase is one case of the upstream test vectors in
// testdata/tokenizer/vectors (see SOURCE.txt there).
type vectorCase struct {
	Name           string   `json:"name"`
	Text           string   `json:"text"`
	TextPair       *string  `json:"text_pair"`
	Tokens         []string `json:"tokens"`
	IDs            []int    `json:"ids"`
	Decoded        *string  `json:"decoded"`
	IDsNeverSplit  []int    `json:"ids_never_split"`
	TokNeverSplit  []string `json:"tokens_never_split"`
	IgnoredComment string   `json:"note"`
}

func readVectors(t *testing.T, name string) []vectorCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "tokenizer", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s: no cases", name)
	}
	return f.Cases
}

var (
	gpt2Once sync.Once
	gpt2Tok  *BPE
	gpt2Err  error
)

// gpt2 loads the real GPT-2 vocabulary once per test binary.
func gpt2(t testing.TB) *BPE {
	t.Helper()
	gpt2Once.Do(func() {
		dir := filepath.Join("..", "testdata", "tokenizer", "gpt2")
		gpt2Tok, gpt2Err = LoadBPEFiles(filepath.Join(dir, "encoder.json"), filepath.Join(dir, "vocab.bpe"))
	})
	if gpt2Err != nil {
		t.Fatal(gpt2Err)
	}
	return gpt2Tok
}

func bert(t testing.TB) *WordPiece {
	t.Helper()
	w, err := LoadVocabTxt(filepath.Join("..", "testdata", "tokenizer", "bert", "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func caseName(i int, c vectorCase) string {
	if c.Name != "" {
		return c.Name
	}
	if len(c.Text) > 24 {
		return c.Text[:24]
	}
	return c.Text
}

func TestGPT2Vectors(t *testing.T) {
	tok := gpt2(t)
	files := []string{"tiktoken-gpt2.json", "torchtext-gpt2.json",
		"transformers.js-Xenova-gpt2.json", "transformers.js-openai-community-gpt2.json"}
	n := 0
	for _, file := range files {
		for i, c := range readVectors(t, file) {
			t.Run(file+"/"+caseName(i, c), func(t *testing.T) {
				n++
				ids, err := tok.Encode(c.Text, true)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids, c.IDs) && !(len(ids) == 0 && len(c.IDs) == 0) {
					t.Fatalf("Encode(%q)\n got %v\nwant %v", c.Text, ids, c.IDs)
				}
				if c.Tokens != nil {
					toks, err := Tokens(tok, ids)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(toks, c.Tokens) {
						t.Errorf("tokens of %q\n got %q\nwant %q", c.Text, toks, c.Tokens)
					}
				}
				dec, err := tok.Decode(ids, false)
				if err != nil {
					t.Fatal(err)
				}
				if dec != c.Text {
					t.Errorf("Decode round trip: got %q want %q", dec, c.Text)
				}
				if c.Decoded != nil && CleanUpTokenizationSpaces(dec) != *c.Decoded {
					t.Errorf("cleaned-up decode: got %q want %q", CleanUpTokenizationSpaces(dec), *c.Decoded)
				}
			})
		}
	}
	if n < 70 {
		t.Errorf("only %d GPT-2 vectors ran", n)
	}
}

func TestBERTVectorsTransformersJS(t *testing.T) {
	tok := bert(t)
	for i, c := range readVectors(t, "transformers.js-bert-base-uncased.json") {
		t.Run(caseName(i, c), func(t *testing.T) {
			var ids []int
			if c.TextPair != nil {
				e, err := EncodeInput(tok, c.Text, c.TextPair, EncodeOptions{AddSpecial: true})
				if err != nil {
					t.Fatal(err)
				}
				ids = e.IDs
			} else {
				var err error
				if ids, err = tok.Encode(c.Text, true); err != nil {
					t.Fatal(err)
				}
				plain, _ := tok.Encode(c.Text, false)
				toks, err := Tokens(tok, plain)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(toks, c.Tokens) {
					t.Errorf("tokens of %q\n got %q\nwant %q", c.Text, toks, c.Tokens)
				}
			}
			if !slices.Equal(ids, c.IDs) {
				t.Fatalf("Encode(%q)\n got %v\nwant %v", c.Text, ids, c.IDs)
			}
			if c.Decoded != nil {
				dec, err := tok.Decode(ids, false)
				if err != nil {
					t.Fatal(err)
				}
				if dec != *c.Decoded {
					t.Errorf("Decode: got %q want %q", dec, *c.Decoded)
				}
			}
		})
	}
}

func TestBERTVectorsTorchtext(t *testing.T) {
	for i, c := range readVectors(t, "torchtext-bert-base-uncased.json") {
		t.Run(caseName(i, c), func(t *testing.T) {
			tok := bert(t)
			tok.AllowSpecial = false
			ids, _ := tok.Encode(c.Text, false)
			if !slices.Equal(ids, c.IDs) {
				t.Errorf("default: Encode(%q)\n got %v\nwant %v", c.Text, ids, c.IDs)
			}
			// never_split=["[UNK]", "[CLS]"]: those two stay whole.
			var err error
			tok.AllowSpecial = true
			if tok.added, err = newAddedVocab([]addedToken{{Content: "[UNK]", ID: 100}, {Content: "[CLS]", ID: 101}}); err != nil {
				t.Fatal(err)
			}
			ids, _ = tok.Encode(c.Text, false)
			if !slices.Equal(ids, c.IDsNeverSplit) {
				t.Errorf("never_split: Encode(%q)\n got %v\nwant %v", c.Text, ids, c.IDsNeverSplit)
			}
			toks, err := Tokens(tok, ids)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(toks, c.TokNeverSplit) {
				t.Errorf("never_split tokens: got %q want %q", toks, c.TokNeverSplit)
			}
		})
	}
}
