package model

import (
	"fmt"
	"strconv"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/nn"
)

// ViT (transformers' modeling_vit.py): non-overlapping P×P patches
// projected by a strided convolution (here the same arithmetic as a
// matrix product over flattened patches), a CLS token, learned position
// embeddings, pre-norm encoder layers and a final LayerNorm.
//
//	x = [cls; patches·Wᵀ + b] + pos          [B, 1+N, C], N = (H/P)·(W/P)
//	x = x + attn(LN(x));  x = x + ffn(LN(x))  per layer (nn.EncoderLayer, NormFirst)
//	h = LN(x);  logits = classifier(h[:, 0])
var vitLayer = layerNames{
	Q: "attention.attention.query", K: "attention.attention.key", V: "attention.attention.value", O: "attention.output.dense",
	Norm1: "layernorm_before", Norm2: "layernorm_after",
	FF1: "intermediate.dense", FF2: "output.dense",
}

func init() {
	register("vit", &architecture{
		heads:      []string{"ViTModel", "ViTForImageClassification"},
		build:      buildViT,
		initConfig: vitInitConfig,
	})
}

// ViT is ViTModel or ViTForImageClassification.
type ViT struct {
	base
	image, patch, channels int
	cls, pos               *autograd.Var // [1, 1, C], [1, 1+N, C]
	proj                   *autograd.Var // [C, channels, P, P]
	projBias               *autograd.Var
	layers                 []*nn.EncoderLayer
	norm                   *nn.LayerNorm
	pooler, classifier     *nn.Linear
	drop                   float32 // hidden_dropout_prob on the embeddings
}

func buildViT(cfg *Config, head string, b *binder) (Model, error) {
	r := &reader{c: cfg}
	s := layerShape{C: r.int("hidden_size"), NH: r.int("num_attention_heads"), FF: r.int("intermediate_size"),
		Eps: float32(r.float(1e-12, "layer_norm_eps")), PreNorm: true, QKVBias: r.bool(true, "qkv_bias"),
		Drop: float32(r.float(0, "hidden_dropout_prob")), AttnDrop: float32(r.float(0, "attention_probs_dropout_prob"))}
	nLayer, image, patch, ch := r.int("num_hidden_layers"), r.int("image_size"), r.int("patch_size"), r.intOr(3, "num_channels")
	act := r.str("gelu", "hidden_act")
	labels := r.labels()
	if r.err != nil {
		return nil, r.err
	}
	if err := s.resolve("vit", "hidden_act", act); err != nil {
		return nil, err
	}
	if ch <= 0 || image%patch != 0 {
		return nil, fmt.Errorf("vit: image_size %d is not a multiple of patch_size %d (or num_channels %d < 1)", image, patch, ch)
	}
	c, n := s.C, (image/patch)*(image/patch)
	m := &ViT{image: image, patch: patch, channels: ch, drop: s.Drop}
	b.basePrefix("vit.", "embeddings.cls_token", head != "ViTModel")
	m.cls = b.param("vit.embeddings.cls_token", initNormal, 1, 1, c)
	m.pos = b.param("vit.embeddings.position_embeddings", initNormal, 1, n+1, c)
	m.proj = b.param("vit.embeddings.patch_embeddings.projection.weight", initNormal, c, ch, patch, patch)
	m.projBias = b.param("vit.embeddings.patch_embeddings.projection.bias", initZeros, c)
	for i := 0; i < nLayer && b.err == nil; i++ { // stops at the first missing layer
		m.layers = append(m.layers, b.encoderLayer("vit.encoder.layer."+strconv.Itoa(i)+".", vitLayer, s))
	}
	m.norm = b.norm("vit.layernorm", c, s.Eps)
	switch head {
	case "ViTModel":
		if b.src == nil || b.has("vit.pooler.dense.weight") {
			m.pooler = b.linear("vit.pooler.dense", c, c, true)
		}
	case "ViTForImageClassification":
		m.classifier = b.linear("classifier", c, labels, true)
	}
	finishBase(&m.base, cfg, head, b)
	m.info.Layers, m.info.Heads, m.info.Hidden, m.info.FFN = nLayer, s.NH, c, s.FF
	m.info.Context = n + 1
	return m, b.err
}

// Forward implements Model: pixel_values [B, num_channels, image_size,
// image_size]. Outputs: logits (classification), last_hidden_state
// (after the final LayerNorm), pooler_output (ViTModel), hidden_states.N
// (N = L is before the final LayerNorm, as transformers collects it),
// attentions.N.
func (m *ViT) Forward(g *autograd.Graph, in *Inputs, opt Options) (*Outputs, error) {
	defer g.SetDropout(useDropout(g, opt.Dropout))
	if err := m.prepare(g); err != nil {
		return nil, err
	}
	if err := in.accept(m.info.Architecture, "pixel_values"); err != nil {
		return nil, err
	}
	px := in.PixelValues
	if px == nil {
		return nil, fmt.Errorf("vit: pixel_values missing")
	}
	if s := px.Shape; len(s) != 4 || s[1] != m.channels || s[2] != m.image || s[3] != m.image {
		return nil, fmt.Errorf("vit: pixel_values has shape %v, want [B, %d, %d, %d]", s, m.channels, m.image, m.image)
	}
	b, p, side := px.Shape[0], m.patch, m.image/m.patch
	n, k := side*side, m.channels*m.patch*m.patch
	// im2col: row (b, py, px) holds the patch's pixels in the
	// convolution weight's (channel, i, j) order.
	cols := g.Arena().Empty(b, n, k)
	src, dst := px.Contiguous().Data(), cols.Data()
	for bi := 0; bi < b; bi++ {
		for py := 0; py < side; py++ {
			for pxi := 0; pxi < side; pxi++ {
				row := dst[((bi*side+py)*side+pxi)*k:]
				for ch := 0; ch < m.channels; ch++ {
					for i := 0; i < p; i++ {
						off := ((bi*m.channels+ch)*m.image+py*p+i)*m.image + pxi*p
						copy(row[(ch*p+i)*p:(ch*p+i+1)*p], src[off:off+p])
					}
				}
			}
		}
	}
	c := m.info.Hidden
	patches := g.Linear(g.Input(cols, false), g.Reshape(m.proj, c, k), m.projBias)
	cls := g.Add(g.Input(g.Arena().New(b, 1, c), false), m.cls)
	x := g.Dropout(g.Add(g.Concat(1, cls, patches), m.pos), m.drop)
	x, hidden, attns, err := runEncoder(g, m.layers, x, nil, opt)
	if err != nil {
		return nil, fmt.Errorf("vit: %w", err)
	}
	h := m.norm.Forward(g, x)
	out := opt.outputs()
	if m.classifier != nil {
		out.add("logits", m.classifier.Forward(g, firstToken(g, h)))
	}
	out.add("last_hidden_state", h)
	if m.pooler != nil {
		out.add("pooler_output", g.Tanh(m.pooler.Forward(g, firstToken(g, h))))
	}
	if opt.HiddenStates {
		out.addSeq("hidden_states", hidden)
	}
	out.addSeq("attentions", attns)
	return out, nil
}

func vitInitConfig(o InitOptions, head string) map[string]any {
	cfg := map[string]any{
		"model_type": "vit", "architectures": []string{head},
		"hidden_act": o.act("gelu"), "hidden_size": o.Hidden, "num_attention_heads": o.Heads, "num_hidden_layers": o.Layers,
		"intermediate_size": o.FFN, "image_size": o.ImageSize, "patch_size": o.PatchSize, "num_channels": o.Channels,
		"qkv_bias": true, "layer_norm_eps": 1e-12, "initializer_range": 0.02, "encoder_stride": o.PatchSize,
		"attention_probs_dropout_prob": 0.0, "hidden_dropout_prob": 0.0, "torch_dtype": "float32",
	}
	if head == "ViTForImageClassification" {
		addLabels(cfg, o.Labels, o.LabelNames)
	}
	return cfg
}
