package model

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/attn-dev/attn/autograd"
)

// FuzzLoadConfig loads the reference checkpoints under arbitrary
// config.json files: Load must return a model or an error, never panic
// or allocate what a hostile config asks for (weights come from the
// file, so a size the file does not back is a shape error), and a loaded
// model must run a small forward or return an error.
func FuzzLoadConfig(f *testing.F) {
	dirs := []string{"gpt2", "bert-mlm", "bert-cls", "vit", "marian", "bart", "gpt2-hub-layout"}
	for i, d := range dirs {
		cfg, err := os.ReadFile(filepath.Join("..", "testdata", "models", d, "config.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(cfg, uint8(i))
	}
	f.Fuzz(func(t *testing.T, cfg []byte, which uint8) {
		dir := t.TempDir()
		weights, err := filepath.Abs(filepath.Join("..", "testdata", "models", dirs[int(which)%len(dirs)], "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(weights, filepath.Join(dir, "model.safetensors")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(dir)
		if err != nil {
			return
		}
		defer m.Close()
		in := &Inputs{B: 1, T: 2, InputIDs: []int{0, 1}, TDec: 1, DecoderInputIDs: []int{0}}
		_, _ = m.Forward(autograd.NewGraph(false), in, Options{HiddenStates: true, Attentions: true})
	})
}
