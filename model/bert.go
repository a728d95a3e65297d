package model

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/nn"
)

// BERT (transformers' modeling_bert.py): word + token type + position
// embeddings and a LayerNorm, post-norm encoder layers, and a head.
//
//	x = LN(word[ids] + type[tt] + pos[0..T−1])
//	x = LN(x + attn(x));  x = LN(x + ffn(x))     per layer (nn.EncoderLayer)
//	pooler_output = tanh(pooler(x[:, 0]))
//	MLM: logits = LN(act(dense(x)))·wordᵀ + bias;  classification: classifier(pooler_output)
var bertLayer = layerNames{
	Q: "attention.self.query", K: "attention.self.key", V: "attention.self.value", O: "attention.output.dense",
	Norm1: "attention.output.LayerNorm",
	FF1:   "intermediate.dense", FF2: "output.dense",
	Norm2: "output.LayerNorm",
}

func init() {
	register("bert", &architecture{
		heads:      []string{"BertModel", "BertForMaskedLM", "BertForSequenceClassification", "BertLMHeadModel"},
		build:      buildBERT,
		initConfig: bertInitConfig,
	})
}

// BERT is BertModel or one of its heads.
type BERT struct {
	base
	shape                layerShape
	causal               bool // BertLMHeadModel with is_decoder
	word, pos, tokenType *nn.Embedding
	embNorm              *nn.LayerNorm
	layers               []*nn.EncoderLayer
	pooler               *nn.Linear // nil without
	// MLM head: transform dense → act → LN, then the tied decoder.
	mlmDense   *nn.Linear
	mlmNorm    *nn.LayerNorm
	mlmDecoder *nn.Linear
	classifier *nn.Linear
	headAct    nn.Activation
}

func buildBERT(cfg *Config, head string, b *binder) (Model, error) {
	r := &reader{c: cfg}
	s := layerShape{C: r.int("hidden_size"), NH: r.int("num_attention_heads"), FF: r.int("intermediate_size"),
		Eps: float32(r.float(1e-12, "layer_norm_eps")), QKVBias: true,
		Drop: float32(r.float(0.1, "hidden_dropout_prob")), AttnDrop: float32(r.float(0.1, "attention_probs_dropout_prob"))}
	nLayer, nPos, vocab, types := r.int("num_hidden_layers"), r.int("max_position_embeddings"), r.int("vocab_size"), r.intOr(2, "type_vocab_size")
	act := r.str("gelu", "hidden_act")
	if pe := r.str("absolute", "position_embedding_type"); pe != "absolute" {
		r.fail("position_embedding_type", "= %q is not supported (only absolute)", pe)
	}
	isDecoder := r.bool(false, "is_decoder")
	labels := r.labels()
	if r.err != nil {
		return nil, r.err
	}
	if err := s.resolve("bert", "hidden_act", act); err != nil {
		return nil, err
	}
	if types <= 0 {
		return nil, fmt.Errorf("type_vocab_size %d must be positive", types)
	}
	c := s.C
	m := &BERT{shape: s, causal: isDecoder && head == "BertLMHeadModel", headAct: s.Act}
	b.basePrefix("bert.", "embeddings.word_embeddings.weight", head != "BertModel")
	// Buffers older checkpoints carry, and the pre-training heads a
	// BertForMaskedLM checkpoint converted from BertForPreTraining keeps
	// (transformers ignores them too).
	b.ignored = func(n string) bool {
		return strings.HasSuffix(n, "embeddings.position_ids") || strings.HasSuffix(n, "embeddings.token_type_ids") ||
			(head != "BertForSequenceClassification" && head != "BertModel" && (strings.HasPrefix(n, "bert.pooler.") || strings.HasPrefix(n, "cls.seq_relationship.")))
	}
	m.word = b.embedding("bert.embeddings.word_embeddings", vocab, c)
	m.pos = b.embedding("bert.embeddings.position_embeddings", nPos, c)
	m.tokenType = b.embedding("bert.embeddings.token_type_embeddings", types, c)
	m.embNorm = b.norm("bert.embeddings.LayerNorm", c, s.Eps)
	for i := 0; i < nLayer && b.err == nil; i++ { // stops at the first missing layer
		m.layers = append(m.layers, b.encoderLayer("bert.encoder.layer."+strconv.Itoa(i)+".", bertLayer, s))
	}
	switch head {
	case "BertModel":
		if b.src == nil || b.has("bert.pooler.dense.weight") {
			m.pooler = b.linear("bert.pooler.dense", c, c, true)
		}
	case "BertForSequenceClassification":
		m.pooler = b.linear("bert.pooler.dense", c, c, true)
		m.classifier = b.linear("classifier", c, labels, true)
	default: // the LM heads
		m.mlmDense = b.linear("cls.predictions.transform.dense", c, c, true)
		m.mlmNorm = b.norm("cls.predictions.transform.LayerNorm", c, s.Eps)
		bias := b.param("cls.predictions.bias", initZeros, vocab)
		m.mlmDecoder = &nn.Linear{Weight: b.matmul("bert.embeddings.word_embeddings.weight", b.tied("cls.predictions.decoder.weight", m.word.Weight)), Bias: b.tied("cls.predictions.decoder.bias", bias)}
	}
	finishBase(&m.base, cfg, head, b)
	m.info.Layers, m.info.Heads, m.info.Hidden, m.info.FFN = nLayer, s.NH, c, s.FF
	m.info.Context, m.info.Vocab = nPos, vocab
	return m, b.err
}

// Forward implements Model: input_ids [B, T], attention_mask,
// token_type_ids (default 0), position_ids (default 0 … T−1). Outputs: logits (MLM [B, T, V] or
// classification [B, labels]), last_hidden_state, pooler_output,
// hidden_states.N (N = 0 is the embeddings' output), attentions.N.
func (m *BERT) Forward(g *autograd.Graph, in *Inputs, opt Options) (*Outputs, error) {
	defer g.SetDropout(useDropout(g, opt.Dropout))
	if err := m.prepare(g); err != nil {
		return nil, err
	}
	if err := in.accept(m.info.Architecture, "input_ids", "attention_mask", "token_type_ids", "position_ids"); err != nil {
		return nil, err
	}
	b, t := in.B, in.T
	if err := checkIDs("bert input_ids", in.InputIDs, in.AttentionMask, b, t, 0, m.info.Vocab); err != nil {
		return nil, err
	}
	if t > m.info.Context {
		return nil, fmt.Errorf("bert: %d tokens exceed max_position_embeddings %d", t, m.info.Context)
	}
	x, err := m.word.Forward(g, in.InputIDs, b, t)
	if err != nil {
		return nil, fmt.Errorf("bert input_ids: %w", err)
	}
	tt := in.TokenTypeIDs
	if tt == nil {
		tt = make([]int, b*t)
	} else if len(tt) != b*t {
		return nil, fmt.Errorf("bert: %d token_type_ids, want B·T = %d", len(tt), b*t)
	}
	ty, err := m.tokenType.Forward(g, tt, b, t)
	if err != nil {
		return nil, fmt.Errorf("bert token_type_ids: %w", err)
	}
	var p *autograd.Var
	if in.PositionIDs != nil {
		if len(in.PositionIDs) != b*t {
			return nil, fmt.Errorf("bert: %d position_ids, want B·T = %d", len(in.PositionIDs), b*t)
		}
		p, err = m.pos.Forward(g, in.PositionIDs, b, t)
	} else {
		p, err = m.pos.Positions(g, 0, t)
	}
	if err != nil {
		return nil, fmt.Errorf("bert position_ids: %w", err)
	}
	x = g.Dropout(m.embNorm.Forward(g, g.Add(g.Add(x, ty), p)), m.shape.Drop)
	masks := &nn.Masks{Causal: m.causal, KeyPadding: keyPadding(g, in.AttentionMask)}
	h, hidden, attns, err := runEncoder(g, m.layers, x, masks, opt)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	if opt.HeadRows != nil && m.mlmDecoder == nil {
		return nil, fmt.Errorf("bert: head_rows given, but this %s has no token-level head", m.info.Architecture)
	}
	out := opt.outputs()
	var pooled *autograd.Var
	if m.pooler != nil {
		pooled = g.Tanh(m.pooler.Forward(g, firstToken(g, h)))
	}
	switch {
	case m.classifier != nil:
		out.add("logits", m.classifier.Forward(g, pooled))
	case m.mlmDecoder != nil:
		hl := h
		switch {
		case opt.HeadRows != nil:
			if hl, err = pickRows(g, h, opt.HeadRows); err != nil {
				return nil, fmt.Errorf("bert: %w", err)
			}
		case opt.LastLogits:
			hl = lastPosition(g, h)
		}
		z := m.mlmNorm.Forward(g, m.headAct.Apply(g, m.mlmDense.Forward(g, hl)))
		out.add("logits", m.mlmDecoder.Forward(g, z))
	}
	out.add("last_hidden_state", h)
	if pooled != nil {
		out.add("pooler_output", pooled)
	}
	if opt.HiddenStates {
		out.addSeq("hidden_states", hidden)
	}
	out.addSeq("attentions", attns)
	return out, nil
}

// HasRowHead implements RowHead: a BERT with its masked-LM head.
func (m *BERT) HasRowHead() bool { return m.mlmDecoder != nil }

// runEncoder runs layers on x, collecting the input of every layer and
// the final output (hidden states) and the attention probabilities when
// opt asks for them.
func runEncoder(g *autograd.Graph, layers []*nn.EncoderLayer, x *autograd.Var, masks *nn.Masks, opt Options) (h *autograd.Var, hidden, attns []*autograd.Var, err error) {
	nh := layers[0].Cfg.NHead
	if err := opt.Capture.check(stackSelf, len(layers), nh); err != nil {
		return nil, nil, nil, err
	}
	if err := opt.checkHeadMask(len(layers), nh); err != nil {
		return nil, nil, nil, err
	}
	for i, l := range layers {
		if opt.HiddenStates {
			hidden = append(hidden, x)
		}
		var w *autograd.Var
		capture := opt.Capture.wants(i)
		if x, w, err = l.Forward(g, x, opt.selfMasks(i, nh, masks), opt.Attentions || capture); err != nil {
			return nil, nil, nil, fmt.Errorf("layer %d: %w", i, err)
		}
		if opt.Attentions {
			attns = append(attns, w)
		}
		if capture {
			opt.Capture.add(stackSelf, i, w)
		}
	}
	if opt.HiddenStates {
		hidden = append(hidden, x)
	}
	return x, hidden, attns, nil
}

func bertInitConfig(o InitOptions, head string) map[string]any {
	cfg := map[string]any{
		"model_type": "bert", "architectures": []string{head},
		"hidden_act": o.act("gelu"), "hidden_size": o.Hidden, "num_attention_heads": o.Heads, "num_hidden_layers": o.Layers,
		"intermediate_size": o.FFN, "max_position_embeddings": o.Context, "vocab_size": o.Vocab, "type_vocab_size": 2,
		"layer_norm_eps": 1e-12, "initializer_range": 0.02, "pad_token_id": 0, "position_embedding_type": "absolute",
		"attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1, "classifier_dropout": nil,
		"use_cache": true, "torch_dtype": "float32",
	}
	if head == "BertForSequenceClassification" {
		addLabels(cfg, o.Labels, o.LabelNames)
	}
	return cfg
}

// addLabels writes id2label / label2id for n classes, as transformers
// does: named by names when it holds n distinct ones, else LABEL_i.
func addLabels(cfg map[string]any, n int, names []string) {
	id2, l2id := map[string]string{}, map[string]int{}
	distinct := map[string]bool{}
	for _, s := range names {
		distinct[s] = true
	}
	for i := 0; i < n; i++ {
		l := "LABEL_" + strconv.Itoa(i)
		if len(names) == n && len(distinct) == n {
			l = names[i]
		}
		id2[strconv.Itoa(i)], l2id[l] = l, i
	}
	cfg["id2label"], cfg["label2id"] = id2, l2id
}
