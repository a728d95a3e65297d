package nn

import (
	"strings"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

// inputs makes the fixture's float inputs graph leaves that require a
// gradient, keyed by their name without the "input." prefix.
func (fx *fixture) inputs(g *autograd.Graph, names ...string) map[string]*autograd.Var {
	out := map[string]*autograd.Var{}
	for _, n := range names {
		out[n] = g.Input(fx.tensor("input."+n), true)
	}
	return out
}

// lossBackward runs Backward on sum(out ⊙ loss_weight), the fixture's loss.
func (fx *fixture) lossBackward(g *autograd.Graph, out *autograd.Var) {
	fx.t.Helper()
	loss := g.Sum(g.Mul(out, g.Input(fx.tensor("loss_weight"), false)))
	if err := g.Backward(loss); err != nil {
		fx.t.Fatal(err)
	}
}

// checkGrads compares the gradient of every parameter of m and of every
// input with the fixture.
func (fx *fixture) checkGrads(t *testing.T, m Module, in map[string]*autograd.Var) {
	t.Helper()
	params := m.NamedParameters("", nil)
	for _, p := range params {
		if p.Var.Grad == nil {
			t.Errorf("grad.%s: no gradient", p.Name)
			continue
		}
		expectClose(t, "grad."+p.Name, p.Var.Grad, fx.tensor("grad."+p.Name), gradAtol, gradRtol)
	}
	// Every parameter gradient in the fixture must belong to the model.
	n := 0
	for _, name := range fx.f.Names() {
		if strings.HasPrefix(name, "grad.") && !strings.HasPrefix(name, "grad.input.") {
			n++
		}
	}
	if n != len(params) {
		t.Errorf("model has %d parameters, fixture %d", len(params), n)
	}
	for name, v := range in {
		expectClose(t, "grad.input."+name, v.Grad, fx.tensor("grad.input."+name), gradAtol, gradRtol)
	}
}

// checkAll compares out (and weights, unless nil) with the fixture's
// output, then runs the fixture's loss backwards and compares the
// gradients of every parameter of m and every input.
func (fx *fixture) checkAll(t *testing.T, g *autograd.Graph, m Module, in map[string]*autograd.Var, out, weights *autograd.Var) {
	t.Helper()
	expectClose(t, "output", out.Value, fx.tensor("output"), fwdAtol, fwdRtol)
	if weights != nil {
		expectClose(t, "attn_weights", weights.Value, fx.tensor("output.attn_weights"), fwdAtol, fwdRtol)
	}
	fx.lossBackward(g, out)
	fx.checkGrads(t, m, in)
}

func (fx *fixture) key(name string) []bool {
	b, _ := fx.bools(name)
	return b
}

// TestMultiHeadAttentionGolden checks torch.nn.MultiheadAttention's output,
// per-head weights and all gradients. Tolerances: see golden_test.go.
func TestMultiHeadAttentionGolden(t *testing.T) {
	cases := []struct {
		name   string // the fixture, then an optional "/variant"
		cfg    MHAConfig
		inputs []string // x for self-attention, else query, key, value
		masks  func(fx *fixture) *Masks
	}{
		{"mha_self", MHAConfig{EmbedDim: 8, NumHeads: 2, Bias: true}, []string{"x"}, nil},
		{"mha_masks_bool", MHAConfig{EmbedDim: 8, NumHeads: 2, Bias: true}, []string{"x"}, func(fx *fixture) *Masks {
			am, _ := fx.bools("mask.attn_bool")
			return &Masks{KeyPadding: fx.key("mask.key_padding"), Additive: BoolMask(am), AdditiveShape: [4]int{1, 1, 5, 5}}
		}},
		// The same bool causal mask given as the Causal flag.
		{"mha_masks_bool/causal_flag", MHAConfig{EmbedDim: 8, NumHeads: 2, Bias: true}, []string{"x"}, func(fx *fixture) *Masks {
			return &Masks{KeyPadding: fx.key("mask.key_padding"), Causal: true}
		}},
		{"mha_masks_float", MHAConfig{EmbedDim: 8, NumHeads: 2, Bias: true}, []string{"query", "key", "value"}, func(fx *fixture) *Masks {
			return &Masks{KeyPadding: fx.key("mask.key_padding"), Additive: fx.tensor("mask.attn_float").Data(), AdditiveShape: [4]int{1, 1, 3, 4}}
		}},
		{"mha_mask3d", MHAConfig{EmbedDim: 8, NumHeads: 2, Bias: true}, []string{"x"}, func(fx *fixture) *Masks {
			return &Masks{Additive: fx.tensor("mask.attn_float").Data(), AdditiveShape: [4]int{2, 2, 4, 4}}
		}},
		{"mha_cross_kvdim", MHAConfig{EmbedDim: 8, NumHeads: 2, KDim: 6, VDim: 4, Bias: true, Layout: ProjSeparateTorch},
			[]string{"query", "key", "value"}, func(fx *fixture) *Masks {
				return &Masks{KeyPadding: fx.key("mask.key_padding")}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fx := openFixture(t, strings.Split(tc.name, "/")[0])
			m, err := NewMultiHeadAttention(tc.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			fx.load(m)
			g := autograd.NewGraph(true)
			in := fx.inputs(g, tc.inputs...)
			q, k, v := in["x"], in["x"], in["x"]
			if q == nil {
				q, k, v = in["query"], in["key"], in["value"]
			}
			var masks *Masks
			if tc.masks != nil {
				masks = tc.masks(fx)
			}
			out, w, err := m.Forward(g, q, k, v, masks, true)
			if err != nil {
				t.Fatal(err)
			}
			fx.checkAll(t, g, m, in, out, w)
		})
	}
}

func TestMultiHeadAttentionErrors(t *testing.T) {
	m, err := NewMultiHeadAttention(MHAConfig{EmbedDim: 8, NumHeads: 2, Bias: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := autograd.Const(tensor.New(2, 3, 8))
	for _, tc := range []struct {
		name      string
		q, k, v   *autograd.Var
		masks     *Masks
		wantInErr string
	}{
		{"query width", autograd.Const(tensor.New(2, 3, 6)), x, x, nil, "query"},
		{"key batch", x, autograd.Const(tensor.New(1, 3, 8)), x, nil, "key"},
		{"value length", x, x, autograd.Const(tensor.New(2, 4, 8)), nil, "value"},
		{"padding length", x, x, x, &Masks{KeyPadding: make([]bool, 5)}, "padding"},
		{"mask shape", x, x, x, &Masks{Additive: make([]float32, 4), AdditiveShape: [4]int{1, 1, 2, 2}}, "ask"},
	} {
		_, _, err := m.Forward(autograd.NewGraph(false), tc.q, tc.k, tc.v, tc.masks, false)
		if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.wantInErr)
		}
	}
	for _, cfg := range []MHAConfig{
		{EmbedDim: 8, NumHeads: 3},
		{EmbedDim: 8, NumHeads: 4, NumKVHeads: 3},
		{EmbedDim: 8, NumHeads: 2, KDim: 6},
		{EmbedDim: 0, NumHeads: 2},
		{EmbedDim: 8, NumHeads: 2, Dropout: 1},
	} {
		if _, err := NewMultiHeadAttention(cfg, nil); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// TestRotaryGQAGolden checks a Llama-style block (separate q/k/v/out
// projections with bias, 4 query heads over 2 KV heads, half-layout RoPE,
// causal) against plain-torch code in tools/golden/nn_positions.py.
func TestRotaryGQAGolden(t *testing.T) {
	fx := openFixture(t, "mha_rotary_gqa")
	m, err := NewMultiHeadAttention(MHAConfig{EmbedDim: 16, NumHeads: 4, NumKVHeads: 2, Bias: true, Layout: ProjSeparate,
		Rotary: &Rotary{Dim: 4, Base: 10000, Layout: RotaryHalf}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fx.load(m)
	g := autograd.NewGraph(true)
	in := fx.inputs(g, "x")
	out, w, err := m.Forward(g, in["x"], in["x"], in["x"], &Masks{Causal: true}, true)
	if err != nil {
		t.Fatal(err)
	}
	fx.checkAll(t, g, m, in, out, w)
}
