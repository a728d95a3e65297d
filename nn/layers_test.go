package nn

import (
	"testing"

	"github.com/attn-dev/attn/autograd"
)

// layerCases are the encoder/decoder layer fixtures of tools/golden/nn.py:
// d_model 8, 2 heads, feed-forward 16, every norm placement and activation.
var layerCases = []struct {
	tag       string
	normFirst bool
	act       Activation
}{
	{"post_relu", false, ReLU},
	{"pre_relu", true, ReLU},
	{"post_gelu", false, GELU},
	{"pre_gelu", true, GELU},
}

// TestEncoderLayerGolden compares torch.nn.TransformerEncoderLayer with a
// float src_mask and a src_key_padding_mask: output and every gradient.
func TestEncoderLayerGolden(t *testing.T) {
	for _, tc := range layerCases {
		t.Run(tc.tag, func(t *testing.T) {
			fx := openFixture(t, "encoder_layer_"+tc.tag)
			l, err := NewEncoderLayer(LayerConfig{DModel: 8, NHead: 2, DimFF: 16, Activation: tc.act, NormFirst: tc.normFirst}, nil)
			if err != nil {
				t.Fatal(err)
			}
			fx.load(l)
			g := autograd.NewGraph(true)
			in := fx.inputs(g, "src")
			masks := &Masks{KeyPadding: fx.key("mask.src_key_padding"),
				Additive: fx.tensor("mask.src_attn_float").Data(), AdditiveShape: [4]int{1, 1, 4, 4}}
			out, _, err := l.Forward(g, in["src"], masks, false)
			if err != nil {
				t.Fatal(err)
			}
			fx.checkAll(t, g, l, in, out, nil)
		})
	}
}

// TestDecoderLayerGolden compares torch.nn.TransformerDecoderLayer with a
// causal tgt_mask and both padding masks: output and every gradient.
func TestDecoderLayerGolden(t *testing.T) {
	for _, tc := range layerCases {
		t.Run(tc.tag, func(t *testing.T) {
			fx := openFixture(t, "decoder_layer_"+tc.tag)
			l, err := NewDecoderLayer(LayerConfig{DModel: 8, NHead: 2, DimFF: 16, Activation: tc.act, NormFirst: tc.normFirst}, nil)
			if err != nil {
				t.Fatal(err)
			}
			fx.load(l)
			g := autograd.NewGraph(true)
			in := fx.inputs(g, "tgt", "memory")
			self := &Masks{Causal: true, KeyPadding: fx.key("mask.tgt_key_padding")}
			cross := &Masks{KeyPadding: fx.key("mask.memory_key_padding")}
			out, w, err := l.Forward(g, in["tgt"], in["memory"], self, cross, true)
			if err != nil {
				t.Fatal(err)
			}
			if w.Self == nil || w.Cross == nil || w.Cross.Shape()[3] != 5 {
				t.Errorf("attention weights missing or misshapen: %+v", w)
			}
			fx.checkAll(t, g, l, in, out, nil)
		})
	}
}

// TestTransformerGolden compares a full torch.nn.Transformer (2 encoder
// and 2 decoder layers, final norms) with causal and padding masks.
func TestTransformerGolden(t *testing.T) {
	fx := openFixture(t, "transformer")
	m, err := NewTransformer(LayerConfig{DModel: 8, NHead: 2, DimFF: 16, Activation: ReLU}, 2, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	fx.load(m)
	g := autograd.NewGraph(true)
	in := fx.inputs(g, "src", "tgt")
	srcPad := fx.key("mask.src_key_padding")
	masks := TransformerMasks{
		Src: &Masks{KeyPadding: srcPad},
		// torch's generate_square_subsequent_mask, as its float form.
		Tgt:    &Masks{KeyPadding: fx.key("mask.tgt_key_padding"), Additive: fx.tensor("mask.tgt_attn_float").Data(), AdditiveShape: [4]int{1, 1, 4, 4}},
		Memory: &Masks{KeyPadding: fx.key("mask.memory_key_padding")},
	}
	out, err := m.Forward(g, in["src"], in["tgt"], masks)
	if err != nil {
		t.Fatal(err)
	}
	fx.checkAll(t, g, m, in, out, nil)
}
