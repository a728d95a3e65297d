package model

import (
	"slices"
	"strings"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

// TestConfigDropout: Options.Dropout applies the config's rates in a
// training graph only, reproducibly from the graph's seed, and a rate
// outside [0, 1) in config.json is refused naming it.
func TestConfigDropout(t *testing.T) {
	for _, arch := range []string{"gpt2", "bert", "vit", "marian", "bart"} {
		t.Run(arch, func(t *testing.T) {
			o := InitOptions{Arch: arch, Layers: 1, DecoderLayers: 1, Heads: 2, DecoderHeads: 2, Hidden: 16, FFN: 32, DecoderFFN: 32, Vocab: 40, Context: 16, Seed: 1, ImageSize: 8, PatchSize: 4, Channels: 1}
			m, err := Init(o)
			if err != nil {
				t.Fatal(err)
			}
			in := &Inputs{B: 1, T: 6, InputIDs: []int{1, 2, 3, 4, 5, 6}}
			switch arch {
			case "marian":
				in.TDec, in.DecoderInputIDs = 3, []int{7, 8, 9}
			case "vit":
				in = &Inputs{B: 1, PixelValues: tensor.New(1, 1, 8, 8)}
				for i := range in.PixelValues.Data() {
					in.PixelValues.Data()[i] = float32(i%5) * 0.3
				}
			}
			run := func(train, drop bool) []float32 {
				g := autograd.NewGraph(train)
				g.SetSeed(7)
				out, err := m.Forward(g, in, Options{Dropout: drop})
				if err != nil {
					t.Fatal(err)
				}
				return slices.Clone(out.Values[0].Contiguous().Data())
			}
			off, on, again := run(true, false), run(true, true), run(true, true)
			if slices.Equal(off, on) && arch != "vit" { // ViT's configs default to no dropout
				t.Error("Options.Dropout changed nothing in a training graph")
			}
			if !slices.Equal(on, again) {
				t.Error("dropout differs between two graphs with the same seed")
			}
			if !slices.Equal(run(false, true), run(false, false)) {
				t.Error("Options.Dropout changed an inference graph")
			}
			if !slices.Equal(run(true, false), off) {
				t.Error("a training graph without Options.Dropout is not deterministic")
			}
		})
	}
	cfg, err := ParseConfig("mem", []byte(`{"model_type":"gpt2","n_embd":16,"n_head":2,"n_layer":1,"n_positions":8,"vocab_size":10,"attn_pdrop":1.5}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buildGPT2(cfg, "GPT2LMHeadModel", newInitBinder(1, 0.02)); err == nil || !strings.Contains(err.Error(), "dropout") {
		t.Errorf("attn_pdrop 1.5: %v, want an error about dropout", err)
	}
}

// TestDropoutSwitches: InitOptions.Dropout sets every rate of the config
// (0: none), and a training graph switched off with SetDropout(false)
// drops nothing even when Options.Dropout asks (a reproducibility run).
func TestDropoutSwitches(t *testing.T) {
	zero, half := 0.0, 0.5
	in := &Inputs{B: 1, T: 6, InputIDs: []int{1, 2, 3, 4, 5, 6}}
	run := func(m Model, graphOn, drop bool) []float32 {
		g := autograd.NewGraph(true)
		g.SetDropout(graphOn)
		out, err := m.Forward(g, in, Options{Dropout: drop})
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(out.Values[0].Contiguous().Data())
	}
	for _, arch := range []string{"gpt2", "bert", "bart"} {
		o := InitOptions{Arch: arch, Layers: 1, Heads: 2, Hidden: 16, Vocab: 40, Context: 16, Seed: 1}
		o.Dropout = &zero
		m0, err := Init(o)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(run(m0, true, true), run(m0, true, false)) {
			t.Errorf("%s: InitOptions.Dropout 0 still drops", arch)
		}
		o.Dropout = &half
		m5, err := Init(o)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(run(m5, true, true), run(m5, true, false)) {
			t.Errorf("%s: InitOptions.Dropout 0.5 drops nothing", arch)
		}
		if !slices.Equal(run(m5, false, true), run(m5, true, false)) {
			t.Errorf("%s: a graph with SetDropout(false) dropped", arch)
		}
	}
}
