package embedded_test

import (
	"fmt"

	"github.com/attn-dev/attn/embedded"
	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/infer"
)

// The embedded GPT is a checkpoint directory like any other once Dir has
// unpacked it.
func ExampleDir() {
	dir, err := embedded.Dir(embedded.GPT)
	if err != nil {
		fmt.Println(err)
		return
	}
	g, err := infer.LoadGenerator(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	res, err := g.Generate(infer.Request{Prompt: "ROMEO:", Config: generate.Greedy(8, nil)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(res.PromptIDs), "prompt tokens,", len(res.IDs), "new tokens")
	// Output: 2 prompt tokens, 8 new tokens
}

func ExampleAbout() {
	info, err := embedded.About(embedded.GPT)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(info.Name, info.Recipe, info.Steps)
	// Output: tiny-shakespeare-gpt embedded/recipes/gpt.json 2000
}
