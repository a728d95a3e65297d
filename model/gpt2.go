package model

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/nn"
)

// GPT-2 (transformers' modeling_gpt2.py): token + learned position
// embeddings, pre-norm causal blocks, a final LayerNorm, and an LM head
// tied to the token embedding.
//
//	x = wte[ids] + wpe[pos]
//	x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))    per block (nn.EncoderLayer, NormFirst, Causal)
//	h = ln_f(x);  logits = h·wteᵀ
//
// Its Conv1D weights are stored [in, out]; see binder.conv1D.
var gpt2Layer = layerNames{
	QKV: "attn.c_attn", O: "attn.c_proj",
	Norm1: "ln_1", Norm2: "ln_2",
	FF1: "mlp.c_fc", FF2: "mlp.c_proj",
	Conv1D: true,
}

func init() {
	register("gpt2", &architecture{
		heads:      []string{"GPT2LMHeadModel", "GPT2Model"},
		build:      buildGPT2,
		initConfig: gpt2InitConfig,
	})
}

// GPT2 is GPT2Model or GPT2LMHeadModel.
type GPT2 struct {
	base
	shape    layerShape
	nPos     int
	wte, wpe *nn.Embedding
	layers   []*nn.EncoderLayer
	lnF      *nn.LayerNorm
	lmHead   *autograd.Var // wte for the LM head, nil for GPT2Model
	embDrop  float32       // embd_pdrop
}

func buildGPT2(cfg *Config, head string, b *binder) (Model, error) {
	r := &reader{c: cfg}
	c := r.int("n_embd")
	s := layerShape{C: c, NH: r.int("n_head"), FF: r.intOr(4*c, "n_inner"), PreNorm: true,
		Eps:  float32(r.float(1e-5, "layer_norm_epsilon")),
		Drop: float32(r.float(0.1, "resid_pdrop")), AttnDrop: float32(r.float(0.1, "attn_pdrop"))}
	embDrop := float32(r.float(0.1, "embd_pdrop"))
	nLayer, nPos, vocab := r.int("n_layer"), r.int("n_positions", "n_ctx"), r.int("vocab_size")
	act := r.str("gelu_new", "activation_function")
	for _, k := range []string{"scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"} {
		if r.bool(false, k) {
			r.fail(k, "= true is not supported")
		}
	}
	if !r.bool(true, "scale_attn_weights") {
		r.fail("scale_attn_weights", "= false is not supported")
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := s.resolve("gpt2", "activation_function", act); err != nil {
		return nil, err
	}
	m := &GPT2{shape: s, nPos: nPos, embDrop: embDrop}
	// The original Hub layout has no "transformer." prefix and carries
	// the causal-mask buffers attn.bias and attn.masked_bias.
	b.basePrefix("transformer.", "wte.weight", head != "GPT2Model")
	b.ignored = func(n string) bool {
		return strings.HasSuffix(n, ".attn.bias") || strings.HasSuffix(n, ".attn.masked_bias")
	}
	m.wte = b.embedding("transformer.wte", vocab, c)
	m.wpe = b.embedding("transformer.wpe", nPos, c)
	for i := 0; i < nLayer && b.err == nil; i++ { // stops at the first missing layer
		m.layers = append(m.layers, b.encoderLayer("transformer.h."+strconv.Itoa(i)+".", gpt2Layer, s))
	}
	m.lnF = b.norm("transformer.ln_f", c, s.Eps)
	if head == "GPT2LMHeadModel" {
		m.lmHead = b.matmul("transformer.wte.weight", b.tied("lm_head.weight", m.wte.Weight))
	}
	b.scaleResidual(nLayer, "attn.c_proj.weight", "mlp.c_proj.weight")
	finishBase(&m.base, cfg, head, b)
	m.info.Layers, m.info.Heads, m.info.Hidden, m.info.FFN = nLayer, s.NH, c, s.FF
	m.info.Context, m.info.Vocab = nPos, vocab
	return m, b.err
}

// NewCache returns an empty KV cache for b sequences of up to maxT
// positions (at most n_positions).
func (m *GPT2) NewCache(b, maxT int) (*Cache, error) {
	return newCache(len(m.layers), m.shape.NH, m.shape.C/m.shape.NH, b, maxT, m.nPos, false)
}

// LMHeadWeight is the LM head's weight (the tied wte), nil for GPT2Model.
func (m *GPT2) LMHeadWeight() *autograd.Var { return m.lmHead }

// Forward implements Model: input_ids [B, T], attention_mask, position_ids
// (default past … past+T−1, even in padded rows, as transformers' forward
// does). Outputs: logits (LM head), last_hidden_state (after ln_f),
// hidden_states.N (the input of block N; N = L is after ln_f),
// attentions.N.
func (m *GPT2) Forward(g *autograd.Graph, in *Inputs, opt Options) (*Outputs, error) {
	defer g.SetDropout(useDropout(g, opt.Dropout))
	if err := m.prepare(g); err != nil {
		return nil, err
	}
	if err := in.accept(m.info.Architecture, "input_ids", "attention_mask", "position_ids"); err != nil {
		return nil, err
	}
	b, t := in.B, in.T
	past := 0
	if opt.Cache != nil {
		if err := opt.Cache.check(len(m.layers), b); err != nil {
			return nil, fmt.Errorf("gpt2: %w", err)
		}
		past = opt.Cache.Len()
	}
	if err := checkIDs("gpt2 input_ids", in.InputIDs, in.AttentionMask, b, t, past, m.info.Vocab); err != nil {
		return nil, err
	}
	pos := in.PositionIDs
	if pos == nil {
		pos = g.Ints(b * t)
		for i := range pos {
			pos[i] = past + i%t
		}
	} else if len(pos) != b*t {
		return nil, fmt.Errorf("gpt2: %d position_ids, want B·T = %d", len(pos), b*t)
	}
	x, err := m.wte.Forward(g, in.InputIDs, b, t)
	if err != nil {
		return nil, fmt.Errorf("gpt2 input_ids: %w", err)
	}
	p, err := m.wpe.Forward(g, pos, b, t)
	if err != nil {
		return nil, fmt.Errorf("gpt2 position_ids (n_positions %d): %w", m.nPos, err)
	}
	x = g.Dropout(g.Add(x, p), m.embDrop)
	if err := opt.Capture.check(stackSelf, len(m.layers), m.shape.NH); err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	if err := opt.checkHeadMask(len(m.layers), m.shape.NH); err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	masks := &nn.Masks{Causal: true, KeyPadding: keyPadding(g, in.AttentionMask)}
	var hidden, attns []*autograd.Var
	for i, l := range m.layers {
		if opt.HiddenStates {
			hidden = append(hidden, x)
		}
		self, _ := opt.Cache.layer(i)
		var w *autograd.Var
		capture := opt.Capture.wants(i)
		if x, w, err = l.ForwardCached(g, x, opt.selfMasks(i, m.shape.NH, masks), opt.Attentions || capture, self); err != nil {
			return nil, fmt.Errorf("gpt2 block %d: %w", i, err)
		}
		if opt.Attentions {
			attns = append(attns, w)
		}
		if capture {
			opt.Capture.add(stackSelf, i, w)
		}
	}
	h := m.lnF.Forward(g, x)
	out := opt.outputs()
	if m.lmHead != nil && !opt.NoLogits {
		hl := h
		if opt.LastLogits {
			hl = lastPosition(g, h)
		}
		out.add("logits", g.Linear(hl, m.lmHead, nil))
	}
	out.add("last_hidden_state", h)
	if opt.HiddenStates {
		out.addSeq("hidden_states", append(hidden, h))
	}
	out.addSeq("attentions", attns)
	return out, nil
}

func gpt2InitConfig(o InitOptions, head string) map[string]any {
	return map[string]any{
		"model_type": "gpt2", "architectures": []string{head},
		"activation_function": o.act("gelu_new"), "n_embd": o.Hidden, "n_head": o.Heads, "n_layer": o.Layers,
		"n_positions": o.Context, "n_ctx": o.Context, "n_inner": nil, "vocab_size": o.Vocab,
		"layer_norm_epsilon": 1e-5, "initializer_range": 0.02, "bos_token_id": o.Vocab - 1, "eos_token_id": o.Vocab - 1,
		"attn_pdrop": 0.1, "embd_pdrop": 0.1, "resid_pdrop": 0.1, "scale_attn_weights": true,
		"scale_attn_by_inverse_layer_idx": false, "reorder_and_upcast_attn": false,
		"summary_type": "cls_index", "summary_use_proj": true, "summary_activation": nil,
		"summary_proj_to_labels": true, "summary_first_dropout": 0.1, "use_cache": true, "torch_dtype": "float32",
	}
}
