package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/quick"
)

func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }

// quickInputs turns testing/quick's seed and length into a normal-valued
// slice (quick's own float32s span ±MaxFloat32 and overflow every sum).
func quickInputs(seed uint64, n uint8, scale float64) ([]float32, *rand.Rand) {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x, r
}

// TestVectorKernelsMatchRef pins each variant's dot, axpy, scale and max to
// the Ref twins on random lengths 0..255 (all tails). Tolerances: dot
// 1e-6·Σ|x||y| (summation order), axpy 2e-7·(|αx|+|y|) (FMA vs mul+add),
// scale and max exact.
func TestVectorKernelsMatchRef(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *impl) {
		cfg := &quick.Config{MaxCount: 300}
		t.Run("dot", func(t *testing.T) {
			f := func(seed uint64, n uint8) bool {
				x, r := quickInputs(seed, n, 1)
				y := randSlice(r, int(n))
				var mag float32
				for i := range x {
					mag += abs32(x[i] * y[i])
				}
				return abs32(im.dot(x, y)-DotRef(x, y)) <= 1e-6*mag
			}
			if err := quick.Check(f, cfg); err != nil {
				t.Error(err)
			}
		})
		t.Run("axpy", func(t *testing.T) {
			f := func(seed uint64, n uint8, alpha float32) bool {
				alpha = float32(math.Mod(float64(alpha), 10))
				x, r := quickInputs(seed, n, 1)
				y := randSlice(r, int(n))
				want := append([]float32(nil), y...)
				AxpyRef(alpha, x, want)
				got := append([]float32(nil), y...)
				im.axpy(alpha, x, got)
				for i := range got {
					if abs32(got[i]-want[i]) > 2e-7*(abs32(alpha*x[i])+abs32(y[i])) {
						return false
					}
				}
				return true
			}
			if err := quick.Check(f, cfg); err != nil {
				t.Error(err)
			}
		})
		t.Run("adamw", func(t *testing.T) {
			// Bit for bit: the assembly rounds each operation as the
			// reference does, which exact resumes and PyTorch goldens rely on.
			f := func(seed uint64, n uint8, step uint8) bool {
				g, r := quickInputs(seed, n, 1e-2)
				p := randSlice(r, int(n))
				m := randSlice(r, int(n))
				v := randSlice(r, int(n))
				for i := range v {
					v[i] *= v[i] * 1e-4
					if i%7 == 3 {
						g[i], v[i] = 0, 0 // a parameter that never had a gradient
					}
				}
				t := float64(step%50) + 1
				lr, wd, b1, b2 := 1e-3, 0.1, 0.9, 0.99
				k := AdamWConsts{Beta1: float32(b1), OneMinusBeta1: float32(1 - b1), Beta2: float32(b2), OneMinusBeta2: float32(1 - b2),
					BC2Sqrt: float32(math.Sqrt(1 - math.Pow(b2, t))), NegStep: float32(-lr / (1 - math.Pow(b1, t))),
					Eps: 1e-8, Decay: float32(1 - lr*wd)}
				wp, wm, wv := slices.Clone(p), slices.Clone(m), slices.Clone(v)
				AdamWRef(wp, g, wm, wv, k)
				im.adamw(p, g, m, v, k)
				for i := range p {
					if math.Float32bits(p[i]) != math.Float32bits(wp[i]) || math.Float32bits(m[i]) != math.Float32bits(wm[i]) ||
						math.Float32bits(v[i]) != math.Float32bits(wv[i]) {
						return false
					}
				}
				return true
			}
			if err := quick.Check(f, cfg); err != nil {
				t.Error(err)
			}
		})
		t.Run("scale", func(t *testing.T) {
			f := func(seed uint64, n uint8, alpha float32) bool {
				x, _ := quickInputs(seed, n, 1)
				want := append([]float32(nil), x...)
				ScaleRef(alpha, want)
				im.scale(alpha, x)
				return bitsEqual(x, want)
			}
			if err := quick.Check(f, cfg); err != nil {
				t.Error(err)
			}
		})
		t.Run("max", func(t *testing.T) {
			f := func(seed uint64, n uint8, nanAt uint8) bool {
				x, _ := quickInputs(seed, n, 100)
				if n > 0 && nanAt%3 == 0 {
					x[int(nanAt)%int(n)] = float32(math.NaN()) // skipped, as by MaxRef
				}
				return math.Float32bits(im.max(x)) == math.Float32bits(MaxRef(x))
			}
			if err := quick.Check(f, cfg); err != nil {
				t.Error(err)
			}
		})
	})
}

func bitsEqual(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}

// The stated accuracy of Exp and Tanh.
const (
	expRelTol  = 2e-7 // relative, for normal results
	tanhRelTol = 2.5e-7
)

func expSweep() []float32 {
	var xs []float32
	for x := -104.0; x <= 90; x += 0.0007 {
		xs = append(xs, float32(x))
	}
	for x := -1e-3; x <= 1e-3; x += 1.3e-6 {
		xs = append(xs, float32(x))
	}
	return xs
}

// TestExpAccuracy checks every variant's Exp against float64 math.Exp over
// [-104, 90] and at the special values: relative error <= 2e-7 where the
// result is normal, absolute error <= one subnormal ulp (2^-149) below.
func TestExpAccuracy(t *testing.T) {
	xs := expSweep()
	inf := float32(math.Inf(1))
	exp64 := func(x float32) float32 { return float32(math.Exp(float64(x))) }
	specials := []struct{ x, want float32 }{
		{float32(math.Inf(-1)), 0}, {inf, inf}, {89, inf}, {1000, inf}, {-1000, 0}, {0, 1},
		{88.72, exp64(88.72)}, {-87, exp64(-87)}, {-100, exp64(-100)},
	}
	forEachImpl(t, func(t *testing.T, im *impl) {
		got := make([]float32, len(xs))
		im.exp(got, xs)
		worst := 0.0
		for i, x := range xs {
			w := math.Exp(float64(x))
			if w > math.MaxFloat32 {
				if !math.IsInf(float64(got[i]), 1) {
					t.Fatalf("exp(%v) = %v, want +Inf", x, got[i])
				}
				continue
			}
			e := math.Abs(float64(got[i]) - w)
			if w < 0x1p-126 {
				if e > 0x1p-149 {
					t.Fatalf("exp(%v) = %v, want %v (subnormal)", x, got[i], w)
				}
				continue
			}
			worst = max(worst, e/w)
			if e/w > expRelTol {
				t.Fatalf("exp(%v) = %v, want %v (rel err %.3g)", x, got[i], w, e/w)
			}
		}
		t.Logf("%s: max rel error %.3g over %d points", im.name, worst, len(xs))
		for _, s := range specials {
			for _, n := range []int{1, 9} { // scalar tail and vector body
				src := make([]float32, n)
				for i := range src {
					src[i] = s.x
				}
				dst := make([]float32, n)
				im.exp(dst, src)
				if e := math.Abs(float64(dst[n-1] - s.want)); !(e <= expRelTol*math.Abs(float64(s.want))) && dst[n-1] != s.want {
					t.Errorf("exp(%v) = %v, want %v", s.x, dst[n-1], s.want)
				}
			}
		}
		nan := []float32{float32(math.NaN())}
		im.exp(nan, nan)
		if !math.IsNaN(float64(nan[0])) {
			t.Errorf("exp(NaN) = %v", nan[0])
		}
	})
}

// TestTanhAccuracy checks every variant's Tanh against float64 math.Tanh:
// |got - want| <= 2.5e-7·|want| (relative; tiny x included), ±1 at ±large,
// ±Inf and NaN handled.
func TestTanhAccuracy(t *testing.T) {
	var xs []float32
	for x := -20.0; x <= 20; x += 0.0003 {
		xs = append(xs, float32(x))
	}
	xs = append(xs, 1e-30, -1e-30, 1e-40, 0.6249999, 0.625, 0.6250001, 100, -100, 1e30)
	forEachImpl(t, func(t *testing.T, im *impl) {
		got := make([]float32, len(xs))
		im.tanh(got, xs)
		worst := 0.0
		for i, x := range xs {
			w := math.Tanh(float64(x))
			e := math.Abs(float64(got[i]) - w)
			rel := e / math.Max(math.Abs(w), 1e-300)
			if w == 0 {
				rel = e
			}
			worst = max(worst, rel)
			if rel > tanhRelTol {
				t.Fatalf("tanh(%v) = %v, want %v (rel err %.3g)", x, got[i], w, rel)
			}
		}
		t.Logf("%s: max rel error %.3g over %d points", im.name, worst, len(xs))
		sp := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0}
		out := make([]float32, len(sp))
		im.tanh(out, sp)
		if out[0] != 1 || out[1] != -1 || !math.IsNaN(float64(out[2])) || out[3] != 0 {
			t.Errorf("tanh(+Inf, -Inf, NaN, 0) = %v", out)
		}
	})
}

// TestGeluTanhAccuracy checks every variant's GeluTanh against the float64
// GeluTanhRef formula over [-20, 20] and at special values (NaN stays NaN,
// +Inf stays +Inf). Tolerance: |got - want| <= (5e-7 + 2.5e-7·max(z, 0))·|want|
// + 1.2e-16·|x|, with z = -2u. For negative x the result is about x·e^(-z),
// so the float32 rounding of z itself (any float32 evaluation has it,
// PyTorch's too) shows up as z·ulp relative error; the last term is the
// reference's own error (1 + tanh(u) cancels in float64).
func TestGeluTanhAccuracy(t *testing.T) {
	var xs []float32
	for x := -20.0; x <= 20; x += 0.0011 {
		xs = append(xs, float32(x))
	}
	xs = append(xs, 0, 1e-30, -1e-30, 1e20, -1e20, float32(math.Inf(1)), float32(math.NaN()))
	want := make([]float32, len(xs))
	GeluTanhRef(want, xs)
	forEachImpl(t, func(t *testing.T, im *impl) {
		got := make([]float32, len(xs))
		im.geluTanh(got, xs)
		worst := 0.0
		for i, x := range xs {
			g, w := float64(got[i]), float64(want[i])
			if math.IsNaN(w) || math.IsInf(w, 0) {
				if g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
					t.Errorf("gelu(%v) = %v, want %v", x, g, w)
				}
				continue
			}
			e := math.Abs(g - w)
			x64 := float64(x)
			z := -2 * math.Sqrt(2/math.Pi) * (x64 + 0.044715*x64*x64*x64)
			if x > -3 && w != 0 {
				worst = max(worst, e/math.Abs(w))
			}
			if e > (5e-7+2.5e-7*max(z, 0))*math.Abs(w)+1.2e-16*math.Abs(x64) {
				t.Fatalf("gelu(%v) = %v, want %v", x, g, w)
			}
		}
		t.Logf("%s: max rel error %.3g for x > -3", im.name, worst)
	})
}

// TestGeluErfAccuracy checks every variant's GeluErf against the float64
// GeluErfRef over [-12, 12] and at special values. Tolerance: |got − want|
// <= 1e-7·max(1, |x|) + 1 ulp of want: the fit's own error is 1.5e-7 on
// erf, i.e. 0.75e-7·|x| on x·Φ(x), and float32 evaluation adds a few
// roundings of the result.
func TestGeluErfAccuracy(t *testing.T) {
	var xs []float32
	for x := -12.0; x <= 12; x += 0.00073 {
		xs = append(xs, float32(x))
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e20, -1e20, 3.4e38, -3.4e38)
	want := make([]float32, len(xs))
	GeluErfRef(want, xs)
	forEachImpl(t, func(t *testing.T, im *impl) {
		got := make([]float32, len(xs))
		im.geluErf(got, xs)
		worst := 0.0
		for i, x := range xs {
			g, w := float64(got[i]), float64(want[i])
			e := math.Abs(g - w)
			ulp := float64(math.Nextafter32(float32(math.Abs(w)), float32(math.Inf(1)))) - math.Abs(w)
			tol := 1e-7*max(1, math.Abs(float64(x))) + ulp
			if !(e <= tol) {
				t.Fatalf("gelu(%v) = %v, want %v (error %.3g > %.3g)", x, g, w, e, tol)
			}
			worst = max(worst, e/max(1, math.Abs(float64(x))))
		}
		t.Logf("%s: max |error|/max(1,|x|) %.3g", im.name, worst)
	})
}

// TestGeluErfGradAccuracy checks every variant's GeluErfGrad, fed the
// forward's y, against the float64 GeluErfGradRef over [-12, 12] (and
// lengths that leave tails): within 1e-6·(|dx| + |dy|·(1 + |x|)).
func TestGeluErfGradAccuracy(t *testing.T) {
	var xs []float32
	for x := -12.0; x <= 12; x += 0.00071 {
		xs = append(xs, float32(x))
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-3, -1e-3, 1.0001e-3)
	r := rand.New(rand.NewPCG(5, 5))
	dy, dx0 := randSlice(r, len(xs)), randSlice(r, len(xs))
	y := make([]float32, len(xs))
	GeluErfRef(y, xs)
	want := slices.Clone(dx0)
	GeluErfGradRef(want, dy, xs)
	forEachImpl(t, func(t *testing.T, im *impl) {
		for _, n := range []int{len(xs), 13, 8, 7} {
			got := slices.Clone(dx0[:n])
			im.geluErfGrad(got, dy, xs[:n], y)
			for i := range got {
				tol := 1e-6 * (abs32(dx0[i]) + abs32(dy[i])*(1+abs32(xs[i])))
				if e := abs32(got[i] - want[i]); !(e <= tol) {
					t.Fatalf("n=%d: gelu'(%v): dx %v, want %v (error %.3g > %.3g)", n, xs[i], got[i], want[i], e, tol)
				}
			}
		}
	})
}

// TestGeluTanhGradAccuracy checks every variant's GeluTanhGrad against the
// float64 GeluTanhGradRef over [-12, 12]: within 1e-6·(|dx| + |dy|·(1 + |x|)).
func TestGeluTanhGradAccuracy(t *testing.T) {
	var xs []float32
	for x := -12.0; x <= 12; x += 0.00071 {
		xs = append(xs, float32(x))
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 0.7, -0.7)
	r := rand.New(rand.NewPCG(6, 6))
	dy, dx0 := randSlice(r, len(xs)), randSlice(r, len(xs))
	want := slices.Clone(dx0)
	GeluTanhGradRef(want, dy, xs)
	forEachImpl(t, func(t *testing.T, im *impl) {
		for _, n := range []int{len(xs), 13, 8, 7} {
			got := slices.Clone(dx0[:n])
			im.geluTanhGrad(got, dy, xs[:n])
			for i := range got {
				tol := 1e-6 * (abs32(dx0[i]) + abs32(dy[i])*(1+abs32(xs[i])))
				if e := abs32(got[i] - want[i]); !(e <= tol) {
					t.Fatalf("n=%d: gelu_tanh'(%v): dx %v, want %v (error %.3g > %.3g)", n, xs[i], got[i], want[i], e, tol)
				}
			}
		}
	})
}

// TestGeluErfSpecials: infinities and NaN behave as torch's gelu (−Inf·0
// is NaN), zero signs are kept, and tails (lengths not a multiple of 8)
// are computed like whole vectors.
func TestGeluErfSpecials(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, tc := range []struct {
		name string
		x    float32
		want float32
	}{
		{"+inf", inf, inf},
		{"-inf", -inf, nan},
		{"nan", nan, nan},
		{"zero", 0, 0},
		{"one", 1, 0.8413447},
		{"minus-one", -1, -0.15865526},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im *impl) {
				for _, n := range []int{1, 8, 13} { // tail only, whole vector, both
					src := make([]float32, n)
					for i := range src {
						src[i] = tc.x
					}
					dst := make([]float32, n)
					im.geluErf(dst, src)
					for i, g := range dst {
						ok := g == tc.want || (g != g && tc.want != tc.want) || math.Abs(float64(g-tc.want)) <= 2e-7
						if !ok {
							t.Fatalf("n=%d gelu(%v)[%d] = %v, want %v", n, tc.x, i, g, tc.want)
						}
					}
				}
			})
		})
	}
}

// TestExpShiftSum: in-place exp(x - shift) matches the variant's own Exp of
// the shifted values exactly, and the float32 sum matches the float64 sum
// within n·1.2e-7 relative (n terms, one rounding each).
func TestExpShiftSum(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *impl) {
		f := func(seed uint64, n uint8) bool {
			x, _ := quickInputs(seed, n, 5)
			shift := im.max(x)
			if n == 0 {
				shift = 0
			}
			want := make([]float32, len(x))
			for i, v := range x {
				want[i] = v - shift
			}
			im.exp(want, want)
			var sum float64
			for _, v := range want {
				sum += float64(v)
			}
			s := im.expShiftSum(x, shift)
			return bitsEqual(x, want) && math.Abs(float64(s)-sum) <= float64(len(x))*1.2e-7*sum
		}
		if err := quick.Check(f, &quick.Config{MaxCount: 300}); err != nil {
			t.Error(err)
		}
	})
}

// TestExpShiftGrad: p becomes the variant's own Exp of the shifted values
// exactly, and ds = p·(ds − d) exactly (one subtraction and one product per
// element, as the Go twin), on all lengths' tails; the Go twin's exp is
// within 2e-7 relative of float64 exp.
func TestExpShiftGrad(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *impl) {
		f := func(seed uint64, n uint8) bool {
			x, r := quickInputs(seed, n, 5)
			ds := randSlice(r, int(n))
			shift, d := float32(r.NormFloat64()), float32(r.NormFloat64())
			if n > 0 {
				shift += im.max(x)
			}
			want := make([]float32, len(x))
			for i, v := range x {
				want[i] = v - shift
			}
			im.exp(want, want)
			wantDS := make([]float32, len(ds))
			for i := range ds {
				wantDS[i] = want[i] * (ds[i] - d)
			}
			for i, v := range x {
				e := math.Exp(float64(v - shift))
				if math.Abs(float64(want[i])-e) > 2e-7*e {
					return false
				}
			}
			im.expShiftGrad(x, ds, shift, d)
			return bitsEqual(x, want) && bitsEqual(ds, wantDS)
		}
		if err := quick.Check(f, &quick.Config{MaxCount: 300}); err != nil {
			t.Error(err)
		}
	})
}

// bf16Trunc is the bfloat16 of f by truncation (the tests need the bits,
// not the rounding).
func bf16Trunc(f float32) uint16 { return uint16(math.Float32bits(f) >> 16) }

// TestDotBF16 pins each variant's DotBF16 kernel to the pure-Go twin on
// every length 0..300 (whole blocks of 32, vectors of 8 and scalar tails),
// a decode-step row (768) and longer odd ones, at offsets that misalign
// both slices. Bits past len(x) in w are NaN, so a kernel that reads them
// fails. Tolerance 1e-6·Σ|x·w| (summation order); on small integers every
// partial sum is exact, so there the results must be equal.
func TestDotBF16(t *testing.T) {
	lengths := []int{768, 771, 1000, 1031, 4096 + 13}
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	forEachImpl(t, func(t *testing.T, im *impl) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range lengths {
			for _, off := range []int{0, 1, 3} {
				xs := randSlice(r, off+n)
				ws := make([]uint16, off+n+9)
				for i := range ws {
					ws[i] = bf16Trunc(float32(r.NormFloat64()))
				}
				for i := off + n; i < len(ws); i++ {
					ws[i] = 0x7fc0 // NaN
				}
				x, w := xs[off:], ws[off:]
				var mag float32
				for i := range x {
					mag += abs32(x[i] * bf16ToF32(w[i]))
				}
				got, want := im.dotBF16(x, w), dotBF16Go(x, w)
				if abs32(got-want) > 1e-6*mag {
					t.Fatalf("n %d offset %d: %v, pure Go %v (Σ|x·w| %v)", n, off, got, want, mag)
				}
				if ref := DotBF16Ref(x, w); abs32(want-ref) > 1e-6*mag {
					t.Fatalf("n %d offset %d: pure Go %v, reference %v", n, off, want, ref)
				}
				for i := range x {
					x[i] = float32(r.IntN(9) - 4)
					w[i] = bf16Trunc(float32(r.IntN(9) - 4))
				}
				if got, want := im.dotBF16(x, w), dotBF16Go(x, w); got != want {
					t.Fatalf("n %d offset %d, integers: %v, pure Go %v", n, off, got, want)
				}
			}
		}
	})
}

// TestExportedDispatch exercises the exported wrappers on the chosen
// variant (tails included).
func TestExportedDispatch(t *testing.T) {
	t.Logf("implementation: %s", Implementation())
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	if got := Dot(x, x); got != 506 {
		t.Errorf("Dot = %v, want 506", got)
	}
	w := make([]uint16, len(x))
	for i, v := range x {
		w[i] = bf16Trunc(v) // small integers are exact bfloat16s
	}
	if got := DotBF16(x, w); got != 506 {
		t.Errorf("DotBF16 = %v, want 506", got)
	}
	if got := Max(x); got != 11 {
		t.Errorf("Max = %v, want 11", got)
	}
	y := make([]float32, len(x))
	Axpy(2, x, y)
	Scale(0.5, y)
	if !bitsEqual(y, x) {
		t.Errorf("Axpy then Scale = %v, want %v", y, x)
	}
	e := []float32{0, 0, 0}
	if s := ExpShiftSum(e, 0); s != 3 {
		t.Errorf("ExpShiftSum = %v, want 3", s)
	}
	GeluTanh(e, []float32{0, 0, 0})
	if e[0] != 0 {
		t.Errorf("GeluTanh(0) = %v", e[0])
	}
	Exp(e, []float32{0, 0, 0})
	Tanh(e, e)
	if math.Abs(float64(e[2])-math.Tanh(1)) > 1e-7 {
		t.Errorf("Tanh(1) = %v", e[2])
	}
}

// TestVectorNoAllocs: the exported vector kernels allocate nothing, tails
// included (the tail buffers must stay on the stack).
func TestVectorNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	x := make([]float32, 29)
	y := make([]float32, 29)
	w := make([]uint16, 29)
	for name, f := range map[string]func(){
		"Exp":          func() { Exp(y, x) },
		"Tanh":         func() { Tanh(y, x) },
		"GeluTanh":     func() { GeluTanh(y, x) },
		"GeluErf":      func() { GeluErf(y, x) },
		"ExpShiftSum":  func() { ExpShiftSum(y, 1) },
		"ExpShiftGrad": func() { ExpShiftGrad(x, y, 1, 2) },
		"Dot":          func() { Dot(x, y) },
		"DotBF16":      func() { DotBF16(x, w) },
		"Max":          func() { Max(x) },
	} {
		if n := testing.AllocsPerRun(10, f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, n)
		}
	}
}
