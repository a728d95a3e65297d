package infer_test

import (
	"fmt"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/model"
)

// Greedy continuation of prompt ids with the real
// hf-internal-testing/tiny-random-gpt2: transformers' generate gives
// [731 114 114 114 114 114] for this prompt.
func ExampleGenerator_Generate() {
	g, err := infer.LoadGenerator("../testdata/generate/tiny-random-gpt2")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	cfg := generate.Greedy(6, nil)
	res, err := g.Generate(infer.Request{PromptIDs: []int{0, 0, 195, 731}, Config: cfg})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.IDs)
	// Output:
	// [731 114 114 114 114 114]
}

// The top candidates for a masked position from a masked language model
// (a tiny random BertForMaskedLM; id 4 stands for [MASK] here).
func ExampleFillMask() {
	m, err := model.Load("../testdata/models/bert-mlm")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	preds, err := infer.FillMask(m, []int{1, 12, 4, 30, 2}, 4, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range preds {
		fmt.Println("position", p.Position)
		for _, c := range p.Candidates {
			fmt.Printf("  %d %.3f\n", c.ID, c.Prob)
		}
	}
	// Output:
	// position 2
	//   53 0.154
	//   0 0.061
	//   28 0.053
}

// Mean-pooled sentence vectors from the last hidden layer, padding
// excluded, compared by cosine.
func ExampleEmbed() {
	m, err := model.Load("../testdata/models/gpt2")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	embs, err := infer.Embed(m, [][]int{{10, 34, 11, 43}, {10, 34, 11}, {56, 1, 18}}, -1, infer.PoolMean)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(embs), len(embs[0].Vector))
	fmt.Printf("%.3f %.3f\n", infer.Cosine(embs[0].Vector, embs[1].Vector), infer.Cosine(embs[0].Vector, embs[2].Vector))
	// Output:
	// 3 32
	// 0.981 0.820
}

// From text: Load opens a checkpoint with its tokenizer (here the real
// tiny-random-gpt2's byte-level BPE); EmbedTexts tokenizes, runs and pools.
func ExampleTask_EmbedTexts() {
	task, err := infer.Load("../testdata/generate/tiny-random-gpt2")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer task.Close()
	embs, err := task.EmbedTexts([]string{"Hello world", "Hello there"}, -1, infer.PoolMean)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range embs {
		fmt.Println(e.Tokens, e.IDs, len(e.Vector))
	}
	// Output:
	// [H ell o Ġw orld] [40 416 79 206 750] 32
	// [H ell o Ġthere] [40 416 79 817] 32
}
