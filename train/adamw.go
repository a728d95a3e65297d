package train

import (
	"fmt"
	"math"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/internal/parallel"
	"github.com/attn-dev/attn/tensor"
)

// Group is a set of parameters that share a learning rate and a weight
// decay, like one entry of torch's param_groups. The usual split puts
// matrices in a group with decay and biases and norm gains in one without
// (see DecayGroups).
type Group struct {
	Name        string
	Params      []*autograd.Var
	LR          float64
	WeightDecay float64
}

// AdamW is torch.optim.AdamW (amsgrad off, maximize off): Adam with weight
// decay decoupled from the gradient (Loshchilov & Hutter). For each
// parameter p with gradient g, at its t-th step:
//
//	p ← p·(1 − lr·wd)
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
//
// in float32 with torch's order of operations, so three steps match a
// PyTorch run to float32 rounding.
type AdamW struct {
	beta1, beta2, eps float64
	groups            []Group
	state             [][]adamwMoments // [group][param], allocated on first step

	// job is the parameter being updated; run, made once, reads it, so
	// handing the update to parallel.For allocates nothing per step.
	job adamwJob
	run func(lo, hi int)
}

type adamwJob struct {
	p, g   []float32
	st     *adamwMoments
	lr, wd float64
}

func (o *AdamW) runChunk(lo, hi int) {
	j := &o.job
	chunk := adamwMoments{m: j.st.m[lo:hi], v: j.st.v[lo:hi], step: j.st.step}
	adamwUpdate(j.p[lo:hi], j.g[lo:hi], &chunk, j.lr, j.wd, o.beta1, o.beta2, o.eps)
}

// NewAdamW returns an AdamW over the given groups. β1, β2 must lie in
// [0, 1), ε must be positive, every group needs a non-negative learning
// rate and weight decay, and no parameter may appear twice.
func NewAdamW(beta1, beta2, eps float64, groups ...Group) (*AdamW, error) {
	switch {
	case !(beta1 >= 0 && beta1 < 1):
		return nil, fmt.Errorf("train: optimizer: beta1=%g must be in [0, 1)", beta1)
	case !(beta2 >= 0 && beta2 < 1):
		return nil, fmt.Errorf("train: optimizer: beta2=%g must be in [0, 1)", beta2)
	case !(eps > 0):
		return nil, fmt.Errorf("train: optimizer: eps=%g must be positive", eps)
	case len(groups) == 0:
		return nil, fmt.Errorf("train: optimizer: no parameter groups")
	}
	seen := map[*autograd.Var]string{}
	o := &AdamW{beta1: beta1, beta2: beta2, eps: eps}
	o.run = o.runChunk
	for gi, g := range groups {
		if !(g.LR >= 0) || !(g.WeightDecay >= 0) {
			return nil, fmt.Errorf("train: optimizer: group %d (%q): lr=%g and weight decay=%g must be non-negative", gi, g.Name, g.LR, g.WeightDecay)
		}
		for pi, p := range g.Params {
			where := fmt.Sprintf("group %d (%q) parameter %d", gi, g.Name, pi)
			if p == nil || p.Value == nil {
				return nil, fmt.Errorf("train: optimizer: %s is nil", where)
			}
			if !p.Value.IsContiguous() {
				return nil, fmt.Errorf("train: optimizer: %s of shape %v is not contiguous", where, p.Value.Shape)
			}
			if prev, dup := seen[p]; dup {
				return nil, fmt.Errorf("train: optimizer: %s is also %s", where, prev)
			}
			seen[p] = where
		}
		g.Params = append([]*autograd.Var(nil), g.Params...)
		o.groups = append(o.groups, g)
	}
	o.state = make([][]adamwMoments, len(o.groups))
	for gi, g := range o.groups {
		o.state[gi] = make([]adamwMoments, len(g.Params))
	}
	return o, nil
}

// Groups returns the optimizer's groups (the slices are shared; do not
// change them).
func (o *AdamW) Groups() []Group { return o.groups }

// Step updates every parameter that has a gradient, with each group's
// learning rate multiplied by lrScale (the schedule's factor). Parameters
// whose Grad is nil are skipped and keep their step count, as torch skips
// parameters whose .grad is None.
func (o *AdamW) Step(lrScale float64) error {
	if !(lrScale >= 0) || math.IsInf(lrScale, 0) {
		return fmt.Errorf("train: optimizer step: learning-rate scale %g must be finite and non-negative", lrScale)
	}
	for _, g := range o.groups {
		for pi, p := range g.Params {
			if p.Grad != nil && !tensor.SameShape(p.Grad, p.Value) {
				return fmt.Errorf("train: optimizer step: group %q parameter %d: gradient shape %v, value shape %v", g.Name, pi, p.Grad.Shape, p.Value.Shape)
			}
		}
	}
	for gi, g := range o.groups {
		lr := g.LR * lrScale
		for pi, p := range g.Params {
			if p.Grad == nil {
				continue
			}
			st := &o.state[gi][pi]
			if st.m == nil {
				n := p.Value.Len()
				st.m, st.v = make([]float32, n), make([]float32, n)
			}
			o.job = adamwJob{p: p.Value.Data(), g: p.Grad.Contiguous().Data(), st: st, lr: lr, wd: g.WeightDecay}
			parallel.For(len(o.job.p), 1<<14, o.run)
			o.job = adamwJob{}
			st.step++
		}
	}
	return nil
}

// ZeroGrad clears the gradient of every parameter.
func (o *AdamW) ZeroGrad() {
	for _, g := range o.groups {
		for _, p := range g.Params {
			p.ZeroGrad()
		}
	}
}

// StepCount returns how many updates the first parameter with state has
// received (all parameters that always get gradients share it).
func (o *AdamW) StepCount() int {
	for _, gs := range o.state {
		for _, st := range gs {
			if st.step > 0 {
				return st.step
			}
		}
	}
	return 0
}

// DecayGroups splits params the usual way for AdamW: matrices and
// embedding tables (rank ≥ 2) decay with weightDecay; vectors (biases,
// LayerNorm gains and shifts) do not. Both groups use lr.
func DecayGroups(params []*autograd.Var, lr, weightDecay float64) []Group {
	decay := Group{Name: "decay", LR: lr, WeightDecay: weightDecay}
	noDecay := Group{Name: "no_decay", LR: lr}
	for _, p := range params {
		if p != nil && p.Value != nil && p.Value.Rank() >= 2 {
			decay.Params = append(decay.Params, p)
		} else {
			noDecay.Params = append(noDecay.Params, p)
		}
	}
	return []Group{decay, noDecay}
}

// ParamState is AdamW's state for one parameter, as torch keeps it:
// the number of steps taken, exp_avg (m) and exp_avg_sq (v).
type ParamState struct {
	Step             int
	ExpAvg, ExpAvgSq []float32
}

// find returns the group and index of p.
func (o *AdamW) find(p *autograd.Var) (gi, pi int, ok bool) {
	for gi, g := range o.groups {
		for pi, q := range g.Params {
			if q == p {
				return gi, pi, true
			}
		}
	}
	return 0, 0, false
}

// State returns a copy of p's state (for a checkpoint); ok is false when
// p is not optimised here. A parameter that has not stepped yet has
// Step 0 and nil moments.
func (o *AdamW) State(p *autograd.Var) (st ParamState, ok bool) {
	gi, pi, ok := o.find(p)
	if !ok {
		return st, false
	}
	s := o.state[gi][pi]
	st.Step = s.step
	if s.m != nil {
		st.ExpAvg = append([]float32(nil), s.m...)
		st.ExpAvgSq = append([]float32(nil), s.v...)
	}
	return st, true
}

// moments returns p's moments without copying them (nil before its first
// step), for writing a checkpoint: State's copies of a large model's
// moments would be twice its size in garbage.
func (o *AdamW) moments(p *autograd.Var) (m, v []float32) {
	gi, pi, ok := o.find(p)
	if !ok {
		return nil, nil
	}
	s := o.state[gi][pi]
	return s.m, s.v
}

// SetState restores p's state from a checkpoint (copying the moments).
func (o *AdamW) SetState(p *autograd.Var, st ParamState) error {
	gi, pi, ok := o.find(p)
	if !ok {
		return fmt.Errorf("train: optimizer state: parameter of shape %v is not in any group", p.Value.Shape)
	}
	n := p.Value.Len()
	if st.Step < 0 || len(st.ExpAvg) != n || len(st.ExpAvgSq) != n {
		return fmt.Errorf("train: optimizer state: step %d with %d and %d moments for a parameter of %d elements", st.Step, len(st.ExpAvg), len(st.ExpAvgSq), n)
	}
	o.state[gi][pi] = adamwMoments{m: append([]float32(nil), st.ExpAvg...), v: append([]float32(nil), st.ExpAvgSq...), step: st.Step}
	return nil
}
