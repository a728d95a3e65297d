package autograd

import (
	"github.com/attn-dev/attn/tensor"
)

// SplitHeads rearranges x [B, T, NH·HS] into [B, NH, T, HS] (a copy), the
// layout attention works on: head h of token t is x[b, t, h·HS:(h+1)·HS].
// Backward is MergeHeads of the gradient.
func (g *Graph) SplitHeads(x *Var, nh int) *Var {
	xs := x.Value.Shape
	if len(xs) != 3 || nh < 1 || xs[2]%nh != 0 {
		tensor.Panicf("autograd.SplitHeads", "x %v is not [B, T, NH·HS] with NH=%d", xs, nh)
	}
	b, t, hs := xs[0], xs[1], xs[2]/nh
	return g.moveHeads(x, true, b, t, nh, hs)
}

// MergeHeads is the inverse of SplitHeads: x [B, NH, T, HS] becomes
// [B, T, NH·HS] (a copy).
func (g *Graph) MergeHeads(x *Var) *Var {
	xs := x.Value.Shape
	if len(xs) != 4 {
		tensor.Panicf("autograd.MergeHeads", "x %v is not [B, NH, T, HS]", xs)
	}
	return g.moveHeads(x, false, xs[0], xs[2], xs[1], xs[3])
}

// headsSaved is what SplitHeads and MergeHeads keep for backward: the
// sizes B, T, NH, HS and the direction of the forward move.
type headsSaved struct {
	b, t, nh, hs int
	split        bool
	width, lo    int // SplitHeadsNarrow: x's last axis and first column
}

// moveHeads is SplitHeads (split) or MergeHeads (!split) of x.
func (g *Graph) moveHeads(x *Var, split bool, b, t, nh, hs int) *Var {
	xv := g.contig(x)
	var out *tensor.Tensor
	if split {
		out = g.arena.Empty(b, nh, t, hs)
		heads(xv.Data(), out.Data(), b, t, nh, hs, nh*hs, 0, true, false)
	} else {
		out = g.arena.Empty(b, t, nh*hs)
		heads(out.Data(), xv.Data(), b, t, nh, hs, nh*hs, 0, false, false)
	}
	y := g.newVar(out)
	if nd := g.record(headsBackward, y, x); nd != nil {
		nd.heads = headsSaved{b: b, t: t, nh: nh, hs: hs, split: split}
	}
	return y
}

// headsBackward moves the gradient back the other way, accumulating.
func headsBackward(g *Graph, nd *node) {
	s := &nd.heads
	dy, dx := nd.out.Grad.Data(), g.grad(nd.in[0]).Data()
	if s.split {
		w := s.width
		if w == 0 {
			w = s.nh * s.hs
		}
		heads(dx, dy, s.b, s.t, s.nh, s.hs, w, s.lo, false, true)
	} else {
		heads(dy, dx, s.b, s.t, s.nh, s.hs, s.nh*s.hs, 0, true, true)
	}
}

// SplitHeadsNarrow is SplitHeads(Narrow(x, -1, lo, hi), nh) in one move:
// q, k or v taken from a fused projection x [B, T, W] straight into
// [B, NH, T, HS], without the narrowed copy.
func (g *Graph) SplitHeadsNarrow(x *Var, lo, hi, nh int) *Var {
	xs := x.Value.Shape
	if len(xs) != 3 || lo < 0 || hi > xs[2] || hi <= lo || nh < 1 || (hi-lo)%nh != 0 {
		tensor.Panicf("autograd.SplitHeadsNarrow", "columns [%d, %d) of x %v do not split into %d heads", lo, hi, xs, nh)
	}
	b, t, hs := xs[0], xs[1], (hi-lo)/nh
	xv := g.contig(x)
	out := g.arena.Empty(b, nh, t, hs)
	heads(xv.Data(), out.Data(), b, t, nh, hs, xs[2], lo, true, false)
	y := g.newVar(out)
	if nd := g.record(headsBackward, y, x); nd != nil {
		nd.heads = headsSaved{b: b, t: t, nh: nh, hs: hs, split: true, width: xs[2], lo: lo}
	}
	return y
}

// Release takes back v's buffer before Reset, for a caller that knows no
// op reads v's value again, in forward or backward (a fused projection
// once SplitHeadsNarrow has moved it). v must own its buffer (an op's
// output, not a view) and must not be used again but as an op's input
// whose backward reads no values.
func (g *Graph) Release(v *Var) { g.arena.Put(v.Value) }

// heads moves rows of HS between the merged layout m [B, T, NH·HS]
// (columns [lo, lo+NH·HS) of rows of width) and the split layout s
// [B, NH, T, HS]: toSplit copies m into s, otherwise s into m; acc adds
// instead of overwriting.
func heads(m, s []float32, b, t, nh, hs, width, lo int, toSplit, acc bool) {
	for bi := 0; bi < b; bi++ {
		for ti := 0; ti < t; ti++ {
			for h := 0; h < nh; h++ {
				mo := (bi*t+ti)*width + lo + h*hs
				so := ((bi*nh+h)*t + ti) * hs
				src, dst := s[so:so+hs], m[mo:mo+hs]
				if toSplit {
					src, dst = dst, src
				}
				if acc {
					for i, v := range src {
						dst[i] += v
					}
				} else {
					copy(dst, src)
				}
			}
		}
	}
}

// blocks views a shape around axis as [outer, shape[axis], inner].
func blocks(shape []int, axis int) (outer, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return outer, inner
}

func normAxis(op string, shape []int, axis int) int {
	if axis < 0 {
		axis += len(shape)
	}
	if axis < 0 || axis >= len(shape) {
		tensor.Panicf(op, "axis %d out of range for shape %v", axis, shape)
	}
	return axis
}

// concatSaved is what Concat keeps for backward: its inputs (beyond the
// three of node.in) and the output viewed as [outer, total, inner] around
// axis.
type concatSaved struct {
	xs                  []*Var
	axis                int
	outer, inner, total int
}

// Concat joins xs along axis (negative counts from the end); all other
// dimensions must agree. Backward hands each input its slice of the
// gradient.
func (g *Graph) Concat(axis int, xs ...*Var) *Var {
	const op = "autograd.Concat"
	if len(xs) == 0 {
		tensor.Panicf(op, "no inputs")
	}
	s0 := xs[0].Value.Shape
	axis = normAxis(op, s0, axis)
	total := 0
	for _, x := range xs {
		s := x.Value.Shape
		ok := len(s) == len(s0)
		for d := 0; ok && d < len(s); d++ {
			ok = d == axis || s[d] == s0[d]
		}
		if !ok {
			tensor.Panicf(op, "shape %v does not match %v outside axis %d", s, s0, axis)
		}
		total += s[axis]
	}
	var shapeBuf [8]int
	shape := append(shapeBuf[:0], s0...)
	shape[axis] = total
	out := g.arena.Empty(shape...)
	outer, inner := blocks(shape, axis)
	od := out.Data()
	ins := g.varList(len(xs))
	lo := 0
	for i, x := range xs {
		ins[i] = x
		xd := g.contig(x).Data()
		w := x.Value.Shape[axis] * inner
		for o := 0; o < outer; o++ {
			copy(od[o*total*inner+lo*inner:], xd[o*w:(o+1)*w])
		}
		lo += x.Value.Shape[axis]
	}
	y := g.newVar(out)
	if nd := g.record(concatBackward, y, xs...); nd != nil {
		nd.concat = concatSaved{xs: ins, axis: axis, outer: outer, inner: inner, total: total}
	}
	return y
}

func concatBackward(g *Graph, nd *node) {
	s := &nd.concat
	axis, outer, inner, total := s.axis, s.outer, s.inner, s.total
	dy := nd.out.Grad.Data()
	lo := 0
	for _, x := range s.xs {
		n := x.Value.Shape[axis]
		if needs(x) {
			dx := g.grad(x).Data()
			w := n * inner
			for o := 0; o < outer; o++ {
				src := dy[o*total*inner+lo*inner : o*total*inner+lo*inner+w]
				dst := dx[o*w : (o+1)*w]
				for i, v := range src {
					dst[i] += v
				}
			}
		}
		lo += n
	}
}

// narrowSaved is what Narrow keeps for backward: the input viewed as
// [outer, n, inner] around the axis, and the slice [lo, lo+m) taken.
type narrowSaved struct {
	outer, inner int
	n, lo, m     int
}

// Narrow returns the slice [lo, hi) of x along axis, as a new contiguous
// tensor. Backward adds the gradient into that slice of dx.
func (g *Graph) Narrow(x *Var, axis, lo, hi int) *Var {
	const op = "autograd.Narrow"
	xs := x.Value.Shape
	axis = normAxis(op, xs, axis)
	if lo < 0 || hi < lo || hi > xs[axis] {
		tensor.Panicf(op, "range [%d, %d) out of bounds for axis %d of %v", lo, hi, axis, xs)
	}
	var shapeBuf [8]int
	shape := append(shapeBuf[:0], xs...)
	shape[axis] = hi - lo
	out := g.arena.Empty(shape...)
	outer, inner := blocks(xs, axis)
	xd, od := g.contig(x).Data(), out.Data()
	n, w := xs[axis], (hi-lo)*inner
	for o := 0; o < outer; o++ {
		copy(od[o*w:(o+1)*w], xd[(o*n+lo)*inner:])
	}
	y := g.newVar(out)
	if nd := g.record(narrowBackward, y, x); nd != nil {
		nd.narrow = narrowSaved{outer: outer, inner: inner, n: n, lo: lo, m: hi - lo}
	}
	return y
}

func narrowBackward(g *Graph, nd *node) {
	s := &nd.narrow
	outer, inner, n, lo, m := s.outer, s.inner, s.n, s.lo, s.m
	dy, dx := nd.out.Grad.Data(), g.grad(nd.in[0]).Data()
	w := m * inner
	for o := 0; o < outer; o++ {
		dst := dx[(o*n+lo)*inner : (o*n+lo)*inner+w]
		for i, v := range dy[o*w : (o+1)*w] {
			dst[i] += v
		}
	}
}

// Split cuts x along axis into pieces of the given sizes (which must sum
// to the axis length) and returns them in a graph-owned slice valid until
// Reset; each piece is a Narrow.
func (g *Graph) Split(x *Var, axis int, sizes ...int) []*Var {
	const op = "autograd.Split"
	xs := x.Value.Shape
	axis = normAxis(op, xs, axis)
	sum := 0
	for _, s := range sizes {
		if s < 0 {
			tensor.Panicf(op, "negative size in %v", tensor.Dims(sizes))
		}
		sum += s
	}
	if sum != xs[axis] {
		tensor.Panicf(op, "sizes %v sum to %d, axis %d of %v is %d", tensor.Dims(sizes), sum, axis, xs, xs[axis])
	}
	out := g.varList(len(sizes))
	lo := 0
	for i, s := range sizes {
		out[i] = g.Narrow(x, axis, lo, lo+s)
		lo += s
	}
	return out
}

// Permute returns x with its axes reordered (output axis i is input axis
// dims[i]), as a contiguous copy. Backward adds dy, permuted back, into
// dx.
func (g *Graph) Permute(x *Var, dims ...int) *Var {
	y := g.newVar(g.arena.Clone(g.arena.Permute(x.Value, dims...)))
	if nd := g.record(permuteBackward, y, x); nd != nil {
		nd.dims = g.saveInts(dims)
	}
	return y
}

// Transpose returns x with axes d0 and d1 swapped (negative axes count
// from the end), as a contiguous copy.
func (g *Graph) Transpose(x *Var, d0, d1 int) *Var {
	r := x.Value.Rank()
	d0, d1 = normAxis("autograd.Transpose", x.Value.Shape, d0), normAxis("autograd.Transpose", x.Value.Shape, d1)
	var buf [8]int
	dims := buf[:0]
	if r > len(buf) {
		dims = make([]int, 0, r)
	}
	for i := 0; i < r; i++ {
		dims = append(dims, i)
	}
	dims[d0], dims[d1] = d1, d0
	return g.Permute(x, dims...)
}

func permuteBackward(g *Graph, nd *node) {
	dx := g.arena.Permute(g.grad(nd.in[0]), nd.dims...)
	tensor.Add(dx, dx, nd.out.Grad)
}
