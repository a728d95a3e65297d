package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/nn"
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

	// QKV also keeps, for the self-attention stack, the chosen heads'
	// queries, keys and values as the attention reads them (after the
	// projections and rotary): Q, K, V [layer][head], each [B, T, HS].
	// A key/value head shared by several query heads (grouped-query
	// attention) appears under each of them.
	QKV     bool
	Q, K, V [][]*tensor.Tensor
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
		c.Self, c.Q, c.K, c.V = nil, nil, nil, nil
	default:
		c.Decoder, c.Cross = nil, nil
	}
	return nil
}

// add keeps the chosen heads of probs [B, NH, Tq, Tk] (graph-owned), the
// weights of layer i of stack s, as owned tensors [B, Tq, Tk].
func (c *Capture) add(s stack, i int, probs *autograd.Var) {
	sh := probs.Shape()
	nh := sh[1]
	dst := &c.Self
	switch s {
	case stackDecoder:
		dst = &c.Decoder
	case stackCross:
		dst = &c.Cross
	}
	c.keep(dst, i, probs, nh)
}

// keep stores the chosen heads of x [B, N, T, D] (graph-owned; N = nh
// heads, or fewer key/value heads that query heads share) as layer i of
// dst, owned tensors [B, T, D].
func (c *Capture) keep(dst *[][]*tensor.Tensor, i int, x *autograd.Var, nh int) {
	sh := x.Shape()
	b, n, t, d := sh[0], sh[1], sh[2], sh[3]
	heads := c.Heads
	if heads == nil {
		heads = make([]int, nh)
		for i := range heads {
			heads[i] = i
		}
	}
	src := x.Value.Contiguous().Data()
	layer := make([]*tensor.Tensor, len(heads))
	for j, h := range heads {
		h = h / (nh / n)
		out := tensor.New(b, t, d)
		od := out.Data()
		for bi := range b {
			copy(od[bi*t*d:(bi+1)*t*d], src[(bi*n+h)*t*d:])
		}
		layer[j] = out
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

// selfMasks returns the masks layer i of the self-attention stack (of
// layers of heads each) uses: masks itself, or a copy carrying a head
// probe when opt gates the layer's heads or captures their q, k, v.
func (opt *Options) selfMasks(i, heads int, masks *nn.Masks) *nn.Masks {
	var gate []float32
	if i < len(opt.HeadMask) {
		gate = opt.HeadMask[i]
	}
	c := opt.Capture
	qkv := c != nil && c.QKV && c.wants(i)
	if gate == nil && !qkv {
		return masks
	}
	var m nn.Masks
	if masks != nil {
		m = *masks
	}
	m.Heads = &nn.HeadProbe{Gate: gate}
	if qkv {
		m.Heads.See = func(q, k, v *autograd.Var) {
			c.keep(&c.Q, i, q, heads)
			c.keep(&c.K, i, k, heads)
			c.keep(&c.V, i, v, heads)
		}
	}
	return &m
}

// checkHeadMask validates opt.HeadMask against a stack of layers of
// heads each.
func (opt *Options) checkHeadMask(layers, heads int) error {
	if opt.HeadMask == nil {
		return nil
	}
	if len(opt.HeadMask) != layers {
		return fmt.Errorf("head mask has %d layers, the model %d", len(opt.HeadMask), layers)
	}
	for l, row := range opt.HeadMask {
		if row == nil {
			continue
		}
		if len(row) != heads {
			return fmt.Errorf("head mask layer %d has %d heads, the model %d", l, len(row), heads)
		}
		for h, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("head mask [%d][%d] is %g", l, h, v)
			}
		}
	}
	return nil
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
