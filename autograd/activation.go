package autograd

import (
	"math"

	"github.com/attn-dev/attn/internal/kernels"
)

// unary applies an element-wise function: fwd writes t.z from t.x over
// [lo, hi); back accumulates t.w += f'(t.x, t.y)·t.z (x the input, y the
// output, z = dy).
func (g *Graph) unary(x *Var, fwd, back func(t *task, lo, hi int)) *Var {
	xv := g.contig(x)
	out := g.arena.Empty(xv.Shape...)
	g.forRows(xv.Len(), elemGrain, task{fn: fwd, x: xv.Data(), z: out.Data()})
	y := g.newVar(out)
	if nd := g.record(unaryBackward, y, x); nd != nil {
		nd.saved[0], nd.saved[1] = xv, out
		nd.elem = back
	}
	return y
}

func unaryBackward(g *Graph, nd *node) {
	g.forRows(nd.out.Value.Len(), elemGrain, task{fn: nd.elem, x: nd.saved[0].Data(), y: nd.saved[1].Data(),
		z: nd.out.Grad.Data(), w: g.grad(nd.in[0]).Data()})
}

const (
	invSqrt2    = 0.70710678118654752440
	invSqrt2Pi  = 0.39894228040143267794
	sqrt2OverPi = 0.79788456080286535588
	geluCoef    = 0.044715
)

// GELU returns x·Φ(x) = 0.5·x·(1 + erf(x/√2)), torch's exact (erf) form;
// dy/dx = Φ(x) + x·φ(x) with φ the standard normal density.
func (g *Graph) GELU(x *Var) *Var { return g.unary(x, geluFwd, geluBack) }

func geluFwd(t *task, lo, hi int) {
	x, z := t.x[lo:hi], t.z[lo:hi]
	for i, v := range x {
		z[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)*invSqrt2)))
	}
}

func geluBack(t *task, lo, hi int) {
	x, dy, dx := t.x[lo:hi], t.z[lo:hi], t.w[lo:hi]
	for i, v := range x {
		xf := float64(v)
		cdf := 0.5 * (1 + math.Erf(xf*invSqrt2))
		pdf := invSqrt2Pi * math.Exp(-0.5*xf*xf)
		dx[i] += dy[i] * float32(cdf+xf*pdf)
	}
}

// GELUTanh returns torch's gelu(approximate='tanh'):
//
//	0.5·x·(1 + tanh(u)),  u = √(2/π)·(x + 0.044715·x³)
//	dy/dx = 0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²),  t = tanh(u)
func (g *Graph) GELUTanh(x *Var) *Var { return g.unary(x, geluTanhFwd, geluTanhBack) }

func geluTanhFwd(t *task, lo, hi int) {
	x, z := t.x[lo:hi], t.z[lo:hi]
	for i, v := range x {
		z[i] = sqrt2OverPi * (v + geluCoef*v*v*v)
	}
	kernels.Tanh(z, z)
	for i, v := range x {
		z[i] = 0.5 * v * (1 + z[i])
	}
}

func geluTanhBack(t *task, lo, hi int) {
	x, dy, dx := t.x[lo:hi], t.z[lo:hi], t.w[lo:hi]
	for i, v := range x {
		th := float32(math.Tanh(float64(sqrt2OverPi * (v + geluCoef*v*v*v))))
		d := 0.5*(1+th) + 0.5*v*(1-th*th)*sqrt2OverPi*(1+3*geluCoef*v*v)
		dx[i] += dy[i] * d
	}
}

// ReLU returns max(x, 0); dy/dx = 1 where x > 0, else 0 (torch's choice
// at 0).
func (g *Graph) ReLU(x *Var) *Var { return g.unary(x, reluFwd, reluBack) }

func reluFwd(t *task, lo, hi int) {
	x, z := t.x[lo:hi], t.z[lo:hi]
	for i, v := range x {
		z[i] = max(v, 0)
	}
}

func reluBack(t *task, lo, hi int) {
	x, dy, dx := t.x[lo:hi], t.z[lo:hi], t.w[lo:hi]
	for i, v := range x {
		if v > 0 {
			dx[i] += dy[i]
		}
	}
}

// SiLU returns x·σ(x) (swish); dy/dx = σ(x)·(1 + x·(1 − σ(x))).
func (g *Graph) SiLU(x *Var) *Var { return g.unary(x, siluFwd, siluBack) }

func sigmoid(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }

func siluFwd(t *task, lo, hi int) {
	x, z := t.x[lo:hi], t.z[lo:hi]
	for i, v := range x {
		z[i] = v * sigmoid(v)
	}
}

func siluBack(t *task, lo, hi int) {
	x, dy, dx := t.x[lo:hi], t.z[lo:hi], t.w[lo:hi]
	for i, v := range x {
		s := sigmoid(v)
		dx[i] += dy[i] * s * (1 + v*(1-s))
	}
}

// Tanh returns tanh(x); dy/dx = 1 − y².
func (g *Graph) Tanh(x *Var) *Var { return g.unary(x, tanhFwd, tanhBack) }

func tanhFwd(t *task, lo, hi int) { kernels.Tanh(t.z[lo:hi], t.x[lo:hi]) }

func tanhBack(t *task, lo, hi int) {
	y, dy, dx := t.y[lo:hi], t.z[lo:hi], t.w[lo:hi]
	for i, v := range y {
		dx[i] += dy[i] * (1 - v*v)
	}
}
