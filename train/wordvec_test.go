package train

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestInitEmbeddings: a fresh classifier on BERT's WordPiece vocabulary
// takes the vectors of its words from a word2vec/GloVe text file (header
// line, words outside the vocabulary, a word listed twice), keeps its
// initialisation elsewhere, and says what is wrong with a bad file or a
// model that is not fresh.
func TestInitEmbeddings(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig(filepath.Join(dir, "out"), 2)
	cfg.Task, cfg.Data = TaskClassify, writeSynthetic(t, 100)
	cfg.Tokenizer = filepath.Join("..", "data", "bert-base-uncased-vocab")
	vec := func(x float32) []string {
		v := make([]string, cfg.Hidden)
		for i := range v {
			v[i] = strconv.FormatFloat(float64(x)+float64(i), 'g', -1, 32)
		}
		return v
	}
	write := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg.InitEmbeddings = write("vectors.txt",
		"4 16",
		"film "+strings.Join(vec(1), " "),
		"zzzunknownword "+strings.Join(vec(7), " "),
		"plot "+strings.Join(vec(2), " "),
		"film "+strings.Join(vec(9), " "))
	fresh := func(c Config) (*Trainer, error) {
		c.Out = filepath.Join(dir, "out-"+filepath.Base(c.InitEmbeddings))
		return NewTrainer(c)
	}
	tr, err := fresh(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var table []float32
	for _, p := range tr.m.NamedParameters("", nil) {
		if p.Name == "bert.embeddings.word_embeddings.weight" {
			table = p.Var.Value.Data()
		}
	}
	id := func(w string) int {
		for i := range tr.tok.VocabSize() {
			if s, _ := tr.tok.IDToToken(i); s == w {
				return i
			}
		}
		t.Fatalf("no token %q", w)
		return 0
	}
	c := cfg.Hidden
	for w, x := range map[string]float32{"film": 1, "plot": 2} {
		row := table[id(w)*c : (id(w)+1)*c]
		for j, v := range row {
			if v != x+float32(j) {
				t.Fatalf("%s row[%d] = %g, want %g", w, j, v, x+float32(j))
			}
		}
	}
	if row := table[id("cast")*c : (id("cast")+1)*c]; row[0] == 1 || row[0] == 2 || row[0] == 7 || row[0] == 9 {
		t.Errorf("cast (no vector) row changed: %v", row[:3])
	}

	for _, tc := range []struct {
		name, want string
		lines      []string
	}{
		{"narrow.txt", "has 3 values; the model's embedding is 16 wide", []string{"film 1 2 3"}},
		{"none.txt", "no token of the", []string{"zzzunknownword " + strings.Join(vec(1), " ")}},
		{"bad.txt", "value 2 of \"film\"", []string{"film 1 x" + strings.Repeat(" 1", c-2)}},
		{"noword.txt", "not a word and its vector", []string{"film"}},
	} {
		c2 := cfg
		c2.InitEmbeddings = write(tc.name, tc.lines...)
		if _, err := fresh(c2); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	final, err := tr.Run()
	if err != nil {
		t.Fatal(err)
	}
	c2 := cfg
	c2.Model = final.Checkpoint
	if _, err := fresh(c2); err == nil || !strings.Contains(err.Error(), "seed a fresh model") {
		t.Errorf("a checkpoint with init_embeddings: err = %v", err)
	}
	c2 = cfg
	c2.InitEmbeddings = filepath.Join(dir, "missing.txt")
	if _, err := fresh(c2); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing file: err = %v", err)
	}
}
