package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
)

func TestReadPrefs(t *testing.T) {
	dir := t.TempDir()
	pairs := []PrefPair{{"a <b> & \"c\"", "good", "bad"}, {"", "yes\n", "no\t"}}
	good := filepath.Join(dir, "good.jsonl")
	if err := WritePrefs(good, pairs); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPrefs(good)
	if err != nil || len(got) != 2 || got[0] != pairs[0] || got[1] != pairs[1] {
		t.Fatalf("round trip: %v (%v)", got, err)
	}
	for _, c := range []struct{ name, text, want string }{
		{"no chosen", `{"prompt": "p", "rejected": "r"}` + "\n" + `{"prompt": "p", "chosen": "c", "rejected": "r"}`, "object 1"},
		{"empty rejected", `{"prompt": "p", "chosen": "c", "rejected": "r"}` + "\n" + `{"prompt": "p", "chosen": "c", "rejected": ""}`, "object 2"},
		{"not json", `{"prompt": "p", "chosen": "c", "rejected": "r"}` + "\n{oops", "object 2"},
		{"one pair", `{"prompt": "p", "chosen": "c", "rejected": "r"}`, "need at least 2"},
		{"wrong type", `{"prompt": 1, "chosen": "c", "rejected": "r"}`, "object 1"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".jsonl")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadPrefs(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}
	if _, err := ReadPrefs(filepath.Join(dir, "missing.jsonl")); err == nil {
		t.Error("a missing file: no error")
	}
}

// countScorer prefers texts with more of one letter.
type countScorer string

func (c countScorer) Score(texts []string) ([]float64, error) {
	out := make([]float64, len(texts))
	for i, t := range texts {
		out[i] = float64(strings.Count(t, string(c)))
	}
	return out, nil
}

func TestGeneratePrefs(t *testing.T) {
	tok, err := tokenizer.NewChar("abcde ")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 1, Heads: 2, Hidden: 16, Vocab: tok.VocabSize(), Context: 32, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	prompts := make([]string, 300) // more than one generation chunk
	for i := range prompts {
		prompts[i] = []string{"ab", "c d", "e"}[i%3]
	}
	o := SampleOptions{MaxNewTokens: 12, Seed: 5}
	all, err := GeneratePrefs(m, tok, prompts, o, countScorer("a"), 0)
	if err != nil {
		t.Fatal(err)
	}
	clear, err := GeneratePrefs(m, tok, prompts, o, countScorer("a"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 150 || len(clear) == 0 || len(clear) >= len(all) {
		t.Fatalf("%d pairs without a margin, %d with margin 2, of %d prompts", len(all), len(clear), len(prompts))
	}
	for _, p := range clear {
		c, r := strings.Count(p.Chosen, "a"), strings.Count(p.Rejected, "a")
		if c-r < 2 || len([]rune(p.Chosen)) != 12 || len([]rune(p.Rejected)) != 12 {
			t.Fatalf("pair %+v: chosen has %d a's, rejected %d", p, c, r)
		}
	}
	if _, err := GeneratePrefs(m, tok, []string{"ab", "xyz"}, o, countScorer("a"), 0); err == nil || !strings.Contains(err.Error(), "prompt 1") {
		t.Errorf("a prompt outside the vocabulary: %v", err)
	}
	if _, err := GeneratePrefs(m, tok, []string{strings.Repeat("a", 25)}, o, countScorer("a"), 0); err == nil || !strings.Contains(err.Error(), "context") {
		t.Errorf("a prompt too long for the context: %v", err)
	}
}
