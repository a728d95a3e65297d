package autograd

import (
	"math"

	"github.com/attn-dev/attn/tensor"
)

// rowGrain is the number of rows below which a row-wise loop (norms,
// softmax) stays on one core; rows are short, so chunks are coarse.
const rowGrain = 64

// normShape checks x [..., C] against gamma and beta ([C] or nil) and
// returns the number of rows and C.
func normShape(op string, x, gamma, beta *Var) (rows, c int) {
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

// normSaved is what LayerNorm and RMSNorm keep for backward: x [rows, C]
// and, per row, mean (nil for RMSNorm) and rstd.
type normSaved struct {
	x, mean, rstd *tensor.Tensor
	rows, c       int
}

// normArgs are the arguments of the norms' loops: forward
// y = (x − mean)·rstd·gamma + beta, writing mean and rstd per row;
// backward accumulates dx, dgamma and dbeta from dy. gamma, beta, mean
// (RMSNorm), dgamma and dbeta may be nil.
type normArgs struct {
	x, gamma, beta, y     []float32
	mean, rstd            []float32
	dy, dx, dgamma, dbeta []float32
	rows, c               int
	eps                   float32
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
	rows, c := normShape("autograd.LayerNorm", x, gamma, beta)
	xv := g.contig(x)
	out := g.arena.Empty(xv.Shape...)
	mean, rstd := g.arena.Empty(rows), g.arena.Empty(rows)
	g.forRows(rows, rowGrain, task{fn: layerNormRows, norm: normArgs{x: xv.Data(), gamma: dataOrNil(g, gamma), beta: dataOrNil(g, beta),
		y: out.Data(), mean: mean.Data(), rstd: rstd.Data(), c: c, eps: eps}})
	y := g.newVar(out)
	if nd := g.record(layerNormBackward, y, x, gamma, beta); nd != nil {
		nd.norm = normSaved{x: xv, mean: mean, rstd: rstd, rows: rows, c: c}
	}
	return y
}

func layerNormRows(t *task, lo, hi int) {
	a := &t.norm
	c, eps := a.c, float64(a.eps)
	gamma, beta := a.gamma, a.beta
	for r := lo; r < hi; r++ {
		x, y := a.x[r*c:(r+1)*c], a.y[r*c:(r+1)*c]
		m := sum64(x) / float64(c)
		rs := 1 / math.Sqrt(sumSq64(x, m)/float64(c)+eps)
		mf, rf := float32(m), float32(rs)
		a.mean[r], a.rstd[r] = mf, rf
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
	s := &nd.norm
	rows, c := s.rows, s.c
	xd, mean, rstd := s.x.Data(), s.mean.Data(), s.rstd.Data()
	dy := nd.out.Grad.Data()
	if needs(x) {
		g.forRows(rows, rowGrain, task{fn: layerNormGradRows, norm: normArgs{x: xd, gamma: dataOrNil(g, gamma),
			mean: mean, rstd: rstd, dy: dy, dx: g.grad(x).Data(), c: c}})
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
		g.forRows(c, 16, task{fn: normParamGradCols, norm: normArgs{x: xd, mean: mean, rstd: rstd,
			dy: dy, dgamma: dg, dbeta: db, rows: rows, c: c}})
	}
}

func layerNormGradRows(t *task, lo, hi int) {
	a := &t.norm
	c := a.c
	gamma := a.gamma
	for r := lo; r < hi; r++ {
		x, dy, dx := a.x[r*c:(r+1)*c], a.dy[r*c:(r+1)*c], a.dx[r*c:(r+1)*c]
		m, rs := a.mean[r], a.rstd[r]
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

// normParamGradCols accumulates dgamma and dbeta (either may be nil) for
// columns [lo, hi): dgamma[j] += Σ_r dy·n, dbeta[j] += Σ_r dy, where
// n = (x − mean)·rstd (RMSNorm passes a nil mean: n = x·rstd).
func normParamGradCols(t *task, lo, hi int) {
	a := &t.norm
	c := a.c
	var dg, db []float32
	if a.dgamma != nil {
		dg = a.dgamma[lo:hi]
	}
	if a.dbeta != nil {
		db = a.dbeta[lo:hi]
	}
	for r := 0; r < a.rows; r++ {
		x, dy := a.x[r*c+lo:r*c+hi], a.dy[r*c+lo:r*c+hi]
		var m float32
		if a.mean != nil {
			m = a.mean[r]
		}
		rs := a.rstd[r]
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
	rows, c := normShape("autograd.RMSNorm", x, gamma, nil)
	xv := g.contig(x)
	out := g.arena.Empty(xv.Shape...)
	rstd := g.arena.Empty(rows)
	g.forRows(rows, rowGrain, task{fn: rmsNormRows, norm: normArgs{x: xv.Data(), gamma: dataOrNil(g, gamma), y: out.Data(),
		rstd: rstd.Data(), c: c, eps: eps}})
	y := g.newVar(out)
	if nd := g.record(rmsNormBackward, y, x, gamma); nd != nil {
		nd.norm = normSaved{x: xv, rstd: rstd, rows: rows, c: c}
	}
	return y
}

func rmsNormRows(t *task, lo, hi int) {
	a := &t.norm
	c, eps := a.c, float64(a.eps)
	for r := lo; r < hi; r++ {
		x, y := a.x[r*c:(r+1)*c], a.y[r*c:(r+1)*c]
		rs := float32(1 / math.Sqrt(sumSq64(x, 0)/float64(c)+eps))
		a.rstd[r] = rs
		if a.gamma != nil {
			gamma := a.gamma[:c]
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
	s := &nd.norm
	rows, c := s.rows, s.c
	xd, rstd := s.x.Data(), s.rstd.Data()
	dy := nd.out.Grad.Data()
	if needs(x) {
		g.forRows(rows, rowGrain, task{fn: rmsNormGradRows, norm: normArgs{x: xd, gamma: dataOrNil(g, gamma),
			rstd: rstd, dy: dy, dx: g.grad(x).Data(), c: c}})
	}
	if needs(gamma) {
		g.forRows(c, 16, task{fn: normParamGradCols, norm: normArgs{x: xd, rstd: rstd,
			dy: dy, dgamma: g.grad(gamma).Data(), rows: rows, c: c}})
	}
}

func rmsNormGradRows(t *task, lo, hi int) {
	a := &t.norm
	c := a.c
	gamma := a.gamma
	for r := lo; r < hi; r++ {
		x, dy, dx := a.x[r*c:(r+1)*c], a.dy[r*c:(r+1)*c], a.dx[r*c:(r+1)*c]
		rs := a.rstd[r]
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

// sum64 is Σ x in float64, over four interleaved partial sums (a chain of
// dependent adds would wait on each add's latency).
func sum64(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := (*[4]float32)(x[i:])
		s0 += float64(v[0])
		s1 += float64(v[1])
		s2 += float64(v[2])
		s3 += float64(v[3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSq64 is Σ (x − m)² in float64, as sum64.
func sumSq64(x []float32, m float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := (*[4]float32)(x[i:])
		d0, d1, d2, d3 := float64(v[0])-m, float64(v[1])-m, float64(v[2])-m, float64(v[3])-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := float64(x[i]) - m
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}
