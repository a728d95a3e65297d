package viz

import (
	"errors"
	"fmt"
	"strings"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tensor"
)

// Stack names the attention a model has: an encoder's or a decoder-only
// model's self-attention, an encoder-decoder's decoder self-attention, or
// its cross-attention (target queries over source keys).
type Stack string

const (
	Self    Stack = "self"
	Decoder Stack = "decoder"
	Cross   Stack = "cross"
)

// Request is what Attend runs: one sequence of ids (a text; for an
// encoder-decoder the source) or pixel values (ViT), and for an
// encoder-decoder the decoder's ids, its start token first.
type Request struct {
	IDs       []int
	TargetIDs []int
	Pixels    *tensor.Tensor // [1, C, H, W]
	// Stack to return: "" is Cross for an encoder-decoder, else Self.
	Stack Stack
	// Layers and Heads to capture (nil: all), in the order returned.
	Layers, Heads []int
}

// Attention is the weights Attend captured: Weights[layer][head][query][key]
// for the layers and heads listed. Tokens (the keys) and QueryTokens
// (cross-attention's target tokens; empty when the queries are the keys)
// are for the caller to fill.
type Attention struct {
	Stack       Stack    `json:"attention"`
	Tokens      []string `json:"tokens"`
	QueryTokens []string `json:"query_tokens,omitempty"`
	Layers      []int    `json:"layers"`
	Heads       []int    `json:"heads"`
	// Reduce is "" for the weights of each head, "mean" after Mean (one
	// head per layer, Heads nil), "rollout" after Rollout (one layer of
	// one head, Layers and Heads nil).
	Reduce  string          `json:"reduce,omitempty"`
	Weights [][][][]float32 `json:"weights"`
}

// Mean replaces each layer's heads by their mean.
func (a *Attention) Mean() error {
	if a.Reduce != "" {
		return fmt.Errorf("viz: the weights are already reduced (%s)", a.Reduce)
	}
	for l, heads := range a.Weights {
		avg, err := Average(heads)
		if err != nil {
			return err
		}
		a.Weights[l] = [][][]float32{avg}
	}
	a.Heads, a.Reduce = nil, "mean"
	return nil
}

// Rollout replaces the weights by the attention rollout of the layers
// captured (see Rollout), which should be all of them, first to last.
func (a *Attention) Rollout() error {
	if a.Reduce != "" {
		return fmt.Errorf("viz: the weights are already reduced (%s)", a.Reduce)
	}
	layers := make([][][]float32, len(a.Weights))
	for l, heads := range a.Weights {
		var err error
		if layers[l], err = Average(heads); err != nil {
			return err
		}
	}
	r, err := Rollout(layers)
	if err != nil {
		return err
	}
	a.Weights, a.Layers, a.Heads, a.Reduce = [][][][]float32{{r}}, nil, nil, "rollout"
	return nil
}

// encoderDecoder reports whether m has an encoder and a decoder with
// cross-attention (Marian, BART; not BartForCausalLM).
func encoderDecoder(m model.Model) bool {
	i := m.Info()
	return i.DecoderLayers > 0 && !strings.HasSuffix(i.Architecture, "ForCausalLM")
}

// Shape returns the layers and heads of stack s of m.
func Shape(m model.Model, s Stack) (layers, heads int) {
	i := m.Info()
	if s == Decoder || s == Cross {
		return i.DecoderLayers, i.DecoderHeads
	}
	return i.Layers, i.Heads
}

// DefaultStack is the attention to show for m: cross-attention for an
// encoder-decoder, else self-attention.
func DefaultStack(m model.Model) Stack {
	if encoderDecoder(m) {
		return Cross
	}
	return Self
}

// Attend runs one inference forward of m on r and returns the attention
// weights of the chosen stack, layers and heads.
func Attend(m model.Model, r Request) (*Attention, error) {
	s := r.Stack
	if s == "" {
		s = DefaultStack(m)
	}
	info := m.Info()
	ed := encoderDecoder(m)
	switch {
	case s != Self && s != Decoder && s != Cross:
		return nil, fmt.Errorf("viz: attention %q: want self, decoder or cross", s)
	case s != Self && !ed:
		return nil, fmt.Errorf("viz: %s has no %s attention (it is not an encoder-decoder)", info.Architecture, s)
	}
	nl, nh := Shape(m, s)
	for _, l := range r.Layers {
		if l < 0 || l >= nl {
			return nil, fmt.Errorf("viz: layer %d outside the model's %d (0 … %d)", l, nl, nl-1)
		}
	}
	for _, h := range r.Heads {
		if h < 0 || h >= nh {
			return nil, fmt.Errorf("viz: head %d outside the model's %d (0 … %d)", h, nh, nh-1)
		}
	}
	in := &model.Inputs{B: 1}
	switch {
	case r.Pixels != nil:
		in.PixelValues = r.Pixels
	case len(r.IDs) == 0:
		return nil, errors.New("viz: no tokens")
	default:
		in.T, in.InputIDs = len(r.IDs), r.IDs
	}
	if ed {
		if len(r.TargetIDs) == 0 {
			return nil, errors.New("viz: an encoder-decoder needs the decoder's ids (its start token first)")
		}
		in.TDec, in.DecoderInputIDs = len(r.TargetIDs), r.TargetIDs
	}
	c := &model.Capture{Layers: r.Layers, Heads: r.Heads}
	if ed {
		// One Capture chooses the encoder's and the decoder's layers and
		// heads, whose counts may differ: take all, keep the chosen below.
		c.Layers, c.Heads = nil, nil
	}
	g := autograd.NewGraph(false)
	if _, err := m.Forward(g, in, model.Options{Capture: c}); err != nil {
		return nil, fmt.Errorf("viz: forward: %w", err)
	}
	captured := map[Stack][][]*tensor.Tensor{Self: c.Self, Decoder: c.Decoder, Cross: c.Cross}[s]
	if len(captured) == 0 {
		return nil, fmt.Errorf("viz: %s does not capture its %s attention", info.Architecture, s)
	}
	a := &Attention{Stack: s, Layers: r.Layers, Heads: r.Heads, Weights: model.Weights(captured, 0)}
	if ed {
		a.Weights = Pick(a.Weights, r.Layers, r.Heads)
	}
	if a.Layers == nil {
		a.Layers = seq(len(a.Weights))
	}
	if a.Heads == nil {
		a.Heads = seq(nh)
	}
	return a, nil
}

// Pick keeps layers and heads (nil: all) of w [layer][head]…, in the
// order listed; the indices must be in range.
func Pick[T any](w [][]T, layers, heads []int) [][]T {
	if layers == nil {
		layers = seq(len(w))
	}
	out := make([][]T, len(layers))
	for i, l := range layers {
		if heads == nil {
			out[i] = w[l]
			continue
		}
		for _, h := range heads {
			out[i] = append(out[i], w[l][h])
		}
	}
	return out
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// PatchTokens labels a vision model's positions: [CLS], then the patches
// of a grid gw wide as "row,col".
func PatchTokens(patches, gw int) []string {
	t := make([]string, patches+1)
	t[0] = "[CLS]"
	for i := range patches {
		t[i+1] = fmt.Sprintf("%d,%d", i/gw, i%gw)
	}
	return t
}
