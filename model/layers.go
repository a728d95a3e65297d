package model

import (
	"fmt"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/nn"
)

// layerNames is the name map of one architecture's Transformer layer onto
// nn.EncoderLayer / nn.DecoderLayer: which checkpoint name (relative to
// the layer's prefix) fills which slot. Loading is this table; the
// arithmetic is nn's.
type layerNames struct {
	QKV        string // a fused [3C] projection (GPT-2 c_attn); else Q, K, V
	Q, K, V, O string
	CQ, CK, CV string // cross-attention (decoder layers)
	CO         string
	Norm1      string // after (post-norm) or before (pre-norm) self-attention
	Norm2      string // the feed-forward's in an encoder layer, cross-attention's in a decoder layer
	Norm3      string // the feed-forward's in a decoder layer
	FF1, FF2   string
	Conv1D     bool // weights stored [in, out]
}

// layerShape is the size and arithmetic of a layer.
type layerShape struct {
	C, NH, FF int
	Act       nn.Activation
	PreNorm   bool
	Eps       float32
	QKVBias   bool // ViT's qkv_bias; the others always have biases
	// Dropout rates, applied when Options.Dropout asks (training):
	// Drop on the embeddings and each residual branch, AttnDrop on the
	// attention probabilities, ActDrop after the feed-forward's
	// activation (BART/Marian's activation_dropout).
	Drop, AttnDrop, ActDrop float32
}

func (s layerShape) config() nn.LayerConfig {
	return nn.LayerConfig{DModel: s.C, NHead: s.NH, NKVHead: s.NH, DimFF: s.FF, Activation: s.Act, NormFirst: s.PreNorm, Eps: s.Eps, Dropout: s.Drop}
}

// resolve sets the activation from its config name (key names it in
// errors) and checks the sizes.
func (s *layerShape) resolve(what, key, act string) error {
	a, err := nn.ParseActivation(act)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	s.Act = a
	return s.check(what)
}

// check validates sizes read from a config before anything is allocated.
func (s layerShape) check(what string) error {
	if s.C <= 0 || s.NH <= 0 || s.FF <= 0 {
		return fmt.Errorf("%s: hidden size %d, heads %d and feed-forward size %d must be positive", what, s.C, s.NH, s.FF)
	}
	if s.C%s.NH != 0 {
		return fmt.Errorf("%s: hidden size %d is not divisible by %d heads", what, s.C, s.NH)
	}
	if !(s.Eps > 0) {
		return fmt.Errorf("%s: layer norm epsilon %g must be positive", what, s.Eps)
	}
	for _, p := range []float32{s.Drop, s.AttnDrop, s.ActDrop} {
		if !(p >= 0 && p < 1) {
			return fmt.Errorf("%s: dropout probability %g outside [0, 1)", what, p)
		}
	}
	return nil
}

func (b *binder) linearOrConv(name string, in, out int, bias, conv bool) *nn.Linear {
	if conv {
		return b.conv1D(name, in, out)
	}
	return b.linear(name, in, out, bias)
}

// attention binds a multi-head attention block from its four names.
func (b *binder) attention(p string, qkv, q, k, v, o string, s layerShape, conv bool) *nn.MultiHeadAttention {
	m := &nn.MultiHeadAttention{Cfg: nn.MHAConfig{EmbedDim: s.C, NumHeads: s.NH, NumKVHeads: s.NH, KDim: s.C, VDim: s.C, Bias: true, Dropout: s.AttnDrop}, HS: s.C / s.NH}
	if qkv != "" {
		m.Cfg.Layout = nn.ProjFused
		l := b.linearOrConv(p+qkv, s.C, 3*s.C, true, conv)
		m.InProjWeight, m.InProjBias = l.Weight, l.Bias
	} else {
		m.Cfg.Layout = nn.ProjSeparate
		bias := s.QKVBias
		m.QProj = b.linearOrConv(p+q, s.C, s.C, bias, conv)
		m.KProj = b.linearOrConv(p+k, s.C, s.C, bias, conv)
		m.VProj = b.linearOrConv(p+v, s.C, s.C, bias, conv)
	}
	m.OutProj = b.linearOrConv(p+o, s.C, s.C, true, conv)
	return m
}

func (b *binder) feedForward(p string, n layerNames, s layerShape) *nn.FeedForward {
	return &nn.FeedForward{
		Linear1:    b.linearOrConv(p+n.FF1, s.C, s.FF, true, n.Conv1D),
		Linear2:    b.linearOrConv(p+n.FF2, s.FF, s.C, true, n.Conv1D),
		Activation: s.Act,
		Dropout:    s.ActDrop,
	}
}

// encoderLayer binds an encoder layer (self-attention and feed-forward)
// under prefix p.
func (b *binder) encoderLayer(p string, n layerNames, s layerShape) *nn.EncoderLayer {
	l := &nn.EncoderLayer{Cfg: s.config()}
	l.Norm1 = b.norm(p+n.Norm1, s.C, s.Eps)
	l.SelfAttn = b.attention(p, n.QKV, n.Q, n.K, n.V, n.O, s, n.Conv1D)
	l.Norm2 = b.norm(p+n.Norm2, s.C, s.Eps)
	l.FF = b.feedForward(p, n, s)
	return l
}

// decoderLayer binds a decoder layer (self-attention, cross-attention,
// feed-forward) under prefix p.
func (b *binder) decoderLayer(p string, n layerNames, s layerShape) *nn.DecoderLayer {
	l := &nn.DecoderLayer{Cfg: s.config()}
	l.SelfAttn = b.attention(p, n.QKV, n.Q, n.K, n.V, n.O, s, n.Conv1D)
	l.Norm1 = b.norm(p+n.Norm1, s.C, s.Eps)
	l.CrossAttn = b.attention(p, "", n.CQ, n.CK, n.CV, n.CO, s, n.Conv1D)
	l.Norm2 = b.norm(p+n.Norm2, s.C, s.Eps)
	l.FF = b.feedForward(p, n, s)
	l.Norm3 = b.norm(p+n.Norm3, s.C, s.Eps)
	return l
}

// Cache holds the keys and values of a decoder's earlier positions, one
// nn.KVCache per layer: Self grows with every call, Cross (encoder-decoders)
// holds the encoder output's keys and values, computed by the first call.
type Cache struct {
	Self, Cross []*nn.KVCache

	tmp []float32 // Reorder's scratch
}

// Len is the number of positions already decoded.
func (c *Cache) Len() int { return c.Self[0].Len }

// Reset empties the cache for new sequences, keeping its buffers.
func (c *Cache) Reset() {
	for _, kv := range c.Self {
		kv.Reset()
	}
	for _, kv := range c.Cross {
		kv.Reset()
	}
}

// newCache returns an empty cache for n layers of nh heads of size hs,
// b sequences of up to maxT positions; cross adds static cross caches.
func newCache(n, nh, hs, b, maxT, ctx int, cross bool) (*Cache, error) {
	if maxT > ctx {
		return nil, fmt.Errorf("model: a cache of %d positions exceeds the model's %d", maxT, ctx)
	}
	c := &Cache{}
	for i := 0; i < n; i++ {
		kv, err := nn.NewKVCache(b, nh, maxT, hs)
		if err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		c.Self = append(c.Self, kv)
		if cross {
			c.Cross = append(c.Cross, &nn.KVCache{Static: true})
		}
	}
	return c, nil
}

// layer returns layer i's caches (nil without a cache).
func (c *Cache) layer(i int) (self, cross *nn.KVCache) {
	if c == nil {
		return nil, nil
	}
	if c.Cross != nil {
		cross = c.Cross[i]
	}
	return c.Self[i], cross
}

// check validates a cache against a stack of n layers and batch b.
func (c *Cache) check(n, b int) error {
	if c == nil {
		return nil
	}
	if len(c.Self) != n {
		return fmt.Errorf("cache has %d layers, the decoder %d", len(c.Self), n)
	}
	if c.Self[0].K.Shape[0] != b {
		return fmt.Errorf("cache is for batch %d, the input has %d", c.Self[0].K.Shape[0], b)
	}
	return nil
}

// keyPadding turns an attention_mask (1 real, 0 padding) into nn's key
// padding (true = hidden); nil when nothing is padded. Adding
// (1 − mask)·float32-min to the scores, as transformers does, hides the
// same keys exactly.
func keyPadding(g *autograd.Graph, mask []int) []bool {
	var kp []bool
	for i, m := range mask {
		if m == 0 {
			if kp == nil {
				kp = g.Bools(len(mask))
			}
			kp[i] = true
		}
	}
	return kp
}

// checkIDs validates ids [b, t] against a vocabulary of v and a mask of
// b×(past+t) entries.
func checkIDs(what string, ids, mask []int, b, t, past, v int) error {
	if b <= 0 || t <= 0 {
		return fmt.Errorf("%s: batch %d × length %d is empty", what, b, t)
	}
	if len(ids) != b*t {
		return fmt.Errorf("%s: %d ids, want B·T = %d·%d", what, len(ids), b, t)
	}
	for i, id := range ids {
		if id < 0 || id >= v {
			return fmt.Errorf("%s: id %d at [%d, %d] outside the vocabulary of %d", what, id, i/t, i%t, v)
		}
	}
	if mask != nil && len(mask) != b*(past+t) {
		return fmt.Errorf("%s attention mask: %d entries, want B·(past+T) = %d·%d", what, len(mask), b, past+t)
	}
	for i, m := range mask {
		if m != 0 && m != 1 {
			return fmt.Errorf("%s attention mask: %d at [%d, %d], want 0 or 1", what, m, i/(past+t), i%(past+t))
		}
	}
	return nil
}

// lastPosition narrows h [B, T, C] to its last position [B, 1, C].
func lastPosition(g *autograd.Graph, h *autograd.Var) *autograd.Var {
	t := h.Shape()[1]
	return g.Narrow(h, 1, t-1, t)
}

// pickRows returns the rows of h [B, T, C] at the flattened positions
// rows (indices into B·T) as [len(rows), C]; backward scatters into h.
func pickRows(g *autograd.Graph, h *autograd.Var, rows []int) (*autograd.Var, error) {
	s := h.Shape()
	n := s[0] * s[1]
	for i, r := range rows {
		if r < 0 || r >= n {
			return nil, fmt.Errorf("head row %d (at %d) outside the %d positions of %v", r, i, n, s)
		}
	}
	return g.Embedding(g.Reshape(h, n, s[2]), rows, len(rows)), nil
}

// firstToken returns h[:, 0] as [B, C] (the CLS token).
func firstToken(g *autograd.Graph, h *autograd.Var) *autograd.Var {
	s := h.Shape()
	return g.Reshape(g.Narrow(h, 1, 0, 1), s[0], s[2])
}

// Reorder makes batch row i of every self-attention cache a copy of row
// src[i] (beam search: len(src) rows, a source may repeat), copying the
// filled positions only. The cross-attention caches are not moved: beams
// of one source share its keys and values, and beam search never moves a
// row to another source.
func (c *Cache) Reorder(src []int) error {
	if len(c.Self) == 0 {
		return nil
	}
	rows := c.Self[0].K.Shape[0]
	if len(src) != rows {
		return fmt.Errorf("model: reorder of %d rows, the cache holds %d", len(src), rows)
	}
	for _, s := range src {
		if s < 0 || s >= rows {
			return fmt.Errorf("model: reorder source row %d outside [0, %d)", s, rows)
		}
	}
	for _, kv := range c.Self {
		c.tmp = kv.Reorder(src, c.tmp)
	}
	return nil
}
