package nn

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

func randomTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data() {
		t.Data()[i] = float32(rng.NormFloat64())
	}
	return t
}

// randomize overwrites every parameter of m with N(0, 0.3²) values (the
// constructors zero some biases, which would hide mistakes).
func randomize(m Module, rng *rand.Rand) {
	for _, p := range m.NamedParameters("", nil) {
		for i := range p.Var.Value.Data() {
			p.Var.Value.Data()[i] = float32(0.3 * rng.NormFloat64())
		}
	}
}

// expandKV repeats each of the nkv row blocks (hs rows each) of w
// (rows [nkv·hs, ...]) group times: the weights of the equivalent
// ungrouped attention.
func expandKV(w *tensor.Tensor, nkv, group, hs int) *tensor.Tensor {
	cols := w.Len() / w.Shape[0]
	shape := append([]int{w.Shape[0] * group}, w.Shape[1:]...)
	out := tensor.New(shape...)
	src, dst := w.Data(), out.Data()
	for j := 0; j < nkv; j++ {
		for r := 0; r < group; r++ {
			copy(dst[(j*group+r)*hs*cols:(j*group+r+1)*hs*cols], src[j*hs*cols:(j+1)*hs*cols])
		}
	}
	return out
}

// foldKV sums the group copies of each row block: the gradient of the
// grouped weight from the gradient of the expanded one.
func foldKV(g *tensor.Tensor, nkv, group, hs int) *tensor.Tensor {
	cols := g.Len() / g.Shape[0]
	shape := append([]int{g.Shape[0] / group}, g.Shape[1:]...)
	out := tensor.New(shape...)
	src, dst := g.Data(), out.Data()
	for j := 0; j < nkv; j++ {
		for r := 0; r < group; r++ {
			blk := src[(j*group+r)*hs*cols : (j*group+r+1)*hs*cols]
			for i, v := range blk {
				dst[j*hs*cols+i] += v
			}
		}
	}
	return out
}

// TestGroupedQueryAttention checks MHA with NKV < NH against ordinary MHA
// whose K/V projections repeat each KV head for its group of query heads:
// same output, and the grouped K/V weight gradients are the sums of the
// repeated ones. Both separate and fused projections are covered.
func TestGroupedQueryAttention(t *testing.T) {
	const b, tq, tk, c, nh, nkv = 2, 3, 5, 8, 4, 2
	const hs, group = c / nh, nh / nkv
	for _, layout := range []ProjLayout{ProjSeparate, ProjFused} {
		rng := rand.New(rand.NewPCG(1, uint64(layout)))
		gqa, err := NewMultiHeadAttention(MHAConfig{EmbedDim: c, NumHeads: nh, NumKVHeads: nkv, Bias: true, Layout: ProjSeparate}, rng)
		if err != nil {
			t.Fatal(err)
		}
		randomize(gqa, rng)
		full, err := NewMultiHeadAttention(MHAConfig{EmbedDim: c, NumHeads: nh, Bias: true, Layout: ProjSeparate}, rng)
		if err != nil {
			t.Fatal(err)
		}
		full.QProj, full.OutProj = gqa.QProj, gqa.OutProj
		full.KProj = &Linear{autograd.Param(expandKV(gqa.KProj.Weight.Value, nkv, group, hs)), autograd.Param(expandKV(gqa.KProj.Bias.Value, nkv, group, hs))}
		full.VProj = &Linear{autograd.Param(expandKV(gqa.VProj.Weight.Value, nkv, group, hs)), autograd.Param(expandKV(gqa.VProj.Bias.Value, nkv, group, hs))}
		model := gqa
		if layout == ProjFused {
			// The same grouped weights stacked into one in_proj [(NH+2·NKV)·HS, C].
			model, err = NewMultiHeadAttention(MHAConfig{EmbedDim: c, NumHeads: nh, NumKVHeads: nkv, Bias: true}, rng)
			if err != nil {
				t.Fatal(err)
			}
			w, bias := model.InProjWeight.Value.Data(), model.InProjBias.Value.Data()
			off, boff := 0, 0
			for _, l := range []*Linear{gqa.QProj, gqa.KProj, gqa.VProj} {
				off += copy(w[off:], l.Weight.Value.Data())
				boff += copy(bias[boff:], l.Bias.Value.Data())
			}
			model.OutProj = &Linear{autograd.Param(gqa.OutProj.Weight.Value.Clone()), autograd.Param(gqa.OutProj.Bias.Value.Clone())}
		}
		x := randomTensor(rng, b, tq, c)
		mem := randomTensor(rng, b, tk, c)
		w := randomTensor(rng, b, tq, c)
		masks := &Masks{KeyPadding: []bool{false, false, false, false, false, false, false, false, true, true}}
		run := func(m *MultiHeadAttention) (*autograd.Var, *autograd.Var) {
			g := autograd.NewGraph(true)
			q := g.Input(x.Clone(), true)
			out, _, err := m.Forward(g, q, g.Input(mem, false), g.Input(mem, false), masks, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Backward(g.Sum(g.Mul(out, g.Input(w, false)))); err != nil {
				t.Fatal(err)
			}
			return out, q
		}
		name := [...]string{"fused", "", "separate"}[layout]
		outG, qG := run(model)
		outF, qF := run(full)
		expectClose(t, name+" output", outG.Value, outF.Value, 1e-6, 1e-5)
		expectClose(t, name+" grad query", qG.Grad, qF.Grad, 1e-6, 1e-5)
		if layout == ProjSeparate {
			expectClose(t, "grad k_proj.weight", gqa.KProj.Weight.Grad, foldKV(full.KProj.Weight.Grad, nkv, group, hs), 1e-6, 1e-5)
			expectClose(t, "grad v_proj.bias", gqa.VProj.Bias.Grad, foldKV(full.VProj.Bias.Grad, nkv, group, hs), 1e-6, 1e-5)
		} else {
			kRows := model.InProjWeight.Grad.Slice(0, nh*hs, (nh+nkv)*hs)
			expectClose(t, "grad in_proj_weight K rows", kRows.Contiguous(), foldKV(full.KProj.Weight.Grad, nkv, group, hs), 1e-6, 1e-5)
		}
	}
}

// TestProjLayoutsAgree loads one set of weights into the fused and the
// Hugging Face-style separate layouts and compares self-attention output
// and the per-head weights.
func TestProjLayoutsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fused, _ := NewMultiHeadAttention(MHAConfig{EmbedDim: 8, NumHeads: 2, Bias: true}, rng)
	sep, _ := NewMultiHeadAttention(MHAConfig{EmbedDim: 8, NumHeads: 2, Bias: true, Layout: ProjSeparate}, rng)
	randomize(fused, rng)
	for i, l := range []*Linear{sep.QProj, sep.KProj, sep.VProj} {
		copy(l.Weight.Value.Data(), fused.InProjWeight.Value.Data()[i*64:(i+1)*64])
		copy(l.Bias.Value.Data(), fused.InProjBias.Value.Data()[i*8:(i+1)*8])
	}
	sep.OutProj = fused.OutProj
	names := strings.Join(func() (s []string) {
		for _, p := range sep.NamedParameters("attn.", nil) {
			s = append(s, p.Name)
		}
		return
	}(), " ")
	if want := "attn.q_proj.weight attn.q_proj.bias attn.k_proj.weight attn.k_proj.bias attn.v_proj.weight attn.v_proj.bias attn.out_proj.weight attn.out_proj.bias"; names != want {
		t.Errorf("separate names %q, want %q", names, want)
	}
	x := randomTensor(rng, 2, 4, 8)
	g := autograd.NewGraph(false)
	xv := g.Input(x, false)
	o1, w1, err1 := fused.Forward(g, xv, xv, xv, &Masks{Causal: true}, true)
	o2, w2, err2 := sep.Forward(g, xv, xv, xv, &Masks{Causal: true}, true)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	expectClose(t, "output", o1.Value, o2.Value, 1e-6, 1e-5)
	expectClose(t, "weights", w1.Value, w2.Value, 1e-6, 1e-5)
}

// TestDropoutOffInInference: a model with dropout gives the deterministic
// (dropout-free) output in an inference graph, and a different one in a
// training graph.
func TestDropoutOffInInference(t *testing.T) {
	cfg := LayerConfig{DModel: 8, NHead: 2, DimFF: 16, Activation: GELU, Dropout: 0.3}
	m, err := NewTransformer(cfg, 1, 1, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	src, tgt := randomTensor(rng, 2, 5, 8), randomTensor(rng, 2, 3, 8)
	masks := TransformerMasks{Tgt: &Masks{Causal: true}}
	forward := func(train bool, dropout float32) *tensor.Tensor {
		for _, l := range m.Encoder.Layers {
			l.Cfg.Dropout, l.FF.Dropout, l.SelfAttn.Cfg.Dropout = dropout, dropout, dropout
		}
		for _, l := range m.Decoder.Layers {
			l.Cfg.Dropout, l.FF.Dropout, l.SelfAttn.Cfg.Dropout, l.CrossAttn.Cfg.Dropout = dropout, dropout, dropout, dropout
		}
		g := autograd.NewGraph(train)
		out, err := m.Forward(g, g.Input(src, train), g.Input(tgt, false), masks)
		if err != nil {
			t.Fatal(err)
		}
		return out.Value.Clone()
	}
	eval := forward(false, 0.3)
	plain := forward(true, 0)
	expectClose(t, "inference vs no dropout", eval, plain, 0, 0)
	if closeTo(forward(true, 0.3), plain, 1e-3, 0) == "" {
		t.Error("dropout 0.3 in a training graph changed nothing")
	}
}

func TestEmbeddingAndLearnedPositions(t *testing.T) {
	e, err := NewEmbedding(6, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := autograd.NewGraph(true)
	tok, err := e.Forward(g, []int{5, 0, 2, 2}, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	pos, err := e.Positions(g, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	sum := g.Add(tok, pos) // [2, 2, 4] + [2, 4]
	want := tensor.New(2, 2, 4)
	tab := e.Weight.Value.Data()
	for i, id := range []int{5, 0, 2, 2} {
		for c := 0; c < 4; c++ {
			want.Data()[i*4+c] = tab[id*4+c] + tab[(1+i%2)*4+c]
		}
	}
	expectClose(t, "token + position", sum.Value, want, 0, 0)
	if err := g.Backward(g.Sum(sum)); err != nil {
		t.Fatal(err)
	}
	// Row 2 is picked twice as a token and twice as position 1 … row 1 once.
	counts := []float32{1, 2, 4, 0, 0, 1}
	for r, n := range counts {
		if got := e.Weight.Grad.Data()[r*4]; got != n {
			t.Errorf("grad row %d = %g, want %g", r, got, n)
		}
	}
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"id out of range", func() error { _, err := e.Forward(g, []int{6}); return err }},
		{"negative id", func() error { _, err := e.Forward(g, []int{-1}); return err }},
		{"shape mismatch", func() error { _, err := e.Forward(g, []int{1, 2, 3}, 2, 2); return err }},
		{"positions past the table", func() error { _, err := e.Positions(g, 4, 3); return err }},
	} {
		if err := tc.run(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	l, _ := NewLinear(3, 2, true, nil)
	src := mapSource{"weight": tensor.New(2, 3), "bias": tensor.New(3)}
	if err := Load(l, src, ""); err == nil || !strings.Contains(err.Error(), "bias") {
		t.Errorf("wrong bias shape: error %v", err)
	}
	if err := Load(l, src, "layer."); err == nil || !strings.Contains(err.Error(), "layer.weight") {
		t.Errorf("missing tensor: error %v", err)
	}
	src["bias"] = tensor.FromSlice([]float32{1, 2}, 2)
	if err := Load(l, src, ""); err != nil || l.Bias.Value.Data()[1] != 2 {
		t.Errorf("load: %v, bias %v", err, l.Bias.Value.Data())
	}
}

type mapSource map[string]*tensor.Tensor

func (m mapSource) Float32(name string) ([]float32, []int, error) {
	t, ok := m[name]
	if !ok {
		return nil, nil, &tensor.ShapeError{Op: "mapSource", Msg: name + " not found"}
	}
	return t.Data(), t.Shape, nil
}

func TestConstructorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"linear zero in", func() error { _, err := NewLinear(0, 2, true, nil); return err }()},
		{"embedding zero", func() error { _, err := NewEmbedding(3, 0, nil); return err }()},
		{"layernorm eps", func() error { _, err := NewLayerNorm(3, 0); return err }()},
		{"layer heads", func() error { _, err := NewEncoderLayer(LayerConfig{DModel: 8, NHead: 3, DimFF: 4}, nil); return err }()},
		{"layer dropout", func() error {
			_, err := NewDecoderLayer(LayerConfig{DModel: 8, NHead: 2, DimFF: 4, Dropout: 1}, nil)
			return err
		}()},
		{"activation", func() error { _, err := NewFeedForward(4, 8, Activation(9), 0, nil); return err }()},
		{"no layers", func() error {
			_, err := NewTransformer(LayerConfig{DModel: 8, NHead: 2, DimFF: 4}, 0, 1, nil)
			return err
		}()},
		{"parse activation", func() error { _, err := ParseActivation("softplus"); return err }()},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
