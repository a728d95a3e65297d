package model_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
)

// Load a Hugging Face checkpoint (a tiny random GPT2LMHeadModel) and run
// one inference forward: logits [B, T, V]. PyTorch gives logits[0, 0, :3] =
// [0.2445 -0.1632 0.7046] and the argmax 42 at the last position.
func ExampleLoad() {
	m, err := model.Load("../testdata/models/gpt2")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	info := m.Info()
	fmt.Println(info.ModelType, info.Architecture, info.Layers, info.Heads, info.Hidden, info.Vocab)

	in := &model.Inputs{B: 1, T: 8, InputIDs: []int{10, 34, 11, 43, 36, 41, 26, 46}}
	g := autograd.NewGraph(false) // inference: no tape
	out, err := m.Forward(g, in, model.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	logits := out.Get("logits")
	fmt.Println(out.Names, logits.Shape)
	fmt.Printf("%.4f\n", logits.Slice(1, 0, 1).Slice(2, 0, 3).Clone().Data())
	fmt.Println(logits.ArgMax()[7])
	// Output:
	// gpt2 GPT2LMHeadModel 2 4 32 64
	// [logits last_hidden_state] [1 8 64]
	// [0.2445 -0.1632 0.7046]
	// 42
}

// Decode with a KV cache: the prompt goes in once, then one token per
// call at position Cache.Len(), asking for the last position's logits only.
// Greedy decoding in PyTorch continues this prompt with 42 52 25 12 61.
func ExampleGPT2_NewCache() {
	m, err := model.Load("../testdata/models/gpt2")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	gpt := m.(*model.GPT2)
	cache, err := gpt.NewCache(1, 16)
	if err != nil {
		fmt.Println(err)
		return
	}
	g := autograd.NewGraph(false)
	ids := []int{26, 41, 21, 43}
	for step := 0; step < 5; step++ {
		g.Reset()
		in := &model.Inputs{B: 1, T: len(ids), InputIDs: ids}
		out, err := gpt.Forward(g, in, model.Options{Cache: cache, LastLogits: true})
		if err != nil {
			fmt.Println(err)
			return
		}
		next := out.Get("logits").ArgMax()[0]
		fmt.Printf("position %d: %d\n", cache.Len()-1, next)
		ids = []int{next}
	}
	// Output:
	// position 3: 42
	// position 4: 52
	// position 5: 25
	// position 6: 12
	// position 7: 61
}

// Init builds a fresh model with its architecture's initialisation, Save
// writes it as a Hugging Face checkpoint, Load reads it back.
func ExampleInit() {
	m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 2, Heads: 2, Hidden: 16, Vocab: 50, Context: 32, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "model-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ckpt := filepath.Join(dir, "tiny-gpt2")
	if err := model.Save(m, ckpt); err != nil {
		fmt.Println(err)
		return
	}
	back, err := model.Load(ckpt)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer back.Close()
	fmt.Println(back.Info().Architecture, back.Info().Params)
	// Output:
	// GPT2LMHeadModel 7904
}
