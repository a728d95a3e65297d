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

// A decode step reading a KV cache in place: the cache holds maxT = 4
// positions for each of two heads ([B=1, NKV=2, maxT, HS=2]), of which the
// first Tk = 2 are filled; KVHeadStride = maxT·HS skips the rest.
func ExampleForward_kvCache() {
	const maxT, hs = 4, 2
	kc := []float32{
		1, 0, 0, 1, 9, 9, 9, 9, // head 0: two filled positions, two free
		0, 1, 1, 0, 9, 9, 9, 9, // head 1
	}
	vc := []float32{
		1, 2, 3, 4, 9, 9, 9, 9,
		5, 6, 7, 8, 9, 9, 9, 9,
	}
	p := &attention.Params{B: 1, NH: 2, Tq: 1, Tk: 2, HS: hs, KVHeadStride: maxT * hs}
	q := []float32{1, 0, 1, 0} // one new query per head
	out := make([]float32, 4)
	if err := attention.Forward(p, q, kc, vc, out, nil, nil); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("out %.3f\n", out)
	// Output:
	// out [1.660 2.660 6.340 7.340]
}
