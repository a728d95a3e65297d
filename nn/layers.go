package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/attn-dev/attn/autograd"
)

// LayerConfig describes an encoder or decoder layer, as the arguments of
// torch.nn.TransformerEncoderLayer / TransformerDecoderLayer.
type LayerConfig struct {
	DModel     int // C
	NHead      int // NH
	NKVHead    int // key/value heads, 0 means NH
	DimFF      int // FF, the feed-forward width
	Activation Activation
	NormFirst  bool    // pre-norm (true) or torch's default post-norm
	Eps        float32 // LayerNorm epsilon, 0 means 1e-5
	Dropout    float32 // after attention, in the feed-forward and on residual branches
}

func (c *LayerConfig) normalise(op string) error {
	if c.Eps == 0 {
		c.Eps = 1e-5
	}
	if c.DModel <= 0 || c.NHead <= 0 || c.DimFF <= 0 {
		return fmt.Errorf("%s: d_model=%d, nhead=%d and dim_feedforward=%d must be positive", op, c.DModel, c.NHead, c.DimFF)
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		return fmt.Errorf("%s: dropout %g outside [0, 1)", op, c.Dropout)
	}
	return nil
}

func (c LayerConfig) mha(rng *rand.Rand) (*MultiHeadAttention, error) {
	return NewMultiHeadAttention(MHAConfig{EmbedDim: c.DModel, NumHeads: c.NHead, NumKVHeads: c.NKVHead,
		Bias: true, Layout: ProjFused, Dropout: c.Dropout}, rng)
}

// EncoderLayer is torch.nn.TransformerEncoderLayer (batch first):
//
//	post-norm: x = Norm1(x + Drop(SelfAttn(x)));  x = Norm2(x + Drop(FF(x)))
//	pre-norm:  x = x + Drop(SelfAttn(Norm1(x)));  x = x + Drop(FF(Norm2(x)))
//
// Names: self_attn.*, linear1.*, linear2.*, norm1.*, norm2.*.
type EncoderLayer struct {
	Cfg          LayerConfig
	SelfAttn     *MultiHeadAttention
	FF           *FeedForward
	Norm1, Norm2 *LayerNorm
}

// NewEncoderLayer builds an encoder layer; rng may be nil (a fixed seed).
func NewEncoderLayer(cfg LayerConfig, rng *rand.Rand) (*EncoderLayer, error) {
	const op = "nn.NewEncoderLayer"
	if err := cfg.normalise(op); err != nil {
		return nil, err
	}
	rng = newRNG(rng)
	l := &EncoderLayer{Cfg: cfg}
	var err error
	if l.SelfAttn, err = cfg.mha(rng); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if l.FF, err = NewFeedForward(cfg.DModel, cfg.DimFF, cfg.Activation, cfg.Dropout, rng); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	l.Norm1 = mustNorm(cfg.DModel, cfg.Eps)
	l.Norm2 = mustNorm(cfg.DModel, cfg.Eps)
	return l, nil
}

// NamedParameters implements Module, in torch's state_dict order.
func (l *EncoderLayer) NamedParameters(prefix string, dst []NamedParam) []NamedParam {
	dst = l.SelfAttn.NamedParameters(prefix+"self_attn.", dst)
	dst = l.FF.NamedParameters(prefix, dst)
	dst = l.Norm1.NamedParameters(prefix+"norm1.", dst)
	return l.Norm2.NamedParameters(prefix+"norm2.", dst)
}

// Forward runs the layer on x [B, T, C]; masks (may be nil) apply to the
// self-attention (torch's src_mask and src_key_padding_mask). With
// needWeights it also returns the self-attention probabilities
// [B, NH, T, T].
func (l *EncoderLayer) Forward(g *autograd.Graph, x *autograd.Var, masks *Masks, needWeights bool) (out, weights *autograd.Var, err error) {
	return l.ForwardCached(g, x, masks, needWeights, nil)
}

// ForwardCached is Forward with the self-attention reading and extending
// kv (nil for none): a causal encoder layer (a GPT block) decoding
// incrementally. See MultiHeadAttention.ForwardCached for the masks.
func (l *EncoderLayer) ForwardCached(g *autograd.Graph, x *autograd.Var, masks *Masks, needWeights bool, kv *KVCache) (out, weights *autograd.Var, err error) {
	mark := g.Mark()
	defer func() { g.Free(mark, out, weights) }()
	sa := func(h *autograd.Var) (*autograd.Var, error) {
		var a *autograd.Var
		a, weights, err = l.SelfAttn.ForwardCached(g, h, h, h, masks, needWeights, kv)
		if err != nil {
			return nil, fmt.Errorf("encoder layer self-attention: %w", err)
		}
		return g.Dropout(a, l.Cfg.Dropout), nil
	}
	ff := func(h *autograd.Var) *autograd.Var { return g.Dropout(l.FF.Forward(g, h), l.Cfg.Dropout) }
	if l.Cfg.NormFirst {
		a, err := sa(l.Norm1.Forward(g, x))
		if err != nil {
			return nil, nil, err
		}
		x = g.Add(x, a)
		x = g.Add(x, ff(l.Norm2.Forward(g, x)))
	} else {
		a, err := sa(x)
		if err != nil {
			return nil, nil, err
		}
		x = l.Norm1.Forward(g, g.Add(x, a))
		x = l.Norm2.Forward(g, g.Add(x, ff(x)))
	}
	return x, weights, nil
}

// DecoderLayer is torch.nn.TransformerDecoderLayer (batch first): masked
// self-attention, cross-attention to the encoder's memory, feed-forward:
//
//	post-norm: x = Norm1(x + SA(x));  x = Norm2(x + CA(x, mem));  x = Norm3(x + FF(x))
//	pre-norm:  x = x + SA(Norm1(x));  x = x + CA(Norm2(x), mem);  x = x + FF(Norm3(x))
//
// (each branch followed by dropout). Names: self_attn.*, multihead_attn.*,
// linear1.*, linear2.*, norm1.*, norm2.*, norm3.*.
type DecoderLayer struct {
	Cfg                 LayerConfig
	SelfAttn, CrossAttn *MultiHeadAttention
	FF                  *FeedForward
	Norm1, Norm2, Norm3 *LayerNorm
}

// NewDecoderLayer builds a decoder layer; rng may be nil (a fixed seed).
func NewDecoderLayer(cfg LayerConfig, rng *rand.Rand) (*DecoderLayer, error) {
	const op = "nn.NewDecoderLayer"
	if err := cfg.normalise(op); err != nil {
		return nil, err
	}
	rng = newRNG(rng)
	l := &DecoderLayer{Cfg: cfg}
	var err error
	if l.SelfAttn, err = cfg.mha(rng); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if l.CrossAttn, err = cfg.mha(rng); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if l.FF, err = NewFeedForward(cfg.DModel, cfg.DimFF, cfg.Activation, cfg.Dropout, rng); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	l.Norm1 = mustNorm(cfg.DModel, cfg.Eps)
	l.Norm2 = mustNorm(cfg.DModel, cfg.Eps)
	l.Norm3 = mustNorm(cfg.DModel, cfg.Eps)
	return l, nil
}

// NamedParameters implements Module, in torch's state_dict order.
func (l *DecoderLayer) NamedParameters(prefix string, dst []NamedParam) []NamedParam {
	dst = l.SelfAttn.NamedParameters(prefix+"self_attn.", dst)
	dst = l.CrossAttn.NamedParameters(prefix+"multihead_attn.", dst)
	dst = l.FF.NamedParameters(prefix, dst)
	dst = l.Norm1.NamedParameters(prefix+"norm1.", dst)
	dst = l.Norm2.NamedParameters(prefix+"norm2.", dst)
	return l.Norm3.NamedParameters(prefix+"norm3.", dst)
}

// DecoderWeights are a decoder layer's attention probabilities:
// self-attention [B, NH, Tt, Tt] and cross-attention [B, NH, Tt, Ts].
type DecoderWeights struct {
	Self, Cross *autograd.Var
}

// Forward runs the layer on x [B, Tt, C] against memory [B, Ts, C].
// selfMasks (torch's tgt_mask, tgt_key_padding_mask; usually Causal) and
// crossMasks (memory_mask, memory_key_padding_mask) may be nil. A nil
// memory skips the cross-attention block (and Norm2): a decoder-only
// stack such as Hugging Face's BartForCausalLM.
func (l *DecoderLayer) Forward(g *autograd.Graph, x, memory *autograd.Var, selfMasks, crossMasks *Masks, needWeights bool) (out *autograd.Var, w DecoderWeights, err error) {
	return l.ForwardCached(g, x, memory, selfMasks, crossMasks, needWeights, nil, nil)
}

// ForwardCached is Forward with key/value caches (nil for none): selfKV
// grows by the Tt new positions, crossKV (Static) holds the memory's keys
// and values after the first call, which may then pass memory nil. See
// MultiHeadAttention.ForwardCached for the masks.
func (l *DecoderLayer) ForwardCached(g *autograd.Graph, x, memory *autograd.Var, selfMasks, crossMasks *Masks, needWeights bool, selfKV, crossKV *KVCache) (out *autograd.Var, w DecoderWeights, err error) {
	mark := g.Mark()
	defer func() { g.Free(mark, out, w.Self, w.Cross) }()
	attend := func(m *MultiHeadAttention, h, mem *autograd.Var, masks *Masks, probs **autograd.Var, kv *KVCache) (*autograd.Var, error) {
		a, p, err := m.ForwardCached(g, h, mem, mem, masks, needWeights, kv)
		if err != nil {
			return nil, err
		}
		*probs = p
		return g.Dropout(a, l.Cfg.Dropout), nil
	}
	sa := func(h *autograd.Var) (*autograd.Var, error) {
		a, err := attend(l.SelfAttn, h, h, selfMasks, &w.Self, selfKV)
		if err != nil {
			return nil, fmt.Errorf("decoder layer self-attention: %w", err)
		}
		return a, nil
	}
	ca := func(h *autograd.Var) (*autograd.Var, error) {
		a, err := attend(l.CrossAttn, h, memory, crossMasks, &w.Cross, crossKV)
		if err != nil {
			return nil, fmt.Errorf("decoder layer cross-attention: %w", err)
		}
		return a, nil
	}
	ff := func(h *autograd.Var) *autograd.Var { return g.Dropout(l.FF.Forward(g, h), l.Cfg.Dropout) }
	var a *autograd.Var
	cross := memory != nil || (crossKV != nil && crossKV.Static && crossKV.Len > 0)
	if l.Cfg.NormFirst {
		if a, err = sa(l.Norm1.Forward(g, x)); err != nil {
			return nil, w, err
		}
		x = g.Add(x, a)
		if cross {
			if a, err = ca(l.Norm2.Forward(g, x)); err != nil {
				return nil, w, err
			}
			x = g.Add(x, a)
		}
		x = g.Add(x, ff(l.Norm3.Forward(g, x)))
	} else {
		if a, err = sa(x); err != nil {
			return nil, w, err
		}
		x = l.Norm1.Forward(g, g.Add(x, a))
		if cross {
			if a, err = ca(x); err != nil {
				return nil, w, err
			}
			x = l.Norm2.Forward(g, g.Add(x, a))
		}
		x = l.Norm3.Forward(g, g.Add(x, ff(x)))
	}
	return x, w, nil
}
