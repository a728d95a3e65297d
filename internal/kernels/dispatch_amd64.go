//go:build !purego

package kernels

import (
	"log/slog"
	"math"

	"golang.org/x/sys/cpu"
)

var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F
)

// implAVX2 uses the 6×16 AVX2+FMA microkernel and the AVX2 vector kernels.
var implAVX2 = &impl{
	name:         "avx2",
	mr:           6,
	nr:           16,
	kernel:       kernelAVX2,
	gemvN:        gemvNAsm,
	dot4:         dot4Asm,
	sup:          supAVX2,
	packT8:       packT8Asm,
	copy16:       copy16Asm,
	dot:          dotAsm,
	dotBF16:      dotBF16Asm,
	axpy:         axpyAsm,
	adamw:        adamwAsm,
	scale:        scaleAsm,
	max:          maxAsm,
	exp:          expAsm,
	tanh:         tanhAsm,
	geluTanh:     geluTanhAsm,
	geluErf:      geluErfAsm,
	geluErfGrad:  geluErfGradAsm,
	geluTanhGrad: geluTanhGradAsm,
	expShiftSum:  expShiftSumAsm,
	expShiftGrad: expShiftGradAsm,
}

// implAVX512 differs from implAVX2 only in the SGEMM microkernel (12×32 in
// zmm registers); the vector kernels are memory-bound and stay AVX2.
var implAVX512 = &impl{
	name:         "avx512",
	mr:           12,
	nr:           32,
	kernel:       kernelAVX512,
	kernelEdge:   kernelAVX512Edge8,
	kernelUA:     kernelUAAVX512,
	kernelUAEdge: kernelUAAVX512Edge8,
	edgeRows:     8,
	gemvN:        gemvNAsm,
	dot4:         dot4Asm,
	sup:          supAVX2,
	packT8:       packT8Asm,
	copy16:       copy16Asm,
	dot:          dotAsm,
	dotBF16:      dotBF16Asm,
	axpy:         axpyAsm,
	adamw:        adamwAsm,
	scale:        scaleAsm,
	max:          maxAsm,
	exp:          expAsm,
	tanh:         tanhAsm,
	geluTanh:     geluTanhAsm,
	geluErf:      geluErfAsm,
	geluErfGrad:  geluErfGradAsm,
	geluTanhGrad: geluTanhGradAsm,
	expShiftSum:  expShiftSumAsm,
	expShiftGrad: expShiftGradAsm,
}

func selectImpl(pureGo bool) *impl {
	switch {
	case pureGo:
		slog.Debug("kernels: ATTN_PUREGO=1, using pure Go")
		return implGo
	case hasAVX512:
		return implAVX512
	case hasAVX2:
		return implAVX2
	}
	return implGo
}

func allImpls() (avail []*impl, missing map[string]string) {
	avail = []*impl{implGo}
	missing = map[string]string{}
	if hasAVX2 {
		avail = append(avail, implAVX2)
	} else {
		missing["avx2"] = "CPU lacks AVX2+FMA"
	}
	if hasAVX512 {
		avail = append(avail, implAVX512)
	} else {
		missing["avx512"] = "CPU lacks AVX-512F (the kernel is built and assembled but cannot run here)"
	}
	return avail, missing
}

func kernelAVX2(k int, a, b, c []float32, ldc int, alpha, beta float32, pf []float32) {
	_, _ = a[6*k-1], b[16*k-1]
	_ = c[5*ldc+15]
	sgemmKernel6x16AVX2(k, &a[0], &b[0], &c[0], ldc, alpha, beta, prefetchAt(pf, b))
}

func kernelAVX512(k int, a, b, c []float32, ldc int, alpha, beta float32, pf []float32) {
	_, _ = a[12*k-1], b[32*k-1]
	_ = c[11*ldc+31]
	sgemmKernel12x32AVX512(k, &a[0], &b[0], &c[0], ldc, alpha, beta, prefetchAt(pf, b))
}

func kernelAVX512Edge8(k int, a, b, c []float32, ldc int, alpha, beta float32, pf []float32) {
	_, _ = a[12*k-1], b[32*k-1]
	_ = c[7*ldc+31]
	sgemmKernel8x32AVX512(k, &a[0], &b[0], &c[0], ldc, alpha, beta, prefetchAt(pf, b))
}

func kernelUAAVX512(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, pf []float32) {
	_, _ = a[11*lda+k-1], b[32*k-1]
	_ = c[11*ldc+31]
	sgemmKernelUA12x32AVX512(k, &a[0], lda, &b[0], &c[0], ldc, alpha, beta, prefetchAt(pf, b))
}

func kernelUAAVX512Edge8(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, pf []float32) {
	_, _ = a[7*lda+k-1], b[32*k-1]
	_ = c[7*ldc+31]
	sgemmKernelUA8x32AVX512(k, &a[0], lda, &b[0], &c[0], ldc, alpha, beta, prefetchAt(pf, b))
}

// prefetchAt is where a kernel's prefetch stream starts: pf, or B itself
// (already being read) when there is nothing to prefetch. A prefetch
// never faults, so running past the end of pf is harmless.
func prefetchAt(pf, b []float32) *float32 {
	if len(pf) > 0 {
		return &pf[0]
	}
	return &b[0]
}

func supAVX2(g, k int, a []float32, rsa, csa int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	if g <= 0 {
		return
	}
	_ = c[(6*g-1)*ldc+15]
	if k > 0 {
		_, _ = a[(6*g-1)*rsa+(k-1)*csa], b[(k-1)*ldb+15]
	}
	sgemmSup6x16AVX2(g, k, &a[0], rsa, csa, &b[0], ldb, &c[0], ldc, alpha, beta)
}

func packT8Asm(dst []float32, dstStride int, src []float32, ld, k int) {
	if k == 0 {
		return
	}
	_, _ = dst[(k-1)*dstStride+7], src[7*ld+k-1]
	packT8AVX2(&dst[0], dstStride, &src[0], ld, k)
}

func copy16Asm(dst []float32, dstStride int, src []float32, ld, k int) {
	if k == 0 {
		return
	}
	_, _ = dst[(k-1)*dstStride+15], src[(k-1)*ld+15]
	copy16AVX2(&dst[0], dstStride, &src[0], ld, k)
}

func gemvNAsm(x, b []float32, ldb int, y []float32) {
	n := len(y) &^ 7
	if len(x) > 0 && n > 0 {
		_ = b[(len(x)-1)*ldb+n-1]
		gemvNAVX2(x, b, ldb, y[:n])
	}
	if n < len(y) {
		gemvNGo(x, b[n:], ldb, y[n:])
	}
}

func dot4Asm(x, b []float32, ldb int, out *[4]float32) {
	k := len(x)
	n := k &^ 7
	_ = b[3*ldb+k-1]
	if n > 0 {
		dot4AVX2(x[:n], b, ldb, out)
	} else {
		*out = [4]float32{}
	}
	for r := range out {
		row := b[r*ldb : r*ldb+k]
		for p := n; p < k; p++ {
			out[r] += x[p] * row[p]
		}
	}
}

func dotAsm(x, y []float32) float32 {
	n := len(x) &^ 7
	y = y[:len(x)]
	var s float32
	if n > 0 {
		s = dotAVX2(x[:n], y[:n])
	}
	for i := n; i < len(x); i++ {
		s += x[i] * y[i]
	}
	return s
}

func dotBF16Asm(x []float32, w []uint16) float32 {
	n := len(x) &^ 7
	w = w[:len(x)]
	var s float32
	if n > 0 {
		s = dotBF16AVX2(x[:n], w[:n])
	}
	for i := n; i < len(x); i++ {
		s += x[i] * bf16ToF32(w[i])
	}
	return s
}

func adamwAsm(p, g, m, v []float32, k AdamWConsts) {
	n := len(p) &^ 7
	if n > 0 {
		var rep [64]float32
		for i, c := range [8]float32{k.Beta1, k.OneMinusBeta1, k.Beta2, k.OneMinusBeta2, k.BC2Sqrt, k.NegStep, k.Eps, k.Decay} {
			for l := range 8 {
				rep[8*i+l] = c
			}
		}
		adamwAVX2(p[:n], g[:n], m[:n], v[:n], &rep)
	}
	if n < len(p) {
		AdamWRef(p[n:], g[n:], m[n:], v[n:], k)
	}
}

func geluErfGradAsm(dx, dy, x, y []float32) {
	n := len(x) &^ 7
	if n > 0 {
		geluErfGradAVX2(dx[:n], dy[:n], x[:n], y[:n])
	}
	if n < len(x) {
		geluErfGradGo(dx[n:], dy[n:], x[n:], y[n:])
	}
}

func geluTanhGradAsm(dx, dy, x []float32) {
	n := len(x) &^ 7
	if n > 0 {
		geluTanhGradAVX2(dx[:n], dy[:n], x[:n])
	}
	if n < len(x) {
		geluTanhGradGo(dx[n:], dy[n:], x[n:])
	}
}

func axpyAsm(alpha float32, x, y []float32) {
	n := len(x) &^ 7
	y = y[:len(x)]
	if n > 0 {
		axpyAVX2(alpha, x[:n], y[:n])
	}
	for i := n; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

func scaleAsm(alpha float32, x []float32) {
	n := len(x) &^ 7
	if n > 0 {
		scaleAVX2(alpha, x[:n])
	}
	for i := n; i < len(x); i++ {
		x[i] *= alpha
	}
}

func maxAsm(x []float32) float32 {
	n := len(x) &^ 7
	m := float32(math.Inf(-1))
	if n > 0 {
		m = maxAVX2(x[:n])
	}
	for _, v := range x[n:] {
		if v > m {
			m = v
		}
	}
	return m
}

// Element-wise functions: the vector kernel on whole vectors and on a
// zero-padded copy of the tail, so every element goes through the same
// code. (Each wrapper calls its kernel directly: through a function value
// the stack buffer would escape and allocate.)

func expAsm(dst, src []float32) {
	n, tail, buf := splitTail(dst, src)
	expAVX2(dst[:n], src[:n])
	if tail {
		expAVX2(buf[:], buf[:])
		copy(dst[n:], buf[:])
	}
}

func tanhAsm(dst, src []float32) {
	n, tail, buf := splitTail(dst, src)
	tanhAVX2(dst[:n], src[:n])
	if tail {
		tanhAVX2(buf[:], buf[:])
		copy(dst[n:], buf[:])
	}
}

func geluTanhAsm(dst, src []float32) {
	n, tail, buf := splitTail(dst, src)
	geluTanhAVX2(dst[:n], src[:n])
	if tail {
		geluTanhAVX2(buf[:], buf[:])
		copy(dst[n:], buf[:])
	}
}

func geluErfAsm(dst, src []float32) {
	n, tail, buf := splitTail(dst, src)
	geluErfAVX2(dst[:n], src[:n])
	if tail {
		geluErfAVX2(buf[:], buf[:])
		copy(dst[n:], buf[:])
	}
}

// splitTail returns the length of the whole vectors of src and, when there
// is a tail, a zero-padded copy of it.
func splitTail(dst, src []float32) (n int, tail bool, buf [8]float32) {
	_ = dst[:len(src)]
	n = len(src) &^ 7
	copy(buf[:], src[n:])
	return n, n < len(src), buf
}

func expShiftSumAsm(x []float32, shift float32) float32 {
	n := len(x) &^ 7
	var s float32
	if n > 0 {
		s = expShiftSumAVX2(x[:n], shift)
	}
	if n < len(x) {
		var buf [8]float32
		t := len(x) - n
		for i, v := range x[n:] {
			buf[i] = v - shift
		}
		expAVX2(buf[:], buf[:])
		for i := 0; i < t; i++ {
			x[n+i] = buf[i]
			s += buf[i]
		}
	}
	return s
}

func expShiftGradAsm(p, ds []float32, shift, d float32) {
	n := len(p) &^ 7
	ds = ds[:len(p)]
	if n > 0 {
		expShiftGradAVX2(p[:n], ds[:n], shift, d)
	}
	if n < len(p) {
		var buf, g [8]float32
		copy(buf[:], p[n:])
		copy(g[:], ds[n:])
		expShiftGradAVX2(buf[:], g[:], shift, d)
		copy(p[n:], buf[:])
		copy(ds[n:], g[:])
	}
}
