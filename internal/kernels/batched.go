package kernels

import (
	"fmt"

	"github.com/attn-dev/attn/internal/parallel"
)

// SgemmBatched computes C_i = alpha·op(A_i)·op(B_i) + beta·C_i for
// i < batch, where A_i = a[i·strideA:], B_i = b[i·strideB:], C_i =
// c[i·strideC:], each laid out as in Sgemm (e.g. attention scores per head:
// [B·NH] products of T×HS by HS×T). A stride of 0 shares one matrix between
// all products (a weight times a batch). It runs the products in parallel
// when there are at least as many as workers, else one after another, each
// parallel inside. Bad arguments panic with the error of SgemmBatchedCheck.
func SgemmBatched(transA, transB bool, batch, m, n, k int, alpha float32, a []float32, lda, strideA int, b []float32, ldb, strideB int, beta float32, c []float32, ldc, strideC int) {
	if err := SgemmBatchedCheck(transA, transB, batch, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC); err != nil {
		panic(err)
	}
	if batch == 0 {
		return
	}
	if batch < parallel.Workers() {
		for i := 0; i < batch; i++ {
			gemmParallel(cur, transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, c[i*strideC:], ldc)
		}
		return
	}
	t := batchPool.Get()
	t.g = gemmTask{im: cur, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc}
	t.sa, t.sb, t.sc = strideA, strideB, strideC
	parallel.For(batch, 1, t.run)
	t.g.a, t.g.b, t.g.c = nil, nil, nil
	batchPool.Put(t)
}

// batchTask is one SgemmBatched fan-out; pooled with its method value, as
// gemmTask, so it allocates nothing.
type batchTask struct {
	g          gemmTask
	sa, sb, sc int
	run        func(lo, hi int)
}

var batchPool = parallel.NewFreeList(16, func() *batchTask {
	t := new(batchTask)
	t.run = t.do
	return t
})

func (t *batchTask) do(lo, hi int) {
	g := &t.g
	for i := lo; i < hi; i++ {
		gemmSerial(g.im, g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a[i*t.sa:], g.lda, g.b[i*t.sb:], g.ldb, g.beta, g.c[i*t.sc:], g.ldc)
	}
}

// SgemmBatchedCheck reports whether the arguments of SgemmBatched fit their
// slices; the error names the first problem (and the product it is in).
func SgemmBatchedCheck(transA, transB bool, batch, m, n, k int, a []float32, lda, strideA int, b []float32, ldb, strideB int, c []float32, ldc, strideC int) error {
	if batch < 0 || strideA < 0 || strideB < 0 || strideC < 0 {
		return fmt.Errorf("kernels: sgemm batched: negative batch %d or stride (%d, %d, %d)", batch, strideA, strideB, strideC)
	}
	if batch == 0 {
		return nil
	}
	// The last product reaches furthest; earlier ones fit if it does.
	last := batch - 1
	if len(a) < last*strideA || len(b) < last*strideB || len(c) < last*strideC {
		return fmt.Errorf("kernels: sgemm batched: product %d starts past the end of A, B or C", last)
	}
	if err := SgemmCheck(transA, transB, m, n, k, a[last*strideA:], lda, b[last*strideB:], ldb, c[last*strideC:], ldc); err != nil {
		return fmt.Errorf("product %d of %d: %w", last, batch, err)
	}
	if batch > 1 && strideC > 0 && strideC < (m-1)*ldc+n && m > 0 && n > 0 {
		return fmt.Errorf("kernels: sgemm batched: C stride %d is smaller than one %d×%d product (row stride %d): products would overlap", strideC, m, n, ldc)
	}
	if batch > 1 && strideC == 0 && m > 0 && n > 0 {
		return fmt.Errorf("kernels: sgemm batched: C stride 0 would make %d products write the same matrix", batch)
	}
	return nil
}
