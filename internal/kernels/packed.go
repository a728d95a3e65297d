package kernels

import (
	"fmt"

	"github.com/attn-dev/attn/internal/parallel"
)

// PackMinRows is the number of rows of op(A) from which a product against a
// pre-packed B pays: below it (decode steps, M = 1, and small batches)
// Sgemm's GEMV and dot-product paths stream the weight once without packing
// anything, and callers should keep using Sgemm on the unpacked weight.
const PackMinRows = 16

// PackedB is a constant K×N right operand op(B) packed once into the
// microkernel's panel layout, so that products against it (a Linear layer's
// weight, op(B) = Wᵀ, at every forward) skip the per-call packing of B.
//
// Layout: depth steps of kcBlock; the step at depth pc (kc = min(kcBlock,
// K−pc) deep) starts at pc·Np (Np = N rounded up to the tile width nr) and
// holds Np/nr slivers of kc×nr, column j's sliver at (j/nr)·nr·kc, lane l at
// depth p of a sliver at p·nr + l; lanes past N are zero. The copy holds
// K·Np floats: as much memory as the weight itself, which the caller
// accepts by packing.
type PackedB struct {
	im   *impl
	k, n int
	np   int
	data []float32
}

// K and N are the shape of op(B).
func (p *PackedB) K() int { return p.k }

// N is the number of columns of op(B).
func (p *PackedB) N() int { return p.n }

// Bytes is the memory the packed copy holds.
func (p *PackedB) Bytes() int64 { return int64(len(p.data)) * 4 }

// PackB packs op(B) (K×N: B is K×N with row stride ldb, or N×K when transB
// — a [out, in] weight used as Wᵀ) for SgemmPackedB. The copy does not
// follow later changes to b.
func PackB(transB bool, k, n int, b []float32, ldb int) (*PackedB, error) {
	if k <= 0 || n <= 0 {
		return nil, fmt.Errorf("kernels: PackB: K=%d and N=%d must be positive", k, n)
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if err := checkMatrix("B", br, bc, b, ldb); err != nil {
		return nil, fmt.Errorf("kernels: PackB: %w", err)
	}
	return packBWith(cur, transB, k, n, b, ldb), nil
}

func packBWith(im *impl, transB bool, k, n int, b []float32, ldb int) *PackedB {
	np := roundUp(n, im.nr)
	p := &PackedB{im: im, k: k, n: n, np: np, data: make([]float32, k*np)}
	steps := (k + kcBlock - 1) / kcBlock
	parallel.ForChunks(steps, 1, parallel.Workers(), func(lo, hi int) {
		for s := lo; s < hi; s++ {
			pc := s * kcBlock
			packB(im, transB, b, ldb, pc, 0, min(kcBlock, k-pc), n, p.data[pc*np:])
		}
	})
	return p
}

// SgemmPackedB computes C = alpha·op(A)·op(B) + beta·C with op(B) the
// matrix packed in pb: op(A) is M×K (A is M×K with row stride lda, or K×M
// when transA), C is M×N with row stride ldc, beta == 0 means C is not read.
// It runs in parallel over all cores, splitting the columns of C (each
// worker packs all of A) when N >= M and the rows otherwise. It is meant
// for M >= PackMinRows; smaller M is correct but slower than Sgemm.
// Arguments that do not fit panic with the message of SgemmCheck.
func SgemmPackedB(transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	SgemmPackedBBias(transA, m, alpha, a, lda, pb, beta, c, ldc, nil)
}

// SgemmPackedBBias is SgemmPackedB plus bias [N] added to every row of C
// (nil: none), each tile getting it while the product's last block is
// still in cache: a linear layer's bias at no extra pass over C.
func SgemmPackedBBias(transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int, bias []float32) {
	if bias != nil && len(bias) != pb.n {
		panic(fmt.Errorf("kernels: SgemmPackedBBias: bias of %d, want N = %d", len(bias), pb.n))
	}
	ar, ac := m, pb.k
	if transA {
		ar, ac = pb.k, m
	}
	if err := checkMatrix("A", ar, ac, a, lda); err != nil {
		panic(fmt.Errorf("kernels: SgemmPackedB: %w", err))
	}
	if err := checkMatrix("C", m, pb.n, c, ldc); err != nil {
		panic(fmt.Errorf("kernels: SgemmPackedB: %w", err))
	}
	gemmPackedParallel(transA, m, alpha, a, lda, pb, beta, c, ldc, bias)
}

func gemmPackedParallel(transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int, bias []float32) {
	n, k, im := pb.n, pb.k, pb.im
	w := parallel.Workers()
	if m == 0 {
		return
	}
	if alpha == 0 {
		scaleMatrix(m, n, beta, c, ldc)
		if bias != nil {
			addBiasTile(im, c, ldc, bias, m)
		}
		return
	}
	if w < 2 || m*n*k < serialFlops {
		gemmPackedSerial(transA, m, 0, n, alpha, a, lda, pb, beta, c, ldc, bias)
		return
	}
	t := taskPool.Get()
	t.im, t.transA, t.m, t.n, t.k = im, transA, m, n, k
	t.alpha, t.beta, t.a, t.c, t.lda, t.ldc, t.pb, t.bias = alpha, beta, a, c, lda, ldc, pb, bias
	t.splitN = n >= m
	t.unit = im.mr
	if t.splitN {
		t.unit = im.nr
	}
	total := m
	if t.splitN {
		total = n
	}
	parallel.ForChunks((total+t.unit-1)/t.unit, 1, w, t.run)
	t.a, t.c, t.pb, t.bias = nil, nil, nil, nil
	taskPool.Put(t)
}

// gemmPackedSerial is gemmSerial's packed loop for columns j0 … j1−1 of C
// (j0 a multiple of nr), with B's panels read from pb instead of packed.
func gemmPackedSerial(transA bool, m, j0, j1 int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int, bias []float32) {
	bufs := bufPool.Get()
	defer bufPool.Put(bufs)
	gemmBlocked(pb.im, bufs, transA, false, m, j0, j1, pb.k, alpha, a, lda, nil, 0, pb, beta, c, ldc, bias)
}
