package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
)

// TestFusedHeadLoss: a GPT-2 training step whose logits pass
// fuseHeadFloats fuses its LM head into the loss, with the loss and
// gradients of the unfused step.
func TestFusedHeadLoss(t *testing.T) {
	defer func(v int) { fuseHeadFloats = v }(fuseHeadFloats)
	const b, tt, v = 2, 16, 97
	rng := rand.New(rand.NewPCG(3, 3))
	ids, targets := make([]int, b*tt), make([]int, b*tt)
	for i := range ids {
		ids[i], targets[i] = rng.IntN(v), rng.IntN(v)
	}
	targets[5] = IgnoreIndex
	type result struct {
		loss   float32
		grads  map[string][]float32
		logits bool
	}
	run := func(threshold int) result {
		fuseHeadFloats = threshold
		m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 1, Heads: 2, Hidden: 16, Vocab: v, Context: tt, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		g := autograd.NewGraph(true)
		l, _, out, _, err := logitsLoss(g, m, &model.Inputs{B: b, T: tt, InputIDs: ids}, targets)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Backward(l); err != nil {
			t.Fatal(err)
		}
		r := result{loss: l.Value.Item(), grads: map[string][]float32{}, logits: out.Var("logits") != nil}
		for _, p := range m.NamedParameters("", nil) {
			r.grads[p.Name] = p.Var.Grad.Clone().Data()
		}
		return r
	}
	plain, fused := run(math.MaxInt), run(1)
	if !plain.logits || fused.logits {
		t.Fatalf("logits output: unfused %v (want true), fused %v (want false)", plain.logits, fused.logits)
	}
	if math.Abs(float64(fused.loss-plain.loss)) > 1e-6*math.Abs(float64(plain.loss)) {
		t.Errorf("fused loss %g, unfused %g", fused.loss, plain.loss)
	}
	for name, want := range plain.grads {
		got := fused.grads[name]
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-6+1e-4*math.Abs(float64(want[i])) {
				t.Fatalf("%s grad[%d] = %g fused, %g unfused", name, i, got[i], want[i])
			}
		}
	}
}
