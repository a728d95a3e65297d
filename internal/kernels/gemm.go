package kernels

import (
	"github.com/attn-dev/attn/internal/parallel"
)

// Cache blocking of the packed SGEMM (Goto/BLIS loop order): a kcBlock×nr
// sliver of B (16 KiB for the AVX2 tile) stays in L1 while the mcBlock×kcBlock
// block of packed A (144 KiB) streams from L2; the kcBlock×ncBlock panel of
// packed B (3 MiB) lives in L3. mcBlock is a multiple of every mr (4, 6, 12)
// and ncBlock of every nr (4, 16, 32).
const (
	kcBlock = 256
	mcBlock = 144
	ncBlock = 3072
	// serialFlops is the work (m·n·k) below which Sgemm does not fan out.
	serialFlops = 64 * 64 * 64
)

// gemmBufs is the per-goroutine scratch of one SGEMM call, recycled through
// bufPool (a free list, kept across garbage collections) so that
// steady-state calls allocate nothing.
type gemmBufs struct {
	a      []float32        // packed A block; GEMV: alpha·x
	b      []float32        // packed B panel; unpacked path: Bᵀ as rows
	x, y   []float32        // gathered rows or vector; GEMV strided output
	dots   [4]float32       // GEMV: results of impl.dot4
	ea, eb []float32        // unpacked path: edge slivers of A and B
	tmp    [12 * 32]float32 // edge tile
}

var bufPool = parallel.NewFreeList(64, func() *gemmBufs { return new(gemmBufs) })

// ReleaseScratch drops the idle GEMM buffers and tasks, so their memory
// goes back to the garbage collector; the next calls allocate them afresh.
func ReleaseScratch() {
	bufPool.Drain()
	taskPool.Drain()
	batchPool.Drain()
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// scaleMatrix sets C = beta·C (C = 0 when beta == 0, without reading C).
func scaleMatrix(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// gemmSerial is the single-goroutine SGEMM on kernel set im; arguments are
// already checked.
func gemmSerial(im *impl, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleMatrix(m, n, beta, c, ldc)
		return
	}
	bufs := bufPool.Get()
	defer bufPool.Put(bufs)
	if m == 1 || n == 1 {
		gemv(im, bufs, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if transB && m <= smallM {
		// A few rows times Bᵀ: dot products stream B once, with no packing.
		x, xld := a, lda
		if transA {
			x = gatherRows(&bufs.x, a, lda, m, k)
			xld = k
		}
		gemmDots(im, bufs, x, xld, m, k, b, ldb, n, alpha, beta, c, ldc, 1)
		return
	}
	if im.sup != nil && useSup(m, k) {
		if transB {
			// Bᵀ is copied into rows once; A stays where it is.
			t := grow(bufs.b, k*n)
			bufs.b = t
			transpose(im, t, b, ldb, n, k)
			b, ldb = t, n
		}
		gemmSup(im, bufs, transA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	bufs.b = grow(bufs.b, min(roundUp(n, im.nr), ncBlock)*min(k, kcBlock))
	gemmBlocked(im, bufs, transA, transB, m, 0, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc, nil)
}

// gemmBlocked is the Goto/BLIS loop nest over columns j0 … j1−1 of C (j0 a
// multiple of nr): for each kcBlock×ncBlock panel of op(B) — packed here
// into bufs.b, or taken from pb when pb is set — every mcBlock×kcBlock
// block of op(A) is packed and multiplied by macroKernel. bias, when set
// ([n]), is added to every row of C as each tile is finished.
func gemmBlocked(im *impl, bufs *gemmBufs, transA, transB bool, m, j0, j1, k int, alpha float32, a []float32, lda int, b []float32, ldb int, pb *PackedB, beta float32, c []float32, ldc int, bias []float32) {
	bufs.a = grow(bufs.a, min(roundUp(m, im.mr), mcBlock)*min(k, kcBlock))
	ua := useUA(im, transA, m, lda)
	for jc := j0; jc < j1; jc += ncBlock {
		nc := min(ncBlock, j1-jc)
		for pc := 0; pc < k; pc += kcBlock {
			kc := min(kcBlock, k-pc)
			bet := beta
			if pc > 0 {
				bet = 1
			}
			var panel []float32
			if pb != nil {
				panel = pb.data[pc*pb.np+jc*kc : pc*pb.np+roundUp(jc+nc, im.nr)*kc]
			} else {
				packB(im, transB, b, ldb, pc, jc, kc, nc, bufs.b)
				panel = bufs.b
			}
			var bi []float32
			if bias != nil && pc+kc == k {
				bi = bias[jc : jc+nc]
			}
			for ic := 0; ic < m; ic += mcBlock {
				mc := min(mcBlock, m-ic)
				if ua {
					// Whole slivers read A in place; only a last
					// sliver the kernels cannot take is packed.
					if rem := mc % im.mr; rem != 0 && rem != im.edgeRows {
						packA(im, false, a, lda, ic+mc-rem, pc, rem, kc, bufs.a)
					}
					macroKernel(im, bufs, bufs.a, a[ic*lda+pc:], lda, panel, mc, nc, kc, alpha, c[ic*ldc+jc:], ldc, bet, bi)
					continue
				}
				packA(im, transA, a, lda, ic, pc, mc, kc, bufs.a)
				macroKernel(im, bufs, bufs.a, nil, 0, panel, mc, nc, kc, alpha, c[ic*ldc+jc:], ldc, bet, bi)
			}
		}
	}
}

// macroKernel runs the microkernel over an mc×nc block of C from the packed
// A block pa (or A in place, see sliverTile) and B panel pb. Edge tiles
// are computed into bufs.tmp and merged, so the microkernel only ever sees
// whole tiles. bias, when set ([nc]), is added to each tile's rows while
// the tile is in cache.
func macroKernel(im *impl, bufs *gemmBufs, pa, ua []float32, lda int, pb []float32, mc, nc, kc int, alpha float32, c []float32, ldc int, beta float32, bias []float32) {
	mr, nr := im.mr, im.nr
	for jr := 0; jr < nc; jr += nr {
		nrr := min(nr, nc-jr)
		bp := pb[jr*kc : (jr+nr)*kc]
		// While this B sliver is multiplied by every A sliver, the kernel
		// calls prefetch the next B sliver, kc lines (16 floats) each.
		var next []float32
		if jr+nr < nc {
			next = pb[(jr+nr)*kc : (jr+2*nr)*kc]
		}
		for ir := 0; ir < mc; ir += mr {
			mrr := min(mr, mc-ir)
			var pf []float32 // the (ir/mr)-th kc lines of the next sliver
			if o := ir / mr * kc * 16; o < len(next) {
				pf = next[o:]
			}
			if nrr == nr && (mrr == mr || mrr == im.edgeRows) {
				sliverTile(im, pa, ua, lda, ir, mrr, kc, bp, c[ir*ldc+jr:(ir+mrr-1)*ldc+jr+nr], ldc, alpha, beta, pf)
			} else {
				tmp := bufs.tmp[:mr*nr]
				sliverTile(im, pa, ua, lda, ir, mrr, kc, bp, tmp, nr, 1, 0, pf)
				mergeTile(c[ir*ldc+jr:], ldc, tmp, nr, mrr, nrr, alpha, beta)
			}
			if bias != nil {
				addBiasTile(im, c[ir*ldc+jr:], ldc, bias[jr:jr+nrr], mrr)
			}
		}
	}
}

// sliverTile multiplies the A sliver at row ir of the block (mrr rows) by
// the B sliver bp into the tile t (row stride ldt): t = alpha·A·B + beta·t
// over mrr rows when a kernel has that height (mr, or edgeRows), else over
// a whole mr-row tile from a zero-padded packed sliver. A is read in place
// from ua (row stride lda) when ua is set, its last sliver of another
// height then packed at the start of pa; else from the packed block pa.
func sliverTile(im *impl, pa, ua []float32, lda, ir, mrr, kc int, bp, t []float32, ldt int, alpha, beta float32, pf []float32) {
	mr := im.mr
	switch {
	case ua != nil && mrr == mr:
		im.kernelUA(kc, ua[ir*lda:], lda, bp, t, ldt, alpha, beta, pf)
	case ua != nil && mrr == im.edgeRows:
		im.kernelUAEdge(kc, ua[ir*lda:], lda, bp, t, ldt, alpha, beta, pf)
	case ua != nil:
		im.kernel(kc, pa[:mr*kc], bp, t, ldt, alpha, beta, pf)
	case mrr == im.edgeRows:
		im.kernelEdge(kc, pa[ir*kc:(ir+mr)*kc], bp, t, ldt, alpha, beta, pf)
	default:
		im.kernel(kc, pa[ir*kc:(ir+mr)*kc], bp, t, ldt, alpha, beta, pf)
	}
}

// useUA reports whether gemmBlocked reads A in place (impl.kernelUA) rather
// than packing it: for op(A) = A with at most mcBlock rows, a few rows
// that every worker would pack again, and a row stride that is not a
// multiple of 2 KiB (rows 2 or 4 KiB apart fall into the same few L1 sets,
// and a 12-row sliver read in place then evicts itself). Measured on Zen 5
// (AVX-512, 2 threads, B packed): 128×768×768 +7%, 128×3072×768 +5%,
// 128×2304×768 +3%; with rows 12 KiB apart (128×768×3072) −12%.
func useUA(im *impl, transA bool, m, lda int) bool {
	return im.kernelUA != nil && !transA && m <= mcBlock && (4*lda)%2048 != 0
}

// addBiasTile adds bias to each of the rows rows of the tile at c.
func addBiasTile(im *impl, c []float32, ldc int, bias []float32, rows int) {
	for i := 0; i < rows; i++ {
		im.axpy(1, bias, c[i*ldc:i*ldc+len(bias)])
	}
}

// mergeTile sets the mrr×nrr corner of C to alpha·T + beta·C (alpha·T when
// beta == 0, C not read), T being a tile with row stride nr.
func mergeTile(c []float32, ldc int, tmp []float32, nr, mrr, nrr int, alpha, beta float32) {
	for i := 0; i < mrr; i++ {
		row := c[i*ldc : i*ldc+nrr]
		t := tmp[i*nr : i*nr+nrr]
		if beta == 0 {
			for j := range row {
				row[j] = alpha * t[j]
			}
		} else {
			for j := range row {
				row[j] = alpha*t[j] + beta*row[j]
			}
		}
	}
}

// Tile of impl.sup.
const supMR, supNR = 6, 16

// useSup reports whether an m×n×k product should skip packing (op(B) = Bᵀ
// is then only transposed into rows): the kernel re-reads each k×16 strip
// of B from L1 for every 6 rows of A and all of A for every strip. Measured
// on a loaded Zen 3 (thread CPU time, AVX2, noisy): 64³ 51 vs 37 GFLOP/s
// packed, 128×64×64 64 vs 41, Aᵀ 128²×64 59 vs 47, A·Bᵀ 128×64×64 80 vs 59,
// but 256³ 54 vs 65 — so only small k and A. A few rows (m <= smallM) are
// always done unpacked: B is then streamed once, and packing it would cost
// more than the product.
func useSup(m, k int) bool { return (k <= 128 && m*k <= 32*1024) || m <= smallM }

// smallM is the row count up to which products skip packing.
const smallM = 8

// transpose sets dst[p·rows + j] = src[j·ld + p] for j < rows, p < cols:
// the rows×cols matrix src (row stride ld) becomes cols×rows, row-major.
func transpose(im *impl, dst, src []float32, ld, rows, cols int) {
	transposeTo(im, dst, rows, src, ld, rows, cols)
}

// transposeTo sets dst[p·ldd + j] = src[j·lds + p] for j < rows, p < cols.
// Whole groups of 8 rows go through impl.packT8 where present.
func transposeTo(im *impl, dst []float32, ldd int, src []float32, lds, rows, cols int) {
	j := 0
	if im.packT8 != nil && cols >= 8 {
		c8 := cols &^ 7
		for ; j+8 <= rows; j += 8 {
			im.packT8(dst[j:], ldd, src[j*lds:], lds, c8)
		}
		for p := c8; p < cols; p++ {
			for jj := 0; jj < j; jj++ {
				dst[p*ldd+jj] = src[jj*lds+p]
			}
		}
	}
	for ; j < rows; j++ {
		for p, v := range src[j*lds : j*lds+cols] {
			dst[p*ldd+j] = v
		}
	}
}

// gemmSup is gemmSerial without packing for op(B) = B (the kernel reads
// rows of B in place), for small products (attention tiles, per-head
// matmuls) and few-row ones. Edge tiles get zero-padded slivers and go
// through bufs.tmp.
func gemmSup(im *impl, bufs *gemmBufs, transA bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldbb int, beta float32, c []float32, ldc int) {
	rsa, csa := lda, 1
	if transA {
		rsa, csa = 1, lda
	}
	// The last rows of A when m is not a multiple of supMR, zero-padded.
	m6 := m - m%supMR
	if m6 < m {
		bufs.ea = grow(bufs.ea, supMR*k)
		if transA {
			packRuns(im, bufs.ea, a, supMR, m-m6, k, m6, lda)
		} else {
			packGather(im, bufs.ea, a, supMR, m-m6, k, m6*lda, lda)
		}
	}
	tmp := bufs.tmp[:supMR*supNR]
	for jr := 0; jr < n; jr += supNR {
		nrr := min(supNR, n-jr)
		bp, bld := bb[jr:], ldbb
		if nrr < supNR {
			bufs.eb = grow(bufs.eb, supNR*k)
			packRuns(im, bufs.eb, bb, supNR, nrr, k, jr, ldbb)
			bp, bld = bufs.eb, supNR
		}
		ir := 0
		if nrr == supNR && m6 > 0 {
			// Whole tiles: one call for the strip.
			im.sup(m6/supMR, k, a, rsa, csa, bp, bld, c[jr:], ldc, alpha, beta)
			ir = m6
		}
		for ; ir < m; ir += supMR {
			mrr := min(supMR, m-ir)
			if mrr == supMR {
				im.sup(1, k, a[ir*rsa:], rsa, csa, bp, bld, tmp, supNR, 1, 0)
			} else {
				im.sup(1, k, bufs.ea, 1, supMR, bp, bld, tmp, supNR, 1, 0)
			}
			mergeTile(c[ir*ldc+jr:], ldc, tmp, supNR, mrr, nrr, alpha, beta)
		}
	}
}

// gemmTask is one parallel SGEMM, split over blocks of columns (splitN) or
// rows of C. Tasks are pooled and run holds a method value made once, so
// fanning out allocates nothing.
type gemmTask struct {
	im             *impl
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	splitN         bool
	unit           int
	pb             *PackedB  // set: op(B) is pb, b and transB unused
	bias           []float32 // with pb: added to every row of C
	run            func(lo, hi int)
}

var taskPool = parallel.NewFreeList(64, func() *gemmTask {
	t := new(gemmTask)
	t.run = t.do
	return t
})

func (t *gemmTask) do(lo, hi int) {
	if t.splitN {
		j0, j1 := lo*t.unit, min(hi*t.unit, t.n)
		if t.pb != nil {
			gemmPackedSerial(t.transA, t.m, j0, j1, t.alpha, t.a, t.lda, t.pb, t.beta, t.c, t.ldc, t.bias)
			return
		}
		b := t.b[j0:]
		if t.transB {
			b = t.b[j0*t.ldb:]
		}
		gemmSerial(t.im, t.transA, t.transB, t.m, j1-j0, t.k, t.alpha, t.a, t.lda, b, t.ldb, t.beta, t.c[j0:], t.ldc)
		return
	}
	i0, i1 := lo*t.unit, min(hi*t.unit, t.m)
	var a []float32 // rows i0… of op(A): rows of A, or columns of Aᵀ
	if t.transA {
		a = t.a[i0:]
	} else {
		a = t.a[i0*t.lda:]
	}
	if t.pb != nil {
		gemmPackedSerial(t.transA, i1-i0, 0, t.n, t.alpha, a, t.lda, t.pb, t.beta, t.c[i0*t.ldc:], t.ldc, t.bias)
		return
	}
	gemmSerial(t.im, t.transA, t.transB, i1-i0, t.n, t.k, t.alpha, a, t.lda, t.b, t.ldb, t.beta, t.c[i0*t.ldc:], t.ldc)
}

// gemmParallel splits C into one contiguous part per worker and runs
// gemmSerial on each. It splits the columns when n >= m (each worker then
// packs all of A and its own part of B) and the rows otherwise, so the
// matrix packed twice is the smaller one.
func gemmParallel(im *impl, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	w := parallel.Workers()
	if w < 2 || m == 0 || n == 0 || k == 0 || alpha == 0 || m*n*k < serialFlops {
		gemmSerial(im, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	t := taskPool.Get()
	t.im, t.transA, t.transB, t.m, t.n, t.k = im, transA, transB, m, n, k
	t.alpha, t.beta, t.a, t.b, t.c, t.lda, t.ldb, t.ldc = alpha, beta, a, b, c, lda, ldb, ldc
	t.splitN = n >= m
	var blocks int
	switch {
	case m == 1:
		t.unit = 64 // GEMV columns: multiples of the 8-wide vector
	case n == 1:
		t.unit = 64
	case t.splitN:
		t.unit = im.nr
	default:
		t.unit = im.mr
	}
	if t.splitN {
		blocks = (n + t.unit - 1) / t.unit
	} else {
		blocks = (m + t.unit - 1) / t.unit
	}
	parallel.ForChunks(blocks, 1, w, t.run)
	t.a, t.b, t.c = nil, nil, nil
	taskPool.Put(t)
}

// gemv is gemmSerial for m == 1 (a row vector times op(B)) or n == 1
// (op(A) times a column vector). Both reduce to one of two forms on a
// row-major matrix: dots (out[j] = x·row j) or a sum of scaled rows
// (y += Σ_p x[p]·row p), the latter streaming the matrix once.
func gemv(im *impl, bufs *gemmBufs, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 1 {
		x := a[:k]
		if transA {
			x = gather(&bufs.x, a, lda, k)
		}
		if transB {
			gemmDots(im, bufs, x, k, 1, k, b, ldb, n, alpha, beta, c, 0, 1)
		} else {
			gemvRows(im, bufs, x, b, ldb, alpha, beta, c[:n])
		}
		return
	}
	v := b[:k]
	if !transB {
		v = gather(&bufs.x, b, ldb, k)
	}
	if !transA {
		gemmDots(im, bufs, v, k, 1, k, a, lda, m, alpha, beta, c, 0, ldc)
		return
	}
	if ldc == 1 {
		gemvRows(im, bufs, v, a, lda, alpha, beta, c[:m])
		return
	}
	y := grow(bufs.y, m)
	bufs.y = y
	for i := range y {
		y[i] = c[i*ldc]
	}
	gemvRows(im, bufs, v, a, lda, alpha, beta, y)
	for i, v := range y {
		c[i*ldc] = v
	}
}

// gatherRows copies the m×k matrix op(A) = Aᵀ (A stored k×m, row stride
// lda) into *buf as m contiguous rows of k and returns it.
func gatherRows(buf *[]float32, a []float32, lda, m, k int) []float32 {
	x := grow(*buf, m*k)
	*buf = x
	for p := 0; p < k; p++ {
		for i, v := range a[p*lda : p*lda+m] {
			x[i*k+p] = v
		}
	}
	return x
}

// gather copies n elements of s at stride into *buf and returns them.
func gather(buf *[]float32, s []float32, stride, n int) []float32 {
	x := grow(*buf, n)
	*buf = x
	for i := range x {
		x[i] = s[i*stride]
	}
	return x
}

// gemmDots computes out[i·ldo + j·os] = alpha·Σ_p x[i·xld+p]·mat[j·ld+p] +
// beta·out[i·ldo + j·os] for i < m, j < n: m rows of x against n rows of mat,
// taken four rows of mat at a time so that each of those stays in L1 while
// every row of x passes over it (mat is streamed once).
func gemmDots(im *impl, bufs *gemmBufs, x []float32, xld, m, k int, mat []float32, ld, n int, alpha, beta float32, out []float32, ldo, os int) {
	set := func(i, j int, s float32) {
		s *= alpha
		if beta != 0 {
			s += beta * out[i*ldo+j*os]
		}
		out[i*ldo+j*os] = s
	}
	j := 0
	for ; j+4 <= n; j += 4 {
		rows := mat[j*ld : (j+3)*ld+k]
		for i := 0; i < m; i++ {
			im.dot4(x[i*xld:i*xld+k], rows, ld, &bufs.dots)
			for r, s := range bufs.dots {
				set(i, j+r, s)
			}
		}
	}
	for ; j < n; j++ {
		for i := 0; i < m; i++ {
			set(i, j, im.dot(x[i*xld:i*xld+k], mat[j*ld:j*ld+k]))
		}
	}
}

// gemvRows computes y[j] = alpha·Σ_p x[p]·mat[p·ld+j] + beta·y[j] for
// j < len(y).
func gemvRows(im *impl, bufs *gemmBufs, x, mat []float32, ld int, alpha, beta float32, y []float32) {
	scaleMatrix(1, len(y), beta, y, len(y))
	if alpha != 1 {
		xa := grow(bufs.a, len(x))
		bufs.a = xa
		for i, v := range x {
			xa[i] = alpha * v
		}
		x = xa
	}
	n := len(y)
	n8 := n &^ 7
	k := len(x)
	im.gemvN(x, mat[:(k-1)*ld+n], ld, y[:n8])
	for j := n8; j < n; j++ {
		var s float32
		for p, v := range x {
			s += v * mat[p*ld+j]
		}
		y[j] += s
	}
}
