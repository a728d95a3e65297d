package autograd

import (
	"math"

	"github.com/attn-dev/attn/tensor"
)

// rowGrain is the number of rows below which a row-wise loop (norms,
// softmax) stays on one core; rows are short, so chunks are coarse.
const rowGrain = 64

// normArgs checks x [..., C] against gamma and beta ([C] or nil) and
// returns the number of rows and C.
func normArgs(op string, x, gamma, beta *Var) (rows, c int) {
	xs := x.Value.Shape
	if len(xs) == 0 {
		tensor.Panicf(op, "x is a scalar, want [..., C]")
	}
	c = xs[len(xs)-1]
	for _, p := range []*Var{gamma, beta} {
		if p != nil && (p.Value.Rank() != 1 || p.Value.Shape[0] != c) {
			tensor.Panicf(op, "parameter of shape %v does not match x %v (want [%d])", p.Value.Shape, xs, c)
		}
	}
	if c == 0 {
		tensor.Panicf(op, "x %v has an empty last axis", xs)
	}
	return x.Value.Len() / c, c
}

func dataOrNil(g *Graph, v *Var) []float32 {
	if v == nil {
		return nil
	}
	return g.contig(v).Data()
}

// LayerNorm normalises each row of x [..., C] over its last axis, as
// torch.nn.functional.layer_norm:
//
//	y = (x − mean)·rstd·gamma + beta,   rstd = 1/√(var + eps)
//
// with the biased variance (divided by C). gamma and beta are [C] or nil
// (no affine part). Forward saves mean and rstd per row for backward:
//
//	n = (x − mean)·rstd, dn = dy·gamma
//	dx = rstd·(dn − mean(dn) − n·mean(dn·n)),  dgamma = Σ dy·n,  dbeta = Σ dy
func (g *Graph) LayerNorm(x, gamma, beta *Var, eps float32) *Var {
	rows, c := normArgs("autograd.LayerNorm", x, gamma, beta)
	xv := g.contig(x)
	out := g.arena.Empty(xv.Shape...)
	mean, rstd := g.arena.Empty(rows), g.arena.Empty(rows)
	g.forRows(rows, rowGrain, task{fn: layerNormRows, x: xv.Data(), y: dataOrNil(g, gamma), z: dataOrNil(g, beta),
		w: out.Data(), u: mean.Data(), v: rstd.Data(), i: [8]int{c}, f: [2]float32{eps}})
	y := g.newVar(out)
	if nd := g.record(layerNormBackward, y, x, gamma, beta); nd != nil {
		nd.saved[0], nd.saved[1], nd.saved[2] = xv, mean, rstd
		nd.i[0], nd.i[1] = rows, c
	}
	return y
}

func layerNormRows(t *task, lo, hi int) {
	c, eps := t.i[0], float64(t.f[0])
	gamma, beta := t.y, t.z
	for r := lo; r < hi; r++ {
		x, y := t.x[r*c:(r+1)*c], t.w[r*c:(r+1)*c]
		var s float64
		for _, v := range x {
			s += float64(v)
		}
		m := s / float64(c)
		var ss float64
		for _, v := range x {
			d := float64(v) - m
			ss += d * d
		}
		rs := 1 / math.Sqrt(ss/float64(c)+eps)
		mf, rf := float32(m), float32(rs)
		t.u[r], t.v[r] = mf, rf
		switch {
		case gamma != nil && beta != nil:
			gamma, beta := gamma[:c], beta[:c]
			for j, v := range x {
				y[j] = (v-mf)*rf*gamma[j] + beta[j]
			}
		case gamma != nil:
			gamma := gamma[:c]
			for j, v := range x {
				y[j] = (v - mf) * rf * gamma[j]
			}
		default:
			for j, v := range x {
				y[j] = (v - mf) * rf
			}
			if beta != nil {
				for j := range y {
					y[j] += beta[j]
				}
			}
		}
	}
}

func layerNormBackward(g *Graph, nd *node) {
	x, gamma, beta := nd.in[0], nd.in[1], nd.in[2]
	rows, c := nd.i[0], nd.i[1]
	xd, mean, rstd := nd.saved[0].Data(), nd.saved[1].Data(), nd.saved[2].Data()
	dy := nd.out.Grad.Data()
	gd := dataOrNil(g, gamma)
	if needs(x) {
		g.forRows(rows, rowGrain, task{fn: layerNormGradRows, x: xd, y: gd, z: dy, w: g.grad(x).Data(),
			u: mean, v: rstd, i: [8]int{c}})
	}
	var dg, db []float32
	if needs(gamma) {
		dg = g.grad(gamma).Data()
	}
	if needs(beta) {
		db = g.grad(beta).Data()
	}
	if dg != nil || db != nil {
		// Parameter gradients reduce over rows: split the columns instead.
		g.forRows(c, 16, task{fn: normParamGradCols, x: xd, z: dy, u: mean, v: rstd, w: dg, y: db, i: [8]int{rows, c}})
	}
}

func layerNormGradRows(t *task, lo, hi int) {
	c := t.i[0]
	gamma := t.y
	for r := lo; r < hi; r++ {
		x, dy, dx := t.x[r*c:(r+1)*c], t.z[r*c:(r+1)*c], t.w[r*c:(r+1)*c]
		m, rs := t.u[r], t.v[r]
		// dn = dy·gamma; sums of dn and dn·n, then dx += rstd·(dn − mean dn − n·mean(dn·n)).
		var sdn, sdnn float32
		if gamma != nil {
			gamma := gamma[:c]
			for j, v := range x {
				dn := dy[j] * gamma[j]
				sdn += dn
				sdnn += dn * (v - m)
			}
		} else {
			for j, v := range x {
				sdn += dy[j]
				sdnn += dy[j] * (v - m)
			}
		}
		sdn /= float32(c)
		sdnn *= rs / float32(c)
		if gamma != nil {
			gamma := gamma[:c]
			for j, v := range x {
				dx[j] += (dy[j]*gamma[j] - sdn - (v-m)*rs*sdnn) * rs
			}
		} else {
			for j, v := range x {
				dx[j] += (dy[j] - sdn - (v-m)*rs*sdnn) * rs
			}
		}
	}
}

// normParamGradCols accumulates dgamma (w) and dbeta (y) for columns
// [lo, hi): dgamma[j] += Σ_r dy·n, dbeta[j] += Σ_r dy, where n = (x −
// mean)·rstd (RMSNorm passes a nil mean: n = x·rstd).
func normParamGradCols(t *task, lo, hi int) {
	rows, c := t.i[0], t.i[1]
	var dg, db []float32
	if t.w != nil {
		dg = t.w[lo:hi]
	}
	if t.y != nil {
		db = t.y[lo:hi]
	}
	for r := 0; r < rows; r++ {
		x, dy := t.x[r*c+lo:r*c+hi], t.z[r*c+lo:r*c+hi]
		var m float32
		if t.u != nil {
			m = t.u[r]
		}
		rs := t.v[r]
		if dg != nil {
			x, dy := x[:len(dg)], dy[:len(dg)]
			for j, d := range dy {
				dg[j] += d * (x[j] - m) * rs
			}
		}
		if db != nil {
			for j, d := range dy[:len(db)] {
				db[j] += d
			}
		}
	}
}

// RMSNorm normalises each row of x [..., C] by its root mean square, as
// torch.nn.functional.rms_norm:
//
//	y = x·rstd·gamma,   rstd = 1/√(mean(x²) + eps)
//
// gamma is [C] or nil. Forward saves rstd per row; backward:
//
//	dx = rstd·(dy·gamma − x·rstd²·mean(dy·gamma·x)),  dgamma = Σ dy·x·rstd
func (g *Graph) RMSNorm(x, gamma *Var, eps float32) *Var {
	rows, c := normArgs("autograd.RMSNorm", x, gamma, nil)
	xv := g.contig(x)
	out := g.arena.Empty(xv.Shape...)
	rstd := g.arena.Empty(rows)
	g.forRows(rows, rowGrain, task{fn: rmsNormRows, x: xv.Data(), y: dataOrNil(g, gamma), w: out.Data(),
		v: rstd.Data(), i: [8]int{c}, f: [2]float32{eps}})
	y := g.newVar(out)
	if nd := g.record(rmsNormBackward, y, x, gamma); nd != nil {
		nd.saved[0], nd.saved[1] = xv, rstd
		nd.i[0], nd.i[1] = rows, c
	}
	return y
}

func rmsNormRows(t *task, lo, hi int) {
	c, eps := t.i[0], float64(t.f[0])
	for r := lo; r < hi; r++ {
		x, y := t.x[r*c:(r+1)*c], t.w[r*c:(r+1)*c]
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		rs := float32(1 / math.Sqrt(ss/float64(c)+eps))
		t.v[r] = rs
		if t.y != nil {
			gamma := t.y[:c]
			for j, v := range x {
				y[j] = v * rs * gamma[j]
			}
		} else {
			for j, v := range x {
				y[j] = v * rs
			}
		}
	}
}

func rmsNormBackward(g *Graph, nd *node) {
	x, gamma := nd.in[0], nd.in[1]
	rows, c := nd.i[0], nd.i[1]
	xd, rstd := nd.saved[0].Data(), nd.saved[1].Data()
	dy := nd.out.Grad.Data()
	if needs(x) {
		g.forRows(rows, rowGrain, task{fn: rmsNormGradRows, x: xd, y: dataOrNil(g, gamma), z: dy,
			w: g.grad(x).Data(), v: rstd, i: [8]int{c}})
	}
	if needs(gamma) {
		g.forRows(c, 16, task{fn: normParamGradCols, x: xd, z: dy, v: rstd, w: g.grad(gamma).Data(), i: [8]int{rows, c}})
	}
}

func rmsNormGradRows(t *task, lo, hi int) {
	c := t.i[0]
	gamma := t.y
	for r := lo; r < hi; r++ {
		x, dy, dx := t.x[r*c:(r+1)*c], t.z[r*c:(r+1)*c], t.w[r*c:(r+1)*c]
		rs := t.v[r]
		var s float32
		for j, v := range x {
			dn := dy[j]
			if gamma != nil {
				dn *= gamma[j]
			}
			s += dn * v
		}
		k := rs * rs * s / float32(c)
		for j, v := range x {
			dn := dy[j]
			if gamma != nil {
				dn *= gamma[j]
			}
			dx[j] += rs * (dn - v*k)
		}
	}
}
