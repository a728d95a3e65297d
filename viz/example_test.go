package viz_test

import (
	"fmt"
	"strings"

	"github.com/attn-dev/attn/viz"
)

// A causal attention matrix drawn in the terminal with the Plain style
// (characters only, for files and pipes), then each query's peak.
func ExampleTerminal() {
	toks := []string{"The", "cat", "sat"}
	m := viz.Map{
		Title:   "layer 0 head 0",
		Queries: toks,
		Keys:    toks,
		W: [][]float32{
			{1, 0, 0},
			{0.3, 0.7, 0},
			{0.1, 0.6, 0.3},
		},
	}
	var b strings.Builder
	if err := viz.Terminal(&b, m, viz.Plain, 0); err != nil {
		fmt.Println(err)
		return
	}
	// Cells are padded to the full width; trimmed here only so that the
	// lines below can state the output.
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		fmt.Println(strings.TrimRight(line, " "))
	}
	// Output:
	// layer 0 head 0
	//     T c s
	//     h a a
	//     e t t
	// The @
	// cat - *
	// sat . * -
	// scale:    = 0 … @  = 1.000
	// attends most to:
	//   The → The (1.000)
	//   cat → cat (0.700)
	//   sat → cat (0.600)
}

// Average the heads of a layer, then roll out two layers: how much each
// input token flows into each position at the top.
func ExampleRollout() {
	head0 := [][]float32{{1, 0}, {1, 0}}
	head1 := [][]float32{{1, 0}, {0, 1}}
	layer, err := viz.Average([][][]float32{head0, head1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(layer)
	r, err := viz.Rollout([][][]float32{layer, layer})
	fmt.Println(r, err)
	for _, p := range viz.Peaks(r) {
		fmt.Println(p.Query, p.Key, p.Weight)
	}
	// Output:
	// [[1 0] [0.5 0.5]]
	// [[1 0] [0.4375 0.5625]] <nil>
	// 0 0 1
	// 1 1 0.5625
}
