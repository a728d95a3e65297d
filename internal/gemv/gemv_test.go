package gemv

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attn-dev/attn/internal/alloctest"
	"github.com/attn-dev/attn/internal/kernels"
)

func randMatrix(rng *rand.Rand, rows, cols int, bf16 bool) *Matrix {
	m := &Matrix{Rows: rows, Cols: cols}
	f := make([]float32, rows*cols)
	for i := range f {
		f[i] = float32(rng.NormFloat64())
	}
	if bf16 {
		m = NewBF16(rows, cols, f)
	} else {
		m.F32 = f
	}
	return m
}

// TestMulVecConformance pins MulVec, on the kernels internal/kernels chose
// (ATTN_PUREGO=1 or the purego tag test the pure-Go ones), to the float64
// reference on odd shapes: row counts that are not multiples of 4, columns
// with and without vector tails, several inputs, with and without bias.
// (internal/kernels pins each of its kernel sets to the others.)
func TestMulVecConformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t.Logf("kernels: %s", kernels.Implementation())
	for _, s := range []struct{ rows, cols, nb int }{
		{1, 1, 1}, {3, 5, 1}, {4, 16, 1}, {5, 17, 2}, {64, 48, 1}, {130, 771, 3}, {257, 32, 4}, {1000, 768, 1},
	} {
		for _, bf := range []bool{false, true} {
			w := randMatrix(rng, s.rows, s.cols, bf)
			if err := w.Check(); err != nil {
				t.Fatal(err)
			}
			x := make([]float32, s.nb*s.cols)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			var bias []float32
			if s.rows%2 == 1 {
				bias = make([]float32, s.rows)
				for i := range bias {
					bias[i] = float32(rng.NormFloat64())
				}
			}
			got := make([]float32, s.nb*s.rows)
			want := make([]float32, s.nb*s.rows)
			MulVec(got, w, x, bias)
			MulVecRef(want, w, x, bias)
			tol := 1e-5 * math.Sqrt(float64(s.cols))
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > tol*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("bf16 %v %v: y[%d] = %g, want %g", bf, s, i, got[i], want[i])
				}
			}
		}
	}
}

func TestBF16Rounding(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80},
		{-2, 0xc000},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even stays
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, odd rounds up
		{math.Float32frombits(0x3f808001), 0x3f81}, // above the tie
		{float32(math.Inf(1)), 0x7f80},
		{math.Float32frombits(0x7f7fffff), 0x7f80}, // max float rounds to +Inf, as torch
	}
	for _, c := range cases {
		if got := ToBF16(c.in); got != c.want {
			t.Errorf("ToBF16(%#x) = %#x, want %#x", math.Float32bits(c.in), got, c.want)
		}
	}
	if nan := FromBF16(ToBF16(float32(math.NaN()))); !math.IsNaN(float64(nan)) {
		t.Errorf("NaN became %g", nan)
	}
}

func TestCheck(t *testing.T) {
	bad := []Matrix{{Rows: 2, Cols: 2, F32: make([]float32, 3)}, {Rows: 0, Cols: 2}, {Rows: 1, Cols: 1, F32: []float32{1}, BF16: []BF16{1}}}
	for _, m := range bad {
		if m.Check() == nil {
			t.Errorf("%+v passed Check", m)
		}
	}
}

func TestMulVecAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	w := randMatrix(rng, 300, 64, false)
	x, y := make([]float32, 64), make([]float32, 300)
	MulVec(y, w, x, nil)
	if n := alloctest.PerCall(func() { MulVec(y, w, x, nil) }); n > 0 {
		t.Errorf("MulVec allocates %g times per call", n)
	}
}

// TestNewBF16T: the transposing conversion equals NewBF16 of the
// transposed matrix, on shapes that are not multiples of its blocks.
func TestNewBF16T(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range []struct{ rows, cols int }{{1, 1}, {3, 7}, {16, 5}, {17, 33}, {100, 64}} {
		src := make([]float32, s.rows*s.cols) // [cols, rows]
		for i := range src {
			src[i] = float32(rng.NormFloat64())
		}
		tr := make([]float32, len(src))
		for c := range s.cols {
			for r := range s.rows {
				tr[r*s.cols+c] = src[c*s.rows+r]
			}
		}
		got, want := NewBF16T(s.rows, s.cols, src), NewBF16(s.rows, s.cols, tr)
		if err := got.Check(); err != nil {
			t.Fatal(err)
		}
		for i := range want.BF16 {
			if got.BF16[i] != want.BF16[i] {
				t.Fatalf("%dx%d: element %d is %#x, want %#x", s.rows, s.cols, i, got.BF16[i], want.BF16[i])
			}
		}
	}
}
