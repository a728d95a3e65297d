package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/tensor"
)

// gpt2Dir is the tiny GPT-2 reference checkpoint the load tests vary.
var gpt2Dir = filepath.Join("..", "testdata", "models", "gpt2")

// writeConfig copies gpt2Dir's config.json into dir, edited as text.
func writeConfig(t *testing.T, dir string, edit func(string) string) {
	t.Helper()
	cfg, err := os.ReadFile(filepath.Join(gpt2Dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		cfg = []byte(edit(string(cfg)))
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
}

// gpt2Tensors returns copies of gpt2Dir's tensors, in name order.
func gpt2Tensors(t *testing.T) []safetensors.Tensor {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(gpt2Dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ts []safetensors.Tensor
	for _, n := range f.Names() {
		d, shape, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, safetensors.F32(n, shape, d))
	}
	return ts
}

// variant writes a copy of the gpt2 checkpoint to a temporary directory,
// with its config (as text) and tensors edited.
func variant(t *testing.T, editCfg func(string) string, editTensors func([]safetensors.Tensor) []safetensors.Tensor) string {
	t.Helper()
	dir := t.TempDir()
	writeConfig(t, dir, editCfg)
	ts := gpt2Tensors(t)
	if editTensors != nil {
		ts = editTensors(ts)
	}
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// withFile makes a directory with the fixture GPT-2's config.json and a
// copy of the file src named name.
func withFile(t *testing.T, name, src string) string {
	t.Helper()
	dir := t.TempDir()
	for dst, from := range map[string]string{"config.json": filepath.Join(gpt2Dir, "config.json"), name: src} {
		b, err := os.ReadFile(from)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, dst), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func without(name string) func([]safetensors.Tensor) []safetensors.Tensor {
	return func(ts []safetensors.Tensor) []safetensors.Tensor {
		var out []safetensors.Tensor
		for _, x := range ts {
			if x.Name != name {
				out = append(out, x)
			}
		}
		return out
	}
}

func TestLoadErrors(t *testing.T) {
	pickleDir := t.TempDir()
	for _, f := range []string{"config.json", "pytorch_model.bin"} {
		if err := os.WriteFile(filepath.Join(pickleDir, f), []byte(`{"model_type": "gpt2"}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
		want []string // substrings of the error
	}{
		{"pickle dir, not a pickle", func(*testing.T) string { return pickleDir }, []string{"pytorch_model.bin", "not a PyTorch checkpoint"}},
		{"pickle file", func(*testing.T) string { return filepath.Join(pickleDir, "pytorch_model.bin") }, []string{"PyTorch checkpoint file", "pass the directory"}},
		{"hostile pickle", func(t *testing.T) string {
			return withFile(t, "pytorch_model.bin", filepath.Join("..", "testdata", "torchfile", "evil_system.bin"))
		}, []string{"pytorch_model.bin", "global posix.system is refused"}},
		{"other pickle", func(t *testing.T) string {
			return withFile(t, "model.pt", filepath.Join("..", "testdata", "torchfile", "gpt2", "pytorch_model.bin"))
		}, []string{"model.pt", "attn convert", "model.safetensors"}},
		{"no config", func(t *testing.T) string { return t.TempDir() }, []string{"config.json"}},
		{"unknown model type", func(t *testing.T) string {
			return variant(t, func(s string) string { return strings.Replace(s, `"model_type": "gpt2"`, `"model_type": "llama"`, 1) }, nil)
		}, []string{`model_type "llama"`, "gpt2, marian, vit"}},
		{"model type a number", func(t *testing.T) string {
			return variant(t, func(s string) string { return strings.Replace(s, `"model_type": "gpt2"`, `"model_type": 5`, 1) }, nil)
		}, []string{`"model_type" is a number (5), not a string`}},
		{"architectures a string", func(t *testing.T) string {
			return variant(t, func(s string) string {
				return strings.Replace(s, `"architectures": [`, `"architectures": "GPT2LMHeadModel", "x": [`, 1)
			}, nil)
		}, []string{`"architectures" is a string, not a list`}},
		{"unknown head", func(t *testing.T) string {
			return variant(t, func(s string) string { return strings.Replace(s, "GPT2LMHeadModel", "GPT2ForTokenClassification", 1) }, nil)
		}, []string{"GPT2ForTokenClassification", "GPT2Model"}},
		{"missing tensor", func(t *testing.T) string { return variant(t, nil, without("transformer.h.1.mlp.c_fc.bias")) },
			[]string{"transformer.h.1.mlp.c_fc.bias", "missing", "[128]"}},
		{"extra tensor", func(t *testing.T) string {
			return variant(t, nil, func(ts []safetensors.Tensor) []safetensors.Tensor {
				return append(ts, safetensors.F32("transformer.h.0.attn.rotary.weight", []int{2}, []float32{1, 2}))
			})
		}, []string{"transformer.h.0.attn.rotary.weight", "not a parameter"}},
		{"shape mismatch", func(t *testing.T) string {
			return variant(t, func(s string) string { return strings.Replace(s, `"vocab_size": 64`, `"vocab_size": 65`, 1) }, nil)
		}, []string{"transformer.wte.weight", "[64 32]", "[65 32]"}},
		{"heads do not divide", func(t *testing.T) string {
			return variant(t, func(s string) string { return strings.Replace(s, `"n_head": 4`, `"n_head": 5`, 1) }, nil)
		}, []string{"32", "5 heads"}},
		{"bad config value", func(t *testing.T) string {
			return variant(t, func(s string) string { return strings.Replace(s, `"n_layer": 2`, `"n_layer": "two"`, 1) }, nil)
		}, []string{"n_layer", "integer"}},
		{"huge config", func(t *testing.T) string {
			return variant(t, func(s string) string { return strings.Replace(s, `"n_embd": 32`, `"n_embd": 2000000000`, 1) }, nil)
		}, []string{"transformer.wte.weight", "[64 2000000000]"}},
		{"unsupported option", func(t *testing.T) string {
			return variant(t, func(s string) string {
				return strings.Replace(s, `"reorder_and_upcast_attn": false`, `"reorder_and_upcast_attn": true`, 1)
			}, nil)
		}, []string{"reorder_and_upcast_attn", "not supported"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.dir(t))
			if err == nil {
				m.Close()
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestForwardInputErrors(t *testing.T) {
	m, err := Load(gpt2Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ids := func(n int) []int { return make([]int, n) }
	for _, tc := range []struct {
		name string
		in   Inputs
		want string
	}{
		{"id out of range", Inputs{B: 1, T: 2, InputIDs: []int{3, 64}}, "id 64 at [0, 1] outside the vocabulary of 64"},
		{"negative id", Inputs{B: 1, T: 1, InputIDs: []int{-1}}, "id -1"},
		{"ids do not fill B·T", Inputs{B: 2, T: 2, InputIDs: ids(3)}, "3 ids, want B·T = 2·2"},
		{"mask length", Inputs{B: 1, T: 2, InputIDs: ids(2), AttentionMask: []int{1}}, "1 entries"},
		{"mask value", Inputs{B: 1, T: 2, InputIDs: ids(2), AttentionMask: []int{1, 2}}, "want 0 or 1"},
		{"too long", Inputs{B: 1, T: 33, InputIDs: ids(33)}, "n_positions 32"},
		{"empty", Inputs{B: 1, T: 0}, "empty"},
		{"input it does not take", Inputs{B: 1, T: 1, InputIDs: ids(1), TokenTypeIDs: ids(1)}, "GPT2LMHeadModel does not take token_type_ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Forward(autograd.NewGraph(false), &tc.in, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestInitSaveLoad initialises every architecture, saves it and loads it
// back: the same tensors under the same names, and a forward that runs.
func TestInitSaveLoad(t *testing.T) {
	for _, o := range []InitOptions{
		{Arch: "gpt2"}, {Arch: "gpt2", Head: "GPT2Model"},
		{Arch: "bert"}, {Arch: "bert", Head: "BertForMaskedLM"}, {Arch: "bert", Head: "BertForSequenceClassification", Labels: 3},
		{Arch: "vit"}, {Arch: "vit", Head: "ViTForImageClassification"},
		{Arch: "marian", DecoderLayers: 1}, {Arch: "bart", DecoderHeads: 2}, {Arch: "bart", Head: "BartForCausalLM"},
	} {
		t.Run(o.Arch+"/"+o.Head, func(t *testing.T) {
			o.Hidden, o.Vocab, o.Context = 16, 40, 16
			m, err := Init(o)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "m")
			if err := Save(m, dir); err != nil {
				t.Fatal(err)
			}
			if err := Save(m, dir); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Errorf("saving over a checkpoint: %v", err)
			}
			l, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			want, got := m.NamedParameters("", nil), l.NamedParameters("", nil)
			if len(want) != len(got) {
				t.Fatalf("%d tensors saved, %d loaded", len(want), len(got))
			}
			for i := range want {
				if want[i].Name != got[i].Name || !tensor.EqualShape(want[i].Var.Shape(), got[i].Var.Shape()) {
					t.Fatalf("tensor %d: saved %s %v, loaded %s %v", i, want[i].Name, want[i].Var.Shape(), got[i].Name, got[i].Var.Shape())
				}
				a, b := want[i].Var.Value.Data(), got[i].Var.Value.Data()
				for j := range a {
					if a[j] != b[j] {
						t.Fatalf("%s[%d]: saved %g, loaded %g", want[i].Name, j, a[j], b[j])
					}
				}
			}
			if m.Info().Params != l.Info().Params || l.Info().Params == 0 {
				t.Errorf("params: init %d, loaded %d", m.Info().Params, l.Info().Params)
			}
			in := &Inputs{B: 2, T: 3, InputIDs: []int{1, 2, 3, 4, 5, 6}, TDec: 2, DecoderInputIDs: []int{1, 2, 3, 4}}
			if o.Arch == "vit" {
				in = &Inputs{B: 1, PixelValues: newPixels(1, 3, 32)}
			}
			if o.Arch != "marian" && o.Arch != "bart" || o.Head == "BartForCausalLM" {
				in.TDec, in.DecoderInputIDs = 0, nil
			}
			if _, err := l.Forward(autograd.NewGraph(false), in, Options{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSeq2SeqDecoderErrors: a decoder-side error of an encoder-decoder
// (the encoder ran) is returned, not a panic of the encoder outputs'
// merge into the failed decoder's outputs.
func TestSeq2SeqDecoderErrors(t *testing.T) {
	for _, arch := range []string{"marian", "bart"} {
		m, err := Init(InitOptions{Arch: arch, Layers: 1, Heads: 2, Hidden: 8, Vocab: 20, Context: 16})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			in   Inputs
		}{
			{"decoder ids out of vocabulary", Inputs{B: 1, T: 2, InputIDs: []int{3, 4}, TDec: 2, DecoderInputIDs: []int{1, 20}}},
			{"negative decoder id", Inputs{B: 1, T: 2, InputIDs: []int{3, 4}, TDec: 1, DecoderInputIDs: []int{-1}}},
			{"decoder mask of the wrong size", Inputs{B: 1, T: 2, InputIDs: []int{3, 4}, TDec: 1, DecoderInputIDs: []int{1}, DecoderAttentionMask: []int{1, 1, 1}}},
		} {
			t.Run(arch+"/"+tc.name, func(t *testing.T) {
				if _, err := m.Forward(autograd.NewGraph(false), &tc.in, Options{HiddenStates: true}); err == nil {
					t.Error("no error")
				}
			})
		}
	}
	// Marian has no default decoder input; BART's default starts from
	// decoder_start_token_id, here outside the vocabulary.
	m, err := Init(InitOptions{Arch: "marian", Layers: 1, Heads: 2, Hidden: 8, Vocab: 20, Context: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Forward(autograd.NewGraph(false), &Inputs{B: 1, T: 2, InputIDs: []int{3, 4}}, Options{}); err == nil || !strings.Contains(err.Error(), "decoder_input_ids") {
		t.Errorf("marian without decoder_input_ids: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "bart")
	b, err := Init(InitOptions{Arch: "bart", Layers: 1, Heads: 2, Hidden: 8, Vocab: 20, Context: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := Save(b, dir); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(cfg), `"decoder_start_token_id": 2`, `"decoder_start_token_id": 99`, 1)
	if s == string(cfg) {
		t.Fatalf("no decoder_start_token_id in %s", cfg)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err = Load(dir)
	if err != nil {
		return // refusing the config at load is fine too
	}
	defer b.Close()
	if _, err := b.Forward(autograd.NewGraph(false), &Inputs{B: 1, T: 2, InputIDs: []int{3, 4}}, Options{}); err == nil {
		t.Error("bart with decoder_start_token_id 99 of 20: no error")
	}
}
