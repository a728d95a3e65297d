package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

// Linear is y = x·Wᵀ + b for x [..., In], W [Out, In] (torch's layout),
// b [Out] (nil without bias). Names: "weight", "bias".
//
// For repeated whole-sequence inference, Weight.SetPackedLinear(true) (or
// model.PackLinearWeights for a whole model) keeps W packed for the GEMM,
// at the cost of a second copy of W; see autograd.Var.SetPackedLinear.
type Linear struct {
	Weight, Bias *autograd.Var
}

// NewLinear returns a Linear initialised as torch.nn.Linear:
// W, b ~ U(−1/√In, 1/√In). rng may be nil (a fixed seed).
func NewLinear(in, out int, bias bool, rng *rand.Rand) (*Linear, error) {
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("linear layer: in=%d and out=%d must be positive", in, out)
	}
	rng = newRNG(rng)
	bound := 1 / math.Sqrt(float64(in))
	l := &Linear{Weight: uniformParam(rng, bound, out, in)}
	if bias {
		l.Bias = uniformParam(rng, bound, out)
	}
	return l, nil
}

// Forward returns x·Wᵀ + b, [..., Out].
func (l *Linear) Forward(g *autograd.Graph, x *autograd.Var) *autograd.Var {
	return g.Linear(x, l.Weight, l.Bias)
}

// NamedParameters implements Module.
func (l *Linear) NamedParameters(prefix string, dst []NamedParam) []NamedParam {
	dst = append(dst, NamedParam{prefix + "weight", l.Weight})
	if l.Bias != nil {
		dst = append(dst, NamedParam{prefix + "bias", l.Bias})
	}
	return dst
}

// Embedding is a lookup table [V, C]: row id is the vector of token (or
// position) id. A learned absolute position embedding is an Embedding
// indexed by position. Name: "weight".
type Embedding struct {
	Weight *autograd.Var
}

// NewEmbedding returns a [v, c] table drawn from N(0, 1), as
// torch.nn.Embedding. rng may be nil (a fixed seed).
func NewEmbedding(v, c int, rng *rand.Rand) (*Embedding, error) {
	if v <= 0 || c <= 0 {
		return nil, fmt.Errorf("embedding: V=%d and C=%d must be positive", v, c)
	}
	rng = newRNG(rng)
	w := autograd.Param(tensor.New(v, c))
	for i := range w.Value.Data() {
		w.Value.Data()[i] = float32(rng.NormFloat64())
	}
	return &Embedding{Weight: w}, nil
}

// Forward returns the rows picked by ids, shaped [shape..., C] (for
// example shape B, T). An id outside [0, V) is an error.
func (e *Embedding) Forward(g *autograd.Graph, ids []int, shape ...int) (*autograd.Var, error) {
	v := e.Weight.Value.Shape[0]
	for i, id := range ids {
		if id < 0 || id >= v {
			return nil, fmt.Errorf("embedding: id %d at position %d outside the table's %d rows", id, i, v)
		}
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	if len(shape) > 0 && n != len(ids) {
		return nil, fmt.Errorf("embedding: shape %v holds %d ids, got %d", slices.Clone(shape), n, len(ids))
	}
	return g.Embedding(e.Weight, ids, shape...), nil
}

// Positions returns the learned absolute position embeddings of
// positions start … start+T−1 broadcast-ready as [T, C]; add it to token
// embeddings [B, T, C].
func (e *Embedding) Positions(g *autograd.Graph, start, t int) (*autograd.Var, error) {
	if start < 0 || t <= 0 || start+t > e.Weight.Value.Shape[0] {
		return nil, fmt.Errorf("position embeddings: positions [%d, %d) outside the table's %d rows", start, start+t, e.Weight.Value.Shape[0])
	}
	return g.Narrow(e.Weight, 0, start, start+t), nil
}

// NamedParameters implements Module.
func (e *Embedding) NamedParameters(prefix string, dst []NamedParam) []NamedParam {
	return append(dst, NamedParam{prefix + "weight", e.Weight})
}

// LayerNorm normalises the last axis: y = (x − mean)/√(var + Eps)·γ + β
// (biased variance). Names: "weight" (γ), "bias" (β).
type LayerNorm struct {
	Weight, Bias *autograd.Var
	Eps          float32
}

// NewLayerNorm returns a LayerNorm over c channels with γ = 1, β = 0.
func NewLayerNorm(c int, eps float32) (*LayerNorm, error) {
	if c <= 0 || !(eps > 0) {
		return nil, fmt.Errorf("layer norm: C=%d and eps=%g must be positive", c, eps)
	}
	return &LayerNorm{Weight: constParam(1, c), Bias: constParam(0, c), Eps: eps}, nil
}

// Forward normalises x [..., C].
func (l *LayerNorm) Forward(g *autograd.Graph, x *autograd.Var) *autograd.Var {
	return g.LayerNorm(x, l.Weight, l.Bias, l.Eps)
}

// NamedParameters implements Module.
func (l *LayerNorm) NamedParameters(prefix string, dst []NamedParam) []NamedParam {
	return append(dst, NamedParam{prefix + "weight", l.Weight}, NamedParam{prefix + "bias", l.Bias})
}
