package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// spmCases are the reference segmentations by python3-sentencepiece, made by
// tools/golden/tokenizer_spm.py.
type spmCases struct {
	Cases []struct {
		Text              string `json:"text"`
		MarianIDs         []int  `json:"marian_ids"`
		MarianDecoded     string `json:"marian_decoded"`
		MarianDecodedSkip string `json:"marian_decoded_skip"`
		Unigram           spmRef `json:"unigram"`
		BPE               spmRef `json:"bpe"`
		UnigramUnk        spmRef `json:"unigram_unk"`
	} `json:"cases"`
}

type spmRef struct {
	IDs     []int    `json:"ids"`
	Pieces  []string `json:"pieces"`
	Decoded string   `json:"decoded"`
}

func spmDir() string { return filepath.Join("..", "testdata", "tokenizer", "spm") }

func readSPMCases(t *testing.T) spmCases {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(spmDir(), "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c spmCases
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Cases) < 40 {
		t.Fatalf("only %d cases", len(c.Cases))
	}
	return c
}

func TestSentencePieceMatchesReference(t *testing.T) {
	cases := readSPMCases(t)
	for _, model := range []string{"unigram", "bpe", "unigram_unk"} {
		sp, err := LoadSentencePiece(filepath.Join(spmDir(), model+".model"))
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cases.Cases {
			ref := map[string]spmRef{"unigram": c.Unigram, "bpe": c.BPE, "unigram_unk": c.UnigramUnk}[model]
			ids, err := sp.Encode(c.Text, true)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, ref.IDs) && len(ids)+len(ref.IDs) > 0 {
				t.Errorf("%s case %d Encode(%q)\n got %v\nwant %v\nnormalized %q", model, i, c.Text, ids, ref.IDs, sp.Normalize(c.Text))
				continue
			}
			if p := sp.EncodePieces(c.Text); !slices.Equal(p, ref.Pieces) && len(p)+len(ref.Pieces) > 0 {
				t.Errorf("%s case %d pieces of %q\n got %q\nwant %q", model, i, c.Text, p, ref.Pieces)
			}
			dec, err := sp.Decode(ids, false)
			if err != nil {
				t.Fatal(err)
			}
			if dec != ref.Decoded {
				t.Errorf("%s case %d Decode: got %q want %q", model, i, dec, ref.Decoded)
			}
		}
	}
}

func TestMarianMatchesReference(t *testing.T) {
	tok, err := Load(filepath.Join(spmDir(), "marian"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.(*Marian); !ok {
		t.Fatalf("Load gave %T, want *Marian", tok)
	}
	n := 0
	for i, c := range readSPMCases(t).Cases {
		if c.MarianIDs == nil {
			continue
		}
		n++
		ids, err := tok.Encode(c.Text, true)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, c.MarianIDs) {
			t.Errorf("case %d Encode(%q)\n got %v\nwant %v", i, c.Text, ids, c.MarianIDs)
		}
		// The fixture's source and target models are the same file.
		if tgt, _ := tok.(*Marian).EncodeTarget(c.Text, true); !slices.Equal(tgt, ids) {
			t.Errorf("case %d EncodeTarget differs from Encode", i)
		}
		for _, skip := range []bool{false, true} {
			want := c.MarianDecoded
			if skip {
				want = c.MarianDecodedSkip
			}
			if got, err := tok.Decode(c.MarianIDs, skip); err != nil || got != want {
				t.Errorf("case %d Decode(skip=%v) = %q, %v; want %q", i, skip, got, err, want)
			}
		}
	}
	if n < 40 {
		t.Errorf("only %d Marian cases", n)
	}
}
