package kernels

import (
	"fmt"
	"os"
)

// impl is one complete set of kernels: a SGEMM microkernel with its tile
// shape and the vector kernels. The exported functions call through cur,
// chosen once at init (see selectImpl in dispatch_*.go), so dispatch costs
// one indirect call per kernel call, never a test per element.
type impl struct {
	name string
	// mr×nr is the register tile of kernel.
	mr, nr int
	// kernel computes the mr×nr tile C = alpha·Ap·Bp + beta·C from a packed
	// mr×k sliver of A (column p at a[p·mr:]) and a packed k×nr sliver of B
	// (row p at b[p·nr:]); C has row stride ldc; beta == 0 means C is not
	// read. pf, when not empty, is memory the kernel may prefetch, k cache
	// lines from its start (the next B sliver): a hint, never read.
	kernel func(k int, a, b, c []float32, ldc int, alpha, beta float32, pf []float32)
	// kernelEdge, when set, is kernel for the first edgeRows rows of the
	// sliver only (reading and writing edgeRows rows of C): the edge tile
	// of an M that leaves edgeRows rows over goes straight to C.
	kernelEdge func(k int, a, b, c []float32, ldc int, alpha, beta float32, pf []float32)
	edgeRows   int
	// kernelUA and kernelUAEdge, when set, are kernel and kernelEdge
	// reading A in place (row i at a[i·lda:][:k], depth contiguous)
	// instead of from a packed sliver.
	kernelUA, kernelUAEdge func(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, pf []float32)
	// sup, when set, is a supMR×supNR microkernel that reads A and B
	// unpacked: A(i, p) = a[i·rsa + p·csa], B(p, j) = b[p·ldb + j]; one
	// call does g tiles down C (rows 0 … supMR·g−1). Used for products
	// small enough that packing would not pay (see useSup).
	sup func(g, k int, a []float32, rsa, csa int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32)
	// packT8, when set, transposes 8 rows of src (row stride ld) into 8
	// lanes of dst: dst[p·dstStride + l] = src[l·ld + p], l < 8, p < k
	// (k a multiple of 8).
	packT8 func(dst []float32, dstStride int, src []float32, ld, k int)
	// copy16, when set, copies 16 floats from each of k rows:
	// dst[p·dstStride + j] = src[p·ld + j], j < 16, p < k.
	copy16 func(dst []float32, dstStride int, src []float32, ld, k int)
	// gemvN computes y[j] += Σ_p x[p]·b[p·ldb+j] for j < len(y), p < len(x).
	gemvN func(x, b []float32, ldb int, y []float32)
	// dot4 computes out[r] = Σ_p x[p]·b[r·ldb+p] for r < 4, p < len(x).
	dot4        func(x, b []float32, ldb int, out *[4]float32)
	dot         func(x, y []float32) float32
	dotBF16     func(x []float32, w []uint16) float32
	axpy        func(alpha float32, x, y []float32)
	adamw       func(p, g, m, v []float32, k AdamWConsts)
	scale       func(alpha float32, x []float32)
	max         func(x []float32) float32
	exp         func(dst, src []float32)
	tanh        func(dst, src []float32)
	geluTanh    func(dst, src []float32)
	geluErf     func(dst, src []float32)
	geluErfGrad func(dx, dy, x, y []float32)
	// geluTanhGrad computes dx[i] += dy[i]·gelu_tanh'(x[i]).
	geluTanhGrad func(dx, dy, x []float32)
	expShiftSum  func(x []float32, shift float32) float32
	// expShiftGrad computes p[i] = exp(p[i] − shift), then
	// ds[i] = p[i]·(ds[i] − d), for i < len(p).
	expShiftGrad func(p, ds []float32, shift, d float32)
}

// cur is the implementation the exported kernels use.
var cur = selectImpl(os.Getenv("ATTN_PUREGO") == "1")

// Implementation names the kernel set chosen at init: "avx512", "avx2" or
// "go".
func Implementation() string { return cur.name }

// Sgemm computes C = alpha·op(A)·op(B) + beta·C (see SgemmRef for the
// layout), in parallel over all cores (parallel.Workers()).
//
// op(A) is M×K: A is M×K with row stride lda, or K×M when transA.
// op(B) is K×N: B is K×N with row stride ldb, or N×K when transB.
// C is M×N with row stride ldc. beta == 0 means C is not read. C must not
// overlap A or B (as in BLAS).
//
// Arguments that do not fit (negative sizes, strides too small, slices too
// short) are a programming error: Sgemm panics with the message of
// SgemmCheck. Callers taking sizes from outside should call SgemmCheck first.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if err := SgemmCheck(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		panic(err)
	}
	gemmParallel(cur, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm on the calling goroutine only, for callers that
// already parallelise over an outer loop (attention heads, batches).
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if err := SgemmCheck(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		panic(err)
	}
	gemmSerial(cur, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmCheck reports whether the arguments describe matrices that fit their
// slices (see Sgemm for the layout); the error names the first problem.
func SgemmCheck(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("kernels: sgemm: negative size m=%d n=%d k=%d", m, n, k)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if err := checkMatrix("A", ar, ac, a, lda); err != nil {
		return err
	}
	if err := checkMatrix("B", br, bc, b, ldb); err != nil {
		return err
	}
	return checkMatrix("C", m, n, c, ldc)
}

func checkMatrix(name string, rows, cols int, s []float32, ld int) error {
	if ld < cols || ld < 0 {
		return fmt.Errorf("kernels: sgemm: %s is %d×%d but its row stride is %d", name, rows, cols, ld)
	}
	if rows == 0 || cols == 0 {
		return nil
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		return fmt.Errorf("kernels: sgemm: %s is %d×%d with row stride %d: needs %d elements, slice has %d", name, rows, cols, ld, need, len(s))
	}
	return nil
}

// Dot returns Σ x[i]·y[i] over len(x) elements; len(y) must be >= len(x).
func Dot(x, y []float32) float32 {
	_ = y[:len(x)]
	return cur.dot(x, y)
}

// DotBF16 returns Σ x[i]·float32(w[i]<<16) over len(x) elements: Dot with
// bfloat16 weights (a bfloat16 is the upper half of a float32, so widening
// is exact), accumulated in float32; len(w) must be >= len(x). A
// matrix-vector product with bfloat16 weights reads half the bytes of a
// float32 one.
func DotBF16(x []float32, w []uint16) float32 {
	_ = w[:len(x)]
	return cur.dotBF16(x, w)
}

// Axpy computes y[i] += alpha·x[i] over len(x) elements; len(y) must be >=
// len(x).
func Axpy(alpha float32, x, y []float32) {
	_ = y[:len(x)]
	cur.axpy(alpha, x, y)
}

// AdamW applies one AdamW step to p in place (see AdamWRef, whose results
// it equals bit for bit); g, m and v must hold len(p) elements.
func AdamW(p, g, m, v []float32, k AdamWConsts) {
	_, _, _ = g[:len(p)], m[:len(p)], v[:len(p)]
	cur.adamw(p, g, m, v, k)
}

// Scale computes x[i] *= alpha.
func Scale(alpha float32, x []float32) { cur.scale(alpha, x) }

// Exp computes dst[i] = exp(src[i]) for i < len(src); dst and src may be the
// same slice. Max relative error about 1.2e-7 (2 ulp); exp(-Inf) = 0,
// overflow gives +Inf, NaN gives NaN, results below 2^-126 are subnormal.
func Exp(dst, src []float32) {
	_ = dst[:len(src)]
	cur.exp(dst, src)
}

// Tanh computes dst[i] = tanh(src[i]) for i < len(src); dst and src may be
// the same slice. Max error about 2e-7 relative (|x| < 0.625) or absolute
// (larger |x|); tanh(±Inf) = ±1, NaN gives NaN.
func Tanh(dst, src []float32) {
	_ = dst[:len(src)]
	cur.tanh(dst, src)
}

// GeluTanh computes dst[i] = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))),
// x = src[i], the tanh approximation of GELU (GPT-2's "gelu_new"), in one
// pass; dst and src may be the same slice. Relative error <= 5e-7 +
// 2.5e-7·max(0, -2u): for negative x the result is about x·e^(2u), so the
// float32 rounding of the exponent shows (inherent in float32 evaluation).
func GeluTanh(dst, src []float32) {
	_ = dst[:len(src)]
	cur.geluTanh(dst, src)
}

// GeluErf computes dst[i] = x·Φ(x) = 0.5·x·(1 + erf(x/√2)), x = src[i], the
// exact GELU (torch's default, BERT's "gelu"), in one pass; dst and src may
// be the same slice. Φ(−|x|) comes from the Abramowitz & Stegun 7.1.26 fit
// of erfc (no cancellation in the negative tail); absolute error <=
// 1e-7·max(1, |x|) + 1 ulp of the result. GeluErf(±Inf) is +Inf and NaN
// (−Inf·0, as torch), NaN gives NaN.
func GeluErf(dst, src []float32) {
	_ = dst[:len(src)]
	cur.geluErf(dst, src)
}

// GeluErfGrad accumulates the gradient of GeluErf: dx[i] += dy[i]·(Φ(x) +
// x·φ(x)) for x = x[i], given the forward's y = GeluErf(x), from which
// Φ(x) = y/x where |x| > 1e-3 (nearer 0, Φ(x) = ½ + x·φ(0), whose next
// term is below 1e-10). dx, dy and y must hold len(x) elements. Error:
// that of y divided by |x|, plus a few float32 roundings.
func GeluErfGrad(dx, dy, x, y []float32) {
	_, _, _ = dx[:len(x)], dy[:len(x)], y[:len(x)]
	cur.geluErfGrad(dx, dy, x, y)
}

// GeluTanhGrad accumulates the gradient of GeluTanh: dx[i] += dy[i]·d,
// d = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715·x²), t = tanh(u),
// u = √(2/π)(x + 0.044715·x³), x = x[i]; dx and dy must hold len(x)
// elements.
func GeluTanhGrad(dx, dy, x []float32) {
	_, _ = dx[:len(x)], dy[:len(x)]
	cur.geluTanhGrad(dx, dy, x)
}

// Max returns the largest element of x (-Inf for an empty x); NaNs are
// skipped.
func Max(x []float32) float32 { return cur.max(x) }

// ExpShiftSum computes x[i] = exp(x[i] - shift) in place and returns their
// sum: the body of a numerically stable softmax.
func ExpShiftSum(x []float32, shift float32) float32 { return cur.expShiftSum(x, shift) }

// Transpose writes the rows×cols matrix src (row stride lds) transposed
// into dst (cols×rows, row stride ldd): dst[p·ldd + j] = src[j·lds + p] for
// j < rows, p < cols; eight rows at a time in 8×8 register blocks where
// the kernel set has them. dst must not overlap src.
func Transpose(dst []float32, ldd int, src []float32, lds, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	_, _ = dst[(cols-1)*ldd+rows-1], src[(rows-1)*lds+cols-1]
	transposeTo(cur, dst, ldd, src, lds, rows, cols)
}

// ExpShiftGrad is the elementwise step of attention's backward pass over one
// row of a score tile: p[i] = exp(p[i] − shift) in place (the probabilities
// from the scores and the row's log-sum-exp), then ds[i] = p[i]·(ds[i] − d)
// in place (the score gradient from dP and D = dOᵀ·O), in one pass.
// len(ds) must be at least len(p); exp is Exp's.
func ExpShiftGrad(p, ds []float32, shift, d float32) {
	_ = ds[:len(p)]
	cur.expShiftGrad(p, ds, shift, d)
}
