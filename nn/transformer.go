package nn

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/attn-dev/attn/autograd"
)

// Encoder is a stack of EncoderLayers with an optional final LayerNorm
// (torch.nn.TransformerEncoder). Names: layers.N.*, norm.*.
type Encoder struct {
	Layers []*EncoderLayer
	Norm   *LayerNorm // nil for none
}

// NewEncoder builds n layers of cfg, with a final norm when finalNorm is
// set (torch's nn.Transformer always has one; pre-norm stacks need it).
func NewEncoder(cfg LayerConfig, n int, finalNorm bool, rng *rand.Rand) (*Encoder, error) {
	if n <= 0 {
		return nil, fmt.Errorf("encoder: %d layers", n)
	}
	rng = newRNG(rng)
	e := &Encoder{}
	for i := 0; i < n; i++ {
		l, err := NewEncoderLayer(cfg, rng)
		if err != nil {
			return nil, fmt.Errorf("encoder: layer %d: %w", i, err)
		}
		e.Layers = append(e.Layers, l)
	}
	if finalNorm {
		e.Norm = mustNorm(cfg.DModel, e.Layers[0].Cfg.Eps)
	}
	return e, nil
}

func mustNorm(c int, eps float32) *LayerNorm {
	n, err := NewLayerNorm(c, eps)
	if err != nil {
		panic(err) // c and eps were validated by the layer config
	}
	return n
}

// NamedParameters implements Module.
func (e *Encoder) NamedParameters(prefix string, dst []NamedParam) []NamedParam {
	for i, l := range e.Layers {
		dst = l.NamedParameters(prefix+"layers."+strconv.Itoa(i)+".", dst)
	}
	if e.Norm != nil {
		dst = e.Norm.NamedParameters(prefix+"norm.", dst)
	}
	return dst
}

// Forward runs every layer on x [B, T, C] with the same masks, then the
// final norm. With needWeights it returns each layer's self-attention
// probabilities [B, NH, T, T].
func (e *Encoder) Forward(g *autograd.Graph, x *autograd.Var, masks *Masks, needWeights bool) (*autograd.Var, []*autograd.Var, error) {
	var weights []*autograd.Var
	for i, l := range e.Layers {
		var w *autograd.Var
		var err error
		if x, w, err = l.Forward(g, x, masks, needWeights); err != nil {
			return nil, nil, fmt.Errorf("encoder layer %d: %w", i, err)
		}
		if needWeights {
			weights = append(weights, w)
		}
	}
	if e.Norm != nil {
		x = e.Norm.Forward(g, x)
	}
	return x, weights, nil
}

// Decoder is a stack of DecoderLayers with an optional final LayerNorm
// (torch.nn.TransformerDecoder). Names: layers.N.*, norm.*.
type Decoder struct {
	Layers []*DecoderLayer
	Norm   *LayerNorm // nil for none
}

// NewDecoder builds n layers of cfg, with a final norm when finalNorm is set.
func NewDecoder(cfg LayerConfig, n int, finalNorm bool, rng *rand.Rand) (*Decoder, error) {
	if n <= 0 {
		return nil, fmt.Errorf("decoder: %d layers", n)
	}
	rng = newRNG(rng)
	d := &Decoder{}
	for i := 0; i < n; i++ {
		l, err := NewDecoderLayer(cfg, rng)
		if err != nil {
			return nil, fmt.Errorf("decoder: layer %d: %w", i, err)
		}
		d.Layers = append(d.Layers, l)
	}
	if finalNorm {
		d.Norm = mustNorm(cfg.DModel, d.Layers[0].Cfg.Eps)
	}
	return d, nil
}

// NamedParameters implements Module.
func (d *Decoder) NamedParameters(prefix string, dst []NamedParam) []NamedParam {
	for i, l := range d.Layers {
		dst = l.NamedParameters(prefix+"layers."+strconv.Itoa(i)+".", dst)
	}
	if d.Norm != nil {
		dst = d.Norm.NamedParameters(prefix+"norm.", dst)
	}
	return dst
}

// Forward runs every layer on x [B, Tt, C] against memory [B, Ts, C],
// then the final norm, returning each layer's attention probabilities when
// needWeights is set.
func (d *Decoder) Forward(g *autograd.Graph, x, memory *autograd.Var, selfMasks, crossMasks *Masks, needWeights bool) (*autograd.Var, []DecoderWeights, error) {
	var weights []DecoderWeights
	for i, l := range d.Layers {
		var w DecoderWeights
		var err error
		if x, w, err = l.Forward(g, x, memory, selfMasks, crossMasks, needWeights); err != nil {
			return nil, nil, fmt.Errorf("decoder layer %d: %w", i, err)
		}
		if needWeights {
			weights = append(weights, w)
		}
	}
	if d.Norm != nil {
		x = d.Norm.Forward(g, x)
	}
	return x, weights, nil
}

// Transformer is torch.nn.Transformer (batch first): an Encoder and a
// Decoder, each with a final norm. Names: encoder.*, decoder.*.
type Transformer struct {
	Encoder *Encoder
	Decoder *Decoder
}

// NewTransformer builds nEnc encoder and nDec decoder layers of cfg.
func NewTransformer(cfg LayerConfig, nEnc, nDec int, rng *rand.Rand) (*Transformer, error) {
	rng = newRNG(rng)
	enc, err := NewEncoder(cfg, nEnc, true, rng)
	if err != nil {
		return nil, fmt.Errorf("transformer: %w", err)
	}
	dec, err := NewDecoder(cfg, nDec, true, rng)
	if err != nil {
		return nil, fmt.Errorf("transformer: %w", err)
	}
	return &Transformer{Encoder: enc, Decoder: dec}, nil
}

// NamedParameters implements Module.
func (t *Transformer) NamedParameters(prefix string, dst []NamedParam) []NamedParam {
	dst = t.Encoder.NamedParameters(prefix+"encoder.", dst)
	return t.Decoder.NamedParameters(prefix+"decoder.", dst)
}

// TransformerMasks are the masks of a full encoder-decoder pass, named
// after torch's arguments.
type TransformerMasks struct {
	Src    *Masks // encoder self-attention: src_mask, src_key_padding_mask
	Tgt    *Masks // decoder self-attention: tgt_mask (usually Causal), tgt_key_padding_mask
	Memory *Masks // cross-attention: memory_mask, memory_key_padding_mask
}

// Forward encodes src [B, Ts, C] and decodes tgt [B, Tt, C] against it,
// returning [B, Tt, C].
func (t *Transformer) Forward(g *autograd.Graph, src, tgt *autograd.Var, masks TransformerMasks) (*autograd.Var, error) {
	mem, _, err := t.Encoder.Forward(g, src, masks.Src, false)
	if err != nil {
		return nil, fmt.Errorf("transformer: %w", err)
	}
	out, _, err := t.Decoder.Forward(g, tgt, mem, masks.Tgt, masks.Memory, false)
	if err != nil {
		return nil, fmt.Errorf("transformer: %w", err)
	}
	return out, nil
}
