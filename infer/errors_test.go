package infer

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput: every task refuses bad input with an error naming it.
func TestBadInput(t *testing.T) {
	bert := loadModel(t, modelsDir+"/bert-mlm")
	gpt2 := loadModel(t, modelsDir+"/gpt2")
	vit := loadModel(t, modelsDir+"/vit")
	dir, tok := tinyBERTDir(t, "bert-mlm")
	bertTok := loadModel(t, dir)
	bad := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(bad, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notImage := write("x.png", "not a png")
	cfgDir := func(body string) string {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, "preprocessor_config.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"pooling", func() error { _, err := ParsePooling("max"); return err }, "pooling"},
		{"embed nothing", func() error { _, err := Embed(bert, nil, 0, PoolMean); return err }, "no input"},
		{"embed empty text", func() error { _, err := Embed(bert, [][]int{{2, 3}, {}}, 0, PoolMean); return err }, "input 1 has no tokens"},
		{"embed id outside vocab", func() error { _, err := Embed(bert, [][]int{{2, 999}}, 0, PoolMean); return err }, "999"},
		{"embed layer", func() error { _, err := Embed(gpt2, [][]int{{1}}, -4, PoolMean); return err }, "layer"},
		{"fill-mask k", func() error { _, err := FillMask(bert, []int{2, 4, 3}, 4, 0); return err }, "top-k"},
		{"fill-mask no head", func() error {
			_, err := FillMask(loadModel(t, modelsDir+"/bert-cls"), []int{2, 4, 3}, 4, 3)
			return err
		}, "masked language model"},
		{"similarity empty word", func() error { _, err := Similarity(bertTok, tok, "", "the bank", "the bank"); return err }, "no tokens"},
		{"classify no head", func() error { _, err := ClassifyText(bert, [][]int{{2, 3}}); return err }, "classification head"},
		{"image not an image", func() error { _, err := DecodeImage(notImage); return err }, "x.png"},
		{"image missing", func() error { _, err := DecodeImage(filepath.Join(bad, "none.png")); return err }, "none.png"},
		{"image empty", func() error {
			p, _ := LoadImageProcessor(modelsDir+"/vit", vit)
			_, err := p.Preprocess(image.NewRGBA(image.Rect(0, 0, 0, 0)))
			return err
		}, "empty image"},
		{"processor resample", func() error { _, err := LoadImageProcessor(cfgDir(`{"resample": 3}`), vit); return err }, "resample 3"},
		{"processor size", func() error { _, err := LoadImageProcessor(cfgDir(`{"size": "big"}`), vit); return err }, "size"},
		{"processor std 0", func() error { _, err := LoadImageProcessor(cfgDir(`{"image_std": [0.5, 0, 0.5]}`), vit); return err }, "image_std[1]"},
		{"processor mean length", func() error { _, err := LoadImageProcessor(cfgDir(`{"image_mean": [0.5, 0.5]}`), vit); return err }, "image_mean"},
		{"generator without tokenizer", func() error {
			g, err := NewGenerator(gpt2, modelsDir+"/gpt2")
			if err != nil {
				return err
			}
			_, err = g.Generate(Request{Prompt: "hi"})
			return err
		}, "no tokenizer"},
		{"translate decoder-only", func() error {
			g, err := NewGenerator(gpt2, modelsDir+"/gpt2")
			if err != nil {
				return err
			}
			_, err = g.Translate("hi")
			return err
		}, "encoder-decoder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}

// TestGeneratorTokenizerErrors: tokenizer files that cannot be read are
// reported when a text prompt needs them, not taken for an absent
// tokenizer; prompt ids still work.
func TestGeneratorTokenizerErrors(t *testing.T) {
	for _, tc := range []struct {
		name, model string
		files       map[string]string
		want        string
	}{
		{"corrupt tokenizer.json", "gpt2", map[string]string{"tokenizer.json": `{"model": {"type": "BPE", "vocab": {`}, "tokenizer.json"},
		{"vocab.json without merges.txt", "gpt2", map[string]string{"vocab.json": `{"a": 0}`}, "merges.txt"},
		{"corrupt source.spm", "marian", map[string]string{"source.spm": "\x0a\xff\xff", "vocab.json": `{"a": 0}`}, "source.spm"},
		{"none", "gpt2", map[string]string{}, "no tokenizer: give prompt ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{"config.json", "model.safetensors"} {
				data, err := os.ReadFile(filepath.Join(modelsDir, tc.model, f))
				if err != nil {
					t.Fatal(err)
				}
				tc.files[f] = string(data)
			}
			for name, body := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			g, err := LoadGenerator(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			cfg := g.Config
			cfg.MaxNewTokens = 1
			_, err = g.Generate(Request{Prompt: "hi", Config: cfg})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("text prompt: %v, want an error naming %q", err, tc.want)
			}
			if _, err := g.Generate(Request{PromptIDs: []int{1, 2}, Config: cfg}); err != nil {
				t.Errorf("prompt ids: %v", err)
			}
		})
	}
}
