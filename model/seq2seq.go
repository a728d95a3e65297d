package model

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/nn"
	"github.com/attn-dev/attn/tensor"
)

// Marian and BART (transformers' modeling_marian.py, modeling_bart.py):
// one encoder-decoder that differs only in its embeddings.
//
//	x = embed[ids]·scale + pos        scale = √C with scale_embedding, else 1
//	    Marian: pos = fixed sinusoids, half-split layout (sin | cos), from 0
//	    BART:   pos = learned table at position + 2, then layernorm_embedding
//	encoder: post-norm layers (nn.EncoderLayer)
//	decoder: post-norm layers, causal self-attention and cross-attention to
//	         the encoder output (nn.DecoderLayer)
//	logits = h·sharedᵀ + final_logits_bias
//
// The token embedding is one table, "model.shared", tied to both stacks'
// embed_tokens and to lm_head. BartForCausalLM is the decoder alone
// (model.decoder.*, cross-attention weights present but unused).
var (
	seq2seqEncLayer = layerNames{
		Q: "self_attn.q_proj", K: "self_attn.k_proj", V: "self_attn.v_proj", O: "self_attn.out_proj",
		Norm1: "self_attn_layer_norm", FF1: "fc1", FF2: "fc2", Norm2: "final_layer_norm",
	}
	seq2seqDecLayer = layerNames{
		Q: "self_attn.q_proj", K: "self_attn.k_proj", V: "self_attn.v_proj", O: "self_attn.out_proj",
		CQ: "encoder_attn.q_proj", CK: "encoder_attn.k_proj", CV: "encoder_attn.v_proj", CO: "encoder_attn.out_proj",
		Norm1: "self_attn_layer_norm", Norm2: "encoder_attn_layer_norm",
		FF1: "fc1", FF2: "fc2", Norm3: "final_layer_norm",
	}
)

func init() {
	register("marian", &architecture{
		heads:      []string{"MarianMTModel", "MarianModel"},
		build:      buildSeq2Seq,
		initConfig: seq2seqInitConfig("marian"),
	})
	register("bart", &architecture{
		heads:      []string{"BartForConditionalGeneration", "BartModel", "BartForCausalLM"},
		build:      buildSeq2Seq,
		initConfig: seq2seqInitConfig("bart"),
	})
}

// Seq2Seq is a Marian or BART model.
type Seq2Seq struct {
	base
	marian, causalLM bool
	enc, dec         layerShape
	scale            float32
	nPos             int
	padID, startID   int

	embed          *nn.Embedding
	encPos, decPos *nn.Embedding // BART
	encLN, decLN   *nn.LayerNorm // BART's layernorm_embedding
	encoder        []*nn.EncoderLayer
	decoder        []*nn.DecoderLayer
	lmHead         *autograd.Var // nil for the base models
	finalBias      *autograd.Var // [1, V], nil without
}

func buildSeq2Seq(cfg *Config, head string, b *binder) (Model, error) {
	r := &reader{c: cfg}
	marian := cfg.ModelType() == "marian"
	defAct := "gelu"
	if marian {
		defAct = "swish"
	}
	c := r.int("d_model")
	eps := float32(1e-5)
	drop, attnDrop, actDrop := float32(r.float(0.1, "dropout")), float32(r.float(0, "attention_dropout")), float32(r.float(0, "activation_dropout"))
	enc := layerShape{C: c, NH: r.int("encoder_attention_heads"), FF: r.int("encoder_ffn_dim"), Eps: eps, QKVBias: true, Drop: drop, AttnDrop: attnDrop, ActDrop: actDrop}
	dec := layerShape{C: c, NH: r.int("decoder_attention_heads"), FF: r.int("decoder_ffn_dim"), Eps: eps, QKVBias: true, Drop: drop, AttnDrop: attnDrop, ActDrop: actDrop}
	nEnc, nDec := r.int("encoder_layers"), r.int("decoder_layers")
	vocab, nPos := r.int("vocab_size"), r.int("max_position_embeddings")
	act := r.str(defAct, "activation_function")
	scale := r.bool(false, "scale_embedding")
	padID, startID := r.intOr(0, "pad_token_id"), r.intOr(0, "decoder_start_token_id")
	if marian {
		if !r.bool(true, "share_encoder_decoder_embeddings") {
			r.fail("share_encoder_decoder_embeddings", "= false is not supported")
		}
		if dv := r.intOr(vocab, "decoder_vocab_size"); dv != vocab {
			r.fail("decoder_vocab_size", "= %d differs from vocab_size %d: separate decoder vocabularies are not supported", dv, vocab)
		}
	}
	if r.bool(false, "normalize_before", "add_final_layer_norm") {
		r.fail("normalize_before", "pre-norm (mBART) is not supported")
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := enc.resolve("encoder", "activation_function", act); err != nil {
		return nil, err
	}
	if err := dec.resolve("decoder", "activation_function", act); err != nil {
		return nil, err
	}
	m := &Seq2Seq{marian: marian, causalLM: head == "BartForCausalLM", enc: enc, dec: dec, scale: 1, nPos: nPos, padID: padID, startID: startID}
	if scale {
		m.scale = float32(math.Sqrt(float64(c)))
	}
	b.basePrefix("model.", "decoder.layers.0.fc1.weight", head != "MarianModel" && head != "BartModel")
	if marian {
		// The sinusoids are not saved (_keys_to_ignore_on_save); old
		// checkpoints that have them hold the same fixed table.
		b.ignored = func(n string) bool { return strings.HasSuffix(n, "embed_positions.weight") }
	}
	if m.causalLM {
		m.embed = b.embedding("model.decoder.embed_tokens", vocab, c)
	} else {
		m.embed = b.embedding("model.shared", vocab, c)
		b.tied("model.encoder.embed_tokens.weight", m.embed.Weight)
		b.tied("model.decoder.embed_tokens.weight", m.embed.Weight)
		if !marian {
			m.encPos = b.embedding("model.encoder.embed_positions", nPos+2, c)
			m.encLN = b.norm("model.encoder.layernorm_embedding", c, eps)
		}
		for i := 0; i < nEnc && b.err == nil; i++ {
			m.encoder = append(m.encoder, b.encoderLayer("model.encoder.layers."+strconv.Itoa(i)+".", seq2seqEncLayer, enc))
		}
	}
	if !marian {
		m.decPos = b.embedding("model.decoder.embed_positions", nPos+2, c)
		m.decLN = b.norm("model.decoder.layernorm_embedding", c, eps)
	}
	for i := 0; i < nDec && b.err == nil; i++ {
		m.decoder = append(m.decoder, b.decoderLayer("model.decoder.layers."+strconv.Itoa(i)+".", seq2seqDecLayer, dec))
	}
	switch head {
	case "MarianMTModel", "BartForConditionalGeneration":
		m.finalBias = b.param("final_logits_bias", initZeros, 1, vocab)
		m.lmHead = b.matmul("model.shared.weight", b.tied("lm_head.weight", m.embed.Weight))
	case "BartForCausalLM":
		m.lmHead = b.matmul("model.decoder.embed_tokens.weight", b.tied("lm_head.weight", m.embed.Weight))
	}
	if b.src == nil && padID >= 0 && padID < vocab {
		// transformers zeroes the padding row of every embedding.
		clear(m.embed.Weight.Value.Data()[padID*c : (padID+1)*c])
	}
	finishBase(&m.base, cfg, head, b)
	m.info.Layers, m.info.Heads, m.info.Hidden, m.info.FFN = nEnc, enc.NH, c, enc.FF
	m.info.DecoderLayers, m.info.DecoderHeads = nDec, dec.NH
	m.info.Context, m.info.Vocab = nPos, vocab
	if m.causalLM {
		m.info.Layers, m.info.Heads, m.info.FFN, m.info.DecoderLayers, m.info.DecoderHeads = nDec, dec.NH, dec.FF, 0, 0
	}
	return m, b.err
}

// embedTokens returns embed[ids]·scale + positions past … past+T−1
// (then layernorm_embedding for BART), [B, T, C].
func (m *Seq2Seq) embedTokens(g *autograd.Graph, ids []int, b, t, past int, pos *nn.Embedding, ln *nn.LayerNorm) (*autograd.Var, error) {
	if past+t > m.nPos {
		return nil, fmt.Errorf("positions up to %d exceed max_position_embeddings %d", past+t, m.nPos)
	}
	x, err := m.embed.Forward(g, ids, b, t)
	if err != nil {
		return nil, err
	}
	if m.scale != 1 {
		x = g.Scale(x, m.scale)
	}
	var p *autograd.Var
	if m.marian {
		tab, err := nn.Sinusoidal(t, m.info.Hidden, past, nn.HalfSplit)
		if err != nil {
			return nil, err
		}
		p = g.Input(tab, false)
	} else if p, err = pos.Positions(g, past+2, t); err != nil {
		return nil, err
	}
	x = g.Add(x, p)
	if ln != nil {
		x = ln.Forward(g, x)
	}
	return g.Dropout(x, m.enc.Drop), nil
}

// Encoded is an encoder's output kept for decoding: Hidden [B, Ts, C]
// (owned, so it survives graph resets) and the encoder's attention_mask
// ([B, Ts], nil for none).
type Encoded struct {
	Hidden *tensor.Tensor
	Mask   []int
	// Rows, when set, has one entry per decoder row: the source (a row of
	// Hidden) it attends to. Beams of one source then share its encoder
	// pass and its cross-attention keys and values, computed once. nil:
	// decoder row r attends to source r.
	Rows []int
}

// check validates e against a decoder batch of b rows and d_model c.
func (e *Encoded) check(b, c int) error {
	s := e.Hidden.Shape
	if len(s) != 3 || s[2] != c {
		return fmt.Errorf("encoder output %v is not [sources, Ts, %d]", s, c)
	}
	if e.Mask != nil && len(e.Mask) != s[0]*s[1] {
		return fmt.Errorf("encoder mask of %d entries, want sources·Ts = %d·%d", len(e.Mask), s[0], s[1])
	}
	if e.Rows == nil {
		if s[0] != b {
			return fmt.Errorf("encoder output of %d sources for %d decoder rows", s[0], b)
		}
		return nil
	}
	if len(e.Rows) != b {
		return fmt.Errorf("encoder rows map %d decoder rows, the batch has %d", len(e.Rows), b)
	}
	for r, src := range e.Rows {
		if src < 0 || src >= s[0] {
			return fmt.Errorf("decoder row %d attends to source %d outside [0, %d)", r, src, s[0])
		}
	}
	return nil
}

// rowMask returns the mask of every decoder row (graph-owned), nil
// without a mask.
func (e *Encoded) rowMask(g *autograd.Graph) []int {
	if e.Mask == nil {
		return nil
	}
	ts := e.Hidden.Shape[1]
	mask := g.Ints(len(e.Rows) * ts)
	for r, s := range e.Rows {
		copy(mask[r*ts:(r+1)*ts], e.Mask[s*ts:])
	}
	return mask
}

// expand returns the memory and its mask for every decoder row: row r a
// copy of source Rows[r] (graph-owned), or Hidden itself without Rows.
func (e *Encoded) expand(g *autograd.Graph) (*autograd.Var, []int) {
	if e.Rows == nil {
		return g.Input(e.Hidden, false), e.Mask
	}
	ts, c := e.Hidden.Shape[1], e.Hidden.Shape[2]
	h := g.Arena().Empty(len(e.Rows), ts, c)
	src, dst := e.Hidden.Contiguous().Data(), h.Data()
	for r, s := range e.Rows {
		copy(dst[r*ts*c:(r+1)*ts*c], src[s*ts*c:])
	}
	return g.Input(h, false), e.rowMask(g)
}

// Encode runs the encoder on in.InputIDs / in.AttentionMask once, for
// decoding step by step with Forward (Options.Encoder and a Cache). The
// returned outputs are encoder_last_hidden_state and, as opt asks,
// encoder_hidden_states.N and encoder_attentions.N.
func (m *Seq2Seq) Encode(g *autograd.Graph, in *Inputs, opt Options) (*Encoded, *Outputs, error) {
	defer g.SetDropout(useDropout(g, opt.Dropout))
	if err := m.prepare(g); err != nil {
		return nil, nil, err
	}
	out := opt.outputs()
	h, err := m.encode(g, in, opt, out)
	if err != nil {
		return nil, nil, err
	}
	return &Encoded{Hidden: h.Value.Clone(), Mask: slices.Clone(in.AttentionMask)}, out, nil
}

func (m *Seq2Seq) encode(g *autograd.Graph, in *Inputs, opt Options, out *Outputs) (*autograd.Var, error) {
	if m.causalLM {
		return nil, fmt.Errorf("%s: BartForCausalLM has no encoder", m.info.ModelType)
	}
	if err := checkIDs(m.info.ModelType+" input_ids", in.InputIDs, in.AttentionMask, in.B, in.T, 0, m.info.Vocab); err != nil {
		return nil, err
	}
	x, err := m.embedTokens(g, in.InputIDs, in.B, in.T, 0, m.encPos, m.encLN)
	if err != nil {
		return nil, fmt.Errorf("%s encoder: %w", m.info.ModelType, err)
	}
	h, hidden, attns, err := runEncoder(g, m.encoder, x, &nn.Masks{KeyPadding: keyPadding(g, in.AttentionMask)}, opt)
	if err != nil {
		return nil, fmt.Errorf("%s encoder: %w", m.info.ModelType, err)
	}
	out.add("encoder_last_hidden_state", h)
	if opt.HiddenStates {
		out.addSeq("encoder_hidden_states", hidden)
	}
	out.addSeq("encoder_attentions", attns)
	return h, nil
}

// NewCache returns an empty KV cache for b sequences of up to maxT
// decoder positions; its cross-attention caches fill on the first call.
func (m *Seq2Seq) NewCache(b, maxT int) (*Cache, error) {
	return newCache(len(m.decoder), m.dec.NH, m.dec.C/m.dec.NH, b, maxT, m.nPos, !m.causalLM)
}

// Forward implements Model. Encoder-decoders: input_ids and
// attention_mask feed the encoder (skipped when opt.Encoder is set),
// decoder_input_ids (BART: default input_ids shifted right after
// decoder_start_token_id) and decoder_attention_mask the decoder.
// Outputs: logits (+ final_logits_bias), last_hidden_state (the
// decoder's), decoder_hidden_states.N, decoder_attentions.N,
// cross_attentions.N, encoder_last_hidden_state, encoder_hidden_states.N,
// encoder_attentions.N. BartForCausalLM: input_ids and attention_mask
// feed the decoder; outputs logits, last_hidden_state, hidden_states.N,
// attentions.N.
func (m *Seq2Seq) Forward(g *autograd.Graph, in *Inputs, opt Options) (*Outputs, error) {
	defer g.SetDropout(useDropout(g, opt.Dropout))
	if err := m.prepare(g); err != nil {
		return nil, err
	}
	out := opt.outputs()
	mt := m.info.ModelType
	if m.causalLM {
		// position_ids are accepted and, as transformers' BART does,
		// ignored: its learned positions count from the cache length even
		// in left-padded rows (generation code passes them to any LM).
		if err := in.accept(m.info.Architecture, "input_ids", "attention_mask", "position_ids"); err != nil {
			return nil, err
		}
		return m.decode(g, nil, nil, in.InputIDs, in.AttentionMask, in.B, in.T, opt, out, "")
	}
	if err := in.accept(m.info.Architecture, "input_ids", "attention_mask", "decoder_input_ids", "decoder_attention_mask"); err != nil {
		return nil, err
	}
	var memory *autograd.Var
	var encMask []int
	var enc *Outputs // the encoder's outputs, listed after the decoder's
	if e := opt.Encoder; e != nil {
		if err := e.check(in.B, m.info.Hidden); err != nil {
			return nil, fmt.Errorf("%s: %w", mt, err)
		}
		switch {
		case e.Rows == nil:
			memory, encMask = g.Input(e.Hidden, false), e.Mask
		case opt.Cache != nil:
			// The cross caches project each source once (on their first
			// call) and hand every decoder row its source's keys and
			// values.
			memory, encMask = g.Input(e.Hidden, false), e.rowMask(g)
			for _, kv := range opt.Cache.Cross {
				if kv.Len == 0 {
					kv.Rows = e.Rows
				}
			}
		default:
			memory, encMask = e.expand(g)
		}
	} else {
		enc = &Outputs{}
		var err error
		if memory, err = m.encode(g, in, opt, enc); err != nil {
			return nil, err
		}
		encMask = in.AttentionMask
	}
	ids, t := in.DecoderInputIDs, in.TDec
	if ids == nil {
		if m.marian {
			return nil, fmt.Errorf("%s: decoder_input_ids missing", mt)
		}
		ids, t = shiftRight(in.InputIDs, in.B, in.T, m.startID, m.padID), in.T
	}
	if _, err := m.decode(g, memory, encMask, ids, in.DecoderAttentionMask, in.B, t, opt, out, "decoder_"); err != nil {
		return nil, err
	}
	if enc != nil {
		out.Names = append(out.Names, enc.Names...)
		out.Values = append(out.Values, enc.Values...)
		out.Vars = append(out.Vars, enc.Vars...)
	}
	return out, nil
}

// shiftRight is transformers' shift_tokens_right: each row moves one to
// the right behind start, and −100 (ignored labels) becomes pad.
func shiftRight(ids []int, b, t, start, pad int) []int {
	out := make([]int, len(ids))
	for i := 0; i < b; i++ {
		out[i*t] = start
		for j := 1; j < t; j++ {
			v := ids[i*t+j-1]
			if v == -100 {
				v = pad
			}
			out[i*t+j] = v
		}
	}
	return out
}

// decode runs the decoder on ids [B, T] against memory (nil for
// BartForCausalLM), naming its hidden states and attentions with prefix.
func (m *Seq2Seq) decode(g *autograd.Graph, memory *autograd.Var, encMask, ids, mask []int, b, t int, opt Options, out *Outputs, prefix string) (*Outputs, error) {
	mt := m.info.ModelType
	past := 0
	if opt.Cache != nil {
		if err := opt.Cache.check(len(m.decoder), b); err != nil {
			return nil, fmt.Errorf("%s: %w", mt, err)
		}
		past = opt.Cache.Len()
	}
	if err := checkIDs(mt+" decoder input ids", ids, mask, b, t, past, m.info.Vocab); err != nil {
		return nil, err
	}
	x, err := m.embedTokens(g, ids, b, t, past, m.decPos, m.decLN)
	if err != nil {
		return nil, fmt.Errorf("%s decoder: %w", mt, err)
	}
	selfStack := stackDecoder
	if m.causalLM {
		selfStack = stackSelf
	}
	if err := opt.Capture.check(selfStack, len(m.decoder), m.dec.NH); err != nil {
		return nil, fmt.Errorf("%s decoder: %w", mt, err)
	}
	if m.causalLM {
		if err := opt.checkHeadMask(len(m.decoder), m.dec.NH); err != nil {
			return nil, fmt.Errorf("%s decoder: %w", mt, err)
		}
	}
	self := &nn.Masks{Causal: true, KeyPadding: keyPadding(g, mask)}
	cross := &nn.Masks{KeyPadding: keyPadding(g, encMask)}
	var hidden, attns, crossAttns []*autograd.Var
	for i, l := range m.decoder {
		if opt.HiddenStates {
			hidden = append(hidden, x)
		}
		skv, ckv := opt.Cache.layer(i)
		var w nn.DecoderWeights
		capture := opt.Capture.wants(i)
		selfMasks := self
		if m.causalLM {
			selfMasks = opt.selfMasks(i, m.dec.NH, self)
		}
		if x, w, err = l.ForwardCached(g, x, memory, selfMasks, cross, opt.Attentions || capture, skv, ckv); err != nil {
			return nil, fmt.Errorf("%s decoder layer %d: %w", mt, i, err)
		}
		if opt.Attentions {
			attns = append(attns, w.Self)
			if w.Cross != nil {
				crossAttns = append(crossAttns, w.Cross)
			}
		}
		if capture {
			opt.Capture.add(selfStack, i, w.Self)
			if w.Cross != nil {
				opt.Capture.add(stackCross, i, w.Cross)
			}
		}
	}
	if m.lmHead != nil {
		hl := x
		if opt.LastLogits {
			hl = lastPosition(g, x)
		}
		logits := g.Linear(hl, m.lmHead, nil)
		if m.finalBias != nil {
			logits = g.Add(logits, m.finalBias)
		}
		out.add("logits", logits)
	}
	out.add("last_hidden_state", x)
	if opt.HiddenStates {
		out.addSeq(prefix+"hidden_states", append(hidden, x))
	}
	out.addSeq(prefix+"attentions", attns)
	out.addSeq("cross_attentions", crossAttns)
	return out, nil
}

func seq2seqInitConfig(modelType string) func(o InitOptions, head string) map[string]any {
	return func(o InitOptions, head string) map[string]any {
		cfg := map[string]any{
			"model_type": modelType, "architectures": []string{head},
			"d_model": o.Hidden, "vocab_size": o.Vocab, "max_position_embeddings": o.Context,
			"encoder_layers": o.Layers, "encoder_attention_heads": o.Heads, "encoder_ffn_dim": o.FFN,
			"decoder_layers": o.DecoderLayers, "decoder_attention_heads": o.DecoderHeads, "decoder_ffn_dim": o.DecoderFFN,
			"num_hidden_layers": o.Layers, "init_std": 0.02, "dropout": 0.1, "attention_dropout": 0.0, "activation_dropout": 0.0,
			"encoder_layerdrop": 0.0, "decoder_layerdrop": 0.0, "is_encoder_decoder": head != "BartForCausalLM",
			"use_cache": true, "torch_dtype": "float32",
		}
		if modelType == "marian" {
			v := o.Vocab
			cfg["activation_function"] = o.act("swish")
			cfg["scale_embedding"] = true
			cfg["share_encoder_decoder_embeddings"] = true
			cfg["decoder_vocab_size"] = v
			cfg["pad_token_id"], cfg["decoder_start_token_id"] = v-1, v-1
			cfg["eos_token_id"], cfg["bos_token_id"], cfg["forced_eos_token_id"] = 0, 0, 0
		} else {
			cfg["activation_function"] = o.act("gelu")
			cfg["scale_embedding"] = false
			cfg["bos_token_id"], cfg["pad_token_id"], cfg["eos_token_id"] = 0, 1, 2
			cfg["decoder_start_token_id"], cfg["forced_eos_token_id"] = 2, 2
			if head == "BartForCausalLM" {
				cfg["is_decoder"] = true
			}
		}
		return cfg
	}
}
