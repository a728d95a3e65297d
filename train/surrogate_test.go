package train

import (
	"math"
	"strings"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/nn"
)

// TestSurrogateGradients checks the chain the trainers rely on: the
// gradient a lmPass's surrogate puts on the model's parameters equals the
// finite-difference derivative of the full loss (DPO through the
// sequence log-probabilities; PPO's clipped objective through the token
// log-probabilities and the value head).
func TestSurrogateGradients(t *testing.T) {
	newLM := func(seed uint64) model.Model {
		m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 1, Heads: 2, Hidden: 8, Vocab: 7, Context: 16, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	policy, ref := newLM(1), newLM(2)
	head, err := nn.NewLinear(8, 1, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	pairs := []encodedPair{{[]int{1, 2}, []int{3, 4, 5}, []int{6, 0}}, {[]int{2}, []int{1, 1}, []int{5, 4, 3, 2}}}
	rc, rr, err := pairLogProbs(ref, pairs)
	if err != nil {
		t.Fatal(err)
	}
	s := pairSeqs(pairs)
	r := 2 // PPO over the first two response tokens of every row
	ppoRows := newSeqs([][]int{{1, 2}, {2, 3}, {4}}, [][]int{{3, 4}, {6, 0}, {1, 5}}, 0)
	// The old log-probabilities and values sit away from the clip
	// ranges' kinks (ratios 0.95, 1.08, 0.55, 2.0, 0.98, 0.67), where
	// finite differences hold.
	first, err := forwardLM(autograd.NewGraph(false), policy, ppoRows, head)
	if err != nil {
		t.Fatal(err)
	}
	fv := newRespView(ppoRows, r)
	old, oldV := fv.take(first.lp), fv.take(first.val)
	for i, d := range []float64{0.05, -0.08, 0.6, -0.7, 0.02, 0.4} {
		old[i] += d
	}
	for i, d := range []float64{0.05, -0.5, 0.1, 0.6, -0.02, -0.4} {
		oldV[i] += d
	}
	adv := []float64{0.5, -1.2, 0.8, 0.3, -0.4, 1.1}
	ret := []float64{0.4, -0.1, 0.2, 0.6, 0.0, -0.3}
	mask := []float64{1, 1, 1, 1, 1, 1}
	clip := PPOLossConfig{ClipRange: 0.2, ClipRangeValue: 0.2, VFCoef: 0.1}

	losses := []struct {
		name string
		// loss runs the forward in g, and with grad, the surrogate backward.
		loss func(g *autograd.Graph, grad bool) float64
	}{
		{"dpo", func(g *autograd.Graph, grad bool) float64 {
			p, err := forwardLM(g, policy, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			sums := p.sums()
			res, err := DPO(sums[:2], sums[2:], rc, rr, 0.5, DPOSigmoid)
			if err != nil {
				t.Fatal(err)
			}
			if grad {
				if err := p.backward(g, s.rowSpread(append(res.DChosen, res.DRejected...)), nil); err != nil {
					t.Fatal(err)
				}
			}
			return res.Loss
		}},
		{"ppo", func(g *autograd.Graph, grad bool) float64 {
			p, err := forwardLM(g, policy, ppoRows, head)
			if err != nil {
				t.Fatal(err)
			}
			v := newRespView(ppoRows, r)
			res := PPOLoss(old, oldV, v.take(p.lp), v.take(p.val), mask, adv, ret, clip)
			if grad {
				if err := p.backward(g, v.spread(res.DLogProbs), v.spread(res.DValues)); err != nil {
					t.Fatal(err)
				}
			}
			return res.Loss
		}},
	}
	params := append(policy.NamedParameters("", nil), head.NamedParameters("v_head.", nil)...)
	for _, l := range losses {
		t.Run(l.name, func(t *testing.T) {
			for _, p := range params {
				p.Var.Grad = nil
			}
			g := autograd.NewGraph(true)
			l.loss(g, true)
			checked := 0
			for _, p := range params {
				if p.Var.Grad == nil {
					if l.name == "ppo" || !strings.HasPrefix(p.Name, "v_head.") {
						t.Errorf("%s: no gradient", p.Name)
					}
					continue
				}
				data, grad := p.Var.Value.Data(), p.Var.Grad.Data()
				for _, i := range []int{0, len(data) / 2, len(data) - 1} {
					const eps = 3e-3
					keep := data[i]
					f := func(x float32) float64 {
						data[i] = x
						ev := autograd.NewGraph(false)
						return l.loss(ev, false)
					}
					num := (f(keep+eps) - f(keep-eps)) / (2 * eps)
					data[i] = keep
					if d := math.Abs(num - float64(grad[i])); d > 2e-3+0.03*math.Abs(num) {
						t.Errorf("%s[%d]: surrogate gradient %.6g, finite difference %.6g", p.Name, i, grad[i], num)
					}
					checked++
				}
			}
			if checked < 20 {
				t.Errorf("checked %d entries", checked)
			}
		})
	}
}
