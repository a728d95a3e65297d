package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

// NamedParam is one trainable tensor and its state_dict name.
type NamedParam struct {
	Name string
	Var  *autograd.Var
}

// Module is anything holding parameters. NamedParameters appends the
// module's parameters to dst, each named prefix + the name PyTorch's
// state_dict gives it (for example "self_attn.in_proj_weight"), in
// state_dict order.
type Module interface {
	NamedParameters(prefix string, dst []NamedParam) []NamedParam
}

// Parameters returns m's trainable tensors in state_dict order (for the
// optimizer).
func Parameters(m Module) []*autograd.Var {
	named := m.NamedParameters("", nil)
	out := make([]*autograd.Var, len(named))
	for i, p := range named {
		out[i] = p.Var
	}
	return out
}

// Source supplies named float tensors; *safetensors.File is one.
type Source interface {
	Float32(name string) ([]float32, []int, error)
}

// Load copies every parameter of m from src, looking each up as
// prefix + its state_dict name; a missing tensor or a shape that differs
// from the parameter's is an error naming it.
func Load(m Module, src Source, prefix string) error {
	for _, p := range m.NamedParameters("", nil) {
		name := prefix + p.Name
		data, shape, err := src.Float32(name)
		if err != nil {
			return fmt.Errorf("load weights: %w", err)
		}
		if !tensor.EqualShape(shape, p.Var.Value.Shape) {
			return fmt.Errorf("load weights: %s has shape %v, the model wants %v", name, shape, p.Var.Value.Shape)
		}
		copy(p.Var.Value.Data(), data)
	}
	return nil
}

// ZeroGrad clears the gradients of all of m's parameters.
func ZeroGrad(m Module) {
	for _, p := range m.NamedParameters("", nil) {
		p.Var.ZeroGrad()
	}
}

// uniformParam returns a [shape] parameter drawn from U(−bound, bound).
func uniformParam(rng *rand.Rand, bound float64, shape ...int) *autograd.Var {
	t := tensor.New(shape...)
	for i := range t.Data() {
		t.Data()[i] = float32((2*rng.Float64() - 1) * bound)
	}
	return autograd.Param(t)
}

// constParam returns a [shape] parameter filled with v.
func constParam(v float32, shape ...int) *autograd.Var {
	t := tensor.New(shape...)
	t.Fill(v)
	return autograd.Param(t)
}

// xavierBound is the Glorot-uniform bound √(6/(fanIn+fanOut)).
func xavierBound(fanIn, fanOut int) float64 { return math.Sqrt(6 / float64(fanIn+fanOut)) }

// newRNG returns the generator layers draw their initial weights from
// when the caller passes none.
func newRNG(rng *rand.Rand) *rand.Rand {
	if rng != nil {
		return rng
	}
	return rand.New(rand.NewPCG(0x5eed, 0xa77e))
}
