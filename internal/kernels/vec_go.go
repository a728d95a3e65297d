package kernels

import "math"

// implGo is the pure-Go kernel set: the same packed SGEMM driver with a 4×4
// Go microkernel, and scalar twins of the SIMD vector kernels (same
// polynomials, so the assembly can be pinned to them).
var implGo = &impl{
	name:         "go",
	mr:           4,
	nr:           4,
	kernel:       kernelGo4x4,
	gemvN:        gemvNGo,
	dot4:         dot4Go,
	dot:          dotGo,
	dotBF16:      dotBF16Go,
	axpy:         axpyGo,
	adamw:        AdamWRef,
	scale:        ScaleRef,
	max:          MaxRef,
	exp:          expGo,
	tanh:         tanhGo,
	geluTanh:     geluTanhGo,
	geluErf:      geluErfGo,
	geluErfGrad:  geluErfGradGo,
	geluTanhGrad: geluTanhGradGo,
	expShiftSum:  expShiftSumGo,
	expShiftGrad: expShiftGradGo,
}

// kernelGo4x4 is the microkernel contract of impl.kernel for a 4×4 tile
// in sixteen scalar accumulators. The loop slides a and b forward instead of
// indexing them, which lets the compiler drop the bounds checks (measured
// about 1.3× faster).
func kernelGo4x4(k int, a, b, c []float32, ldc int, alpha, beta float32, _ []float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	a, b = a[:4*k], b[:4*k]
	for len(a) >= 4 && len(b) >= 4 {
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a, b = a[4:], b[4:]
	}
	acc := [4][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
	for i := range acc {
		row := c[i*ldc : i*ldc+4 : i*ldc+4]
		for j, v := range acc[i] {
			if beta == 0 {
				row[j] = alpha * v
			} else {
				row[j] = alpha*v + beta*row[j]
			}
		}
	}
}

// gemvNGo computes y[j] += Σ_p x[p]·b[p·ldb+j] for j < len(y).
func gemvNGo(x, b []float32, ldb int, y []float32) {
	for p, xv := range x {
		axpyGo(xv, b[p*ldb:p*ldb+len(y)], y)
	}
}

// dot4Go computes out[r] = Σ_p x[p]·b[r·ldb+p] for r < 4.
func dot4Go(x, b []float32, ldb int, out *[4]float32) {
	for r := range out {
		out[r] = dotGo(x, b[r*ldb:r*ldb+len(x)])
	}
}

// dotGo is DotRef with four independent partial sums.
func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dotBF16Go is DotBF16Ref with four independent partial sums.
func dotBF16Go(x []float32, w []uint16) float32 {
	w = w[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * bf16ToF32(w[i])
		s1 += x[i+1] * bf16ToF32(w[i+1])
		s2 += x[i+2] * bf16ToF32(w[i+2])
		s3 += x[i+3] * bf16ToF32(w[i+3])
	}
	for ; i < len(x); i++ {
		s0 += x[i] * bf16ToF32(w[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// axpyGo is AxpyRef unrolled by four.
func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y[i] += alpha * x[i]
		y[i+1] += alpha * x[i+1]
		y[i+2] += alpha * x[i+2]
		y[i+3] += alpha * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

// Constants of expf (Cephes): ln 2 split so that n·ln2Hi is exact for the
// |n| <= 150 used here, and the degree-6 polynomial for exp on
// [-ln2/2, ln2/2]. The assembly generator uses the same values.
const (
	expHi  = 89
	expLo  = -104
	log2e  = 1.44269504088896341
	ln2Hi  = 0.693359375
	ln2Lo  = -2.12194440e-4
	expP0  = 1.9875691500e-4
	expP1  = 1.3981999507e-3
	expP2  = 8.3334519073e-3
	expP3  = 4.1665795894e-2
	expP4  = 1.6666665459e-1
	expP5  = 5.0000001201e-1
	tanhT0 = -5.70498872745e-3
	tanhT1 = 2.06390887954e-2
	tanhT2 = -5.37397155531e-2
	tanhT3 = 1.33314422036e-1
	tanhT4 = -3.33332819422e-1
)

// expf is the scalar twin of the vector exp: clamp x to [-104, 89], write
// x = n·ln2 + r with |r| <= ln2/2, exp(r) ≈ 1 + r + r²·P(r), then scale by
// 2^n as two factors 2^(n>>1)·2^(n-(n>>1)), each a normal float, so the
// subnormal range and overflow to +Inf come out right.
func expf(x float32) float32 {
	if x != x {
		return x
	}
	xc := min(max(x, expLo), expHi)
	n := float32(math.RoundToEven(float64(xc * log2e)))
	r := xc - n*ln2Hi
	r -= n * ln2Lo
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	p = r*r*p + r + 1
	ni := int32(n)
	n1 := ni >> 1
	n2 := ni - n1
	return p * math.Float32frombits(uint32(n1+127)<<23) * math.Float32frombits(uint32(n2+127)<<23)
}

// tanhf is the scalar twin of the vector tanh: the Cephes odd polynomial
// for |x| < 0.625, else sign(x)·(1 - 2/(exp(2|x|)+1)).
func tanhf(x float32) float32 {
	ax := float32(math.Abs(float64(x)))
	if ax < 0.625 {
		z := x * x
		p := float32(tanhT0)
		p = p*z + tanhT1
		p = p*z + tanhT2
		p = p*z + tanhT3
		p = p*z + tanhT4
		return x + x*z*p
	}
	t := 1 - 2/(expf(2*ax)+1)
	if x < 0 {
		return -t
	}
	if x != x {
		return x
	}
	return t
}

// geluTanhGo is the scalar twin of the vector GELU: x / (1 + exp(-2u)),
// which equals 0.5·x·(1 + tanh(u)).
func geluTanhGo(dst, src []float32) {
	const g1 = -2 * 0.7978845608028654 // -2·√(2/π)
	const g3 = g1 * 0.044715
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = x / (1 + expf(x*(g1+g3*x*x)))
	}
}

// Coefficients of Abramowitz & Stegun 7.1.26, erfc(z) ≈ t·A(t)·exp(−z²)
// with t = 1/(1 + asP·z), for the exact GELU.
const (
	asP  = 0.3275911
	asA1 = 0.254829592
	asA2 = -0.284496736
	asA3 = 1.421413741
	asA4 = -1.453152027
	asA5 = 1.061405429
)

// geluErfGo is the scalar twin of the vector exact GELU: r = Φ(−|x|) =
// ½·t·A(t)·exp(−x²/2), t = 1/(1 + asP·|x|/√2); x·r for x < 0, x·(1 − r)
// otherwise (by the sign bit, so −0 and NaN take the first form as the
// vector blend does).
func geluErfGo(dst, src []float32) {
	const p = float32(asP / math.Sqrt2)
	dst = dst[:len(src)]
	for i, x := range src {
		e := expf(-0.5 * (x * x))
		t := 1 / (1 + p*float32(math.Abs(float64(x))))
		r := 0.5 * (e * (t * (asA1 + t*(asA2+t*(asA3+t*(asA4+t*asA5))))))
		if math.Signbit(float64(x)) {
			dst[i] = x * r
		} else {
			dst[i] = x * (1 - r)
		}
	}
}

// geluErfGradGo is geluErfGradAVX2's loop in scalar form.
func geluErfGradGo(dx, dy, x, y []float32) {
	const invSqrt2Pi = float32(0.39894228040143267794)
	dx, dy, y = dx[:len(x)], dy[:len(x)], y[:len(x)]
	for i, v := range x {
		e := expf(-0.5 * (v * v))
		near := invSqrt2Pi * v
		cdf := 0.5 + near
		if !(v < 1e-3 && v > -1e-3) {
			cdf = y[i] / v
		}
		dx[i] += dy[i] * (cdf + near*e)
	}
}

// geluTanhGradGo is geluTanhGradAVX2's loop in scalar form.
func geluTanhGradGo(dx, dy, x []float32) {
	const s2pi, coef = float32(0.79788456080286535588), float32(0.044715)
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		x2 := v * v
		t := tanhf(s2pi * ((coef*x2)*v + v))
		a := s2pi * (3*coef*x2 + 1)
		dx[i] += dy[i] * (0.5 * ((1 + t) + v*((1-t*t)*a)))
	}
}

func expGo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = expf(v)
	}
}

func tanhGo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = tanhf(v)
	}
}

func expShiftSumGo(x []float32, shift float32) float32 {
	var s float32
	for i, v := range x {
		e := expf(v - shift)
		x[i] = e
		s += e
	}
	return s
}

func expShiftGradGo(p, ds []float32, shift, d float32) {
	ds = ds[:len(p)]
	for i, v := range p {
		e := expf(v - shift)
		p[i] = e
		ds[i] = e * (ds[i] - d)
	}
}
