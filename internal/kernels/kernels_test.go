package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attn-dev/attn/internal/alloctest"
)

// forEachImpl runs f for every kernel set this build and CPU can execute and
// reports (as skipped subtests) the ones it cannot.
func forEachImpl(t *testing.T, f func(t *testing.T, im *impl)) {
	avail, missing := allImpls()
	for _, im := range avail {
		t.Run(im.name, func(t *testing.T) { f(t, im) })
	}
	for name, why := range missing {
		t.Run(name, func(t *testing.T) { t.Skip(why) })
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

type gemmCase struct {
	name           string
	transA, transB bool
	m, n, k        int
	padA, padB     int // extra row stride beyond the minimum
	padC           int
	alpha, beta    float32
}

func gemmCases() []gemmCase {
	cs := []gemmCase{
		{name: "1x1x1", m: 1, n: 1, k: 1, alpha: 1},
		{name: "k0", m: 5, n: 7, k: 0, alpha: 1, beta: 0.5},
		{name: "alpha0", m: 5, n: 7, k: 3, alpha: 0, beta: 2},
		{name: "gemv-row", m: 1, n: 77, k: 33, alpha: 1},
		{name: "gemv-col", m: 77, n: 1, k: 33, alpha: 0.5, beta: -1},
		{name: "gemv-decode", m: 1, n: 3072, k: 768, alpha: 1},
		{name: "tile-exact", m: 12, n: 32, k: 16, alpha: 1},
		{name: "attn-tile", m: 64, n: 64, k: 64, alpha: 0.125},
		{name: "attn-tile96", m: 96, n: 96, k: 96, padA: 1, padB: 2, padC: 3, alpha: 0.125, beta: 1},
		{name: "odd", m: 37, n: 53, k: 29, alpha: 1.5, beta: 0.25},
		{name: "multi-block", m: 150, n: 70, k: 300, alpha: 1, beta: 1},
		// Columns split over the workers: two row blocks (mcBlock 144),
		// two depth blocks (kcBlock 256), padded A.
		// M = 12·q + 8: the last row tile goes through kernelEdge where
		// the kernel set has one, beta 0 (C never read) and not.
		{name: "edge-rows8", m: 20, n: 70, k: 300, padC: 2, alpha: 1},
		{name: "edge-rows8-beta", m: 128, n: 96, k: 40, padA: 1, alpha: 0.5, beta: 0.5},
		{name: "split-columns", m: 150, n: 200, k: 300, padA: 3, alpha: 1, beta: 0.5},
		{name: "wide", m: 7, n: 3100, k: 5, alpha: 1},
		{name: "strided", m: 19, n: 23, k: 31, padA: 5, padB: 3, padC: 7, alpha: -1, beta: 0.5},
		{name: "k1", m: 33, n: 65, k: 1, alpha: 1},
		{name: "m2n2", m: 2, n: 2, k: 2, alpha: 1},
		{name: "smallM5", m: 5, n: 70, k: 300, padA: 2, padC: 1, alpha: 1, beta: 0.5},
		{name: "smallM8", m: 8, n: 35, k: 200, alpha: -2},
		{name: "batch-decode", m: 3, n: 260, k: 768, alpha: 1},
		// A read in place (impl.kernelUA: at most mcBlock rows, a row
		// stride that is not a multiple of 512 floats): whole tiles, the
		// 8-row edge, a last sliver of other height (packed), columns that
		// end mid-tile, two depth blocks; and a stride of 512 (packed).
		// Many more rows of C than columns or depth (a weight gradient
		// dW = dyᵀ·x of a vocabulary head): split over rows.
		{name: "tall", m: 700, n: 40, k: 50, padA: 3, alpha: 1, beta: 1},
		{name: "in-place-A", m: 128, n: 70, k: 300, padA: 4, alpha: 1, beta: 0.5},
		{name: "in-place-A-odd", m: 133, n: 96, k: 260, alpha: -1},
		{name: "in-place-A-1024", m: 44, n: 64, k: 500, padA: 12, alpha: 1},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 12; i++ {
		cs = append(cs, gemmCase{
			name: fmt.Sprintf("rand%d", i),
			m:    1 + r.IntN(90), n: 1 + r.IntN(90), k: 1 + r.IntN(300),
			padA: r.IntN(3), padB: r.IntN(3), padC: r.IntN(3),
			alpha: float32(r.NormFloat64()), beta: []float32{0, 1, -0.5}[r.IntN(3)],
		})
	}
	// Every case in all four transpose combinations.
	var out []gemmCase
	for _, c := range cs {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			c2 := c
			c2.transA, c2.transB = tr[0], tr[1]
			c2.name = fmt.Sprintf("%s/%s", c.name, map[[2]bool]string{{false, false}: "NN", {true, false}: "TN", {false, true}: "NT", {true, true}: "TT"}[tr])
			out = append(out, c2)
		}
	}
	return out
}

// gemmImpls is forEachImpl for SGEMM: kernel sets with an unpacked
// small-product kernel also run with it switched off, so both the packed
// and the unpacked path meet every case. One more variant runs the
// AVX-512 tile geometry (12×32) with a plain-Go tile kernel, so the driver,
// packing (with packT8 where present) and edge handling of that geometry
// are tested even on CPUs that cannot run the AVX-512 kernel itself.
func gemmImpls(t *testing.T, f func(t *testing.T, im *impl)) {
	forEachImpl(t, func(t *testing.T, im *impl) {
		f(t, im)
		if im.sup != nil || im.kernelUA != nil {
			packed := *im
			packed.sup, packed.kernelUA, packed.kernelUAEdge = nil, nil, nil
			t.Run("packed-only", func(t *testing.T) { f(t, &packed) })
		}
	})
	avail, _ := allImpls()
	geo := *avail[len(avail)-1]
	geo.name, geo.mr, geo.nr, geo.kernel, geo.sup = "tile12x32", 12, 32, tileKernel(12, 32), nil
	geo.kernelEdge, geo.edgeRows = tileRows(12, 8, 32), 8
	geo.kernelUA, geo.kernelUAEdge = tileRowsUA(12, 32), tileRowsUA(8, 32)
	t.Run(geo.name, func(t *testing.T) { f(t, &geo) })
}

// tileKernel is the impl.kernel contract for an mr×nr tile in plain loops.
func tileKernel(mr, nr int) func(k int, a, b, c []float32, ldc int, alpha, beta float32, _ []float32) {
	return tileRows(mr, mr, nr)
}

// tileRows is tileKernel for the first rows rows of mr-wide slivers (the
// impl.kernelEdge contract).
func tileRows(mr, rows, nr int) func(k int, a, b, c []float32, ldc int, alpha, beta float32, _ []float32) {
	return func(k int, a, b, c []float32, ldc int, alpha, beta float32, _ []float32) {
		tileRef(rows, nr, k, func(i, p int) float32 { return a[p*mr+i] }, b, c, ldc, alpha, beta)
	}
}

// tileRowsUA is tileRows reading A in place (the impl.kernelUA contract):
// row i of the tile's A at a[i·lda:][:k].
func tileRowsUA(rows, nr int) func(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, _ []float32) {
	return func(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, _ []float32) {
		tileRef(rows, nr, k, func(i, p int) float32 { return a[i*lda+p] }, b, c, ldc, alpha, beta)
	}
}

// tileRef sets the rows×nr tile C = alpha·A·Bp + beta·C (C not read when
// beta == 0), A(i, p) = at(i, p), Bp a packed k×nr sliver.
func tileRef(rows, nr, k int, at func(i, p int) float32, b, c []float32, ldc int, alpha, beta float32) {
	for i := 0; i < rows; i++ {
		for j := 0; j < nr; j++ {
			var s float32
			for p := 0; p < k; p++ {
				s += at(i, p) * b[p*nr+j]
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// TestSgemmConformance pins every SGEMM variant (serial and parallel) to
// SgemmRef (computed in float32 with the same operand order). Tolerance:
// |got - want| <= 1e-5·(|alpha|·Σ_p|a||b| + |beta·c|) + 1e-6, i.e. a few ulps
// of the magnitude of the terms summed, which covers summation-order and
// FMA differences.
func TestSgemmConformance(t *testing.T) {
	gemmImpls(t, func(t *testing.T, im *impl) {
		for _, tc := range gemmCases() {
			for _, par := range []bool{false, true} {
				name := tc.name
				if par {
					name += "/parallel"
				}
				t.Run(name, func(t *testing.T) { checkGemm(t, im, tc, par, false) })
			}
		}
	})
}

// TestSgemmPackedBConformance runs the conformance cases against a B
// packed once by packBWith (every transpose of A and B, odd sizes, tails,
// strides), serial and parallel.
func TestSgemmPackedBConformance(t *testing.T) {
	gemmImpls(t, func(t *testing.T, im *impl) {
		for _, tc := range gemmCases() {
			if tc.k == 0 || tc.n == 0 {
				continue // PackB rejects empty operands
			}
			for _, par := range []bool{false, true} {
				name := tc.name
				if par {
					name += "/parallel"
				}
				t.Run(name, func(t *testing.T) { checkGemm(t, im, tc, par, true) })
			}
		}
	})
}

func TestPackBErrors(t *testing.T) {
	b := make([]float32, 12)
	for _, tc := range []struct {
		name      string
		transB    bool
		k, n, ldb int
	}{
		{"k0", false, 0, 3, 3},
		{"n-negative", true, 3, -1, 3},
		{"short", false, 4, 4, 4},
		{"stride", true, 3, 4, 2},
	} {
		if _, err := PackB(tc.transB, tc.k, tc.n, b, tc.ldb); err == nil {
			t.Errorf("%s: PackB accepted k=%d n=%d ldb=%d over %d elements", tc.name, tc.k, tc.n, tc.ldb, len(b))
		}
	}
	p, err := PackB(true, 4, 3, b, 4)
	if err != nil {
		t.Fatal(err)
	}
	if p.K() != 4 || p.N() != 3 || p.Bytes() < 4*4*3 {
		t.Errorf("PackB(4×3): K=%d N=%d Bytes=%d", p.K(), p.N(), p.Bytes())
	}
}

// checkGemm compares one SGEMM variant with SgemmRef on tc: serial or
// parallel, with op(B) packed beforehand (packed) or by the product.
func checkGemm(t *testing.T, im *impl, tc gemmCase, par, packed bool) {
	r := rand.New(rand.NewPCG(uint64(tc.m*1000+tc.n), uint64(tc.k)))
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	lda, ldb, ldc := ac+tc.padA, bc+tc.padB, tc.n+tc.padC
	a := randSlice(r, max(ar*lda, 1))
	b := randSlice(r, max(br*ldb, 1))
	c0 := randSlice(r, max(tc.m*ldc, 1))
	if tc.beta == 0 {
		for i := range c0 {
			c0[i] = float32(math.NaN()) // beta == 0: C must not be read
		}
	}
	want := append([]float32(nil), c0...)
	SgemmRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
	var bias []float32 // the packed path adds a bias in its epilogue
	if packed {
		bias = randSlice(r, tc.n)
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				want[i*ldc+j] += bias[j]
			}
		}
	}
	// Magnitudes for the tolerance.
	absA, absB := make([]float32, len(a)), make([]float32, len(b))
	for i, v := range a {
		absA[i] = float32(math.Abs(float64(v)))
	}
	for i, v := range b {
		absB[i] = float32(math.Abs(float64(v)))
	}
	mag := make([]float32, len(c0))
	SgemmRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, absA, lda, absB, ldb, 0, mag, ldc)

	got := append([]float32(nil), c0...)
	if err := SgemmCheck(tc.transA, tc.transB, tc.m, tc.n, tc.k, a, lda, b, ldb, got, ldc); err != nil {
		t.Fatal(err)
	}
	switch {
	case packed:
		pb := packBWith(im, tc.transB, tc.k, tc.n, b, ldb)
		if par {
			gemmPackedParallel(tc.transA, tc.m, tc.alpha, a, lda, pb, tc.beta, got, ldc, bias)
		} else {
			gemmPackedSerial(tc.transA, tc.m, 0, tc.n, tc.alpha, a, lda, pb, tc.beta, got, ldc, bias)
		}
	case par:
		gemmParallel(im, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
	default:
		gemmSerial(im, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
	}
	for i := 0; i < tc.m; i++ {
		for j := 0; j < ldc; j++ {
			idx := i*ldc + j
			g, w := got[idx], want[idx]
			if j >= tc.n { // padding must be untouched
				if math.Float32bits(g) != math.Float32bits(c0[idx]) {
					t.Fatalf("C[%d,%d] (padding) changed: %v -> %v", i, j, c0[idx], g)
				}
				continue
			}
			cterm := float32(0)
			if tc.beta != 0 {
				cterm = float32(math.Abs(float64(tc.beta * c0[idx])))
			}
			if bias != nil {
				cterm += float32(math.Abs(float64(bias[j])))
			}
			tol := 1e-5*(float32(math.Abs(float64(tc.alpha)))*mag[idx]+cterm) + 1e-6
			if !(float32(math.Abs(float64(g-w))) <= tol) {
				t.Fatalf("C[%d,%d] = %v, want %v (tol %g)", i, j, g, w, tol)
			}
		}
	}
}

// TestSgemmBlockSteps runs the packed path over more than one column panel
// (n > ncBlock) and more than one depth step (k > kcBlock), serial and
// parallel: offsets the small cases of the conformance suite do not reach.
func TestSgemmBlockSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("large product")
	}
	avail, _ := allImpls()
	im := avail[len(avail)-1]
	for _, tc := range []gemmCase{
		{name: "NN", m: 130, n: ncBlock + 9, k: kcBlock + 5, alpha: 1, beta: 0.5},
		{name: "TT", transA: true, transB: true, m: 130, n: ncBlock + 9, k: kcBlock + 5, alpha: -1},
	} {
		if im.sup != nil && useSup(tc.m, tc.k) {
			t.Fatalf("%s: would take the unpacked path", tc.name)
		}
		for _, par := range []bool{false, true} {
			for _, packed := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/parallel=%v/packedB=%v", im.name, tc.name, par, packed), func(t *testing.T) { checkGemm(t, im, tc, par, packed) })
			}
		}
	}
}

func TestSgemmCheck(t *testing.T) {
	buf := make([]float32, 100)
	for _, tc := range []struct {
		name                   string
		m, n, k, lda, ldb, ldc int
		a, b, c                []float32
		ok                     bool
	}{
		{"fits", 3, 4, 5, 5, 4, 4, buf, buf, buf, true},
		{"negative", -1, 4, 5, 5, 4, 4, buf, buf, buf, false},
		{"lda too small", 3, 4, 5, 4, 4, 4, buf, buf, buf, false},
		{"A short", 3, 4, 5, 5, 4, 4, buf[:14], buf, buf, false},
		{"C short", 3, 4, 5, 5, 4, 4, buf, buf, buf[:11], false},
		{"empty", 0, 0, 0, 1, 1, 1, nil, nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := SgemmCheck(false, false, tc.m, tc.n, tc.k, tc.a, tc.lda, tc.b, tc.ldb, tc.c, tc.ldc)
			if (err == nil) != tc.ok {
				t.Fatalf("SgemmCheck = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestSgemmPanicsWithMessage(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("Sgemm with a short C did not panic")
		} else if _, ok := r.(error); !ok {
			t.Fatalf("panic value %v is not an error", r)
		}
	}()
	Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
}

// TestSgemmNoAllocs: steady-state Sgemm and SgemmSerial allocate nothing
// (packing buffers and parallel tasks are pooled).
func TestSgemmNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, tc := range []struct{ m, n, k int }{{128, 96, 80}, {1, 768, 256}, {64, 64, 64}, {4, 300, 200}, {256, 200, 300}} {
		a := make([]float32, tc.m*tc.k)
		b := make([]float32, tc.k*tc.n)
		c := make([]float32, tc.m*tc.n)
		pb, err := PackB(true, tc.k, tc.n, b, tc.k)
		if err != nil {
			t.Fatal(err)
		}
		for name, f := range map[string]func(){
			"Sgemm":        func() { Sgemm(false, true, tc.m, tc.n, tc.k, 1, a, tc.k, b, tc.k, 0, c, tc.n) },
			"SgemmPackedB": func() { SgemmPackedB(false, tc.m, 1, a, tc.k, pb, 0, c, tc.n) },
			"SgemmSerial":  func() { SgemmSerial(false, false, tc.m, tc.n, tc.k, 1, a, tc.k, b, tc.n, 0, c, tc.n) },
			// Four products sharing B, each a quarter of the rows of C.
			"SgemmBatched": func() {
				q := tc.m / 4
				SgemmBatched(false, false, 4, q, tc.n, tc.k, 1, a, tc.k, q*tc.k, b, tc.n, 0, 0, c, tc.n, q*tc.n)
			},
		} {
			f()
			if n := alloctest.PerCall(f); n != 0 {
				t.Errorf("%s %dx%dx%d: %v allocations per call, want 0", name, tc.m, tc.n, tc.k, n)
			}
		}
	}
}

func TestSgemmBatched(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, tc := range []struct {
		name                     string
		transA, transB           bool
		batch, m, n, k           int
		strideA, strideB         int // 0: shared
		wantErr                  bool
		strideCOverride, lenCCut int
	}{
		{name: "heads", batch: 6, m: 17, n: 17, k: 8, transB: true, strideA: 1, strideB: 1},
		{name: "one", batch: 1, m: 5, n: 3, k: 4, strideA: 1, strideB: 1},
		{name: "shared weight", batch: 5, m: 9, n: 13, k: 7, transA: true, strideA: 1},
		{name: "empty", batch: 0, m: 3, n: 3, k: 3, strideA: 1, strideB: 1},
		{name: "overlapping C", batch: 3, m: 4, n: 4, k: 4, strideA: 1, strideB: 1, strideCOverride: 10, wantErr: true},
		{name: "C too short", batch: 3, m: 4, n: 4, k: 4, strideA: 1, strideB: 1, lenCCut: 1, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sa, sb, sc := tc.strideA*tc.m*tc.k, tc.strideB*tc.k*tc.n, tc.m*tc.n
			if tc.strideCOverride > 0 {
				sc = tc.strideCOverride
			}
			lda, ldb := tc.k, tc.n
			if tc.transA {
				lda = tc.m
			}
			if tc.transB {
				ldb = tc.k
			}
			a := randSlice(r, max(tc.batch, 1)*tc.m*tc.k)
			b := randSlice(r, max(tc.batch, 1)*tc.k*tc.n)
			c := make([]float32, max(tc.batch*sc-tc.lenCCut, 0))
			err := SgemmBatchedCheck(tc.transA, tc.transB, tc.batch, tc.m, tc.n, tc.k, a, lda, sa, b, ldb, sb, c, tc.n, sc)
			if (err != nil) != tc.wantErr {
				t.Fatalf("SgemmBatchedCheck = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			SgemmBatched(tc.transA, tc.transB, tc.batch, tc.m, tc.n, tc.k, 0.5, a, lda, sa, b, ldb, sb, 0, c, tc.n, sc)
			for i := 0; i < tc.batch; i++ {
				want := make([]float32, tc.m*tc.n)
				SgemmRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, 0.5, a[i*sa:], lda, b[i*sb:], ldb, 0, want, tc.n)
				for j, w := range want {
					if g := c[i*sc+j]; abs32(g-w) > 1e-5*(1+abs32(w)) {
						t.Fatalf("product %d, C[%d] = %v, want %v", i, j, g, w)
					}
				}
			}
		})
	}
}

// TestTranspose: every variant's transposeTo moves each element exactly
// and leaves the padding of dst's rows untouched, on shapes with and
// without whole 8-row groups and 8-column runs; Transpose (the exported
// wrapper on the chosen variant) likewise.
func TestTranspose(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	shapes := [][2]int{{1, 1}, {8, 8}, {7, 9}, {16, 64}, {96, 64}, {33, 17}, {9, 7}, {64, 5}}
	check := func(t *testing.T, tr func(dst []float32, ldd int, src []float32, lds, rows, cols int)) {
		for _, sh := range shapes {
			rows, cols := sh[0], sh[1]
			lds, ldd := cols+r.IntN(3), rows+r.IntN(20)
			src := randSlice(r, rows*lds)
			dst := make([]float32, cols*ldd)
			for i := range dst {
				dst[i] = -7
			}
			tr(dst, ldd, src, lds, rows, cols)
			for p := 0; p < cols; p++ {
				for j := 0; j < ldd; j++ {
					want := float32(-7)
					if j < rows {
						want = src[j*lds+p]
					}
					if got := dst[p*ldd+j]; got != want {
						t.Fatalf("%dx%d (lds %d, ldd %d): dst[%d][%d] = %v, want %v", rows, cols, lds, ldd, p, j, got, want)
					}
				}
			}
		}
	}
	forEachImpl(t, func(t *testing.T, im *impl) {
		check(t, func(dst []float32, ldd int, src []float32, lds, rows, cols int) {
			transposeTo(im, dst, ldd, src, lds, rows, cols)
		})
	})
	t.Run("exported", func(t *testing.T) { check(t, Transpose) })
}
