package kernels

import "github.com/attn-dev/attn/internal/parallel"

// Sgemm computes C = alpha·op(A)·op(B) + beta·C (see SgemmRef for the
// layout), in parallel over all cores.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	parallel.For(m, 16, func(lo, hi int) {
		var aa []float32
		if transA {
			aa = a[lo:]
		} else {
			aa = a[lo*lda:]
		}
		SgemmRef(transA, transB, hi-lo, n, k, alpha, aa, lda, b, ldb, beta, c[lo*ldc:], ldc)
	})
}

// SgemmSerial is Sgemm on the calling goroutine only, for callers that
// already parallelise over an outer loop (attention heads, batches).
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	SgemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dot returns Σ x[i]·y[i] over len(x) elements.
func Dot(x, y []float32) float32 { return DotRef(x, y) }

// Axpy computes y[i] += alpha·x[i] over len(x) elements.
func Axpy(alpha float32, x, y []float32) { AxpyRef(alpha, x, y) }

// Scale computes x[i] *= alpha.
func Scale(alpha float32, x []float32) { ScaleRef(alpha, x) }

// Exp computes dst[i] = exp(src[i]); dst and src may be the same slice.
func Exp(dst, src []float32) { ExpRef(dst, src) }

// Tanh computes dst[i] = tanh(src[i]); dst and src may be the same slice.
func Tanh(dst, src []float32) { TanhRef(dst, src) }

// Max returns the largest element of x (-Inf for an empty x).
func Max(x []float32) float32 { return MaxRef(x) }

// ExpShiftSum computes x[i] = exp(x[i] - shift) in place and returns their
// sum.
func ExpShiftSum(x []float32, shift float32) float32 { return ExpShiftSumRef(x, shift) }
