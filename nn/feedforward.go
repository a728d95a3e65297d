package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/attn-dev/attn/autograd"
)

// Activation is the non-linearity of a FeedForward.
type Activation int

const (
	ReLU     Activation = iota // max(0, x)
	GELU                       // x·Φ(x), the exact (erf) form: torch's "gelu"
	GELUTanh                   // the tanh approximation: "gelu_new", "gelu_pytorch_tanh"
	SiLU                       // x·σ(x), also called swish
)

var activationNames = map[string]Activation{
	"relu": ReLU, "gelu": GELU, "gelu_new": GELUTanh, "gelu_pytorch_tanh": GELUTanh,
	"gelu_tanh": GELUTanh, "silu": SiLU, "swish": SiLU,
}

// ParseActivation maps the names torch and Hugging Face configs use
// (relu, gelu, gelu_new, gelu_pytorch_tanh, silu, swish) to an Activation.
func ParseActivation(name string) (Activation, error) {
	if a, ok := activationNames[name]; ok {
		return a, nil
	}
	return 0, fmt.Errorf("nn: unknown activation %q (want relu, gelu, gelu_new, silu)", name)
}

// Apply runs the activation.
func (a Activation) Apply(g *autograd.Graph, x *autograd.Var) *autograd.Var {
	switch a {
	case GELU:
		return g.GELU(x)
	case GELUTanh:
		return g.GELUTanh(x)
	case SiLU:
		return g.SiLU(x)
	default:
		return g.ReLU(x)
	}
}

// FeedForward is the position-wise block of a Transformer layer:
//
//	y = Linear2(Dropout(act(Linear1(x))))
//
// x [..., C] → [..., FF] → [..., C]. Its parameters are named "linear1.*"
// and "linear2.*" as in torch's TransformerEncoderLayer, which holds them
// directly.
type FeedForward struct {
	Linear1, Linear2 *Linear
	Activation       Activation
	Dropout          float32
}

// NewFeedForward returns a C → FF → C block with biases.
func NewFeedForward(c, ff int, act Activation, dropout float32, rng *rand.Rand) (*FeedForward, error) {
	rng = newRNG(rng)
	l1, err := NewLinear(c, ff, true, rng)
	if err != nil {
		return nil, fmt.Errorf("feed-forward: %w", err)
	}
	l2, err := NewLinear(ff, c, true, rng)
	if err != nil {
		return nil, fmt.Errorf("feed-forward: %w", err)
	}
	if act < ReLU || act > SiLU {
		return nil, fmt.Errorf("feed-forward: unknown activation %d", act)
	}
	return &FeedForward{Linear1: l1, Linear2: l2, Activation: act, Dropout: dropout}, nil
}

// Forward returns Linear2(Dropout(act(Linear1(x)))); the dropout is off
// in an inference graph.
func (f *FeedForward) Forward(g *autograd.Graph, x *autograd.Var) *autograd.Var {
	h := f.Activation.Apply(g, f.Linear1.Forward(g, x))
	return f.Linear2.Forward(g, g.Dropout(h, f.Dropout))
}

// NamedParameters implements Module.
func (f *FeedForward) NamedParameters(prefix string, dst []NamedParam) []NamedParam {
	dst = f.Linear1.NamedParameters(prefix+"linear1.", dst)
	return f.Linear2.NamedParameters(prefix+"linear2.", dst)
}
