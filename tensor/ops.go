package tensor

import (
	"math"

	"github.com/attn-dev/attn/internal/kernels"
)

// walk calls row once per innermost row of shape, passing the starting
// backing offsets in up to three strided operands (strides sN, offsets oN)
// and their innermost strides. Rank-0 shapes yield one row of length 1.
func walk(shape []int, s0 []int, o0 int, s1 []int, o1 int, s2 []int, o2 int,
	row func(o0, o1, o2, n, i0, i1, i2 int)) {
	r := len(shape)
	if r == 0 {
		row(o0, o1, o2, 1, 0, 0, 0)
		return
	}
	for _, d := range shape {
		if d == 0 {
			return
		}
	}
	n := shape[r-1]
	stride := func(s []int, d int) int {
		if s == nil {
			return 0
		}
		return s[d]
	}
	i0, i1, i2 := stride(s0, r-1), stride(s1, r-1), stride(s2, r-1)
	var idxBuf [inlineDims]int
	var idx []int
	if r-1 <= inlineDims {
		idx = idxBuf[:r-1]
	} else {
		idx = make([]int, r-1)
	}
	for {
		row(o0, o1, o2, n, i0, i1, i2)
		d := r - 2
		for ; d >= 0; d-- {
			idx[d]++
			o0 += stride(s0, d)
			o1 += stride(s1, d)
			o2 += stride(s2, d)
			if idx[d] < shape[d] {
				break
			}
			o0 -= idx[d] * stride(s0, d)
			o1 -= idx[d] * stride(s1, d)
			o2 -= idx[d] * stride(s2, d)
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

func mustSame(op string, a, b *Tensor) {
	if !SameShape(a, b) {
		Panicf(op, "shapes %v and %v differ", a.Shape, b.Shape)
	}
}

// CopyFrom copies src's elements into t element by element; the shapes
// must match (either may be a strided view).
func (t *Tensor) CopyFrom(src *Tensor) {
	mustSame("tensor.CopyFrom", t, src)
	if t.IsContiguous() && src.IsContiguous() {
		copy(t.Data(), src.Data())
		return
	}
	d, s := t.data, src.data
	walk(t.Shape, t.Strides, t.Offset, src.Strides, src.Offset, nil, 0, func(o0, o1, _, n, i0, i1, _ int) {
		for k := 0; k < n; k++ {
			d[o0+k*i0] = s[o1+k*i1]
		}
	})
}

// Fill sets every element of t to v.
func (t *Tensor) Fill(v float32) {
	if t.IsContiguous() {
		d := t.Data()
		for i := range d {
			d[i] = v
		}
		return
	}
	d := t.data
	walk(t.Shape, t.Strides, t.Offset, nil, 0, nil, 0, func(o0, _, _, n, i0, _, _ int) {
		for k := 0; k < n; k++ {
			d[o0+k*i0] = v
		}
	})
}

// Zero sets every element of t to 0.
func (t *Tensor) Zero() {
	if t.IsContiguous() {
		clear(t.Data())
		return
	}
	t.Fill(0)
}

// binary computes dst = f(a, b) element-wise over equal shapes.
func binary(op string, dst, a, b *Tensor, f func(x, y float32) float32) {
	mustSame(op, dst, a)
	mustSame(op, dst, b)
	if dst.IsContiguous() && a.IsContiguous() && b.IsContiguous() {
		d, x, y := dst.Data(), a.Data(), b.Data()
		x, y = x[:len(d)], y[:len(d)]
		for i := range d {
			d[i] = f(x[i], y[i])
		}
		return
	}
	dd, ad, bd := dst.data, a.data, b.data
	walk(dst.Shape, dst.Strides, dst.Offset, a.Strides, a.Offset, b.Strides, b.Offset, func(o0, o1, o2, n, i0, i1, i2 int) {
		for k := 0; k < n; k++ {
			dd[o0+k*i0] = f(ad[o1+k*i1], bd[o2+k*i2])
		}
	})
}

// Add computes dst = a + b element-wise; all three shapes must match and
// dst may alias a or b.
func Add(dst, a, b *Tensor) {
	if dst.IsContiguous() && a.IsContiguous() && b.IsContiguous() && SameShape(dst, a) && SameShape(a, b) {
		d, x, y := dst.Data(), a.Data(), b.Data()
		x, y = x[:len(d)], y[:len(d)]
		for i := range d {
			d[i] = x[i] + y[i]
		}
		return
	}
	binary("tensor.Add", dst, a, b, func(x, y float32) float32 { return x + y })
}

// Sub computes dst = a - b element-wise; all three shapes must match.
func Sub(dst, a, b *Tensor) {
	binary("tensor.Sub", dst, a, b, func(x, y float32) float32 { return x - y })
}

// Mul computes dst = a ⊙ b element-wise; all three shapes must match.
func Mul(dst, a, b *Tensor) {
	binary("tensor.Mul", dst, a, b, func(x, y float32) float32 { return x * y })
}

// Div computes dst = a / b element-wise; all three shapes must match.
func Div(dst, a, b *Tensor) {
	binary("tensor.Div", dst, a, b, func(x, y float32) float32 { return x / y })
}

// Apply computes dst = f(src) element-wise; the shapes must match and dst
// may be src.
func Apply(dst, src *Tensor, f func(float32) float32) {
	mustSame("tensor.Apply", dst, src)
	if dst.IsContiguous() && src.IsContiguous() {
		d, s := dst.Data(), src.Data()
		for i, v := range s {
			d[i] = f(v)
		}
		return
	}
	dd, sd := dst.data, src.data
	walk(dst.Shape, dst.Strides, dst.Offset, src.Strides, src.Offset, nil, 0, func(o0, o1, _, n, i0, i1, _ int) {
		for k := 0; k < n; k++ {
			dd[o0+k*i0] = f(sd[o1+k*i1])
		}
	})
}

// Scale multiplies every element of t by alpha in place.
func (t *Tensor) Scale(alpha float32) {
	if t.IsContiguous() {
		kernels.Scale(alpha, t.Data())
		return
	}
	Apply(t, t, func(v float32) float32 { return alpha * v })
}

// AddScaled computes t += alpha·x element-wise (axpy); shapes must match.
func (t *Tensor) AddScaled(alpha float32, x *Tensor) {
	mustSame("tensor.AddScaled", t, x)
	if t.IsContiguous() && x.IsContiguous() {
		kernels.Axpy(alpha, x.Data(), t.Data())
		return
	}
	binary("tensor.AddScaled", t, t, x, func(a, b float32) float32 { return a + alpha*b })
}

// Sum returns Σ t over all elements, accumulated in float64.
func (t *Tensor) Sum() float32 {
	var s float64
	t.each(func(v float32) bool { s += float64(v); return true })
	return float32(s)
}

// Mean returns the average of all elements (NaN for an empty tensor).
func (t *Tensor) Mean() float32 {
	n := t.Len()
	if n == 0 {
		return float32(math.NaN())
	}
	return t.Sum() / float32(n)
}

// Max returns the largest element (-Inf for an empty tensor).
func (t *Tensor) Max() float32 {
	if t.IsContiguous() {
		return kernels.Max(t.Data())
	}
	m := float32(math.Inf(-1))
	t.each(func(v float32) bool {
		if v > m {
			m = v
		}
		return true
	})
	return m
}

// SumAxis returns a new tensor holding the sum of t over axis, with that
// axis removed from the shape.
func (t *Tensor) SumAxis(axis int) *Tensor {
	axis = t.axis("tensor.SumAxis", axis)
	shape := make([]int, 0, len(t.Shape)-1)
	shape = append(shape, t.Shape[:axis]...)
	shape = append(shape, t.Shape[axis+1:]...)
	out := New(shape...)
	// Walk t with the summed axis given stride 0 in out.
	os := make([]int, len(t.Shape))
	copy(os, out.Strides[:axis])
	copy(os[axis+1:], out.Strides[axis:])
	od, td := out.data, t.data
	walk(t.Shape, os, 0, t.Strides, t.Offset, nil, 0, func(o0, o1, _, n, i0, i1, _ int) {
		for k := 0; k < n; k++ {
			od[o0+k*i0] += td[o1+k*i1]
		}
	})
	return out
}

// ArgMax returns, for every row along the last axis, the index of its
// largest element (the first one on ties), as a slice of length
// Len()/Dim(-1).
func (t *Tensor) ArgMax() []int {
	if len(t.Shape) == 0 {
		return []int{0}
	}
	c := t.Contiguous()
	n := c.Shape[len(c.Shape)-1]
	if n == 0 {
		Panicf("tensor.ArgMax", "empty last axis in shape %v", t.Shape)
	}
	d := c.Data()
	out := make([]int, len(d)/n)
	for r := range out {
		row := d[r*n : (r+1)*n]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out[r] = best
	}
	return out
}

// AllClose reports whether |a-b| <= atol + rtol·|b| holds element-wise
// (shapes must match; NaNs are never close).
func AllClose(a, b *Tensor, atol, rtol float64) bool {
	mustSame("tensor.AllClose", a, b)
	ac, bc := a.Contiguous().Data(), b.Contiguous().Data()
	for i := range ac {
		x, y := float64(ac[i]), float64(bc[i])
		if !(math.Abs(x-y) <= atol+rtol*math.Abs(y)) {
			return false
		}
	}
	return true
}
