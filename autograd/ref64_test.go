package autograd

import "math"

// Float64 reference forwards, written independently of the ops, for the
// finite-difference checks. Each takes flattened inputs and returns the
// flattened output.

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// refMatMul: a [nbA?, M, K] (or K×M when ta), b likewise; shared operand
// when its batch count is 1 and the other's is not.
func refMatMul(a, b []float64, nb, m, n, k int, ta, tb, sharedA, sharedB bool) []float64 {
	out := make([]float64, nb*m*n)
	for bi := 0; bi < nb; bi++ {
		ao, bo := bi*m*k, bi*k*n
		if sharedA {
			ao = 0
		}
		if sharedB {
			bo = 0
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for p := 0; p < k; p++ {
					av := a[ao+i*k+p]
					if ta {
						av = a[ao+p*m+i]
					}
					bv := b[bo+p*n+j]
					if tb {
						bv = b[bo+j*k+p]
					}
					s += av * bv
				}
				out[bi*m*n+i*n+j] = s
			}
		}
	}
	return out
}

func refLinear(x, w, b []float64, rows, in, out int) []float64 {
	y := make([]float64, rows*out)
	for r := 0; r < rows; r++ {
		for o := 0; o < out; o++ {
			s := 0.0
			if b != nil {
				s = b[o]
			}
			for i := 0; i < in; i++ {
				s += x[r*in+i] * w[o*in+i]
			}
			y[r*out+o] = s
		}
	}
	return y
}

// refBroadcast applies f over numpy-broadcast shapes as, bs.
func refBroadcast(a, b []float64, as, bs []int, f func(x, y float64) float64) []float64 {
	r := max(len(as), len(bs))
	pad := func(s []int) []int {
		p := make([]int, r)
		for i := range p {
			p[i] = 1
		}
		copy(p[r-len(s):], s)
		return p
	}
	pa, pb := pad(as), pad(bs)
	shape := make([]int, r)
	for i := range shape {
		shape[i] = max(pa[i], pb[i])
	}
	out := make([]float64, prod(shape))
	idx := make([]int, r)
	for o := range out {
		rem := o
		for d := r - 1; d >= 0; d-- {
			idx[d] = rem % shape[d]
			rem /= shape[d]
		}
		ia, ib := 0, 0
		for d := 0; d < r; d++ {
			ia = ia*pa[d] + idx[d]%pa[d]
			ib = ib*pb[d] + idx[d]%pb[d]
		}
		out[o] = f(a[ia], b[ib])
	}
	return out
}

func refLayerNorm(x, gamma, beta []float64, c int, eps float64) []float64 {
	y := make([]float64, len(x))
	for r := 0; r < len(x)/c; r++ {
		row := x[r*c : (r+1)*c]
		var m, v float64
		for _, e := range row {
			m += e
		}
		m /= float64(c)
		for _, e := range row {
			v += (e - m) * (e - m)
		}
		v /= float64(c)
		for j, e := range row {
			z := (e - m) / math.Sqrt(v+eps)
			if gamma != nil {
				z *= gamma[j]
			}
			if beta != nil {
				z += beta[j]
			}
			y[r*c+j] = z
		}
	}
	return y
}

func refRMSNorm(x, gamma []float64, c int, eps float64) []float64 {
	y := make([]float64, len(x))
	for r := 0; r < len(x)/c; r++ {
		row := x[r*c : (r+1)*c]
		var ss float64
		for _, e := range row {
			ss += e * e
		}
		rs := 1 / math.Sqrt(ss/float64(c)+eps)
		for j, e := range row {
			z := e * rs
			if gamma != nil {
				z *= gamma[j]
			}
			y[r*c+j] = z
		}
	}
	return y
}

func refMap(x []float64, f func(float64) float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = f(v)
	}
	return y
}

func refGELU(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }

func refGELUTanh(v float64) float64 {
	return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
}

func refSiLU(v float64) float64 { return v / (1 + math.Exp(-v)) }

func refLogSoftmax(x []float64, n int) []float64 {
	y := make([]float64, len(x))
	for r := 0; r < len(x)/n; r++ {
		row := x[r*n : (r+1)*n]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - m)
		}
		l := m + math.Log(s)
		for j, v := range row {
			y[r*n+j] = v - l
		}
	}
	return y
}

func refSoftmax(x []float64, n int) []float64 { return refMap(refLogSoftmax(x, n), math.Exp) }

func refCrossEntropy(x []float64, v int, targets []int, ignore int) []float64 {
	ls := refLogSoftmax(x, v)
	var s float64
	cnt := 0
	for r, t := range targets {
		if t == ignore {
			continue
		}
		s -= ls[r*v+t]
		cnt++
	}
	return []float64{s / float64(cnt)}
}

func refEmbedding(table []float64, c int, ids []int) []float64 {
	y := make([]float64, 0, len(ids)*c)
	for _, id := range ids {
		y = append(y, table[id*c:(id+1)*c]...)
	}
	return y
}

// refSplitHeads maps [B,T,NH*HS] to [B,NH,T,HS]; merge does the inverse.
func refSplitHeads(x []float64, b, t, nh, hs int) []float64 { return refHeads(x, b, t, nh, hs, false) }

func refMergeHeads(x []float64, b, t, nh, hs int) []float64 { return refHeads(x, b, t, nh, hs, true) }

func refHeads(x []float64, b, t, nh, hs int, merge bool) []float64 {
	y := make([]float64, len(x))
	for bi := 0; bi < b; bi++ {
		for ti := 0; ti < t; ti++ {
			for h := 0; h < nh; h++ {
				for e := 0; e < hs; e++ {
					m, sp := ((bi*t+ti)*nh+h)*hs+e, ((bi*nh+h)*t+ti)*hs+e
					if merge {
						m, sp = sp, m
					}
					y[sp] = x[m]
				}
			}
		}
	}
	return y
}

// refConcat joins inputs of shapes along axis.
func refConcat(xs [][]float64, shapes [][]int, axis int) []float64 {
	outer := prod(shapes[0][:axis])
	var y []float64
	for o := 0; o < outer; o++ {
		for i, x := range xs {
			w := prod(shapes[i][axis:])
			y = append(y, x[o*w:(o+1)*w]...)
		}
	}
	return y
}

func refNarrow(x []float64, shape []int, axis, lo, hi int) []float64 {
	outer, n, inner := prod(shape[:axis]), shape[axis], prod(shape[axis+1:])
	var y []float64
	for o := 0; o < outer; o++ {
		y = append(y, x[(o*n+lo)*inner:(o*n+hi)*inner]...)
	}
	return y
}

// refAttention is softmax(scale·q·kᵀ + mask)·v per (b, h) with causal
// (bottom-right aligned), key padding and an additive mask [B|1,NH|1,Tq,Tk]
// (maskB, maskH tell whether those dims are full).
func refAttention(q, k, v []float64, b, nh, nkv, tq, tk, hs int, scale float64, causal bool, pad []bool, mask []float64, maskB, maskH bool) []float64 {
	out := make([]float64, b*nh*tq*hs)
	s := make([]float64, tk)
	for bi := 0; bi < b; bi++ {
		for h := 0; h < nh; h++ {
			kh := h / (nh / nkv)
			for i := 0; i < tq; i++ {
				m := math.Inf(-1)
				for j := 0; j < tk; j++ {
					var d float64
					for e := 0; e < hs; e++ {
						d += q[((bi*nh+h)*tq+i)*hs+e] * k[((bi*nkv+kh)*tk+j)*hs+e]
					}
					d *= scale
					if mask != nil {
						mb, mh := 0, 0
						if maskB {
							mb = bi
						}
						if maskH {
							mh = h
						}
						nhm := 1
						if maskH {
							nhm = nh
						}
						d += mask[((mb*nhm+mh)*tq+i)*tk+j]
					}
					if (causal && j > i+tk-tq) || (pad != nil && pad[bi*tk+j]) {
						d = math.Inf(-1)
					}
					s[j] = d
					m = math.Max(m, d)
				}
				var z float64
				for j := range s {
					s[j] = math.Exp(s[j] - m)
					z += s[j]
				}
				for e := 0; e < hs; e++ {
					var acc float64
					for j := 0; j < tk; j++ {
						acc += s[j] / z * v[((bi*nkv+kh)*tk+j)*hs+e]
					}
					out[((bi*nh+h)*tq+i)*hs+e] = acc
				}
			}
		}
	}
	return out
}

// refPermute reorders the axes of x [shape] so that output axis i is
// input axis dims[i].
func refPermute(x []float64, shape, dims []int) []float64 {
	r := len(shape)
	os := make([]int, r)
	for i, d := range dims {
		os[i] = shape[d]
	}
	y := make([]float64, len(x))
	idx, src := make([]int, r), make([]int, r)
	for o := range y {
		rem := o
		for d := r - 1; d >= 0; d-- {
			idx[d] = rem % os[d]
			rem /= os[d]
		}
		for i, d := range dims {
			src[d] = idx[i]
		}
		off := 0
		for d := 0; d < r; d++ {
			off = off*shape[d] + src[d]
		}
		y[o] = x[off]
	}
	return y
}

// refSumAxis sums x [shape] over axis, times scale.
func refSumAxis(x []float64, shape []int, axis int, scale float64) []float64 {
	outer, n, inner := prod(shape[:axis]), shape[axis], prod(shape[axis+1:])
	y := make([]float64, outer*inner)
	for o := 0; o < outer; o++ {
		for k := 0; k < n; k++ {
			for i := 0; i < inner; i++ {
				y[o*inner+i] += scale * x[(o*n+k)*inner+i]
			}
		}
	}
	return y
}
