package train

import (
	"math/rand/v2"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/nn"
)

// TestTrainingReducesLoss wires nn and train together: a one-layer
// causal Transformer encoder with token and learned position embeddings
// learns to copy the previous token (which needs attention), using AdamW
// with decay groups, clipping and warm-up + cosine. The loss must fall
// from about ln V to well under half of it.
func TestTrainingReducesLoss(t *testing.T) {
	const v, c, b, tl, steps = 8, 16, 8, 6, 150
	rng := rand.New(rand.NewPCG(42, 1))
	tok, err := nn.NewEmbedding(v, c, rng)
	if err != nil {
		t.Fatal(err)
	}
	pos, _ := nn.NewEmbedding(tl, c, rng)
	layer, err := nn.NewEncoderLayer(nn.LayerConfig{DModel: c, NHead: 2, DimFF: 32, Activation: nn.GELU, NormFirst: true}, rng)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := nn.NewLinear(c, v, true, rng)
	var params []*autograd.Var
	for _, m := range []nn.Module{tok, pos, layer, head} {
		params = append(params, nn.Parameters(m)...)
	}
	opt, err := NewAdamW(0.9, 0.95, 1e-8, DecayGroups(params, 1e-2, 0.01)...)
	if err != nil {
		t.Fatal(err)
	}
	sched := WarmupCosine{Warmup: 10, Total: steps, MinRatio: 0.1}
	if err := sched.Validate(); err != nil {
		t.Fatal(err)
	}
	g := autograd.NewGraph(true)
	ids, targets := make([]int, b*tl), make([]int, b*tl)
	masks := &nn.Masks{Causal: true}
	var first, last float32
	for step := 0; step < steps; step++ {
		for i := range ids {
			ids[i] = rng.IntN(v)
			targets[i] = -1 // the first position has no previous token
			if i%tl > 0 {
				targets[i] = ids[i-1]
			}
		}
		g.Reset()
		opt.ZeroGrad()
		x, err := tok.Forward(g, ids, b, tl)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := pos.Positions(g, 0, tl)
		h, _, err := layer.Forward(g, g.Add(x, p), masks, false)
		if err != nil {
			t.Fatal(err)
		}
		loss := g.CrossEntropy(g.Reshape(head.Forward(g, h), b*tl, v), targets, -1)
		if err := g.Backward(loss); err != nil {
			t.Fatal(err)
		}
		if _, err := ClipGradNorm(params, 1); err != nil {
			t.Fatal(err)
		}
		if err := opt.Step(sched.Factor(step)); err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = loss.Value.Item()
		}
		last = loss.Value.Item()
	}
	t.Logf("loss %.3f → %.3f over %d steps", first, last, steps)
	if !(last < 0.4*first) {
		t.Errorf("loss fell only from %.3f to %.3f", first, last)
	}
}
