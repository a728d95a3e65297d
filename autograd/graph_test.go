package autograd

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/attn-dev/attn/attention"
	"github.com/attn-dev/attn/internal/alloctest"
	"github.com/attn-dev/attn/tensor"
)

func randTensor(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data() {
		t.Data()[i] = float32(2*r.Float64() - 1)
	}
	return t
}

// block is a tiny pre-norm Transformer block with an LM head: the shape
// of a real training step, small enough for tests.
type block struct {
	wte, ln1g, ln1b, wqkv, bqkv, wo, ln2g, ln2b, w1, b1, w2, b2 *Var
	b, t, c, nh, v                                              int
	p                                                           attention.Params
	ids, targets                                                []int
}

func newBlock(seed uint64) *block { return newBlockSized(seed, 2, 8, 16, 2, 11, 1) }

// newBlockSized draws parameters uniform in [-scale, scale).
func newBlockSized(seed uint64, b, t, c, nh, v int, scale float32) *block {
	r := rand.New(rand.NewPCG(seed, 1))
	k := &block{b: b, t: t, c: c, nh: nh, v: v}
	P := func(s ...int) *Var {
		x := randTensor(r, s...)
		x.Scale(scale)
		return Param(x)
	}
	k.wte, k.ln1g, k.ln1b = P(k.v, k.c), P(k.c), P(k.c)
	k.wqkv, k.bqkv, k.wo = P(3*k.c, k.c), P(3*k.c), P(k.c, k.c)
	k.ln2g, k.ln2b, k.w1, k.b1, k.w2, k.b2 = P(k.c), P(k.c), P(4*k.c, k.c), P(4*k.c), P(k.c, 4*k.c), P(k.c)
	k.p = attention.Params{B: k.b, NH: k.nh, Tq: k.t, Tk: k.t, HS: k.c / k.nh, Causal: true}
	for i := 0; i < k.b*k.t; i++ {
		k.ids = append(k.ids, r.IntN(k.v))
		k.targets = append(k.targets, r.IntN(k.v))
	}
	k.targets[3] = -100
	return k
}

func (k *block) params() []*Var {
	return []*Var{k.wte, k.ln1g, k.ln1b, k.wqkv, k.bqkv, k.wo, k.ln2g, k.ln2b, k.w1, k.b1, k.w2, k.b2}
}

// forward returns the mean cross-entropy of next-token logits.
func (k *block) forward(g *Graph) *Var {
	x := k.layer(g, g.Embedding(k.wte, k.ids, k.b, k.t), 0.1)
	logits := g.MatMul(x, k.wte, false, true) // tied head
	return g.CrossEntropy(logits, k.targets, -100)
}

// layer is the pre-norm Transformer layer on x [B, T, C].
func (k *block) layer(g *Graph, x *Var, dropout float32) *Var {
	h := g.LayerNorm(x, k.ln1g, k.ln1b, 1e-5)
	qkv := g.Split(g.Linear(h, k.wqkv, k.bqkv), -1, k.c, k.c, k.c)
	q, kk, v := g.SplitHeads(qkv[0], k.nh), g.SplitHeads(qkv[1], k.nh), g.SplitHeads(qkv[2], k.nh)
	a, _ := g.Attention(q, kk, v, &k.p, false)
	x = g.Add(x, g.Linear(g.MergeHeads(a), k.wo, nil))
	h = g.LayerNorm(x, k.ln2g, k.ln2b, 1e-5)
	return g.Add(x, g.Dropout(g.Linear(g.GELU(g.Linear(h, k.w1, k.b1)), k.w2, k.b2), dropout))
}

// forwardMLP is the block without attention (embedding, broadcast bias,
// norms, linears, GELU, dropout, residuals, split/concat, tied head,
// cross-entropy).
func (k *block) forwardMLP(g *Graph) *Var {
	x := g.Embedding(k.wte, k.ids, k.b, k.t)
	x = g.Add(x, k.ln1b) // broadcast bias [C] over [B, T, C]
	h := g.LayerNorm(x, k.ln2g, k.ln2b, 1e-5)
	x = g.Add(x, g.Dropout(g.Linear(g.GELU(g.Linear(h, k.w1, k.b1)), k.w2, k.b2), 0.1))
	parts := g.Split(x, -1, k.c/2, k.c/2)
	x = g.Concat(-1, parts[1], parts[0])
	return g.CrossEntropy(g.MatMul(x, k.wte, false, true), k.targets, -100)
}

// forwardMisc chains the ops the other forwards do not use.
func (k *block) forwardMisc(g *Graph) *Var {
	x := g.Reshape(g.Embedding(k.wte, k.ids, k.b, k.t), k.b*k.t, k.c)
	h := g.RMSNorm(x, k.ln1g, 1e-6)
	h = g.Sub(g.SiLU(h), g.Mul(g.ReLU(h), g.Tanh(x)))
	h = g.AddScalar(g.Scale(g.GELUTanh(h), 0.5), 0.1)
	p := g.Mean(g.Softmax(g.Transpose(h, 0, 1)))
	p = g.Add(p, g.Mean(g.SumAxis(g.MeanAxis(g.Reshape(h, k.b, k.t, k.c), 1), 0)))
	return g.Add(g.Sum(g.LogSoftmax(h)), p)
}

// stepAllocs returns the heap allocations of one steady-state
// Reset+forward+backward through a reused graph.
func stepAllocs(t *testing.T, fwd func(g *Graph) *Var) float64 {
	g := NewGraph(true)
	step := func() {
		g.Reset()
		g.SetSeed(42)
		if err := g.Backward(fwd(g)); err != nil {
			t.Fatal(err)
		}
	}
	step()
	step()
	before := g.Arena().Allocated()
	allocs := alloctest.PerCall(step)
	if g.Arena().Allocated() != before {
		t.Fatalf("arena grew from %d to %d floats in steady state", before, g.Arena().Allocated())
	}
	return allocs
}

func TestSteadyStateAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	k := newBlock(3)
	if a := stepAllocs(t, k.forwardMLP); a != 0 {
		t.Fatalf("MLP training step allocates %v objects per step, want 0", a)
	}
	if a := stepAllocs(t, k.forwardMisc); a != 0 {
		t.Fatalf("element-wise/norm/softmax step allocates %v objects per step, want 0", a)
	}
	ev := NewGraph(false)
	infer := func() { ev.Reset(); k.forwardMLP(ev) }
	infer()
	if a := alloctest.PerCall(infer); a != 0 {
		t.Fatalf("MLP inference step allocates %v objects per step, want 0", a)
	}
	// Attention included: package attention pools its per-call state.
	if a := stepAllocs(t, k.forward); a != 0 {
		t.Fatalf("attention block training step allocates %v objects per step, want 0", a)
	}
}

func TestInferenceRecordsNothing(t *testing.T) {
	k := newBlock(5)
	ev := NewGraph(false)
	loss := k.forward(ev)
	if len(ev.nodes) != 0 || loss.RequiresGrad() {
		t.Fatalf("inference graph recorded %d nodes (loss requires grad: %v)", len(ev.nodes), loss.RequiresGrad())
	}
	if err := ev.Backward(loss); err == nil || !strings.Contains(err.Error(), "train=false") {
		t.Fatalf("Backward on an inference graph: %v", err)
	}
	// Same forward in a training graph with dropout off gives the same loss.
	tr := NewGraph(true)
	x := tr.Embedding(k.wte, k.ids, k.b, k.t)
	if d := tr.Dropout(x, 0); d != x {
		t.Fatal("Dropout(p=0) is not the identity")
	}
	if ed := ev.Dropout(ev.Input(x.Value, false), 0.5); ed.Value != x.Value {
		t.Fatal("Dropout in an inference graph is not the identity")
	}
	want := loss.Value.Item()
	ev.Reset()
	if got := k.forward(ev).Value.Item(); got != want {
		t.Fatalf("inference loss after Reset %v, before %v", got, want)
	}
}

func TestParamGradAccumulatesAcrossSteps(t *testing.T) {
	k := newBlock(9)
	g := NewGraph(true)
	run := func() {
		g.Reset()
		g.SetSeed(1)
		if err := g.Backward(k.forwardMLP(g)); err != nil {
			t.Fatal(err)
		}
	}
	run()
	once := k.w1.Grad.Clone()
	run()
	twice := k.w1.Grad.Clone()
	once.Scale(2)
	if !tensor.AllClose(twice, once, 1e-6, 1e-5) {
		t.Fatal("a second Backward did not accumulate into Param.Grad")
	}
	for _, p := range k.params() {
		p.ZeroGrad()
	}
	run()
	once.Scale(0.5)
	if !tensor.AllClose(k.w1.Grad, once, 1e-6, 1e-5) {
		t.Fatal("ZeroGrad did not clear the gradient")
	}
}

func TestBackwardErrors(t *testing.T) {
	x := Param(tensor.FromSlice([]float32{1, 2}, 2))
	c := Const(tensor.FromSlice([]float32{1}, 1))
	tests := []struct {
		name string
		fn   func(g *Graph) error
		want string
	}{
		{"not-scalar", func(g *Graph) error { return g.Backward(g.Tanh(x)) }, "shape [2]"},
		{"no-grad", func(g *Graph) error { return g.Backward(g.Tanh(c)) }, "does not depend"},
		{"nil", func(g *Graph) error { return g.Backward(nil) }, "nil loss"},
		{"twice", func(g *Graph) error {
			l := g.Sum(x)
			if err := g.Backward(l); err != nil {
				return err
			}
			return g.Backward(l)
		}, "already run"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.fn(NewGraph(true))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestOpMisusePanicsNamingShapes(t *testing.T) {
	v := func(s ...int) *Var { return Param(tensor.New(s...)) }
	p := &attention.Params{B: 1, NH: 2, Tq: 3, Tk: 3, HS: 4}
	tests := []struct {
		name string
		fn   func(g *Graph)
		want []string
	}{
		{"matmul-inner", func(g *Graph) { g.MatMul(v(3, 4), v(5, 6), false, false) }, []string{"autograd.MatMul", "[3 4]", "[5 6]"}},
		{"matmul-batch", func(g *Graph) { g.MatMul(v(2, 3, 4), v(3, 4, 5), false, false) }, []string{"batch", "[2 3 4]", "[3 4 5]"}},
		{"linear", func(g *Graph) { g.Linear(v(2, 5), v(3, 4), nil) }, []string{"autograd.Linear", "[2 5]", "[3 4]"}},
		{"linear-bias", func(g *Graph) { g.Linear(v(2, 4), v(3, 4), v(4)) }, []string{"bias", "[4]", "[3 4]"}},
		{"add", func(g *Graph) { g.Add(v(2, 3), v(4)) }, []string{"autograd.Add", "[2 3]", "[4]"}},
		{"layernorm", func(g *Graph) { g.LayerNorm(v(2, 3), v(4), v(4), 1e-5) }, []string{"autograd.LayerNorm", "[4]", "[2 3]"}},
		{"ce-target", func(g *Graph) { g.CrossEntropy(v(2, 3), []int{1, 3}, -100) }, []string{"target 3", "row 1", "[2 3]"}},
		{"ce-count", func(g *Graph) { g.CrossEntropy(v(2, 3), []int{1}, -100) }, []string{"2 rows", "1 targets"}},
		{"embedding-id", func(g *Graph) { g.Embedding(v(4, 2), []int{0, 4}) }, []string{"id 4", "[4 2]"}},
		{"embedding-shape", func(g *Graph) { g.Embedding(v(4, 2), []int{0, 1, 2}, 2, 2) }, []string{"[2 2]", "got 3"}},
		{"splitheads", func(g *Graph) { g.SplitHeads(v(1, 2, 7), 2) }, []string{"[1 2 7]", "NH=2"}},
		{"concat", func(g *Graph) { g.Concat(0, v(2, 3), v(2, 4)) }, []string{"[2 4]", "[2 3]"}},
		{"split", func(g *Graph) { g.Split(v(2, 5), 1, 2, 2) }, []string{"[2 2]", "[2 5]"}},
		{"dropout-p", func(g *Graph) { g.Dropout(v(2), 1.5) }, []string{"1.5"}},
		{"permute", func(g *Graph) { g.Permute(v(2, 3), 1, 1) }, []string{"tensor.Permute", "[1 1]", "[2 3]"}},
		{"transpose", func(g *Graph) { g.Transpose(v(2, 3), 0, 2) }, []string{"autograd.Transpose", "axis 2", "[2 3]"}},
		{"meanaxis", func(g *Graph) { g.MeanAxis(v(2, 0), 1) }, []string{"autograd.MeanAxis", "[2 0]"}},
		{"attention-shape", func(g *Graph) { g.Attention(v(1, 2, 3, 4), v(1, 2, 3, 5), v(1, 2, 3, 4), p, false) }, []string{"autograd.Attention", "[1 2 3 5]", "[1 2 3 4]"}},
		{"attention-params", func(g *Graph) {
			bad := *p
			bad.KeyPadding = make([]bool, 2)
			g.Attention(v(1, 2, 3, 4), v(1, 2, 3, 4), v(1, 2, 3, 4), &bad, false)
		}, []string{"KeyPadding"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := func() (err error) {
				defer tensor.Recover(&err)
				tc.fn(NewGraph(true))
				return nil
			}()
			var se *tensor.ShapeError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *tensor.ShapeError panic", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("message %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestDropout(t *testing.T) {
	const n, p = 100000, 0.3
	x := tensor.New(n)
	x.Fill(2)
	mask := func(seed uint64) []float32 {
		g := NewGraph(true)
		g.SetSeed(seed)
		return g.Dropout(g.Input(x, true), p).Value.Clone().Data()
	}
	a, b, c := mask(7), mask(7), mask(8)
	kept, same, diff := 0, 0, 0
	for i, v := range a {
		switch v {
		case 0:
		case float32(2 / (1 - p)):
			kept++
		default:
			t.Fatalf("element %d = %v, want 0 or x/(1-p) = %v", i, v, 2/(1-p))
		}
		if v == b[i] {
			same++
		}
		if v != c[i] {
			diff++
		}
	}
	// Kept fraction within 5 standard deviations of 1-p.
	sd := math.Sqrt(n * p * (1 - p))
	if math.Abs(float64(kept)-n*(1-p)) > 5*sd {
		t.Fatalf("kept %d of %d, want about %v", kept, n, n*(1-p))
	}
	if same != n {
		t.Fatal("the same seed gave a different mask")
	}
	if diff < n/10 {
		t.Fatalf("a different seed changed only %d elements", diff)
	}
	g := NewGraph(true)
	if z := g.Dropout(g.Input(x, false), 1).Value; z.Sum() != 0 {
		t.Fatalf("Dropout(p=1) sums to %v, want 0", z.Sum())
	}
}

func TestCrossEntropyAllIgnoredIsNaN(t *testing.T) {
	g := NewGraph(true)
	x := Param(tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2))
	l := g.CrossEntropy(x, []int{-1, -1}, -1)
	if !math.IsNaN(float64(l.Value.Item())) {
		t.Fatalf("loss %v, want NaN as torch", l.Value.Item())
	}
	if err := g.Backward(l); err != nil {
		t.Fatal(err)
	}
	if x.Grad.Sum() != 0 {
		t.Fatal("all-ignored cross-entropy has a non-zero gradient")
	}
	// One row of uniform logits: loss = log V.
	g.Reset()
	l = g.CrossEntropy(Const(tensor.New(1, 5)), []int{2}, -100)
	if d := math.Abs(float64(l.Value.Item()) - math.Log(5)); d > 1e-6 {
		t.Fatalf("uniform loss %v, want log 5", l.Value.Item())
	}
}

func TestStridedInputs(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	base := randTensor(r, 5, 3)
	view := base.Transpose(0, 1) // [3,5], not contiguous
	w := randTensor(r, 4, 5)
	g := NewGraph(true)
	x := Param(view)
	y := g.Linear(x, Const(w), nil)
	want := g.Linear(Const(view.Clone()), Const(w), nil)
	if !tensor.AllClose(y.Value, want.Value, 0, 0) {
		t.Fatal("Linear of a strided view differs from Linear of its copy")
	}
	if err := g.Backward(g.Sum(y)); err != nil {
		t.Fatal(err)
	}
	if !tensor.EqualShape(x.Grad.Shape, []int{3, 5}) || !x.Grad.IsContiguous() {
		t.Fatalf("gradient of a view has shape %v", x.Grad.Shape)
	}
}

func TestAttentionProbs(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	p := &attention.Params{B: 2, NH: 2, Tq: 3, Tk: 4, HS: 5, Causal: true}
	q, k, v := randTensor(r, 2, 2, 3, 5), randTensor(r, 2, 2, 4, 5), randTensor(r, 2, 2, 4, 5)
	g := NewGraph(false)
	out, probs := g.Attention(g.Input(q, false), g.Input(k, false), g.Input(v, false), p, true)
	if probs == nil || !tensor.EqualShape(probs.Value.Shape, []int{2, 2, 3, 4}) {
		t.Fatalf("probs %v, want shape [2 2 3 4]", probs)
	}
	// probs·V reproduces out, and probs rows are causal distributions.
	pv := g.MatMul(probs, g.Input(v, false), false, false)
	if !tensor.AllClose(pv.Value, out.Value, 1e-6, 1e-5) {
		t.Fatal("probs·V differs from the attention output")
	}
	pd := probs.Value.Data()
	for row := 0; row < len(pd)/4; row++ {
		i := row % 3
		var s float32
		for j := 0; j < 4; j++ {
			if j > i+1 && pd[row*4+j] != 0 {
				t.Fatalf("row %d: masked key %d has probability %v", row, j, pd[row*4+j])
			}
			s += pd[row*4+j]
		}
		if math.Abs(float64(s)-1) > 1e-6 {
			t.Fatalf("row %d sums to %v", row, s)
		}
	}
	if _, none := g.Attention(g.Input(q, false), g.Input(k, false), g.Input(v, false), p, false); none != nil {
		t.Fatal("probs returned without being asked for")
	}
}

// TestCrossEntropyGradFreshOrAccumulated: the cross-entropy backward sets
// a gradient it is first to write (no zeroing, ignored rows set to 0) and
// adds to one another op wrote first (there the product and the sum round
// once, fused: within an ulp of the other order).
func TestCrossEntropyGradFreshOrAccumulated(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	x := Param(randTensor(r, 5, 7))
	targets := []int{3, -100, 0, 6, -100}
	g := NewGraph(true) // shared: later builds get recycled, dirty buffers
	grad := func(build func(g *Graph, h *Var) *Var) []float32 {
		g.Reset()
		x.Grad = nil
		h := g.Scale(x, 1) // not a leaf: its gradient is the graph's
		if err := g.Backward(build(g, h)); err != nil {
			t.Fatal(err)
		}
		return x.Grad.Clone().Data()
	}
	ce := grad(func(g *Graph, h *Var) *Var { return g.CrossEntropy(g.Scale(h, 3), targets, -100) })
	ce = grad(func(g *Graph, h *Var) *Var { return g.CrossEntropy(h, targets, -100) })
	sumLast := grad(func(g *Graph, h *Var) *Var {
		return g.Add(g.CrossEntropy(h, targets, -100), g.Scale(g.Sum(h), 0.5))
	})
	sumFirst := grad(func(g *Graph, h *Var) *Var {
		return g.Add(g.Scale(g.Sum(h), 0.5), g.CrossEntropy(h, targets, -100))
	})
	for i := range ce {
		if row := i / 7; targets[row] == -100 && ce[i] != 0 {
			t.Fatalf("ignored row %d: gradient %g, want 0", row, ce[i])
		}
		want := ce[i] + 0.5
		if sumFirst[i] != want || math.Abs(float64(sumLast[i]-want)) > 1e-7 {
			t.Fatalf("element %d: %g (sum recorded last), %g (first), want %g", i, sumLast[i], sumFirst[i], want)
		}
	}
}

// TestFreshGradsOnRecycledBuffers: ops that write an intermediate's first
// gradient into an unzeroed buffer (Scale, Reshape, Add, Sub, Mul,
// Dropout, CrossEntropy) give, in a graph whose buffers are recycled and
// dirty, the gradients a new graph gives.
func TestFreshGradsOnRecycledBuffers(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	x := Param(randTensor(r, 6, 5))
	build := func(g *Graph) *Var {
		g.SetSeed(7)
		h := g.Scale(x, 1.5)
		a := g.Sub(g.Mul(h, g.Scale(x, -2)), g.Reshape(g.Dropout(h, 0.5), 6, 5))
		b := g.Add(a, g.Reshape(g.Scale(h, 0.25), 6, 5))
		return g.Add(g.CrossEntropy(b, []int{0, 4, -100, 2, 1, 3}, -100), g.Mean(g.Mul(a, a)))
	}
	grads := func(g *Graph) []float32 {
		x.Grad = nil
		if err := g.Backward(build(g)); err != nil {
			t.Fatal(err)
		}
		return x.Grad.Clone().Data()
	}
	want := grads(NewGraph(true))
	g := NewGraph(true)
	for range 3 { // the later rounds run on the earlier rounds' buffers
		g.Reset()
		got := grads(g)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("element %d: %g in a reused graph, %g in a new one", i, got[i], want[i])
			}
		}
	}
}
