package model

import (
	"testing"

	"github.com/attn-dev/attn/autograd"
)

// TestInferenceMemoryPerLayer: an inference forward keeps one layer's
// intermediates at a time (Graph.Free), so its arena holds about the same
// for 8 layers as for 2 (each layer's output, the residual stream, stays) — where a training graph, which must keep them for
// backward, grows with the depth.
func TestInferenceMemoryPerLayer(t *testing.T) {
	held := func(layers int, train bool) int {
		m, err := Init(InitOptions{Arch: "gpt2", Layers: layers, Heads: 4, Hidden: 64, Vocab: 64, Context: 256, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int, 200)
		for i := range ids {
			ids[i] = i % 64
		}
		g := autograd.NewGraph(train)
		if _, err := m.Forward(g, &Inputs{B: 1, T: 200, InputIDs: ids}, Options{}); err != nil {
			t.Fatal(err)
		}
		return g.Arena().Allocated()
	}
	i2, i8 := held(2, false), held(8, false)
	t2, t8 := held(2, true), held(8, true)
	t.Logf("arena floats: inference %d (2 layers) %d (8 layers); training %d, %d", i2, i8, t2, t8)
	if float64(i8) > 1.3*float64(i2) {
		t.Errorf("inference: 8 layers hold %d floats, 2 layers %d: activations are retained", i8, i2)
	}
	if float64(t8) < 2.5*float64(t2) {
		t.Errorf("training: 8 layers hold %d floats, 2 layers %d: the check cannot tell", t8, t2)
	}
}
