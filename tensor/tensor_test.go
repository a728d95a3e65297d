package tensor

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/attn-dev/attn/internal/alloctest"
)

func seq(shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data() {
		t.Data()[i] = float32(i)
	}
	return t
}

// naiveAt computes the element at idx of a row-major tensor of shape.
func naiveIndex(shape, idx []int) int {
	o := 0
	for i, v := range idx {
		o = o*shape[i] + v
	}
	return o
}

func TestViews(t *testing.T) {
	base := seq(2, 3, 4) // value = row-major index
	tests := []struct {
		name  string
		view  *Tensor
		shape []int
		at    func(idx []int) float32 // expected element
		contg bool
	}{
		{"reshape", base.Reshape(4, -1), []int{4, 6}, func(i []int) float32 { return float32(i[0]*6 + i[1]) }, true},
		{"reshape-scalar-dims", base.Reshape(1, 24, 1), []int{1, 24, 1}, func(i []int) float32 { return float32(i[1]) }, true},
		{"transpose", base.Transpose(0, 2), []int{4, 3, 2}, func(i []int) float32 { return float32(naiveIndex([]int{2, 3, 4}, []int{i[2], i[1], i[0]})) }, false},
		{"transpose-neg", base.Transpose(-1, -2), []int{2, 4, 3}, func(i []int) float32 { return float32(naiveIndex([]int{2, 3, 4}, []int{i[0], i[2], i[1]})) }, false},
		{"permute", base.Permute(1, 2, 0), []int{3, 4, 2}, func(i []int) float32 { return float32(naiveIndex([]int{2, 3, 4}, []int{i[2], i[0], i[1]})) }, false},
		{"slice-mid", base.Slice(1, 1, 3), []int{2, 2, 4}, func(i []int) float32 { return float32(naiveIndex([]int{2, 3, 4}, []int{i[0], i[1] + 1, i[2]})) }, false},
		{"slice-first", base.Slice(0, 1, 2), []int{1, 3, 4}, func(i []int) float32 { return float32(12 + naiveIndex([]int{1, 3, 4}, i)) }, true},
		{"slice-of-transpose", base.Transpose(1, 2).Slice(2, 2, 3), []int{2, 4, 1}, func(i []int) float32 { return float32(naiveIndex([]int{2, 3, 4}, []int{i[0], 2, i[1]})) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !EqualShape(tc.view.Shape, tc.shape) {
				t.Fatalf("shape %v, want %v", tc.view.Shape, tc.shape)
			}
			if tc.view.IsContiguous() != tc.contg {
				t.Fatalf("IsContiguous = %v, want %v", tc.view.IsContiguous(), tc.contg)
			}
			c := tc.view.Contiguous()
			if !c.IsContiguous() {
				t.Fatal("Contiguous() is not contiguous")
			}
			if tc.contg && &c.Data()[0] != &tc.view.Data()[0] {
				t.Fatal("Contiguous copied a contiguous view")
			}
			idx := make([]int, len(tc.shape))
			for k := 0; k < c.Len(); k++ {
				rem := k
				for d := len(idx) - 1; d >= 0; d-- {
					idx[d] = rem % tc.shape[d]
					rem /= tc.shape[d]
				}
				want := tc.at(idx)
				if got := tc.view.At(idx...); got != want {
					t.Fatalf("At%v = %v, want %v", idx, got, want)
				}
				if got := c.Data()[k]; got != want {
					t.Fatalf("Contiguous()[%d] = %v, want %v", k, got, want)
				}
			}
		})
	}
	// Views share storage: a write through one is seen by the base.
	v := base.Transpose(0, 1)
	v.Set(-7, 2, 1, 3)
	if base.At(1, 2, 3) != -7 {
		t.Fatal("write through a transposed view did not reach the base")
	}
}

func TestElementwiseAndReductions(t *testing.T) {
	a := seq(3, 4)
	b := seq(4, 3).Transpose(0, 1) // strided operand
	dst := New(3, 4)
	Add(dst, a, b)
	for i := 0; i < 3; i++ {
		for j := 0; j < 4; j++ {
			if want := float32(i*4+j) + float32(j*3+i); dst.At(i, j) != want {
				t.Fatalf("Add at (%d,%d) = %v, want %v", i, j, dst.At(i, j), want)
			}
		}
	}
	Mul(dst, a, b)
	if dst.At(2, 3) != 11*11 {
		t.Fatalf("Mul at (2,3) = %v, want 121", dst.At(2, 3))
	}
	Sub(dst, a, a)
	if dst.Sum() != 0 {
		t.Fatalf("a-a sums to %v", dst.Sum())
	}
	if s := a.Sum(); s != 66 {
		t.Fatalf("Sum = %v, want 66", s)
	}
	if m := b.Max(); m != 11 {
		t.Fatalf("Max of strided = %v, want 11", m)
	}
	if m := a.Mean(); m != 5.5 {
		t.Fatalf("Mean = %v, want 5.5", m)
	}
	s := a.SumAxis(0)
	for j, want := range []float32{12, 15, 18, 21} {
		if s.At(j) != want {
			t.Fatalf("SumAxis(0)[%d] = %v, want %v", j, s.At(j), want)
		}
	}
	s = b.SumAxis(-1) // rows of the transposed view
	for i, want := range []float32{0 + 3 + 6 + 9, 1 + 4 + 7 + 10, 2 + 5 + 8 + 11} {
		if s.At(i) != want {
			t.Fatalf("SumAxis(-1)[%d] = %v, want %v", i, s.At(i), want)
		}
	}
	am := FromSlice([]float32{1, 5, 5, -1, -2, -3}, 2, 3).ArgMax()
	if am[0] != 1 || am[1] != 0 {
		t.Fatalf("ArgMax = %v, want [1 0]", am)
	}
	c := a.Clone()
	c.AddScaled(2, a)
	c.Scale(0.5)
	if c.At(1, 1) != 7.5 {
		t.Fatalf("AddScaled/Scale = %v, want 7.5", c.At(1, 1))
	}
	st := b.Clone()
	st.Fill(3)
	b.Transpose(0, 1).Fill(1) // strided fill writes the base
	Apply(st, b, func(v float32) float32 { return v + 1 })
	if st.Sum() != 24 {
		t.Fatalf("strided Fill/Apply sum = %v, want 24", st.Sum())
	}
	if !AllClose(FromSlice([]float32{1, 2}, 2), FromSlice([]float32{1.00001, 2}, 2), 1e-4, 0) ||
		AllClose(FromSlice([]float32{float32(math.NaN())}, 1), FromSlice([]float32{0}, 1), 1, 1) {
		t.Fatal("AllClose")
	}
}

func TestMisusePanicsWithShapes(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
		want []string
	}{
		{"reshape-size", func() { seq(2, 3).Reshape(4, 2) }, []string{"tensor.Reshape", "[2 3]", "[4 2]"}},
		{"reshape-strided", func() { seq(2, 3).Transpose(0, 1).Reshape(6) }, []string{"not contiguous", "[3 2]"}},
		{"reshape-two-infer", func() { seq(2, 3).Reshape(-1, -1) }, []string{"[-1 -1]"}},
		{"fromslice", func() { FromSlice(make([]float32, 5), 2, 3) }, []string{"[2 3]", "5"}},
		{"negative", func() { New(2, -1) }, []string{"negative", "[2 -1]"}},
		{"huge", func() { New(1<<40, 1<<40) }, []string{"more than", "[1099511627776 1099511627776]"}},
		{"huge-arena", func() { NewArena().New(1<<62, 4) }, []string{"tensor.Arena.New", "more than"}},
		{"slice", func() { seq(4).Slice(0, 2, 5) }, []string{"[2, 5)", "[4]"}},
		{"permute", func() { seq(2, 3).Permute(0, 0) }, []string{"[0 0]", "[2 3]"}},
		{"add", func() { Add(New(2, 3), New(2, 3), New(3, 2)) }, []string{"tensor.Add", "[2 3]", "[3 2]"}},
		{"at", func() { seq(2, 3).At(2, 0) }, []string{"[2 0]", "[2 3]"}},
		{"data", func() { seq(2, 3).Transpose(0, 1).Data() }, []string{"not contiguous"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := func() (err error) {
				defer Recover(&err)
				tc.fn()
				return nil
			}()
			var se *ShapeError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *ShapeError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestArenaReuse(t *testing.T) {
	a := NewArena()
	step := func() {
		x := a.New(4, 8)
		y := a.Empty(16)
		v := a.Reshape(x, 8, 4)
		_ = a.Contiguous(v.Transpose(0, 1))
		if x.Sum() != 0 {
			t.Fatal("New did not zero a reused buffer")
		}
		x.Fill(1)
		y.Fill(2)
		a.Reset()
	}
	step()
	before := a.Allocated()
	allocs := alloctest.PerCall(step)
	// Transpose makes one heap header; everything else is reused.
	if allocs > 1 {
		t.Fatalf("steady-state step allocates %v objects, want ≤ 1", allocs)
	}
	if a.Allocated() != before {
		t.Fatalf("arena grew from %d to %d floats in steady state", before, a.Allocated())
	}
}

func TestArenaGrowingShapesStayBounded(t *testing.T) {
	a := NewArena()
	const c = 64
	for T := 1; T <= 300; T++ { // a decode loop: the sequence grows by one each step
		x := a.New(T, c)
		if x.Len() != T*c || len(x.Data()) != T*c {
			t.Fatalf("T=%d: got %d elements", T, x.Len())
		}
		a.Reset()
	}
	final := 300 * c
	if got := a.Allocated(); got > 16*final {
		t.Fatalf("300 growing steps hold %d floats, want ≤ 16× the last step's %d", got, final)
	}
	a.Release()
	a.New(300, c)
	if got, want := a.Allocated(), sizeClass(final); got != want {
		t.Fatalf("after Release one step holds %d floats, want %d", got, want)
	}
	for _, tc := range []struct{ n, want int }{{0, 0}, {15, 15}, {16, 16}, {17, 18}, {100, 104}, {1000, 1024}, {1025, 1152}} {
		if got := sizeClass(tc.n); got != tc.want {
			t.Fatalf("sizeClass(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}
