package nn_test

import (
	"fmt"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/nn"
	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/tensor"
)

// y = x·Wᵀ + b with W in torch's [out, in] layout.
func ExampleLinear() {
	l, err := nn.NewLinear(3, 2, true, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	copy(l.Weight.Value.Data(), []float32{1, 0, -1, 0.5, 0.5, 0.5}) // [2, 3]
	copy(l.Bias.Value.Data(), []float32{0, 10})

	g := autograd.NewGraph(false)
	x := g.Input(tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3), false) // [2, 3]
	y := l.Forward(g, x)
	fmt.Println(y.Shape(), y.Value.Data())
	for _, p := range l.NamedParameters("fc.", nil) {
		fmt.Println(p.Name, p.Var.Shape())
	}
	// Output:
	// [2 2] [-2 13 -2 17.5]
	// fc.weight [2 3]
	// fc.bias [2]
}

// A fresh LayerNorm (γ = 1, β = 0) gives each row mean 0 and variance 1
// (biased, plus eps).
func ExampleLayerNorm() {
	ln, err := nn.NewLayerNorm(4, 1e-5)
	if err != nil {
		fmt.Println(err)
		return
	}
	g := autograd.NewGraph(false)
	x := g.Input(tensor.FromSlice([]float32{1, 2, 3, 4, -1, -1, 1, 1}, 2, 4), false)
	fmt.Printf("%.4f\n", ln.Forward(g, x).Value.Data())
	// Output:
	// [-1.3416 -0.4472 0.4472 1.3416 -1.0000 -1.0000 1.0000 1.0000]
}

// Self-attention with weights loaded by their torch state_dict names from a
// file torch.nn.MultiheadAttention(8, 2) wrote (testdata/nn/mha_self), on
// the input it ran: PyTorch's output[0, 0, :4] is [-0.7713 0.0578 -0.2923
// 0.0416] and its first weight row [0.2800 0.1605 0.4268 0.1327].
func ExampleMultiHeadAttention() {
	mha, err := nn.NewMultiHeadAttention(nn.MHAConfig{EmbedDim: 8, NumHeads: 2, Bias: true}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := safetensors.Open("../testdata/nn/mha_self.safetensors")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	if err := nn.Load(mha, f, ""); err != nil {
		fmt.Println(err)
		return
	}
	xs, shape, err := f.Float32("input.x") // [B=2, T=4, C=8]
	if err != nil {
		fmt.Println(err)
		return
	}

	g := autograd.NewGraph(false)
	x := g.Input(tensor.FromSlice(xs, shape...), false)
	out, w, err := mha.Forward(g, x, x, x, nil, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.Shape(), w.Shape())
	fmt.Printf("%.4f\n", out.Value.Data()[:4])
	fmt.Printf("%.4f\n", w.Value.Data()[:4])
	// Output:
	// [2 4 8] [2 2 4 4]
	// [-0.7713 0.0578 -0.2923 0.0416]
	// [0.2800 0.1605 0.4268 0.1327]
}
