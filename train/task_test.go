package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
)

func TestParseExamples(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []Example
		err        string
	}{
		{"a.tsv", "good film\t1\nbad, bad film\t0\n\n", []Example{{"good film", "1"}, {"bad, bad film", "0"}}, ""},
		{"a.txt", "tab\tin text\tpos\r\n", []Example{{"tab\tin text", "pos"}}, ""},
		{"a.csv", "text,label\n\"good, really\",pos\nbad,neg\n", []Example{{"good, really", "pos"}, {"bad", "neg"}}, ""},
		{"a.jsonl", `{"text": "ok", "label": 1}` + "\n" + `{"text": "no", "label": "x"}`, []Example{{"ok", "1"}, {"no", "x"}}, ""},
		{"a.tsv", "no label here\n", nil, "line 1: no tab"},
		{"a.csv", "only\n", nil, "want text,label"},
		{"a.jsonl", `{"label": 1}`, nil, "want {"},
		{"a.xml", "<x/>", nil, "unknown format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseExamples(tc.name, []byte(tc.data))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

// writeSynthetic writes n labelled lines whose label is whether "great"
// or "awful" appears among random filler words.
func writeSynthetic(t *testing.T, n int) string {
	rng := rand.New(rand.NewPCG(3, 3))
	filler := []string{"the", "a", "film", "plot", "was", "and", "very", "cast", "story", "it"}
	var b strings.Builder
	for i := 0; i < n; i++ {
		var w []string
		for j := 0; j < 3+rng.IntN(6); j++ {
			w = append(w, filler[rng.IntN(len(filler))])
		}
		label, key := "pos", "great"
		if rng.IntN(2) == 0 {
			label, key = "neg", "awful"
		}
		k := rng.IntN(len(w) + 1)
		w = append(w[:k], append([]string{key}, w[k:]...)...)
		fmt.Fprintf(&b, "%s\t%s\n", strings.Join(w, " "), label)
	}
	path := filepath.Join(t.TempDir(), "data.tsv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestClassifyLearns: a fresh BERT classifier learns the synthetic
// keyword rule (the bag-of-words baseline solves it too), and a resumed
// classification run repeats the uninterrupted losses bit for bit.
func TestClassifyLearns(t *testing.T) {
	data := writeSynthetic(t, 400)
	cfg := tinyConfig(filepath.Join(t.TempDir(), "a"), 150)
	cfg.Task, cfg.Data, cfg.BlockSize, cfg.BatchSize, cfg.Hidden, cfg.LR = TaskClassify, data, 48, 16, 32, 3e-3
	cfg.WarmupIters = 10
	tr, err := NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(); err != nil {
		t.Fatal(err)
	}
	_, acc, err := tr.Evaluate()
	tr.Close()
	if err != nil || acc < 0.95 {
		t.Errorf("validation accuracy %.3f (%v), want ≥ 0.95", acc, err)
	}
	if base, err := BagOfWordsBaseline(cfg); err != nil || base < 0.95 {
		t.Errorf("baseline accuracy %.3f (%v)", base, err)
	}

	cfg.Out, cfg.MaxIters, cfg.LRDecayIters, cfg.WarmupIters = filepath.Join(t.TempDir(), "b"), 8, 8, 2
	full, err := NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := runLosses(t, full)
	cfg.Out, cfg.MaxIters, cfg.CheckpointEvery = filepath.Join(t.TempDir(), "c"), 4, 4
	half, err := NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runLosses(t, half)
	rest, err := Resume(cfg.Out, 8)
	if err != nil {
		t.Fatal(err)
	}
	for s, l := range runLosses(t, rest) {
		if l != want[s] {
			t.Errorf("step %d: resumed loss %v, uninterrupted %v", s, l, want[s])
		}
	}
}

// TestMaskedLMLearns: BERT's masked LM on text lowers its validation loss
// and reports an accuracy; batches follow the 80/10/10 rule.
func TestMaskedLMLearns(t *testing.T) {
	cfg := tinyConfig(t.TempDir(), 60)
	cfg.Task, cfg.Hidden, cfg.LR, cfg.BlockSize = TaskMaskedLM, 32, 3e-3, 32
	tr, err := NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	before, _, _ := tr.Evaluate()
	final, err := tr.Run()
	if err != nil {
		t.Fatal(err)
	}
	if final.ValAccuracy == nil || !(*final.ValLoss < before-0.5) {
		t.Errorf("val loss %.3f → %v, accuracy %v", before, *final.ValLoss, final.ValAccuracy)
	}
	mt := tr.task.(*maskedTask)
	rng := rand.New(rand.NewPCG(1, 1))
	var chosen, masked, same, total int
	for i := 0; i < 200; i++ {
		in, tg := mt.trainBatch(rng)
		for j, y := range tg {
			if j%cfg.BlockSize == 0 {
				if in.InputIDs[j] != mt.sp.cls || y != IgnoreIndex {
					t.Fatal("row does not start with an unscored [CLS]")
				}
			}
			total++
			if y == IgnoreIndex {
				continue
			}
			chosen++
			switch in.InputIDs[j] {
			case mt.sp.mask:
				masked++
			case y:
				same++
			}
		}
	}
	p, fm, fs := float64(chosen)/float64(total), float64(masked)/float64(chosen), float64(same)/float64(chosen)
	if p < 0.12 || p > 0.17 || fm < 0.77 || fm > 0.83 || fs < 0.08 || fs > 0.15 {
		t.Errorf("chosen %.3f of positions, of them [MASK] %.3f, unchanged %.3f; want ≈ 0.15 (less [CLS]/[SEP]), 0.8, ≥ 0.1", p, fm, fs)
	}
}

// TestClassifyKeepsModelTokenizer: a run on a model directory's own
// tokenizer (here a WordPiece vocab.txt, which the trainer cannot write
// itself) puts those files in its checkpoints, so the checkpoint
// tokenizes as the model did; a corrupt tokenizer is an error naming it.
func TestClassifyKeepsModelTokenizer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wp")
	words := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "film", "plot", "was", "and", "very",
		"cast", "story", "it", "great", "awful", "##s", ".", ","}
	m, err := model.Init(model.InitOptions{Arch: "bert", Head: "BertForSequenceClassification", Labels: 2, Layers: 1,
		Heads: 2, Hidden: 16, Vocab: len(words), Context: 32})
	if err != nil {
		t.Fatal(err)
	}
	if err := model.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(words, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	const text = "the film was great. the cast, awful"
	a, _ := want.Encode(text, true)
	if len(a) < 10 {
		t.Fatalf("the model tokenizes %q as %v", text, a)
	}
	// tokenizes checks that checkpoint ckpt tokenizes as the model does.
	tokenizes := func(ckpt, what string) {
		t.Helper()
		got, err := tokenizer.Load(ckpt)
		if err != nil {
			t.Fatalf("%s: the checkpoint has no tokenizer: %v", what, err)
		}
		if b, _ := got.Encode(text, true); !slices.Equal(a, b) {
			t.Errorf("%s: checkpoint tokenizes %v, the model %v", what, b, a)
		}
	}
	newTrainer := func(cfg Config) *Trainer {
		t.Helper()
		tr, err := NewTrainer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}

	cfg := tinyConfig(filepath.Join(t.TempDir(), "out"), 2)
	cfg.Task, cfg.Data, cfg.Model, cfg.Tokenizer, cfg.CheckpointEvery = TaskClassify, writeSynthetic(t, 40), dir, "model", 2
	runLosses(t, newTrainer(cfg))
	tokenizes(filepath.Join(cfg.Out, "ckpt-0000002"), "--tokenizer model")

	// A resumed run (its tokenizer read from the checkpoint it resumes,
	// which rotation then deletes) keeps writing it.
	rest, err := Resume(cfg.Out, 8)
	if err != nil {
		t.Fatal(err)
	}
	runLosses(t, rest)
	tokenizes(filepath.Join(cfg.Out, "ckpt-0000008"), "resumed run")

	// A fresh model on the directory's tokenizer (--tokenizer DIR).
	cfg.Model, cfg.Tokenizer, cfg.Out = "", dir, filepath.Join(t.TempDir(), "fresh")
	runLosses(t, newTrainer(cfg))
	tokenizes(filepath.Join(cfg.Out, "ckpt-0000002"), "--tokenizer DIR")
	cfg.Tokenizer = filepath.Join(dir, "vocab.txt")
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "directory of tokenizer files") {
		t.Errorf("tokenizer naming a file: err = %v", err)
	}
	cfg.Model, cfg.Tokenizer = dir, "model"

	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Out = filepath.Join(t.TempDir(), "bad")
	if _, err := NewTrainer(cfg); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("corrupt tokenizer.json: err = %v, want it named", err)
	}
}

// TestClassifyMaskTokens: mask_tokens replaces about that share of a
// training batch's tokens by [MASK] (never [CLS], [SEP] or padding, never
// in validation batches), and is validated.
func TestClassifyMaskTokens(t *testing.T) {
	cfg := tinyConfig(filepath.Join(t.TempDir(), "out"), 2)
	cfg.Task, cfg.Data, cfg.MaskTokens = TaskClassify, writeSynthetic(t, 200), 0.25
	ex, err := ReadExamples(cfg.Data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newClassifyTask(&cfg, ex, mustChar(t, ex))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	masked, tokens := 0, 0
	for range 50 {
		in, _ := c.trainBatch(rng)
		for i, id := range in.InputIDs {
			if in.AttentionMask[i] == 0 || id == c.sp.cls || id == c.sp.sep {
				if id == c.sp.mask {
					t.Fatalf("a special or padding position was masked")
				}
				continue
			}
			tokens++
			if id == c.sp.mask {
				masked++
			}
		}
	}
	if f := float64(masked) / float64(tokens); f < 0.22 || f > 0.28 {
		t.Errorf("%.3f of %d tokens masked, want about 0.25", f, tokens)
	}
	for i := range c.valBatches() {
		in, _ := c.valBatch(nil, i)
		if slices.Contains(in.InputIDs, c.sp.mask) {
			t.Fatalf("validation batch %d has [MASK]", i)
		}
	}
	for _, p := range []float64{-0.1, 1, math.NaN()} {
		cfg.MaskTokens = p
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "mask_tokens") {
			t.Errorf("mask_tokens %v: err = %v", p, err)
		}
	}
}

func mustChar(t *testing.T, ex []Example) tokenizer.Tokenizer {
	t.Helper()
	var b strings.Builder
	for _, e := range ex {
		b.WriteString(e.Text)
	}
	tok, err := tokenizer.NewChar(b.String())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
