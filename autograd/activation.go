package autograd

import (
	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/tensor"
)

// unarySaved is what an element-wise function keeps for backward: its
// input x, its output y and its derivative loop.
type unarySaved struct {
	x, y *tensor.Tensor
	grad func(t *task, lo, hi int)
}

// unaryArgs: forward y = f(x); backward dx += f'(x, y)·dy, with scratch
// (as long as x) for the derivative's own intermediate.
type unaryArgs struct {
	x, y, dy, dx, scratch []float32
}

// unary applies an element-wise function: fwd writes y = f(x) over
// [lo, hi); grad accumulates dx += f'(x, y)·dy.
func (g *Graph) unary(x *Var, fwd, grad func(t *task, lo, hi int)) *Var {
	xv := g.contig(x)
	out := g.arena.Empty(xv.Shape...)
	g.forRows(xv.Len(), elemGrain, task{fn: fwd, unary: unaryArgs{x: xv.Data(), y: out.Data()}})
	y := g.newVar(out)
	if nd := g.record(unaryBackward, y, x); nd != nil {
		nd.unary = unarySaved{x: xv, y: out, grad: grad}
	}
	return y
}

func unaryBackward(g *Graph, nd *node) {
	s := &nd.unary
	n := s.x.Len()
	g.forRows(n, elemGrain, task{fn: s.grad, unary: unaryArgs{x: s.x.Data(), y: s.y.Data(),
		dy: nd.out.Grad.Data(), dx: g.grad(nd.in[0]).Data(), scratch: g.arena.Empty(n).Data()}})
}

// GELU returns x·Φ(x) = 0.5·x·(1 + erf(x/√2)), torch's exact (erf) form;
// dy/dx = Φ(x) + x·φ(x) with φ the standard normal density.
func (g *Graph) GELU(x *Var) *Var { return g.unary(x, geluFwd, geluBack) }

// geluFwd is kernels.GeluErf (Φ by the Abramowitz–Stegun 7.1.26 fit of
// erfc, vectorised).
func geluFwd(t *task, lo, hi int) { kernels.GeluErf(t.unary.y[lo:hi], t.unary.x[lo:hi]) }

// geluBack is kernels.GeluErfGrad: Φ(x) recovered from the forward's
// y = x·Φ(x), φ(x) computed afresh, in one vectorised pass.
func geluBack(t *task, lo, hi int) {
	a := &t.unary
	kernels.GeluErfGrad(a.dx[lo:hi], a.dy[lo:hi], a.x[lo:hi], a.y[lo:hi])
}

// GELUTanh returns torch's gelu(approximate='tanh'):
//
//	0.5·x·(1 + tanh(u)),  u = √(2/π)·(x + 0.044715·x³)
//	dy/dx = 0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²),  t = tanh(u)
func (g *Graph) GELUTanh(x *Var) *Var { return g.unary(x, geluTanhFwd, geluTanhBack) }

// geluTanhFwd is kernels.GeluTanh (one pass, x / (1 + exp(−2u))).
func geluTanhFwd(t *task, lo, hi int) { kernels.GeluTanh(t.unary.y[lo:hi], t.unary.x[lo:hi]) }

// geluTanhBack is kernels.GeluTanhGrad (tanh and the derivative in one
// vectorised pass).
func geluTanhBack(t *task, lo, hi int) {
	a := &t.unary
	kernels.GeluTanhGrad(a.dx[lo:hi], a.dy[lo:hi], a.x[lo:hi])
}

// ReLU returns max(x, 0); dy/dx = 1 where x > 0, else 0 (torch's choice
// at 0).
func (g *Graph) ReLU(x *Var) *Var { return g.unary(x, reluFwd, reluBack) }

func reluFwd(t *task, lo, hi int) {
	x, y := t.unary.x[lo:hi], t.unary.y[lo:hi]
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

func reluBack(t *task, lo, hi int) {
	a := &t.unary
	x, dy, dx := a.x[lo:hi], a.dy[lo:hi], a.dx[lo:hi]
	for i, v := range x {
		if v > 0 {
			dx[i] += dy[i]
		}
	}
}

// SiLU returns x·σ(x) (swish); dy/dx = σ(x)·(1 + x·(1 − σ(x))).
func (g *Graph) SiLU(x *Var) *Var { return g.unary(x, siluFwd, siluBack) }

// sigmoids sets s[i] = σ(x[i]) = 1/(1 + exp(−x[i])).
func sigmoids(s, x []float32) {
	for i, v := range x {
		s[i] = -v
	}
	kernels.Exp(s, s)
	for i, v := range s {
		s[i] = 1 / (1 + v)
	}
}

func siluFwd(t *task, lo, hi int) {
	x, y := t.unary.x[lo:hi], t.unary.y[lo:hi]
	sigmoids(y, x)
	for i, v := range x {
		y[i] *= v
	}
}

func siluBack(t *task, lo, hi int) {
	a := &t.unary
	x, dy, dx, sg := a.x[lo:hi], a.dy[lo:hi], a.dx[lo:hi], a.scratch[lo:hi]
	sigmoids(sg, x)
	for i, v := range x {
		dx[i] += dy[i] * sg[i] * (1 + v*(1-sg[i]))
	}
}

// Tanh returns tanh(x); dy/dx = 1 − y².
func (g *Graph) Tanh(x *Var) *Var { return g.unary(x, tanhFwd, tanhBack) }

func tanhFwd(t *task, lo, hi int) { kernels.Tanh(t.unary.y[lo:hi], t.unary.x[lo:hi]) }

func tanhBack(t *task, lo, hi int) {
	a := &t.unary
	y, dy, dx := a.y[lo:hi], a.dy[lo:hi], a.dx[lo:hi]
	for i, v := range y {
		dx[i] += dy[i] * (1 - v*v)
	}
}
