package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attn-dev/attn/attention"
	"github.com/attn-dev/attn/tensor"
)

// gradCase is one finite-difference check: random inputs of the given
// shapes; fwd builds the op on a graph; ref computes the same function in
// float64 from the flattened inputs.
type gradCase struct {
	name   string
	shapes [][]int
	fwd    func(g *Graph, in []*Var) *Var
	ref    func(in [][]float64) []float64
	// gen draws input element j of input i (default: uniform in [-1, 1)).
	gen func(r *rand.Rand, i, j int) float64
	// noGrad lists inputs that get no gradient (checked to stay nil).
	noGrad map[int]bool
	// sample > 0 checks that many random elements of each input instead of
	// all (for shapes large enough to take the parallel paths).
	sample int
}

// Tolerances. The op runs in float32 and the numeric gradient comes from
// central differences of the float64 reference (step h, error O(h²)
// ≈ 1e-12, far below float32 rounding), so the comparison measures the
// float32 backward: |analytic − numeric| ≤ gradTol·(1 + |numeric|), and
// the forward |y32 − y64| ≤ fwdTol·(1 + |y64|).
const (
	gradTol = 2e-4
	fwdTol  = 1e-5
	fdStep  = 1e-5
)

func runGradCase(t *testing.T, tc gradCase) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
	in64 := make([][]float64, len(tc.shapes))
	vars := make([]*Var, len(tc.shapes))
	for i, s := range tc.shapes {
		n := prod(s)
		in64[i] = make([]float64, n)
		data := make([]float32, n)
		for j := range data {
			v := 2*r.Float64() - 1
			if tc.gen != nil {
				v = tc.gen(r, i, j)
			}
			data[j] = float32(v)
			in64[i][j] = float64(data[j]) // identical inputs for both sides
		}
		vars[i] = Param(tensor.FromSlice(data, s...))
		if tc.noGrad[i] {
			vars[i].SetRequiresGrad(false)
		}
	}
	g := NewGraph(true)
	y := tc.fwd(g, vars)
	want := tc.ref(in64)
	got := y.Value.Contiguous().Data()
	if len(got) != len(want) {
		t.Fatalf("forward has %d elements (shape %v), reference %d", len(got), y.Value.Shape, len(want))
	}
	for j := range got {
		if d := math.Abs(float64(got[j]) - want[j]); !(d <= fwdTol*(1+math.Abs(want[j]))) {
			t.Fatalf("forward[%d] = %v, reference %v (|diff| %.3g)", j, got[j], want[j], d)
		}
	}
	// L = Σ R ⊙ y with a fixed random R, so every output element matters.
	rw := make([]float32, len(got))
	r64 := make([]float64, len(got))
	for j := range rw {
		rw[j] = float32(2*r.Float64() - 1)
		r64[j] = float64(rw[j])
	}
	loss := g.Sum(g.Mul(y, Const(tensor.FromSlice(rw, y.Value.Shape...))))
	if err := g.Backward(loss); err != nil {
		t.Fatal(err)
	}
	lossAt := func() float64 {
		out := tc.ref(in64)
		var s float64
		for j, v := range out {
			s += r64[j] * v
		}
		return s
	}
	for i, v := range vars {
		if tc.noGrad[i] {
			if v.Grad != nil {
				t.Fatalf("input %d requires no gradient but got one", i)
			}
			continue
		}
		if v.Grad == nil {
			t.Fatalf("input %d %v got no gradient", i, tc.shapes[i])
		}
		gd := v.Grad.Data()
		for jj := range in64[i] {
			j := jj
			if tc.sample > 0 {
				if jj == tc.sample {
					break
				}
				j = r.IntN(len(in64[i]))
			}
			orig := in64[i][j]
			in64[i][j] = orig + fdStep
			lp := lossAt()
			in64[i][j] = orig - fdStep
			lm := lossAt()
			in64[i][j] = orig
			num := (lp - lm) / (2 * fdStep)
			if d := math.Abs(float64(gd[j]) - num); !(d <= gradTol*(1+math.Abs(num))) {
				t.Fatalf("d input%d[%d]: backward %v, finite difference %v (|diff| %.3g)", i, j, gd[j], num, d)
			}
		}
	}
}

func awayFromZero(r *rand.Rand, _, _ int) float64 {
	v := 0.05 + 0.95*r.Float64()
	if r.IntN(2) == 0 {
		return -v
	}
	return v
}

func matMulCase(as, bs []int, ta, tb bool) gradCase {
	ra, rb := len(as), len(bs)
	m, k := as[ra-2], as[ra-1]
	if ta {
		m, k = k, m
	}
	n := bs[rb-1]
	if tb {
		n = bs[rb-2]
	}
	nb := max(prod(as[:ra-2]), prod(bs[:rb-2]))
	return gradCase{
		name:   fmt.Sprintf("MatMul/%v%v/ta=%v/tb=%v", as, bs, ta, tb),
		shapes: [][]int{as, bs},
		fwd:    func(g *Graph, in []*Var) *Var { return g.MatMul(in[0], in[1], ta, tb) },
		ref: func(in [][]float64) []float64 {
			return refMatMul(in[0], in[1], nb, m, n, k, ta, tb, ra == 2 && nb > 1, rb == 2 && nb > 1)
		},
	}
}

func unaryCase(name string, shape []int, fwd func(g *Graph, x *Var) *Var, f func(float64) float64) gradCase {
	return gradCase{
		name:   name + fmt.Sprint(shape),
		shapes: [][]int{shape},
		fwd:    func(g *Graph, in []*Var) *Var { return fwd(g, in[0]) },
		ref:    func(in [][]float64) []float64 { return refMap(in[0], f) },
		gen:    func(r *rand.Rand, _, _ int) float64 { return 3 * awayFromZero(r, 0, 0) },
	}
}

func binaryCase(name string, as, bs []int, fwd func(g *Graph, a, b *Var) *Var, f func(x, y float64) float64) gradCase {
	return gradCase{
		name:   fmt.Sprintf("%s/%v%v", name, as, bs),
		shapes: [][]int{as, bs},
		fwd:    func(g *Graph, in []*Var) *Var { return fwd(g, in[0], in[1]) },
		ref:    func(in [][]float64) []float64 { return refBroadcast(in[0], in[1], as, bs, f) },
	}
}

func gradCases() []gradCase {
	add := func(x, y float64) float64 { return x + y }
	sub := func(x, y float64) float64 { return x - y }
	mul := func(x, y float64) float64 { return x * y }
	cases := []gradCase{
		matMulCase([]int{3, 5}, []int{5, 4}, false, false),
		matMulCase([]int{5, 3}, []int{5, 4}, true, false),
		matMulCase([]int{3, 5}, []int{4, 5}, false, true),
		matMulCase([]int{5, 3}, []int{4, 5}, true, true),
		matMulCase([]int{2, 3, 7, 5}, []int{2, 3, 5, 6}, false, false),
		matMulCase([]int{2, 3, 5, 7}, []int{2, 3, 6, 5}, true, true),
		matMulCase([]int{4, 7, 5}, []int{5, 3}, false, false),
		matMulCase([]int{4, 7, 5}, []int{3, 5}, false, true),
		matMulCase([]int{4, 5, 7}, []int{5, 3}, true, false),
		matMulCase([]int{7, 5}, []int{4, 5, 3}, false, false),
		matMulCase([]int{5, 7}, []int{4, 3, 5}, true, true),
		{
			name:   "Linear/bias",
			shapes: [][]int{{2, 3, 7}, {5, 7}, {5}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.Linear(in[0], in[1], in[2]) },
			ref:    func(in [][]float64) []float64 { return refLinear(in[0], in[1], in[2], 6, 7, 5) },
		},
		{
			name:   "Linear/nobias",
			shapes: [][]int{{1, 9}, {4, 9}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.Linear(in[0], in[1], nil) },
			ref:    func(in [][]float64) []float64 { return refLinear(in[0], in[1], nil, 1, 9, 4) },
		},
		binaryCase("Add", []int{3, 4}, []int{3, 4}, (*Graph).Add, add),
		binaryCase("Add", []int{2, 3, 5}, []int{5}, (*Graph).Add, add),
		binaryCase("Add", []int{2, 1, 5}, []int{3, 1}, (*Graph).Add, add),
		binaryCase("Sub", []int{4, 3}, []int{4, 3}, (*Graph).Sub, sub),
		binaryCase("Sub", []int{1, 3}, []int{4, 1}, (*Graph).Sub, sub),
		binaryCase("Mul", []int{5, 3}, []int{5, 3}, (*Graph).Mul, mul),
		binaryCase("Mul", []int{2, 3, 4}, []int{3, 1}, (*Graph).Mul, mul),
		unaryCase("Scale", []int{3, 5}, func(g *Graph, x *Var) *Var { return g.Scale(x, -1.5) }, func(v float64) float64 { return -1.5 * v }),
		unaryCase("AddScalar", []int{7}, func(g *Graph, x *Var) *Var { return g.AddScalar(x, 0.25) }, func(v float64) float64 { return v + 0.25 }),
		unaryCase("GELU", []int{3, 7}, (*Graph).GELU, refGELU),
		unaryCase("GELUTanh", []int{3, 7}, (*Graph).GELUTanh, refGELUTanh),
		unaryCase("ReLU", []int{4, 5}, (*Graph).ReLU, func(v float64) float64 { return math.Max(v, 0) }),
		unaryCase("SiLU", []int{11}, (*Graph).SiLU, refSiLU),
		unaryCase("Tanh", []int{2, 6}, (*Graph).Tanh, math.Tanh),
		{
			name:   "Sum",
			shapes: [][]int{{3, 4}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.Sum(in[0]) },
			ref: func(in [][]float64) []float64 {
				s := 0.0
				for _, v := range in[0] {
					s += v
				}
				return []float64{s}
			},
		},
		{
			name:   "Mean",
			shapes: [][]int{{5, 3}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.Mean(in[0]) },
			ref: func(in [][]float64) []float64 {
				s := 0.0
				for _, v := range in[0] {
					s += v
				}
				return []float64{s / 15}
			},
		},
		{
			name:   "Reshape",
			shapes: [][]int{{2, 6}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.Tanh(g.Reshape(in[0], 3, -1)) },
			ref:    func(in [][]float64) []float64 { return refMap(in[0], math.Tanh) },
		},
	}
	for _, sh := range [][]int{{3, 8}, {2, 3, 13}, {1, 1}} {
		c := sh[len(sh)-1]
		cases = append(cases,
			gradCase{
				name:   fmt.Sprintf("LayerNorm%v", sh),
				shapes: [][]int{sh, {c}, {c}},
				fwd:    func(g *Graph, in []*Var) *Var { return g.LayerNorm(in[0], in[1], in[2], 1e-5) },
				ref:    func(in [][]float64) []float64 { return refLayerNorm(in[0], in[1], in[2], c, 1e-5) },
			},
			gradCase{
				name:   fmt.Sprintf("RMSNorm%v", sh),
				shapes: [][]int{sh, {c}},
				fwd:    func(g *Graph, in []*Var) *Var { return g.RMSNorm(in[0], in[1], 1e-6) },
				ref:    func(in [][]float64) []float64 { return refRMSNorm(in[0], in[1], c, 1e-6) },
			},
			gradCase{
				name:   fmt.Sprintf("Softmax%v", sh),
				shapes: [][]int{sh},
				fwd:    func(g *Graph, in []*Var) *Var { return g.Softmax(in[0]) },
				ref:    func(in [][]float64) []float64 { return refSoftmax(in[0], c) },
			},
			gradCase{
				name:   fmt.Sprintf("LogSoftmax%v", sh),
				shapes: [][]int{sh},
				fwd:    func(g *Graph, in []*Var) *Var { return g.LogSoftmax(in[0]) },
				ref:    func(in [][]float64) []float64 { return refLogSoftmax(in[0], c) },
			},
		)
	}
	cases = append(cases,
		gradCase{
			name:   "LayerNorm/noaffine",
			shapes: [][]int{{4, 6}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.LayerNorm(in[0], nil, nil, 1e-5) },
			ref:    func(in [][]float64) []float64 { return refLayerNorm(in[0], nil, nil, 6, 1e-5) },
		},
		gradCase{
			name:   "RMSNorm/nogamma",
			shapes: [][]int{{3, 5}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.RMSNorm(in[0], nil, 1e-6) },
			ref:    func(in [][]float64) []float64 { return refRMSNorm(in[0], nil, 5, 1e-6) },
		},
		gradCase{
			name:   "CrossEntropy/ignore",
			shapes: [][]int{{5, 7}},
			fwd: func(g *Graph, in []*Var) *Var {
				return g.CrossEntropy(in[0], []int{3, -100, 0, 6, 3}, -100)
			},
			ref: func(in [][]float64) []float64 { return refCrossEntropy(in[0], 7, []int{3, -100, 0, 6, 3}, -100) },
			gen: func(r *rand.Rand, _, _ int) float64 { return 4*r.Float64() - 2 },
		},
		gradCase{
			name:   "CrossEntropy/3d",
			shapes: [][]int{{2, 3, 4}},
			fwd: func(g *Graph, in []*Var) *Var {
				return g.CrossEntropy(in[0], []int{0, 1, 2, 3, 2, 1}, 0)
			},
			ref: func(in [][]float64) []float64 { return refCrossEntropy(in[0], 4, []int{0, 1, 2, 3, 2, 1}, 0) },
		},
		gradCase{
			name:   "Embedding",
			shapes: [][]int{{6, 3}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.Embedding(in[0], []int{5, 0, 2, 5, 1, 2}, 2, 3) },
			ref:    func(in [][]float64) []float64 { return refEmbedding(in[0], 3, []int{5, 0, 2, 5, 1, 2}) },
		},
		gradCase{
			name:   "SplitHeads",
			shapes: [][]int{{2, 3, 6}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.SplitHeads(in[0], 3) },
			ref:    func(in [][]float64) []float64 { return refSplitHeads(in[0], 2, 3, 3, 2) },
		},
		gradCase{
			name:   "MergeHeads",
			shapes: [][]int{{2, 3, 5, 2}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.MergeHeads(in[0]) },
			ref:    func(in [][]float64) []float64 { return refMergeHeads(in[0], 2, 5, 3, 2) },
		},
		gradCase{
			name:   "Concat/axis1",
			shapes: [][]int{{2, 3, 4}, {2, 1, 4}, {2, 2, 4}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.Concat(1, in...) },
			ref: func(in [][]float64) []float64 {
				return refConcat(in, [][]int{{2, 3, 4}, {2, 1, 4}, {2, 2, 4}}, 1)
			},
			noGrad: map[int]bool{1: true},
		},
		gradCase{
			name:   "Concat/last",
			shapes: [][]int{{3, 2}, {3, 5}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.Concat(-1, in...) },
			ref:    func(in [][]float64) []float64 { return refConcat(in, [][]int{{3, 2}, {3, 5}}, 1) },
		},
		gradCase{
			name:   "Narrow",
			shapes: [][]int{{3, 7, 2}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.Narrow(in[0], 1, 2, 5) },
			ref:    func(in [][]float64) []float64 { return refNarrow(in[0], []int{3, 7, 2}, 1, 2, 5) },
		},
		gradCase{
			name:   "SumAxis/middle",
			shapes: [][]int{{2, 5, 3}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.SumAxis(in[0], 1) },
			ref:    func(in [][]float64) []float64 { return refSumAxis(in[0], []int{2, 5, 3}, 1, 1) },
		},
		gradCase{
			name:   "MeanAxis/last",
			shapes: [][]int{{4, 7}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.MeanAxis(in[0], -1) },
			ref:    func(in [][]float64) []float64 { return refSumAxis(in[0], []int{4, 7}, 1, 1.0/7) },
		},
		gradCase{
			name:   "Permute",
			shapes: [][]int{{2, 3, 4, 5}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.Permute(in[0], 2, 0, 3, 1) },
			ref:    func(in [][]float64) []float64 { return refPermute(in[0], []int{2, 3, 4, 5}, []int{2, 0, 3, 1}) },
		},
		gradCase{
			name:   "Transpose/twice-used",
			shapes: [][]int{{3, 4}},
			fwd: func(g *Graph, in []*Var) *Var {
				return g.Add(g.Transpose(in[0], 0, -1), g.Transpose(in[0], 1, 0))
			},
			ref: func(in [][]float64) []float64 {
				t := refPermute(in[0], []int{3, 4}, []int{1, 0})
				return refBroadcast(t, t, []int{4, 3}, []int{4, 3}, func(x, y float64) float64 { return x + y })
			},
		},
		gradCase{
			name:   "Split/uses-two-of-three",
			shapes: [][]int{{4, 6}},
			fwd: func(g *Graph, in []*Var) *Var {
				p := g.Split(in[0], 1, 1, 2, 3)
				return g.Mul(p[0], p[2]) // [4,1]·[4,3], middle piece unused
			},
			ref: func(in [][]float64) []float64 {
				a := refNarrow(in[0], []int{4, 6}, 1, 0, 1)
				c := refNarrow(in[0], []int{4, 6}, 1, 3, 6)
				return refBroadcast(a, c, []int{4, 1}, []int{4, 3}, mul)
			},
		},
	)
	cases = append(cases, gradCase{
		name:   "Dropout",
		shapes: [][]int{{4, 7}},
		fwd: func(g *Graph, in []*Var) *Var {
			g.SetSeed(3)
			return g.Dropout(in[0], 0.4)
		},
		ref: func(in [][]float64) []float64 {
			m := dropoutMask(3, 0.4, 4, 7)
			return refBroadcast(in[0], m, []int{4, 7}, []int{4, 7}, mul)
		},
	})
	cases = append(cases, attentionCases()...)
	return cases
}

// attentionCases wrap package attention's reference kernel.
func attentionCases() []gradCase {
	type ac struct {
		name                   string
		b, nh, nkv, tq, tk, hs int
		causal                 bool
		pad                    []bool
		maskB, maskH, withMask bool
		scale                  float32
		kernel                 attention.Kernel
	}
	var out []gradCase
	for _, c := range []ac{
		{name: "plain", b: 1, nh: 2, nkv: 2, tq: 3, tk: 3, hs: 4, kernel: attention.Ref},
		{name: "causal-gqa", b: 2, nh: 4, nkv: 2, tq: 3, tk: 5, hs: 3, causal: true, kernel: attention.Ref},
		{name: "padding-mask", b: 2, nh: 2, nkv: 1, tq: 4, tk: 4, hs: 2, pad: []bool{false, false, true, false, false, false, false, true}, withMask: true, maskH: true, kernel: attention.Ref},
		{name: "mask-bh-scale", b: 2, nh: 2, nkv: 2, tq: 2, tk: 3, hs: 5, withMask: true, maskB: true, maskH: true, scale: 0.7, kernel: attention.Ref},
		{name: "auto-kernel-causal-pad", b: 2, nh: 4, nkv: 2, tq: 5, tk: 5, hs: 3, causal: true, pad: []bool{false, false, false, false, true, false, false, false, false, false}, kernel: attention.Auto},
		{name: "flash-kernel-mask", b: 1, nh: 2, nkv: 1, tq: 6, tk: 7, hs: 4, withMask: true, kernel: attention.Flash},
	} {
		c := c
		ms := [4]int{1, 1, c.tq, c.tk}
		if c.maskB {
			ms[0] = c.b
		}
		if c.maskH {
			ms[1] = c.nh
		}
		var mask []float32
		var mask64 []float64
		if c.withMask {
			r := rand.New(rand.NewPCG(7, 7))
			mask = make([]float32, ms[0]*ms[1]*ms[2]*ms[3])
			mask64 = make([]float64, len(mask))
			for i := range mask {
				mask[i] = float32(r.Float64() - 0.5)
				mask64[i] = float64(mask[i])
			}
		}
		p := &attention.Params{B: c.b, NH: c.nh, NKV: c.nkv, Tq: c.tq, Tk: c.tk, HS: c.hs, Scale: c.scale,
			Causal: c.causal, KeyPadding: c.pad, Mask: mask, MaskShape: ms, Kernel: c.kernel}
		scale := float64(c.scale)
		if scale == 0 {
			scale = 1 / math.Sqrt(float64(c.hs))
		}
		out = append(out, gradCase{
			name:   "Attention/" + c.name,
			shapes: [][]int{{c.b, c.nh, c.tq, c.hs}, {c.b, c.nkv, c.tk, c.hs}, {c.b, c.nkv, c.tk, c.hs}},
			fwd: func(g *Graph, in []*Var) *Var {
				o, _ := g.Attention(in[0], in[1], in[2], p, false)
				return o
			},
			ref: func(in [][]float64) []float64 {
				return refAttention(in[0], in[1], in[2], c.b, c.nh, c.nkv, c.tq, c.tk, c.hs, scale, c.causal, c.pad, mask64, c.maskB, c.maskH)
			},
		})
	}
	return out
}

// dropoutMask returns the scaled keep mask Dropout draws for the given
// seed, by dropping out a tensor of ones.
func dropoutMask(seed uint64, p float32, shape ...int) []float64 {
	g := NewGraph(true)
	g.SetSeed(seed)
	ones := tensor.New(shape...)
	ones.Fill(1)
	y := g.Dropout(g.Input(ones, false), p).Value.Data()
	m := make([]float64, len(y))
	for i, v := range y {
		m[i] = float64(v)
	}
	return m
}

// largeCases take the parallel paths: more rows than rowGrain, more
// elements than elemGrain, batched GEMMs split over workers, and a
// transposed-A GEMM with more rows than K.
func largeCases() []gradCase {
	mul := func(x, y float64) float64 { return x * y }
	cases := []gradCase{
		matMulCase([]int{4, 33, 17}, []int{4, 17, 9}, false, false),
		matMulCase([]int{4, 17, 33}, []int{4, 9, 17}, true, true),
		{
			name:   "Linear/wide-out",
			shapes: [][]int{{20, 40}, {70, 40}, {70}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.Linear(in[0], in[1], in[2]) },
			ref:    func(in [][]float64) []float64 { return refLinear(in[0], in[1], in[2], 20, 40, 70) },
		},
		{
			name:   "LayerNorm[200x96]",
			shapes: [][]int{{200, 96}, {96}, {96}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.LayerNorm(in[0], in[1], in[2], 1e-5) },
			ref:    func(in [][]float64) []float64 { return refLayerNorm(in[0], in[1], in[2], 96, 1e-5) },
		},
		{
			name:   "RMSNorm[150x40]",
			shapes: [][]int{{150, 40}, {40}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.RMSNorm(in[0], in[1], 1e-6) },
			ref:    func(in [][]float64) []float64 { return refRMSNorm(in[0], in[1], 40, 1e-6) },
		},
		{
			name:   "Softmax[130x33]",
			shapes: [][]int{{130, 33}},
			fwd:    func(g *Graph, in []*Var) *Var { return g.Softmax(in[0]) },
			ref:    func(in [][]float64) []float64 { return refSoftmax(in[0], 33) },
		},
		{
			name:   "CrossEntropy[70x50]",
			shapes: [][]int{{70, 50}},
			fwd: func(g *Graph, in []*Var) *Var {
				return g.CrossEntropy(in[0], largeTargets(70, 50), -1)
			},
			ref: func(in [][]float64) []float64 { return refCrossEntropy(in[0], 50, largeTargets(70, 50), -1) },
		},
		binaryCase("Mul", []int{20000}, []int{20000}, (*Graph).Mul, mul),
		unaryCase("GELU", []int{20000}, (*Graph).GELU, refGELU),
		unaryCase("SiLU", []int{20000}, (*Graph).SiLU, refSiLU),
		{
			name:   "Dropout[20000]",
			shapes: [][]int{{20000}},
			fwd: func(g *Graph, in []*Var) *Var {
				g.SetSeed(9)
				return g.Dropout(in[0], 0.25)
			},
			ref: func(in [][]float64) []float64 {
				return refBroadcast(in[0], dropoutMask(9, 0.25, 20000), []int{20000}, []int{20000}, mul)
			},
		},
	}
	for i := range cases {
		cases[i].sample = 24
	}
	return cases
}

// largeTargets returns n targets in [0, v), every seventh ignored (-1).
func largeTargets(n, v int) []int {
	t := make([]int, n)
	for i := range t {
		t[i] = (i * 31) % v
		if i%7 == 3 {
			t[i] = -1
		}
	}
	return t
}

func TestGradients(t *testing.T) {
	cases := gradCases()
	if !testing.Short() {
		cases = append(cases, largeCases()...)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runGradCase(t, tc) })
	}
}
