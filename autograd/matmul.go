package autograd

import (
	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/internal/parallel"
	"github.com/attn-dev/attn/tensor"
)

// gemmArgs: C = alpha·op(A)·op(B) + beta·C, kernels.Sgemm's arguments;
// in a batch, matrix i of A, B and C starts at i·strideA, i·strideB and
// i·strideC.
type gemmArgs struct {
	transA, transB            bool
	m, n, k                   int
	alpha, beta               float32
	a, b, c                   []float32
	lda, ldb, ldc             int
	strideA, strideB, strideC int
}

// gemmBatched computes, for each of nb batches, C_i = op(A_i)·op(B_i) +
// beta·C_i (see kernels.Sgemm), where batch i of X starts at i·sX in its
// slice. A stride of 0 shares one matrix across batches; sc == 0 (one C
// summed over all batches) runs the batches in order, each with the
// parallel kernel. Otherwise many batches run in parallel, one serial
// GEMM each, and few batches run in order with the parallel kernel.
func (g *Graph) gemmBatched(nb int, transA, transB bool, m, n, k int, a []float32, sa int, b []float32, sb int, beta float32, c []float32, sc int) {
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	if sc != 0 && nb >= parallel.Workers() && nb > 1 {
		g.forRows(nb, 1, task{fn: gemmBatches, gemm: gemmArgs{transA: transA, transB: transB, m: m, n: n, k: k,
			alpha: 1, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: n, strideA: sa, strideB: sb, strideC: sc}})
		return
	}
	for i := 0; i < nb; i++ {
		g.sgemm(transA, transB, m, n, k, 1, a[i*sa:], lda, b[i*sb:], ldb, beta, c[i*sc:], n)
		if sc == 0 {
			beta = 1
		}
	}
}

// sgemm is kernels.Sgemm (parallel over the workers).
func (g *Graph) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmBatches computes the GEMMs of batches [lo, hi).
func gemmBatches(t *task, lo, hi int) {
	a := &t.gemm
	for i := lo; i < hi; i++ {
		kernels.SgemmSerial(a.transA, a.transB, a.m, a.n, a.k, a.alpha, a.a[i*a.strideA:], a.lda,
			a.b[i*a.strideB:], a.ldb, a.beta, a.c[i*a.strideC:], a.ldc)
	}
}

// matMulSaved is what MatMul keeps for backward: the operands' values,
// the nb products of op(A) [M, K] by op(B) [K, N], and which operand is
// one matrix shared by every batch.
type matMulSaved struct {
	a, b             *tensor.Tensor
	nb, m, n, k      int
	transA, transB   bool
	sharedA, sharedB bool
}

// MatMul returns op(a)·op(b), batched over leading dimensions: op(a) is
// [..., M, K] (a stored [..., K, M] when transA), op(b) is [..., K, N] (b
// stored [..., N, K] when transB), the result [..., M, N]. The leading
// (batch) dimensions of a and b must be equal, or one operand must be a
// plain matrix shared by every batch.
//
// Backward: dop(a) = dC·op(b)ᵀ, dop(b) = op(a)ᵀ·dC, summed over the
// batches that share an operand.
func (g *Graph) MatMul(a, b *Var, transA, transB bool) *Var {
	const op = "autograd.MatMul"
	as, bs := a.Value.Shape, b.Value.Shape
	if len(as) < 2 || len(bs) < 2 {
		tensor.Panicf(op, "operands must be at least 2-D, got %v and %v", as, bs)
	}
	m, ka := as[len(as)-2], as[len(as)-1]
	if transA {
		m, ka = ka, m
	}
	kb, n := bs[len(bs)-2], bs[len(bs)-1]
	if transB {
		kb, n = n, kb
	}
	if ka != kb {
		tensor.Panicf(op, "inner dimensions differ: %v (transA=%v) · %v (transB=%v)", as, transA, bs, transB)
	}
	ab, bb := as[:len(as)-2], bs[:len(bs)-2]
	var lead []int
	switch {
	case tensor.EqualShape(ab, bb) || len(bb) == 0:
		lead = ab
	case len(ab) == 0:
		lead = bb
	default:
		tensor.Panicf(op, "batch dimensions of %v and %v differ", as, bs)
	}
	nb := 1
	for _, d := range lead {
		nb *= d
	}
	var shapeBuf [8]int
	shape := append(append(shapeBuf[:0], lead...), m, n)
	av, bv := g.contig(a), g.contig(b)
	out := g.arena.Empty(shape...)
	sa, sb := m*ka, ka*n
	if len(ab) == 0 {
		sa = 0
	}
	if len(bb) == 0 {
		sb = 0
	}
	if sb == 0 && !transA {
		// A shared right operand: one GEMM over all rows.
		g.gemmBatched(1, false, transB, nb*m, n, ka, av.Data(), 0, bv.Data(), 0, 0, out.Data(), 0)
	} else {
		g.gemmBatched(nb, transA, transB, m, n, ka, av.Data(), sa, bv.Data(), sb, 0, out.Data(), m*n)
	}
	y := g.newVar(out)
	if nd := g.record(matMulBackward, y, a, b); nd != nil {
		nd.matMul = matMulSaved{a: av, b: bv, nb: nb, m: m, n: n, k: ka,
			transA: transA, transB: transB, sharedA: sa == 0, sharedB: sb == 0}
	}
	return y
}

func matMulBackward(g *Graph, nd *node) {
	a, b := nd.in[0], nd.in[1]
	s := &nd.matMul
	av, bv := s.a.Data(), s.b.Data()
	nb, m, n, k := s.nb, s.m, s.n, s.k
	transA, transB := s.transA, s.transB
	sharedA, sharedB := s.sharedA, s.sharedB
	sa, sb := m*k, k*n
	if sharedA {
		sa = 0
	}
	if sharedB {
		sb = 0
	}
	dc := nd.out.Grad.Data()
	if needs(a) {
		da := g.grad(a).Data()
		// dop(A) [M,K] = dC [M,N] · op(B)ᵀ; stored A is op(A)ᵀ when transA.
		switch {
		case sharedB && !transA:
			g.gemmBatched(1, false, !transB, nb*m, k, n, dc, 0, bv, 0, 1, da, 0)
		case !transA:
			g.gemmBatched(nb, false, !transB, m, k, n, dc, m*n, bv, sb, 1, da, sa)
		default: // A [K,M]: dA = op(B)·dCᵀ
			g.gemmBatched(nb, transB, true, k, m, n, bv, sb, dc, m*n, 1, da, sa)
		}
	}
	if needs(b) {
		db := g.grad(b).Data()
		switch {
		case sharedB && !transA && !transB: // dB [K,N] = A_flatᵀ · dC_flat
			g.gemmBatched(1, true, false, k, n, nb*m, av, 0, dc, 0, 1, db, 0)
		case sharedB && !transA: // dB [N,K] = dC_flatᵀ · A_flat
			g.gemmBatched(1, true, false, n, k, nb*m, dc, 0, av, 0, 1, db, 0)
		case !transB: // dB [K,N] = op(A)ᵀ · dC
			g.gemmBatched(nb, !transA, false, k, n, m, av, sa, dc, m*n, 1, db, sb)
		default: // dB [N,K] = dCᵀ · op(A)
			g.gemmBatched(nb, true, transA, n, k, m, dc, m*n, av, sa, 1, db, sb)
		}
	}
}

// linearSaved is what Linear keeps for backward: x [rows, in] and
// W [out, in].
type linearSaved struct {
	x, w          *tensor.Tensor
	rows, in, out int
}

// Linear returns y = x·Wᵀ + b for x [..., in], w [out, in] (the layout
// torch stores) and b [out] or nil; y is [..., out].
//
// Backward: dx = dy·W, dW += dyᵀ·x, db += Σ_rows dy.
//
// In an inference graph the product takes the form that suits the rows
// and the weight (matrix-vector products, a packed or bfloat16 copy; see
// weight.go): the same result up to float32 rounding, or bfloat16's.
func (g *Graph) Linear(x, w, b *Var) *Var {
	const op = "autograd.Linear"
	xs, ws := x.Value.Shape, w.Value.Shape
	if len(ws) != 2 || len(xs) < 1 || xs[len(xs)-1] != ws[1] {
		tensor.Panicf(op, "x %v does not match weight %v (want x [..., in], W [out, in])", xs, ws)
	}
	out, in := ws[0], ws[1]
	if b != nil && (b.Value.Rank() != 1 || b.Value.Shape[0] != out) {
		tensor.Panicf(op, "bias %v does not match weight %v (want [%d])", b.Value.Shape, ws, out)
	}
	rows := 1
	for _, d := range xs[:len(xs)-1] {
		rows *= d
	}
	var shapeBuf [8]int
	shape := append(append(shapeBuf[:0], xs[:len(xs)-1]...), out)
	xv := g.contig(x)
	y := g.arena.Empty(shape...)
	yd := y.Data()
	var bd []float32
	if b != nil {
		bd = g.contig(b).Data()
	}
	if !g.train {
		g.linearInfer(w, rows, in, out, xv.Data(), bd, yd)
		return g.newVar(y)
	}
	checkTrainable(op, w)
	if w.packLinear {
		w.packed.Store(nil) // an optimizer step may follow
	}
	wv := g.contig(w)
	g.sgemm(false, true, rows, out, in, 1, xv.Data(), in, wv.Data(), in, 0, yd, out)
	if b != nil {
		g.forRows(rows, rowGrain, task{fn: biasRows, bias: biasArgs{b: bd, y: yd, c: out}})
	}
	yv := g.newVar(y)
	if nd := g.record(linearBackward, yv, x, w, b); nd != nil {
		nd.linear = linearSaved{x: xv, w: wv, rows: rows, in: in, out: out}
	}
	return yv
}

func linearBackward(g *Graph, nd *node) {
	x, w, b := nd.in[0], nd.in[1], nd.in[2]
	s := &nd.linear
	rows, in, out := s.rows, s.in, s.out
	dy := nd.out.Grad.Data()
	if needs(x) { // dx [rows, in] += dy [rows, out] · W [out, in]
		g.sgemm(false, false, rows, in, out, 1, dy, out, s.w.Data(), in, 1, g.grad(x).Data(), in)
	}
	if needs(w) { // dW [out, in] += dyᵀ · x [rows, in]
		g.sgemm(true, false, out, in, rows, 1, dy, out, s.x.Data(), in, 1, g.grad(w).Data(), in)
	}
	if needs(b) {
		g.forRows(out, 16, task{fn: biasGradCols, bias: biasArgs{dy: dy, db: g.grad(b).Data(), rows: rows, c: out}})
	}
}

// biasArgs: forward y [rows, C] += b [C]; backward db [C] += Σ_rows dy.
type biasArgs struct {
	b, y    []float32
	dy, db  []float32
	rows, c int
}

// biasRows adds the bias to rows [lo, hi) of y.
func biasRows(t *task, lo, hi int) {
	a := &t.bias
	c := a.c
	bias := a.b[:c]
	for r := lo; r < hi; r++ {
		kernels.Axpy(1, bias, a.y[r*c:(r+1)*c]) // 1·b + y rounds as b + y
	}
}

// biasGradCols accumulates db[j] += Σ_r dy[r, j] for columns [lo, hi).
func biasGradCols(t *task, lo, hi int) {
	a := &t.bias
	c := a.c
	db := a.db[lo:hi]
	for r := 0; r < a.rows; r++ {
		kernels.Axpy(1, a.dy[r*c+lo:r*c+hi], db)
	}
}
