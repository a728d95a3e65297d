package attention_test

import (
	"fmt"

	"github.com/attn-dev/attn/attention"
)

// One head, two queries, three keys, causal (bottom-right aligned: query 0
// sits at key position 1), with the probabilities asked for.
func ExampleForward() {
	p := &attention.Params{B: 1, NH: 1, Tq: 2, Tk: 3, HS: 2, Causal: true}
	q := []float32{1, 0, 0, 1}
	k := []float32{1, 0, 0, 1, 1, 1}
	v := []float32{1, 0, 0, 1, 1, 1}
	out := make([]float32, 4)
	lse := make([]float32, 2)
	probs := make([]float32, 6)
	if err := attention.Forward(p, q, k, v, out, lse, probs); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("probs %.3f\nout   %.3f\n", probs, out)
	// Output:
	// probs [0.670 0.330 0.000 0.198 0.401 0.401]
	// out   [0.670 0.330 0.599 0.802]
}
