package train

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attn-dev/attn/model"
)

func TestWarmStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gpt")
	gpt, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 2, Heads: 2, Hidden: 8, Vocab: 20, Context: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := model.Save(gpt, dir); err != nil {
		t.Fatal(err)
	}
	bert, err := model.Init(model.InitOptions{Arch: "bert", Head: "BertForMaskedLM", Layers: 2, Heads: 2, Hidden: 8, Vocab: 24, Context: 16, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := warmStart(bert, dir); err != nil {
		t.Fatal(err)
	}
	get := func(m model.Model, name string) []float32 {
		for _, p := range m.NamedParameters("", nil) {
			if p.Name == name {
				return p.Var.Value.Contiguous().Data()
			}
		}
		t.Fatalf("no %s", name)
		return nil
	}
	qkv := get(gpt, "transformer.h.1.attn.c_attn.weight") // [3C, C] in memory
	if k := get(bert, "bert.encoder.layer.1.attention.self.key.weight"); !slices.Equal(k, qkv[64:128]) {
		t.Errorf("key weight is not the middle third of c_attn")
	}
	wte, words := get(gpt, "transformer.wte.weight"), get(bert, "bert.embeddings.word_embeddings.weight")
	if !slices.Equal(words[:len(wte)], wte) {
		t.Errorf("word embeddings do not start with the GPT's")
	}
	if !slices.Equal(get(bert, "bert.encoder.layer.1.output.LayerNorm.weight"), get(gpt, "transformer.ln_f.weight")) {
		t.Errorf("the last post-FFN LayerNorm is not ln_f")
	}
	wide, err := model.Init(model.InitOptions{Arch: "bert", Head: "BertForMaskedLM", Layers: 2, Heads: 2, Hidden: 16, Vocab: 24, Context: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := warmStart(wide, dir); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("a wider BERT: %v", err)
	}
	if err := warmStart(gpt, dir); err == nil || !strings.Contains(err.Error(), "only a GPT-2 seeds a BERT") {
		t.Errorf("a GPT seeded from a GPT: %v", err)
	}
}
