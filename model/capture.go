package model

import (
	"fmt"
	"slices"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

// Capture asks a forward for the attention probabilities of chosen layers
// and heads, the softmax weights each query gives each key, for viewing
// them (attn attend, the explorer). Only the chosen layers materialise
// them (the tiled kernel's probabilities path, the same numbers to
// float32 rounding); the others, and a forward without a Capture, run
// unchanged.
//
// After Forward, Self holds the self-attention weights of the encoder
// (BERT, ViT, the Marian/BART encoder) or of the decoder-only model
// (GPT-2, BartForCausalLM); Decoder and Cross hold an encoder-decoder's
// decoder self-attention and cross-attention. Each is indexed
// [layer][head] in the order of Layers and Heads, one tensor
// [B, Tq, Tk] per pair. With a KV cache, Tk spans the cached and new
// positions.
type Capture struct {
	// Layers lists the layers to capture (nil: all); Heads the heads
	// (nil: all). Out-of-range or repeated indices are an error.
	Layers, Heads []int

	Self, Decoder, Cross [][]*tensor.Tensor
}

// stack is which part of a model a captured layer belongs to.
type stack int

const (
	stackSelf stack = iota // an encoder or a decoder-only model
	stackDecoder
	stackCross
)

// wants reports whether layer i is captured.
func (c *Capture) wants(i int) bool {
	return c != nil && (c.Layers == nil || slices.Contains(c.Layers, i))
}

// check validates the chosen layers and heads against a stack of layers
// of heads each, and empties the results of stack s.
func (c *Capture) check(s stack, layers, heads int) error {
	if c == nil {
		return nil
	}
	for i, l := range c.Layers {
		if slices.Contains(c.Layers[:i], l) {
			return fmt.Errorf("capture: layer %d chosen twice", l)
		}
		if l < 0 || l >= layers {
			return fmt.Errorf("capture: layer %d outside the model's %d (0 … %d)", l, layers, layers-1)
		}
	}
	for i, h := range c.Heads {
		if slices.Contains(c.Heads[:i], h) {
			return fmt.Errorf("capture: head %d chosen twice", h)
		}
		if h < 0 || h >= heads {
			return fmt.Errorf("capture: head %d outside the model's %d (0 … %d)", h, heads, heads-1)
		}
	}
	switch s {
	case stackSelf:
		c.Self = nil
	default:
		c.Decoder, c.Cross = nil, nil
	}
	return nil
}

// add keeps the chosen heads of probs [B, NH, Tq, Tk] (graph-owned), the
// weights of layer i of stack s, as owned tensors [B, Tq, Tk].
func (c *Capture) add(s stack, i int, probs *autograd.Var) {
	sh := probs.Shape()
	b, nh, tq, tk := sh[0], sh[1], sh[2], sh[3]
	heads := c.Heads
	if heads == nil {
		heads = make([]int, nh)
		for i := range heads {
			heads[i] = i
		}
	}
	src := probs.Value.Contiguous().Data()
	layer := make([]*tensor.Tensor, len(heads))
	for i, h := range heads {
		t := tensor.New(b, tq, tk)
		d := t.Data()
		for bi := range b {
			copy(d[bi*tq*tk:(bi+1)*tq*tk], src[(bi*nh+h)*tq*tk:])
		}
		layer[i] = t
	}
	dst := &c.Self
	switch s {
	case stackDecoder:
		dst = &c.Decoder
	case stackCross:
		dst = &c.Cross
	}
	at := i
	if c.Layers != nil {
		at = slices.Index(c.Layers, i)
	}
	for len(*dst) <= at {
		*dst = append(*dst, nil)
	}
	(*dst)[at] = layer
}

// Weights returns the captured weights of stack s (c.Self, c.Decoder or
// c.Cross) for batch row b as [layer][head][query][key].
func Weights(layers [][]*tensor.Tensor, b int) [][][][]float32 {
	out := make([][][][]float32, len(layers))
	for li, heads := range layers {
		out[li] = make([][][]float32, len(heads))
		for hi, t := range heads {
			tq, tk := t.Shape[1], t.Shape[2]
			d := t.Data()[b*tq*tk : (b+1)*tq*tk]
			rows := make([][]float32, tq)
			for q := range tq {
				rows[q] = d[q*tk : (q+1)*tk : (q+1)*tk]
			}
			out[li][hi] = rows
		}
	}
	return out
}
