package tensor_test

import (
	"fmt"

	"github.com/attn-dev/attn/tensor"
)

// A tensor is a shape and strides over a []float32: Transpose and Slice are
// views of the same numbers, Clone makes a contiguous copy.
func Example() {
	x := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3) // [2, 3]
	xt := x.Transpose(0, 1)                                  // [3, 2], a view
	fmt.Println(xt.Shape, xt.Strides, xt.IsContiguous(), xt.At(2, 1))
	fmt.Println(xt.Clone().Data())
	fmt.Println(x.Slice(1, 1, 3)) // columns 1 and 2
	fmt.Println(x.SumAxis(0).Data(), x.ArgMax(), x.Mean())
	// Output:
	// [3 2] [1 3] false 6
	// [1 4 2 5 3 6]
	// Tensor[2 2][2 3 5 6]
	// [5 7 9] [2 2] 3.5
}

func ExampleAdd() {
	a := tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	b := tensor.New(2, 2)
	b.Fill(0.5)
	tensor.Add(a, a, b) // dst may alias an operand
	a.AddScaled(2, b)   // a += 2·b
	fmt.Println(a.Data())
	// Output:
	// [2.5 3.5 4.5 5.5]
}

// Shape misuse panics with a *ShapeError; Recover turns it into an error
// at an API boundary.
func ExampleRecover() {
	reshape := func(t *tensor.Tensor, shape ...int) (r *tensor.Tensor, err error) {
		defer tensor.Recover(&err)
		return t.Reshape(shape...), nil
	}
	x := tensor.New(2, 3)
	_, err := reshape(x, 4, -1)
	fmt.Println(err)
	r, err := reshape(x, 3, -1)
	fmt.Println(r.Shape, err)
	// Output:
	// tensor.Reshape: cannot reshape [2 3] (6 elements) to [4 -1]
	// [3 2] <nil>
}
