package autograd

import (
	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/tensor"
)

// elemGrain is the number of elements below which an element-wise loop
// stays on one core.
const elemGrain = 1 << 14

const (
	opAdd = iota
	opSub
	opMul
)

var binaryNames = [...]string{"autograd.Add", "autograd.Sub", "autograd.Mul"}

// Add returns a + b with numpy/torch broadcasting (shapes aligned on the
// right, dimensions of size 1 or missing stretched): the residual
// connection when the shapes are equal, a bias add when b is [C] and a
// is [..., C]. Backward sums the gradient over the broadcast dimensions.
func (g *Graph) Add(a, b *Var) *Var { return g.binary(opAdd, a, b) }

// Sub returns a − b with broadcasting (see Add).
func (g *Graph) Sub(a, b *Var) *Var { return g.binary(opSub, a, b) }

// Mul returns a ⊙ b with broadcasting (see Add); da = dy ⊙ b, db = dy ⊙ a,
// each summed over its broadcast dimensions.
func (g *Graph) Mul(a, b *Var) *Var { return g.binary(opMul, a, b) }

// broadcast returns, in g's int pool (contiguous: shape then sa then sb):
// the output shape of broadcasting as
// with bs, and the strides of a and b over that shape (0 where
// broadcast). It returns the three slices.
func (g *Graph) broadcast(op string, as, bs []int) (shape, sa, sb []int) {
	r := max(len(as), len(bs))
	all := g.intBuf(3 * r)
	shape, sa, sb = all[:r], all[r:2*r], all[2*r:]
	ma, mb := 1, 1
	for i := r - 1; i >= 0; i-- {
		da, db := 1, 1
		if j := i - (r - len(as)); j >= 0 {
			da = as[j]
		}
		if j := i - (r - len(bs)); j >= 0 {
			db = bs[j]
		}
		switch {
		case da == db:
			shape[i] = da
		case da == 1:
			shape[i] = db
		case db == 1:
			shape[i] = da
		default:
			tensor.Panicf(op, "shapes %v and %v do not broadcast", as, bs)
		}
		sa[i], sb[i] = 0, 0
		if da != 1 || shape[i] == 1 {
			sa[i] = ma
		}
		if db != 1 || shape[i] == 1 {
			sb[i] = mb
		}
		ma *= da
		mb *= db
	}
	return shape, sa, sb
}

// walkBroadcast calls row once per innermost row of the contiguous output
// shape, with the output offset o and the offsets of the two operands.
func walkBroadcast(shape, sa, sb []int, row func(o, oa, ob, n, ia, ib int)) {
	r := len(shape)
	if r == 0 {
		row(0, 0, 0, 1, 0, 0)
		return
	}
	total := 1
	for _, d := range shape {
		total *= d
	}
	if total == 0 {
		return
	}
	n := shape[r-1]
	var idx [16]int
	if r > len(idx) {
		tensor.Panicf("autograd.broadcast", "rank %d above 16", r)
	}
	oa, ob := 0, 0
	for o := 0; o < total; o += n {
		row(o, oa, ob, n, sa[r-1], sb[r-1])
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			oa += sa[d]
			ob += sb[d]
			if idx[d] < shape[d] {
				break
			}
			oa -= idx[d] * sa[d]
			ob -= idx[d] * sb[d]
			idx[d] = 0
		}
	}
}

// binarySaved is what Add, Sub and Mul keep for backward: the operands'
// values (Mul's gradients are dy ⊙ the other one) and, when the shapes
// differ, the broadcast output shape and the operands' strides over it.
type binarySaved struct {
	kind      int
	a, b      *tensor.Tensor
	broadcast bool
	shape     []int
	sa, sb    []int
}

// binaryArgs: out = a op b over equal shapes.
type binaryArgs struct {
	kind      int
	a, b, out []float32
}

// accumArgs: dx += scale·dy, or dx += dy ⊙ by when by is set (the other
// operand of Mul, Dropout's mask).
type accumArgs struct {
	dy, by, dx []float32
	scale      float32
	set        bool // dx is new and not zeroed: set it, do not add
}

// accumInto adds the element-wise gradient acc (dy·scale, or dy ⊙ by) to
// v's gradient, or writes it when v's gradient is new (gradFor).
func (g *Graph) accumInto(v *Var, acc accumArgs) {
	gv, fresh := g.gradFor(v)
	acc.dx, acc.set = gv.Data(), fresh
	g.forRows(len(acc.dy), elemGrain, task{fn: accumGrad, accum: acc})
}

func (g *Graph) binary(kind int, a, b *Var) *Var {
	op := binaryNames[kind]
	av, bv := g.contig(a), g.contig(b)
	ad, bd := av.Data(), bv.Data()
	if tensor.SameShape(av, bv) {
		out := g.arena.Empty(av.Shape...)
		g.forRows(len(ad), elemGrain, task{fn: binarySame, binary: binaryArgs{kind: kind, a: ad, b: bd, out: out.Data()}})
		y := g.newVar(out)
		if nd := g.record(binaryBackward, y, a, b); nd != nil {
			nd.binary = binarySaved{kind: kind, a: av, b: bv}
		}
		return y
	}
	shape, sa, sb := g.broadcast(op, av.Shape, bv.Shape)
	out := g.arena.Empty(shape...)
	od := out.Data()
	walkBroadcast(shape, sa, sb, func(o, oa, ob, n, ia, ib int) {
		dst := od[o : o+n]
		switch kind {
		case opAdd:
			for k := range dst {
				dst[k] = ad[oa+k*ia] + bd[ob+k*ib]
			}
		case opSub:
			for k := range dst {
				dst[k] = ad[oa+k*ia] - bd[ob+k*ib]
			}
		default:
			for k := range dst {
				dst[k] = ad[oa+k*ia] * bd[ob+k*ib]
			}
		}
	})
	y := g.newVar(out)
	if nd := g.record(binaryBackward, y, a, b); nd != nil {
		nd.binary = binarySaved{kind: kind, a: av, b: bv, broadcast: true, shape: shape, sa: sa, sb: sb}
	}
	return y
}

func binarySame(t *task, lo, hi int) {
	x, y, z := t.binary.a[lo:hi], t.binary.b[lo:hi], t.binary.out[lo:hi]
	switch t.binary.kind {
	case opAdd:
		for k := range z {
			z[k] = x[k] + y[k]
		}
	case opSub:
		for k := range z {
			z[k] = x[k] - y[k]
		}
	default:
		for k := range z {
			z[k] = x[k] * y[k]
		}
	}
}

// accumGrad accumulates an element-wise gradient (see accumArgs).
func accumGrad(t *task, lo, hi int) {
	a := &t.accum
	dy, dx := a.dy[lo:hi], a.dx[lo:hi]
	switch {
	case a.by != nil && a.set:
		by := a.by[lo:hi]
		for k := range dx {
			dx[k] = dy[k] * by[k]
		}
	case a.by != nil:
		by := a.by[lo:hi]
		for k := range dx {
			dx[k] += dy[k] * by[k]
		}
	case a.set:
		copy(dx, dy)
		if a.scale != 1 {
			kernels.Scale(a.scale, dx) // s·dy rounded once, as below
		}
	case a.scale == 1:
		kernels.Axpy(1, dy, dx) // 1·dy + dx rounds as dy + dx
	default:
		s := a.scale
		for k := range dx {
			dx[k] += s * dy[k]
		}
	}
}

func binaryBackward(g *Graph, nd *node) {
	a, b := nd.in[0], nd.in[1]
	s := &nd.binary
	kind := s.kind
	dy := nd.out.Grad.Data()
	ad, bd := s.a.Data(), s.b.Data()
	if !s.broadcast {
		// da = dy (⊙ b for Mul); db = dy, −dy for Sub (⊙ a for Mul).
		if needs(a) {
			acc := accumArgs{dy: dy, scale: 1}
			if kind == opMul {
				acc.by = bd
			}
			g.accumInto(a, acc)
		}
		if needs(b) {
			acc := accumArgs{dy: dy, scale: 1}
			switch kind {
			case opMul:
				acc.by = ad
			case opSub:
				acc.scale = -1
			}
			g.accumInto(b, acc)
		}
		return
	}
	shape, sa, sb := s.shape, s.sa, s.sb
	var ga, gb []float32
	if needs(a) {
		ga = g.grad(a).Data()
	}
	if needs(b) {
		gb = g.grad(b).Data()
	}
	walkBroadcast(shape, sa, sb, func(o, oa, ob, n, ia, ib int) {
		d := dy[o : o+n]
		switch kind {
		case opMul:
			if ga != nil {
				for k, v := range d {
					ga[oa+k*ia] += v * bd[ob+k*ib]
				}
			}
			if gb != nil {
				for k, v := range d {
					gb[ob+k*ib] += v * ad[oa+k*ia]
				}
			}
		default:
			sign := float32(1)
			if kind == opSub {
				sign = -1
			}
			if ga != nil {
				for k, v := range d {
					ga[oa+k*ia] += v
				}
			}
			if gb != nil {
				for k, v := range d {
					gb[ob+k*ib] += sign * v
				}
			}
		}
	})
}

// Scale returns s·x.
func (g *Graph) Scale(x *Var, s float32) *Var { return g.affine(x, s, 0) }

// AddScalar returns x + c.
func (g *Graph) AddScalar(x *Var, c float32) *Var { return g.affine(x, 1, c) }

// affineArgs: y = s·x + c.
type affineArgs struct {
	x, y []float32
	s, c float32
}

// affine returns s·x + c element-wise; dx = s·dy.
func (g *Graph) affine(x *Var, s, c float32) *Var {
	xv := g.contig(x)
	out := g.arena.Empty(xv.Shape...)
	g.forRows(xv.Len(), elemGrain, task{fn: affineRows, affine: affineArgs{x: xv.Data(), y: out.Data(), s: s, c: c}})
	y := g.newVar(out)
	if nd := g.record(scaleBackward, y, x); nd != nil {
		nd.scale = s
	}
	return y
}

func affineRows(t *task, lo, hi int) {
	a := &t.affine
	x, y := a.x[lo:hi], a.y[lo:hi]
	for k := range y {
		y[k] = a.s*x[k] + a.c
	}
}

// scaleBackward accumulates dx += scale·dy element-wise (Scale,
// AddScalar, Reshape).
func scaleBackward(g *Graph, nd *node) {
	dy := nd.out.Grad.Data()
	g.accumInto(nd.in[0], accumArgs{dy: dy, scale: nd.scale})
}

// Sum returns Σ x over all elements as a scalar (shape []), accumulated
// in float64; dx = dy everywhere.
func (g *Graph) Sum(x *Var) *Var { return g.sum(x, 1) }

// Mean returns the mean of all elements of x as a scalar (shape []).
func (g *Graph) Mean(x *Var) *Var {
	n := x.Value.Len()
	if n == 0 {
		tensor.Panicf("autograd.Mean", "empty tensor of shape %v", x.Value.Shape)
	}
	return g.sum(x, 1/float32(n))
}

func (g *Graph) sum(x *Var, scale float32) *Var {
	xv := g.contig(x)
	var s float64
	for _, v := range xv.Data() {
		s += float64(v)
	}
	out := g.arena.Empty()
	out.Data()[0] = float32(s) * scale
	y := g.newVar(out)
	if nd := g.record(sumBackward, y, x); nd != nil {
		nd.scale = scale
	}
	return y
}

// sumBackward broadcasts the scalar dy: dx += scale·dy everywhere.
func sumBackward(g *Graph, nd *node) {
	d := nd.out.Grad.Data()[0] * nd.scale
	gx := g.grad(nd.in[0]).Data()
	for i := range gx {
		gx[i] += d
	}
}

// Reshape returns x viewed with a new shape of the same size (one
// dimension may be -1); no copy when x is contiguous.
func (g *Graph) Reshape(x *Var, shape ...int) *Var {
	y := g.newVar(g.arena.Reshape(g.contig(x), shape...))
	if nd := g.record(scaleBackward, y, x); nd != nil {
		nd.scale = 1 // dx = dy, in the input's shape (same layout)
	}
	return y
}

// SumAxis returns the sum of x over axis (negative counts from the end),
// with that axis removed: [..., N, ...] → [..., ...]. Backward broadcasts
// dy back along the axis.
func (g *Graph) SumAxis(x *Var, axis int) *Var {
	return g.reduceAxis("autograd.SumAxis", x, axis, false)
}

// MeanAxis is SumAxis divided by the length of the axis (mean pooling).
func (g *Graph) MeanAxis(x *Var, axis int) *Var {
	return g.reduceAxis("autograd.MeanAxis", x, axis, true)
}

// reduceSaved views the input of SumAxis/MeanAxis as [outer, n, inner]
// around the reduced axis; dx[o, k, i] += scale·dy[o, i] for every k.
type reduceSaved struct {
	outer, n, inner int
	scale           float32
}

func (g *Graph) reduceAxis(op string, x *Var, axis int, mean bool) *Var {
	xs := x.Value.Shape
	axis = normAxis(op, xs, axis)
	n := xs[axis]
	if mean && n == 0 {
		tensor.Panicf(op, "mean over the empty axis %d of %v", axis, xs)
	}
	var shapeBuf [8]int
	shape := append(append(shapeBuf[:0], xs[:axis]...), xs[axis+1:]...)
	out := g.arena.New(shape...)
	outer, inner := blocks(xs, axis)
	scale := float32(1)
	if mean {
		scale = 1 / float32(n)
	}
	xd, od := g.contig(x).Data(), out.Data()
	for o := 0; o < outer; o++ {
		dst := od[o*inner : (o+1)*inner]
		for k := 0; k < n; k++ {
			kernels.Axpy(scale, xd[(o*n+k)*inner:(o*n+k+1)*inner], dst)
		}
	}
	y := g.newVar(out)
	if nd := g.record(reduceAxisBackward, y, x); nd != nil {
		nd.reduce = reduceSaved{outer: outer, n: n, inner: inner, scale: scale}
	}
	return y
}

func reduceAxisBackward(g *Graph, nd *node) {
	s := &nd.reduce
	outer, n, inner, scale := s.outer, s.n, s.inner, s.scale
	dy, dx := nd.out.Grad.Data(), g.grad(nd.in[0]).Data()
	for o := 0; o < outer; o++ {
		src := dy[o*inner : (o+1)*inner]
		for k := 0; k < n; k++ {
			kernels.Axpy(scale, src, dx[(o*n+k)*inner:(o*n+k+1)*inner])
		}
	}
}
