package train

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/internal/alloctest"
	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/tensor"
)

func openFixture(t *testing.T, name string) *safetensors.File {
	t.Helper()
	f, err := safetensors.Open(filepath.Join("..", "testdata", "train", name+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func load(t *testing.T, f *safetensors.File, name string) *tensor.Tensor {
	t.Helper()
	d, shape, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return tensor.FromSlice(append([]float32(nil), d...), shape...)
}

// expectClose checks |got − want| ≤ atol + rtol·|want| element-wise.
func expectClose(t *testing.T, what string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > atol+rtol*math.Abs(float64(want[i])) {
			t.Errorf("%s[%d] = %.9g, want %.9g (|diff| %.3g)", what, i, got[i], want[i], d)
			return
		}
	}
}

// The AdamW fixture's parameters in state_dict order: a Linear(4, 8),
// LayerNorm(8), GELU, Linear(8, 3) stack, and tools/golden/optim.py's
// hyper-parameters.
var adamwNames = []string{"0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"}

const (
	adamwLR, adamwNoDecayLR = 1e-2, 5e-3
	adamwBeta1, adamwBeta2  = 0.9, 0.95
	adamwEps, adamwWD       = 1e-8, 0.1
)

// TestAdamWGolden runs three AdamW steps from PyTorch's initial parameters
// with PyTorch's gradients and compares the parameters after every step
// within 1e-7 + 1e-6·|want| (float32 rounding of the same operations).
func TestAdamWGolden(t *testing.T) {
	f := openFixture(t, "adamw")
	params := map[string]*autograd.Var{}
	var decay, noDecay []*autograd.Var
	for _, n := range adamwNames {
		v := autograd.Param(load(t, f, "step0."+n))
		params[n] = v
		if n == "0.weight" || n == "3.weight" {
			decay = append(decay, v)
		} else {
			noDecay = append(noDecay, v)
		}
	}
	opt, err := NewAdamW(adamwBeta1, adamwBeta2, adamwEps,
		Group{Name: "decay", Params: decay, LR: adamwLR, WeightDecay: adamwWD},
		Group{Name: "no_decay", Params: noDecay, LR: adamwNoDecayLR})
	if err != nil {
		t.Fatal(err)
	}
	for step := 1; step <= 3; step++ {
		prefix := "step" + string(rune('0'+step)) + "."
		for _, n := range adamwNames {
			params[n].Grad = load(t, f, prefix+"grad."+n)
		}
		if err := opt.Step(1); err != nil {
			t.Fatal(err)
		}
		for _, n := range adamwNames {
			expectClose(t, prefix+n, params[n].Value.Data(), load(t, f, prefix+n).Data(), 1e-7, 1e-6)
		}
	}
	if got := opt.StepCount(); got != 3 {
		t.Errorf("StepCount = %d, want 3", got)
	}
}

// TestAdamWFirstStep checks one step by hand: with zero moments the first
// update is lr·g/(|g| + ε) ≈ lr·sign(g) after the decay.
func TestAdamWFirstStep(t *testing.T) {
	p := autograd.Param(tensor.FromSlice([]float32{1, -2, 0.5}, 3))
	p.Grad = tensor.FromSlice([]float32{0.3, -4, 0}, 3)
	opt, err := NewAdamW(0.9, 0.999, 1e-8, Group{Params: []*autograd.Var{p}, LR: 0.1, WeightDecay: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if err := opt.Step(0.5); err != nil { // effective lr 0.05
		t.Fatal(err)
	}
	want := []float32{1*(1-0.025) - 0.05, -2*(1-0.025) + 0.05, 0.5 * (1 - 0.025)}
	expectClose(t, "p", p.Value.Data(), want, 1e-6, 1e-6)
}

func TestAdamWSkipsMissingGradients(t *testing.T) {
	a := autograd.Param(tensor.FromSlice([]float32{1, 2}, 2))
	b := autograd.Param(tensor.FromSlice([]float32{3}, 1))
	a.Grad = tensor.FromSlice([]float32{1, 1}, 2)
	opt, err := NewAdamW(0.9, 0.999, 1e-8, Group{Params: []*autograd.Var{a, b}, LR: 0.1, WeightDecay: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if err := opt.Step(1); err != nil {
		t.Fatal(err)
	}
	if b.Value.Data()[0] != 3 {
		t.Errorf("parameter without gradient changed to %g", b.Value.Data()[0])
	}
	if a.Value.Data()[0] == 1 {
		t.Error("parameter with gradient did not change")
	}
}

func TestAdamWErrors(t *testing.T) {
	p := autograd.Param(tensor.New(2, 2))
	ok := Group{Params: []*autograd.Var{p}, LR: 1e-3}
	for _, tc := range []struct {
		name         string
		b1, b2, eps  float64
		groups       []Group
		wantContains string
	}{
		{"beta1 one", 1, 0.999, 1e-8, []Group{ok}, "beta1"},
		{"beta2 negative", 0.9, -0.1, 1e-8, []Group{ok}, "beta2"},
		{"eps zero", 0.9, 0.999, 0, []Group{ok}, "eps"},
		{"no groups", 0.9, 0.999, 1e-8, nil, "no parameter groups"},
		{"negative lr", 0.9, 0.999, 1e-8, []Group{{Params: []*autograd.Var{p}, LR: -1}}, "lr"},
		{"nil parameter", 0.9, 0.999, 1e-8, []Group{{Params: []*autograd.Var{nil}}}, "nil"},
		{"duplicate", 0.9, 0.999, 1e-8, []Group{ok, ok}, "also"},
		{"strided", 0.9, 0.999, 1e-8, []Group{{Params: []*autograd.Var{autograd.Param(tensor.New(2, 3).Transpose(0, 1))}}}, "contiguous"},
	} {
		_, err := NewAdamW(tc.b1, tc.b2, tc.eps, tc.groups...)
		if err == nil || !strings.Contains(err.Error(), tc.wantContains) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.wantContains)
		}
	}
	opt, err := NewAdamW(0.9, 0.999, 1e-8, ok)
	if err != nil {
		t.Fatal(err)
	}
	p.Grad = tensor.New(4)
	if err := opt.Step(1); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("gradient of the wrong shape: error %v", err)
	}
	p.Grad = tensor.New(2, 2)
	if err := opt.Step(math.NaN()); err == nil {
		t.Error("NaN learning-rate scale: no error")
	}
}

func TestDecayGroups(t *testing.T) {
	w := autograd.Param(tensor.New(3, 2))
	b := autograd.Param(tensor.New(3))
	e := autograd.Param(tensor.New(5, 3))
	g := DecayGroups([]*autograd.Var{w, b, e}, 0.1, 0.01)
	if len(g) != 2 || len(g[0].Params) != 2 || g[0].Params[0] != w || g[0].Params[1] != e || g[0].WeightDecay != 0.01 {
		t.Errorf("decay group = %+v", g[0])
	}
	if len(g[1].Params) != 1 || g[1].Params[0] != b || g[1].WeightDecay != 0 || g[1].LR != 0.1 {
		t.Errorf("no-decay group = %+v", g[1])
	}
}

// TestClipGradNormGolden compares with torch.nn.utils.clip_grad_norm_:
// the returned norm within 1e-6 relative, clipped gradients within
// 1e-7 + 1e-6·|want|.
func TestClipGradNormGolden(t *testing.T) {
	f := openFixture(t, "clip")
	var params []*autograd.Var
	for _, n := range adamwNames {
		v := autograd.Param(tensor.New(1))
		v.Grad = load(t, f, "grad."+n)
		params = append(params, v)
	}
	total, err := ClipGradNorm(params, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	want := float64(load(t, f, "total_norm").Data()[0])
	if math.Abs(total-want) > 1e-6*want {
		t.Errorf("total norm %.9g, want %.9g", total, want)
	}
	for i, n := range adamwNames {
		expectClose(t, "clipped."+n, params[i].Grad.Data(), load(t, f, "clipped."+n).Data(), 1e-7, 1e-6)
	}
	if after := GradNorm(params); math.Abs(after-0.5) > 1e-5 {
		t.Errorf("norm after clipping %.9g, want 0.5", after)
	}
}

func TestClipGradNorm(t *testing.T) {
	grad := func(vals ...float32) *autograd.Var {
		v := autograd.Param(tensor.New(len(vals)))
		v.Grad = tensor.FromSlice(vals, len(vals))
		return v
	}
	for _, tc := range []struct {
		name      string
		params    []*autograd.Var
		maxNorm   float64
		wantNorm  float64
		wantFirst float32
		wantErr   bool
	}{
		{"below max untouched", []*autograd.Var{grad(3), grad(4)}, 10, 5, 3, false},
		{"above max scaled", []*autograd.Var{grad(3), grad(4)}, 1, 5, float32(3 * 1 / (5 + 1e-6)), false},
		{"missing gradient ignored", []*autograd.Var{grad(3, 4), autograd.Param(tensor.New(2))}, 1, 5, float32(3 * 1 / (5 + 1e-6)), false},
		{"NaN gradient", []*autograd.Var{grad(float32(math.NaN()), 1)}, 1, math.NaN(), float32(math.NaN()), true},
		{"bad max norm", []*autograd.Var{grad(1)}, 0, 0, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ClipGradNorm(tc.params, tc.maxNorm)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error: %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if math.Abs(n-tc.wantNorm) > 1e-6 {
				t.Errorf("norm %g, want %g", n, tc.wantNorm)
			}
			if got := tc.params[0].Grad.Data()[0]; math.Abs(float64(got-tc.wantFirst)) > 1e-7 {
				t.Errorf("first gradient %g, want %g", got, tc.wantFirst)
			}
		})
	}
}

func TestWarmupCosine(t *testing.T) {
	s := WarmupCosine{Warmup: 10, Total: 110, MinRatio: 0.1}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		step int
		want float64
	}{
		{-1, 0},
		{0, 0},
		{5, 0.5},
		{10, 1},
		{60, 0.1 + 0.9*0.5}, // half-way: cos(π/2) = 0
		{35, 0.1 + 0.9*0.5*(1+math.Cos(math.Pi*0.25))},      // a quarter of the decay
		{109, 0.1 + 0.9*0.5*(1+math.Cos(math.Pi*99/100.0))}, // last decaying step
		{110, 0.1},
		{1000, 0.1},
	} {
		if got := s.Factor(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Factor(%d) = %.15g, want %.15g", tc.step, got, tc.want)
		}
	}
	for _, bad := range []WarmupCosine{{Warmup: -1, Total: 5}, {Warmup: 5, Total: 4}, {Total: 5, MinRatio: 1.5}} {
		if bad.Validate() == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	// No warm-up and no floor: Hugging Face's cosine schedule.
	hf := WarmupCosine{Total: 4}
	for step, want := range []float64{1, 0.5 * (1 + math.Cos(math.Pi/4)), 0.5, 0.5 * (1 + math.Cos(3*math.Pi/4)), 0} {
		if got := hf.Factor(step); math.Abs(got-want) > 1e-12 {
			t.Errorf("no warm-up Factor(%d) = %g, want %g", step, got, want)
		}
	}
}

// TestAdamWStepAllocs: after the first step (which allocates the moments)
// a step allocates nothing.
func TestAdamWStepAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	var params []*autograd.Var
	for _, n := range []int{100000, 7, 3000} {
		p := autograd.Param(tensor.New(n))
		p.Grad = tensor.New(n)
		p.Grad.Fill(0.5)
		params = append(params, p)
	}
	opt, err := NewAdamW(0.9, 0.95, 1e-8, DecayGroups(params, 1e-3, 0.1)...)
	if err != nil {
		t.Fatal(err)
	}
	step := func() {
		if err := opt.Step(1); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if n := alloctest.PerCall(step); n != 0 {
		t.Errorf("%.0f allocations per step", n)
	}
	if _, err := ClipGradNorm(params, 1); err != nil {
		t.Fatal(err)
	}
	if n := alloctest.PerCall(func() { ClipGradNorm(params, 1) }); n != 0 {
		t.Errorf("ClipGradNorm: %.0f allocations", n)
	}
}

// TestAdamWStateRoundTrip: an optimizer restored from another's state
// after step 2 takes the same step 3 as the original (checked against
// PyTorch's step 3).
func TestAdamWStateRoundTrip(t *testing.T) {
	f := openFixture(t, "adamw")
	mk := func() (*AdamW, []*autograd.Var) {
		var ps []*autograd.Var
		for _, n := range adamwNames {
			ps = append(ps, autograd.Param(load(t, f, "step0."+n)))
		}
		var decay, noDecay []*autograd.Var
		for i, n := range adamwNames {
			if n == "0.weight" || n == "3.weight" {
				decay = append(decay, ps[i])
			} else {
				noDecay = append(noDecay, ps[i])
			}
		}
		o, err := NewAdamW(adamwBeta1, adamwBeta2, adamwEps,
			Group{Name: "decay", Params: decay, LR: adamwLR, WeightDecay: adamwWD},
			Group{Name: "no_decay", Params: noDecay, LR: adamwNoDecayLR})
		if err != nil {
			t.Fatal(err)
		}
		return o, ps
	}
	a, pa := mk()
	for step := 1; step <= 2; step++ {
		for i, n := range adamwNames {
			pa[i].Grad = load(t, f, "step"+string(rune('0'+step))+".grad."+n)
		}
		if err := a.Step(1); err != nil {
			t.Fatal(err)
		}
	}
	b, pb := mk()
	for i := range pa {
		copy(pb[i].Value.Data(), pa[i].Value.Data())
		st, ok := a.State(pa[i])
		if !ok || st.Step != 2 {
			t.Fatalf("state of %s: %+v, %v", adamwNames[i], st.Step, ok)
		}
		if err := b.SetState(pb[i], st); err != nil {
			t.Fatal(err)
		}
		pb[i].Grad = load(t, f, "step3.grad."+adamwNames[i])
	}
	if err := b.Step(1); err != nil {
		t.Fatal(err)
	}
	for i, n := range adamwNames {
		expectClose(t, "restored step3."+n, pb[i].Value.Data(), load(t, f, "step3."+n).Data(), 1e-7, 1e-6)
	}
	if err := b.SetState(pb[0], ParamState{Step: 1, ExpAvg: []float32{1}}); err == nil {
		t.Error("SetState with short moments: no error")
	}
	if _, ok := b.State(autograd.Param(tensor.New(1))); ok {
		t.Error("State of a foreign parameter reported ok")
	}
}
