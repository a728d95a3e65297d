package autograd_test

import (
	"fmt"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

// A training step: forward through a reused graph, Backward, read the
// parameter gradients, Reset for the next step. (PyTorch gives loss
// 1.76498 and dW[0,0] = -0.48504 for the same step.)
func Example() {
	w := autograd.Param(tensor.FromSlice([]float32{0.5, -1, 2, 0}, 2, 2)) // [out, in]
	x := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 3, 2)              // [N, in]
	g := autograd.NewGraph(true)
	for step := 0; step < 2; step++ {
		g.Reset()
		logits := g.Linear(g.Input(x, false), w, nil)
		loss := g.CrossEntropy(logits, []int{0, 1, -100}, -100)
		if err := g.Backward(loss); err != nil {
			panic(err)
		}
		fmt.Printf("step %d: loss %.4f, dW[0,0] accumulated %.4f\n", step, loss.Value.Item(), w.Grad.At(0, 0))
	}
	// Output:
	// step 0: loss 1.7650, dW[0,0] accumulated -0.4850
	// step 1: loss 1.7650, dW[0,0] accumulated -0.9701
}
