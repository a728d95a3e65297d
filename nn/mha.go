package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/attn-dev/attn/attention"
	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

// ProjLayout is how a MultiHeadAttention stores its Q/K/V projections,
// which fixes their state_dict names.
type ProjLayout int

const (
	// ProjFused is torch.nn.MultiheadAttention with kdim == vdim == C:
	// one "in_proj_weight" [(NH+2·NKV)·HS, C] holding the Q, K and V rows
	// in that order and one "in_proj_bias".
	ProjFused ProjLayout = iota
	// ProjSeparateTorch is torch.nn.MultiheadAttention with kdim or vdim
	// ≠ C: "q_proj_weight" [NH·HS, C], "k_proj_weight" [NKV·HS, KDim],
	// "v_proj_weight" [NKV·HS, VDim] and a fused "in_proj_bias".
	ProjSeparateTorch
	// ProjSeparate holds three Linear layers "q_proj", "k_proj", "v_proj"
	// with their own "weight" and "bias" (the Hugging Face BART/Marian
	// naming).
	ProjSeparate
)

// MHAConfig describes a MultiHeadAttention.
type MHAConfig struct {
	EmbedDim   int // C, the query (and output) width
	NumHeads   int // NH
	NumKVHeads int // NKV, 0 means NH; NH % NKV == 0 (grouped-query attention)
	KDim, VDim int // widths of key and value inputs, 0 means C
	Bias       bool
	Layout     ProjLayout
	Dropout    float32 // on the attention probabilities, in training graphs
	// Rotary, when set, rotates q and k after the heads are split (RoPE):
	// key j sits at position j, query i at i + Tk − Tq.
	Rotary *Rotary
}

// MultiHeadAttention is torch.nn.MultiheadAttention (batch first):
//
//	q = query·Wqᵀ + bq   [B, Tq, NH·HS] → [B, NH, Tq, HS]
//	k = key·Wkᵀ + bk     [B, Tk, NKV·HS] → [B, NKV, Tk, HS]
//	v = value·Wvᵀ + bv   likewise
//	o = softmax(q·kᵀ/√HS + masks)·v → [B, Tq, NH·HS]
//	out = o·Woᵀ + bo     [B, Tq, C]
//
// with HS = C/NH; query head h reads key/value head h/(NH/NKV). The
// output projection is "out_proj.weight" [C, NH·HS] and "out_proj.bias".
type MultiHeadAttention struct {
	Cfg MHAConfig
	HS  int

	InProjWeight, InProjBias  *autograd.Var // ProjFused (bias also in ProjSeparateTorch)
	QWeight, KWeight, VWeight *autograd.Var // ProjSeparateTorch
	QProj, KProj, VProj       *Linear       // ProjSeparate
	OutProj                   *Linear
}

// NewMultiHeadAttention returns an attention block initialised as torch
// does (Xavier-uniform projections, zero projection biases). rng may be
// nil (a fixed seed).
func NewMultiHeadAttention(cfg MHAConfig, rng *rand.Rand) (*MultiHeadAttention, error) {
	if cfg.NumKVHeads == 0 {
		cfg.NumKVHeads = cfg.NumHeads
	}
	if cfg.KDim == 0 {
		cfg.KDim = cfg.EmbedDim
	}
	if cfg.VDim == 0 {
		cfg.VDim = cfg.EmbedDim
	}
	c, nh, nkv := cfg.EmbedDim, cfg.NumHeads, cfg.NumKVHeads
	switch {
	case c <= 0 || nh <= 0 || nkv <= 0 || cfg.KDim <= 0 || cfg.VDim <= 0:
		return nil, fmt.Errorf("attention: sizes must be positive: %+v", cfg)
	case c%nh != 0:
		return nil, fmt.Errorf("attention: embed dim %d is not divisible by %d heads", c, nh)
	case nh%nkv != 0:
		return nil, fmt.Errorf("attention: %d heads are not divisible by %d key/value heads", nh, nkv)
	case cfg.Layout == ProjFused && (cfg.KDim != c || cfg.VDim != c):
		return nil, fmt.Errorf("attention: a fused in_proj needs kdim = vdim = embed dim %d, got %d, %d", c, cfg.KDim, cfg.VDim)
	case cfg.Layout < ProjFused || cfg.Layout > ProjSeparate:
		return nil, fmt.Errorf("attention: unknown projection layout %d", cfg.Layout)
	case !(cfg.Dropout >= 0 && cfg.Dropout < 1):
		return nil, fmt.Errorf("attention: dropout %g outside [0, 1)", cfg.Dropout)
	case cfg.Rotary != nil && (cfg.Rotary.Dim > c/nh || cfg.Rotary.Dim <= 0 || cfg.Rotary.Dim%2 != 0):
		return nil, fmt.Errorf("attention: rotary dim %d must be even, positive and at most the head size %d", cfg.Rotary.Dim, c/nh)
	}
	rng = newRNG(rng)
	hs := c / nh
	qn, kvn := nh*hs, nkv*hs
	m := &MultiHeadAttention{Cfg: cfg, HS: hs}
	var err error
	switch cfg.Layout {
	case ProjFused:
		m.InProjWeight = uniformParam(rng, xavierBound(c, qn+2*kvn), qn+2*kvn, c)
	case ProjSeparateTorch:
		m.QWeight = uniformParam(rng, xavierBound(c, qn), qn, c)
		m.KWeight = uniformParam(rng, xavierBound(cfg.KDim, kvn), kvn, cfg.KDim)
		m.VWeight = uniformParam(rng, xavierBound(cfg.VDim, kvn), kvn, cfg.VDim)
	case ProjSeparate:
		if m.QProj, err = NewLinear(c, qn, cfg.Bias, rng); err == nil {
			if m.KProj, err = NewLinear(cfg.KDim, kvn, cfg.Bias, rng); err == nil {
				m.VProj, err = NewLinear(cfg.VDim, kvn, cfg.Bias, rng)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("attention: %w", err)
		}
	}
	if cfg.Bias && cfg.Layout != ProjSeparate {
		m.InProjBias = constParam(0, qn+2*kvn)
	}
	if m.OutProj, err = NewLinear(qn, c, cfg.Bias, rng); err != nil {
		return nil, fmt.Errorf("attention: %w", err)
	}
	if m.OutProj.Bias != nil {
		m.OutProj.Bias.Value.Zero()
	}
	return m, nil
}

// NamedParameters implements Module, in torch's state_dict order.
func (m *MultiHeadAttention) NamedParameters(prefix string, dst []NamedParam) []NamedParam {
	switch m.Cfg.Layout {
	case ProjFused:
		dst = append(dst, NamedParam{prefix + "in_proj_weight", m.InProjWeight})
	case ProjSeparateTorch:
		dst = append(dst, NamedParam{prefix + "q_proj_weight", m.QWeight},
			NamedParam{prefix + "k_proj_weight", m.KWeight}, NamedParam{prefix + "v_proj_weight", m.VWeight})
	case ProjSeparate:
		dst = m.QProj.NamedParameters(prefix+"q_proj.", dst)
		dst = m.KProj.NamedParameters(prefix+"k_proj.", dst)
		dst = m.VProj.NamedParameters(prefix+"v_proj.", dst)
	}
	if m.InProjBias != nil {
		dst = append(dst, NamedParam{prefix + "in_proj_bias", m.InProjBias})
	}
	return m.OutProj.NamedParameters(prefix+"out_proj.", dst)
}

// Masks says which keys each query may see; they combine (see
// attention.Params).
type Masks struct {
	// Causal hides key j from query i when j > i + Tk − Tq.
	Causal bool
	// KeyPadding [B, Tk] hides padded keys (true = padding), torch's
	// key_padding_mask.
	KeyPadding []bool
	// Additive is added to the scores, broadcast over the dimensions of
	// AdditiveShape [B|1, NH|1, Tq|1, Tk|1] that are 1; −∞ hides a key.
	// torch's 2D attn_mask [Tq, Tk] is shape [1, 1, Tq, Tk], its 3D
	// [B·NH, Tq, Tk] form is [B, NH, Tq, Tk] with the same data.
	Additive      []float32
	AdditiveShape [4]int
	// Heads, when set, inspects or gates the heads of the call (for
	// looking into a model; see HeadProbe).
	Heads *HeadProbe
}

// HeadProbe looks into the heads of one attention call.
type HeadProbe struct {
	// Gate [NH] multiplies head h's output by Gate[h] before the output
	// projection (Hugging Face's head_mask: 0 switches a head off); nil
	// leaves them.
	Gate []float32
	// See, when set, is called with q [B, NH, Tq, HS] and k, v
	// [B, NKV, Tk, HS] as the attention reads them (after the
	// projections, rotary and the cache); they live only during the call.
	See func(q, k, v *autograd.Var)
}

// BoolMask converts a boolean attention mask (true = not allowed, torch's
// convention) into the additive form: 0 where allowed, −∞ where not.
func BoolMask(mask []bool) []float32 {
	out := make([]float32, len(mask))
	for i, m := range mask {
		if m {
			out[i] = float32(math.Inf(-1))
		}
	}
	return out
}

// projection returns the weight and bias of projection which (0 q, 1 k,
// 2 v), narrowing the fused tensors when needed.
func (m *MultiHeadAttention) projection(g *autograd.Graph, which int) (w, b *autograd.Var) {
	qn, kvn := m.Cfg.NumHeads*m.HS, m.Cfg.NumKVHeads*m.HS
	lo := [3]int{0, qn, qn + kvn}[which]
	hi := lo + [3]int{qn, kvn, kvn}[which]
	if m.InProjBias != nil {
		b = g.Narrow(m.InProjBias, 0, lo, hi)
	}
	switch m.Cfg.Layout {
	case ProjFused:
		w = g.Narrow(m.InProjWeight, 0, lo, hi)
	case ProjSeparateTorch:
		w = [3]*autograd.Var{m.QWeight, m.KWeight, m.VWeight}[which]
	default:
		l := [3]*Linear{m.QProj, m.KProj, m.VProj}[which]
		w, b = l.Weight, l.Bias
	}
	return w, b
}

// project computes the q, k and v activations [B, T, ·]. Through a fused
// in_proj, self-attention (query, key and value the same Var) runs one
// matmul, as torch does, and cross-attention with key == value two.
func (m *MultiHeadAttention) project(g *autograd.Graph, query, key, value *autograd.Var) (q, k, v *autograd.Var) {
	qn, kvn := m.Cfg.NumHeads*m.HS, m.Cfg.NumKVHeads*m.HS
	if m.Cfg.Layout == ProjFused && query == key && key == value {
		qkv := g.Split(g.Linear(query, m.InProjWeight, m.InProjBias), -1, qn, kvn, kvn)
		return qkv[0], qkv[1], qkv[2]
	}
	w, b := m.projection(g, 0)
	q = g.Linear(query, w, b)
	if m.Cfg.Layout == ProjFused && key == value {
		// Cross-attention to one memory: K and V in one matmul.
		var bkv *autograd.Var
		if m.InProjBias != nil {
			bkv = g.Narrow(m.InProjBias, 0, qn, qn+2*kvn)
		}
		kv := g.Split(g.Linear(key, g.Narrow(m.InProjWeight, 0, qn, qn+2*kvn), bkv), -1, kvn, kvn)
		return q, kv[0], kv[1]
	}
	w, b = m.projection(g, 1)
	k = g.Linear(key, w, b)
	w, b = m.projection(g, 2)
	return q, k, g.Linear(value, w, b)
}

// checkCached validates the inputs of ForwardCached against the
// configuration and the cache; key and value are nil when a static cache
// supplies them.
func (m *MultiHeadAttention) checkCached(g *autograd.Graph, query, key, value *autograd.Var, masks *Masks, kv *KVCache) error {
	qs := query.Shape()
	if len(qs) != 3 || qs[2] != m.Cfg.EmbedDim {
		return fmt.Errorf("query %v is not [B, Tq, %d]", qs, m.Cfg.EmbedDim)
	}
	if kv == nil {
		return m.check(query, key, value, masks, 0, qs[0])
	}
	if g.Train() {
		return fmt.Errorf("a KV cache is for inference graphs only")
	}
	if key == nil {
		if kv.K == nil || kv.K.Shape[0] != qs[0] {
			return fmt.Errorf("static cache holds no keys for batch %d", qs[0])
		}
		if masks != nil && masks.KeyPadding != nil && len(masks.KeyPadding) != qs[0]*kv.Len {
			return fmt.Errorf("key padding mask has %d entries, want B·Tk = %d", len(masks.KeyPadding), qs[0]*kv.Len)
		}
		return nil
	}
	past, kb := 0, qs[0]
	if kv.Static && kv.Rows != nil {
		if len(kv.Rows) != qs[0] {
			return fmt.Errorf("static cache maps %d rows, the query has %d", len(kv.Rows), qs[0])
		}
		kb = key.Shape()[0]
		for b, r := range kv.Rows {
			if r < 0 || r >= kb {
				return fmt.Errorf("static cache maps query row %d to key row %d outside [0, %d)", b, r, kb)
			}
		}
	}
	if !kv.Static {
		past = kv.Len
		if kv.K == nil || kv.V == nil {
			return fmt.Errorf("self-attention cache has no buffers (use NewKVCache)")
		}
		want := [4]int{qs[0], m.Cfg.NumKVHeads, kv.K.Shape[2], m.HS}
		if !tensor.EqualShape(kv.K.Shape, want[:]) || !tensor.EqualShape(kv.V.Shape, want[:]) {
			return fmt.Errorf("cache buffers %v, %v do not fit [B, NKV, maxT, HS] = %v", kv.K.Shape, kv.V.Shape, slices.Clone(want[:]))
		}
		if t := key.Shape()[1]; past+t > kv.K.Shape[2] {
			return fmt.Errorf("cache of %d positions holds %d, cannot take %d more", kv.K.Shape[2], past, t)
		}
	}
	return m.check(query, key, value, masks, past, kb)
}

// check validates query, key, value and the key padding mask of a call
// whose keys are past cached positions followed by key's Tk, kb rows of
// them (the query's, unless a static cache maps rows).
func (m *MultiHeadAttention) check(query, key, value *autograd.Var, masks *Masks, past, kb int) error {
	qs, ks, vs := query.Shape(), key.Shape(), value.Shape()
	switch {
	case len(ks) != 3 || ks[0] != kb || ks[2] != m.Cfg.KDim:
		return fmt.Errorf("key %v is not [%d, Tk, %d]", ks, kb, m.Cfg.KDim)
	case len(vs) != 3 || vs[0] != ks[0] || vs[1] != ks[1] || vs[2] != m.Cfg.VDim:
		return fmt.Errorf("value %v is not [%d, %d, %d]", vs, ks[0], ks[1], m.Cfg.VDim)
	case qs[1] == 0 || ks[1] == 0:
		return fmt.Errorf("empty sequence: query %v, key %v", qs, ks)
	}
	if masks != nil && masks.KeyPadding != nil && len(masks.KeyPadding) != qs[0]*(past+ks[1]) {
		return fmt.Errorf("key padding mask has %d entries, want B·Tk = %d", len(masks.KeyPadding), qs[0]*(past+ks[1]))
	}
	return nil
}

// Forward attends query [B, Tq, C] to key [B, Tk, KDim] and value
// [B, Tk, VDim] and returns out [B, Tq, C] and, when needWeights is set,
// the per-head attention probabilities [B, NH, Tq, Tk] (torch's
// average_attn_weights=False; they carry no gradient). masks may be nil.
// For self-attention pass the same Var three times.
func (m *MultiHeadAttention) Forward(g *autograd.Graph, query, key, value *autograd.Var, masks *Masks, needWeights bool) (out, weights *autograd.Var, err error) {
	return m.ForwardCached(g, query, key, value, masks, needWeights, nil)
}

// ForwardCached is Forward with a key/value cache for incremental decoding
// (see KVCache); kv nil is Forward. With a self-attention cache the keys
// are the kv.Len cached positions followed by the Tq new ones, so masks
// see Tk = kv.Len + Tq (KeyPadding is [B, kv.Len+Tq]) and query i sits at
// position kv.Len + i (Causal and Rotary follow from that). With a static
// cache key and value are read only by the first call.
func (m *MultiHeadAttention) ForwardCached(g *autograd.Graph, query, key, value *autograd.Var, masks *Masks, needWeights bool, kv *KVCache) (out, weights *autograd.Var, err error) {
	if kv != nil && kv.Static && kv.Len > 0 {
		key, value = nil, nil
	}
	if err := m.checkCached(g, query, key, value, masks, kv); err != nil {
		return nil, nil, fmt.Errorf("attention: %w", err)
	}
	// A mask that does not fit is found by package attention, which
	// autograd reports by panicking with a *tensor.ShapeError.
	defer tensor.Recover(&err)
	b, tq := query.Shape()[0], query.Shape()[1]
	var q, k, v *autograd.Var
	switch {
	case key != nil && m.Cfg.Layout == ProjFused && query == key && key == value:
		// Self-attention through a fused in_proj: q, k and v move from
		// the one product straight into heads, which is then dead (no
		// backward reads it): a training step keeps 2·3·B·T·C floats less
		// per layer than narrowing copies would.
		qn, kvn := m.Cfg.NumHeads*m.HS, m.Cfg.NumKVHeads*m.HS
		qkv := g.Linear(query, m.InProjWeight, m.InProjBias)
		q = g.SplitHeadsNarrow(qkv, 0, qn, m.Cfg.NumHeads)
		k = g.SplitHeadsNarrow(qkv, qn, qn+kvn, m.Cfg.NumKVHeads)
		v = g.SplitHeadsNarrow(qkv, qn+kvn, qn+2*kvn, m.Cfg.NumKVHeads)
		g.Release(qkv)
	case key != nil:
		q, k, v = m.project(g, query, key, value)
		k, v = g.SplitHeads(k, m.Cfg.NumKVHeads), g.SplitHeads(v, m.Cfg.NumKVHeads)
		q = g.SplitHeads(q, m.Cfg.NumHeads)
	default:
		w, bias := m.projection(g, 0)
		q = g.SplitHeads(g.Linear(query, w, bias), m.Cfg.NumHeads)
	}
	past := 0
	if kv != nil && !kv.Static {
		past = kv.Len
	}
	if r := m.Cfg.Rotary; r != nil && (kv == nil || !kv.Static) {
		tk := k.Shape()[2]
		if q, err = r.Forward(g, q, past+tk-tq); err != nil {
			return nil, nil, fmt.Errorf("attention: %w", err)
		}
		if k, err = r.Forward(g, k, past); err != nil {
			return nil, nil, fmt.Errorf("attention: %w", err)
		}
	}
	if kv != nil {
		k, v = kv.update(g, k, v)
	}
	p := &attention.Params{B: b, NH: m.Cfg.NumHeads, NKV: m.Cfg.NumKVHeads, Tq: tq, Tk: k.Shape()[2], HS: m.HS}
	if g.DropoutEnabled() && m.Cfg.Dropout > 0 {
		// The mask's seed comes from the graph's stream: the same graph
		// seed replays it (an exact resume), and m is never written.
		p.DropoutP, p.Seed = m.Cfg.Dropout, g.NextSeed()
	}
	if masks != nil {
		p.Causal, p.KeyPadding = masks.Causal, masks.KeyPadding
		p.Mask, p.MaskShape = masks.Additive, masks.AdditiveShape
	}
	var probe *HeadProbe
	if masks != nil {
		probe = masks.Heads
	}
	if probe != nil && probe.Gate != nil && len(probe.Gate) != m.Cfg.NumHeads {
		return nil, nil, fmt.Errorf("attention: head gate has %d entries, want NH = %d", len(probe.Gate), m.Cfg.NumHeads)
	}
	if probe != nil && probe.See != nil {
		probe.See(q, k, v)
	}
	o, probs := g.Attention(q, k, v, p, needWeights)
	if probe != nil && probe.Gate != nil {
		gate := tensor.New(1, m.Cfg.NumHeads, 1, 1)
		copy(gate.Data(), probe.Gate)
		o = g.Mul(o, g.Input(gate, false))
	}
	return m.OutProj.Forward(g, g.MergeHeads(o)), probs, nil
}
