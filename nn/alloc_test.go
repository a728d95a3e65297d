package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/attn-dev/attn/attention"
	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/internal/alloctest"
)

// TestEncoderLayerStepAllocs: once a graph has run a step, repeating
// forward + backward + Reset of an encoder layer through it allocates
// nothing beyond what the attention kernel itself allocates (measured on
// the same attention call alone); the layer code adds zero.
func TestEncoderLayerStepAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const b, tl, c, nh, nkv = 2, 6, 16, 4, 2
	l, err := NewEncoderLayer(LayerConfig{DModel: c, NHead: nh, NKVHead: nkv, DimFF: 32, Activation: GELU}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := randomTensor(rng, b, tl, c)
	masks := &Masks{Causal: true, KeyPadding: make([]bool, b*tl)}
	g := autograd.NewGraph(true)
	layerStep := func() {
		g.Reset()
		out, _, err := l.Forward(g, g.Input(x, false), masks, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Backward(g.Sum(out)); err != nil {
			t.Fatal(err)
		}
	}
	q, kv := randomTensor(rng, b, nh, tl, c/nh), randomTensor(rng, b, nkv, tl, c/nh)
	p := &attention.Params{B: b, NH: nh, NKV: nkv, Tq: tl, Tk: tl, HS: c / nh, Causal: true, KeyPadding: masks.KeyPadding}
	attnStep := func() {
		g.Reset()
		out, _ := g.Attention(g.Input(q, true), g.Input(kv, true), g.Input(kv, true), p, false)
		if err := g.Backward(g.Sum(out)); err != nil {
			t.Fatal(err)
		}
	}
	layerStep()
	attnStep()
	layer := alloctest.PerCall(layerStep)
	attn := alloctest.PerCall(attnStep)
	t.Logf("allocations per step: encoder layer %.0f, its attention call alone %.0f", layer, attn)
	if layer > attn {
		t.Errorf("encoder layer step allocates %.0f times, %.0f more than attention alone", layer, layer-attn)
	}
}
