package kernels

import "math"

// SgemmRef computes C = alpha·op(A)·op(B) + beta·C, the plain-Go reference.
//
// op(A) is M×K: A is M×K with row stride lda, or K×M when transA.
// op(B) is K×N: B is K×N with row stride ldb, or N×K when transB.
// C is M×N with row stride ldc. When beta == 0, C is not read (NaNs in C
// do not propagate), as in BLAS.
func SgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// DotRef returns Σ x[i]·y[i] over len(x) elements.
func DotRef(x, y []float32) float32 {
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// DotBF16Ref returns Σ x[i]·float32(w[i]<<16) over len(x) elements.
func DotBF16Ref(x []float32, w []uint16) float32 {
	var s float32
	for i, v := range x {
		s += v * bf16ToF32(w[i])
	}
	return s
}

// bf16ToF32 widens a bfloat16 (the upper 16 bits of a float32) exactly.
func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// AxpyRef computes y[i] += alpha·x[i] over len(x) elements.
func AxpyRef(alpha float32, x, y []float32) {
	for i, v := range x {
		y[i] += alpha * v
	}
}

// AdamWConsts are the per-step scalars of one AdamW update (see AdamWRef),
// computed in float64 and rounded once to float32, as torch applies Python
// floats to float32 tensors.
type AdamWConsts struct {
	Beta1, OneMinusBeta1 float32 // β1, 1−β1
	Beta2, OneMinusBeta2 float32 // β2, 1−β2
	BC2Sqrt              float32 // √(1−β2ᵗ)
	NegStep              float32 // −lr/(1−β1ᵗ)
	Eps                  float32 // ε
	Decay                float32 // 1−lr·wd
}

// AdamWRef applies one AdamW step to p in place from the gradient g and
// the moments m and v (all of len(p)), in torch's _single_tensor_adamw
// order and float32 arithmetic:
//
//	p  *= 1 − lr·wd                      (decoupled weight decay)
//	m   = β1·m + (1−β1)·g
//	v   = β2·v + (1−β2)·g²
//	p  −= lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε)
func AdamWRef(p, g, m, v []float32, k AdamWConsts) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	for i := range p {
		gi := g[i]
		mi := m[i]*k.Beta1 + k.OneMinusBeta1*gi
		vi := v[i]*k.Beta2 + k.OneMinusBeta2*gi*gi
		m[i], v[i] = mi, vi
		denom := float32(math.Sqrt(float64(vi)))/k.BC2Sqrt + k.Eps
		p[i] = p[i]*k.Decay + k.NegStep*(mi/denom)
	}
}

// ScaleRef computes x[i] *= alpha.
func ScaleRef(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// ExpRef computes dst[i] = exp(src[i]).
func ExpRef(dst, src []float32) {
	for i, v := range src {
		dst[i] = float32(math.Exp(float64(v)))
	}
}

// TanhRef computes dst[i] = tanh(src[i]).
func TanhRef(dst, src []float32) {
	for i, v := range src {
		dst[i] = float32(math.Tanh(float64(v)))
	}
}

// GeluTanhRef computes dst[i] = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
// for x = src[i].
func GeluTanhRef(dst, src []float32) {
	for i, v := range src {
		x := float64(v)
		dst[i] = float32(0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x))))
	}
}

// GeluErfRef computes dst[i] = x·Φ(x) = 0.5·x·(1 + erf(x/√2)) for x =
// src[i], in float64 (erfc for x < 0, so the tail does not cancel).
func GeluErfRef(dst, src []float32) {
	for i, v := range src {
		x := float64(v)
		if x < 0 {
			dst[i] = float32(0.5 * x * math.Erfc(-x/math.Sqrt2))
		} else {
			dst[i] = float32(0.5 * x * (1 + math.Erf(x/math.Sqrt2)))
		}
	}
}

// GeluErfGradRef computes dx[i] += dy[i]·(Φ(x) + x·φ(x)), the derivative
// of x·Φ(x) at x = x[i], in float64 from x alone (GeluErfGrad also reads
// the forward's y).
func GeluErfGradRef(dx, dy, x []float32) {
	for i, v := range x {
		t := float64(v)
		cdf := 0.5 * math.Erfc(-t/math.Sqrt2)
		dx[i] = float32(float64(dx[i]) + float64(dy[i])*(cdf+t*math.Exp(-t*t/2)/math.Sqrt(2*math.Pi)))
	}
}

// GeluTanhGradRef computes dx[i] += dy[i]·gelu_tanh'(x[i]) in float64.
func GeluTanhGradRef(dx, dy, x []float32) {
	c := math.Sqrt(2 / math.Pi)
	for i, v := range x {
		t := float64(v)
		th := math.Tanh(c * (t + 0.044715*t*t*t))
		d := 0.5*(1+th) + 0.5*t*(1-th*th)*c*(1+3*0.044715*t*t)
		dx[i] = float32(float64(dx[i]) + float64(dy[i])*d)
	}
}

// MaxRef returns the largest element of x (-Inf for an empty x).
func MaxRef(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

// ExpShiftSumRef computes x[i] = exp(x[i] - shift) in place and returns
// Σ x[i] afterwards: the body of a numerically stable softmax.
func ExpShiftSumRef(x []float32, shift float32) float32 {
	var s float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - shift)))
		x[i] = e
		s += e
	}
	return s
}
