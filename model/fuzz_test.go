package model

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/safetensors"
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

// memSource is an in-memory safetensors.Source of I64 and F32 tensors.
type memSource struct {
	ints   map[string][]int64
	floats map[string][]float32
	shapes map[string][]int
}

func (s *memSource) Names() []string {
	var n []string
	for k := range s.shapes {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

func (s *memSource) Info(name string) (safetensors.TensorInfo, bool) {
	sh, ok := s.shapes[name]
	dt := safetensors.DTypeI64
	if _, f := s.floats[name]; f {
		dt = safetensors.DTypeF32
	}
	return safetensors.TensorInfo{Name: name, DType: dt, Shape: sh}, ok
}

func (s *memSource) Float32(name string) ([]float32, []int, error) {
	v, ok := s.floats[name]
	if !ok {
		return nil, nil, fmt.Errorf("%s: not F32", name)
	}
	return v, s.shapes[name], nil
}

func (s *memSource) Int64(name string) ([]int64, []int, error) {
	v, ok := s.ints[name]
	if !ok {
		return nil, nil, fmt.Errorf("%s: not I64", name)
	}
	return v, s.shapes[name], nil
}

func (s *memSource) Metadata() map[string]string { return nil }
func (s *memSource) Close() error                { return nil }

// fuzzInputs builds `attn forward` inputs from fuzz bytes: each of
// inputNames present or not, with its own small shape (so shapes disagree
// as often as they agree) and values around the vocabulary's edges
// (negative, 0, ids up to a little past V, mask values other than 0/1).
func fuzzInputs(data []byte, vocab int) *memSource {
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	s := &memSource{ints: map[string][]int64{}, floats: map[string][]float32{}, shapes: map[string][]int{}}
	for _, name := range inputNames {
		if next()%2 == 0 {
			continue
		}
		if name == "pixel_values" {
			sh := []int{next() % 3, next() % 5, next() % 40, next() % 40}
			n := sh[0] * sh[1] * sh[2] * sh[3]
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(next()-128) / 64
			}
			s.floats[name], s.shapes[name] = v, sh
			continue
		}
		sh := []int{next() % 4, next() % 10}
		if next()%8 == 0 {
			sh = append(sh, 1) // a rank ReadInputs must refuse
		}
		n := 1
		for _, d := range sh {
			n *= d
		}
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(next()%(vocab+8)) - 4
		}
		s.ints[name], s.shapes[name] = v, sh
	}
	return s
}

// seedInputs encodes [1, T] integer inputs as fuzzInputs reads them.
func seedInputs(ts map[string][]int64) []byte {
	var b []byte
	for _, name := range inputNames {
		v, ok := ts[name]
		if !ok {
			b = append(b, 0)
			continue
		}
		b = append(b, 1, 1, byte(len(v)), 1)
		for _, x := range v {
			b = append(b, byte(x+4))
		}
	}
	return b
}

// FuzzForwardInputs runs `attn forward`'s input parsing and the forward
// of tiny random models of every architecture (built once, so an
// execution allocates activations only) on hostile inputs: an error is
// fine, a panic is not, and a forward that succeeds returns finite logits
// or hidden states.
func FuzzForwardInputs(f *testing.F) {
	var models []Model
	for _, o := range []InitOptions{
		{Arch: "gpt2"}, {Arch: "bert", Head: "BertForMaskedLM"}, {Arch: "vit"}, {Arch: "marian"}, {Arch: "bart"},
		{Arch: "bart", Head: "BartForCausalLM"},
	} {
		o.Layers, o.Heads, o.Hidden, o.Vocab, o.Context, o.ImageSize, o.PatchSize = 1, 2, 8, 16, 12, 16, 8
		m, err := Init(o)
		if err != nil {
			f.Fatal(err)
		}
		models = append(models, m)
	}
	// Seeds that parse and run: ids (and masks) of every model, pixels
	// for ViT.
	ids := []int64{1, 5, 9, 2}
	text := seedInputs(map[string][]int64{"input_ids": ids, "attention_mask": {1, 1, 1, 0}})
	pair := seedInputs(map[string][]int64{"input_ids": ids, "decoder_input_ids": {2, 3, 4, 5}, "decoder_attention_mask": {1, 1, 1, 1}})
	for i := range models {
		f.Add(text, uint8(i))
		f.Add(pair, uint8(i))
	}
	pixels := make([]byte, 7+1*3*16*16)
	pixels[6], pixels[7], pixels[8], pixels[9], pixels[10] = 1, 1, 3, 16, 16
	f.Add(pixels, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		m := models[int(which)%len(models)]
		in, err := ReadInputs(fuzzInputs(data, 16))
		if err != nil {
			return
		}
		out, err := m.Forward(autograd.NewGraph(false), in, Options{HiddenStates: which%2 == 0, Attentions: which%3 == 0})
		if err != nil {
			return
		}
		for j, name := range out.Names {
			for i, x := range out.Values[j].Contiguous().Data() {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					t.Fatalf("%s: %s[%d] = %g", m.Info().Architecture, name, i, x)
				}
			}
		}
	})
}
