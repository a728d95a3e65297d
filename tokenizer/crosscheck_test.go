package tokenizer

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// crossCheckLines returns the output directory and the lines to encode: every
// line of the corpora in $ATTN_TOKENIZER_CROSSCHECK_CORPORA (":"-separated)
// and 5000 random lines of the pre-tokenizer's hard cases (valid UTF-8: the
// references take strings). It skips the test when the variables are unset.
func crossCheckLines(t *testing.T, seed uint64) (string, []string) {
	t.Helper()
	dir := os.Getenv("ATTN_TOKENIZER_CROSSCHECK")
	corpora := os.Getenv("ATTN_TOKENIZER_CROSSCHECK_CORPORA")
	if dir == "" || corpora == "" {
		t.Skip("set by tools/golden/tokenizer_hf.sh and tokenizer_spm_crosscheck.py")
	}
	var lines []string
	for _, p := range strings.Split(corpora, ":") {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(string(data), "\n")...)
	}
	r := rand.New(rand.NewPCG(seed, seed+1))
	for range 5000 {
		lines = append(lines, strings.ToValidUTF8(randomText(r, r.IntN(60)), "\uFFFD"))
	}
	return dir, lines
}

// TestDumpCrossCheck writes this package's ids for the crossCheckLines into
// $ATTN_TOKENIZER_CROSSCHECK, where tools/golden/tokenizer_hf.sh compares
// them with Hugging Face tokenizers and tiktoken.
func TestDumpCrossCheck(t *testing.T) {
	dir, lines := crossCheckLines(t, 5)
	gids := make([][]int, len(lines))
	for i, s := range lines {
		gids[i] = gpt2(t).EncodeOrdinary(s)
	}
	data, err := json.Marshal(map[string]any{"texts": lines, "ids": gids})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "crosscheck-gpt2.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	toks := map[string]string{
		"bert":      filepath.Join("..", "testdata", "tokenizer", "bert"),
		"tiny-gpt2": filepath.Join(hfDir(), "tiny-gpt2"),
		"tiny-bart": filepath.Join(hfDir(), "tiny-bart"),
	}
	for name, d := range toks {
		tok, err := Load(d)
		if err != nil {
			t.Fatal(err)
		}
		if name != "bert" { // also the slow files: vocab.json + merges.txt + tokenizer_config.json
			slow, err := loadBPEDir(filepath.Join(d, "vocab.json"), filepath.Join(d, "merges.txt"), readConfigs(d))
			if err != nil {
				t.Fatal(err)
			}
			if err := dumpIDs(dir, name+"-slow", slow, lines); err != nil {
				t.Fatal(err)
			}
		}
		if err := dumpIDs(dir, name, tok, lines); err != nil {
			t.Fatal(err)
		}
	}
}

// dumpIDs writes tok's ids of lines (special tokens added) as
// crosscheck-NAME.json.
func dumpIDs(dir, name string, tok Tokenizer, lines []string) error {
	ids, err := EncodeBatch(tok, lines, true)
	if err != nil {
		return err
	}
	data, err := json.Marshal(map[string]any{"texts": lines, "ids": ids})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "crosscheck-"+name+".json"), data, 0o644)
}

// TestDumpSPMCrossCheck is TestDumpCrossCheck for the SentencePiece
// fixtures, compared with python3-sentencepiece by
// tools/golden/tokenizer_spm_crosscheck.py.
func TestDumpSPMCrossCheck(t *testing.T) {
	dir, lines := crossCheckLines(t, 7)
	out := map[string]any{"texts": lines}
	for _, m := range []string{"unigram", "bpe", "unigram_unk"} {
		sp, err := LoadSentencePiece(filepath.Join(spmDir(), m+".model"))
		if err != nil {
			t.Fatal(err)
		}
		ids, err := EncodeBatch(sp, lines, false)
		if err != nil {
			t.Fatal(err)
		}
		out[m] = ids
	}
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "crosscheck-spm.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTiktokenCorpusIDs compares the ids of the benchmark corpus with
// tiktoken's, when tools/bench/tokenize.sh provides them.
func TestTiktokenCorpusIDs(t *testing.T) {
	path := os.Getenv("ATTN_TIKTOKEN_IDS")
	corpus := os.Getenv("ATTN_TOKENIZE_CORPUS")
	if path == "" || corpus == "" {
		t.Skip("set by tools/bench/tokenize.sh")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(corpus)
	if err != nil {
		t.Fatal(err)
	}
	got := gpt2(t).EncodeOrdinary(string(text))
	if !slices.Equal(got, want) {
		n := 0
		for n < min(len(got), len(want)) && got[n] == want[n] {
			n++
		}
		t.Fatalf("%d ids, tiktoken %d; first difference at %d", len(got), len(want), n)
	}
}
