// Command _asm generates the amd64 assembly of package kernels with avo:
// the SGEMM microkernels (packed AVX2+FMA 6×16 and AVX-512 12×32, unpacked
// AVX2 6×16), the 8×8 transposing pack, the GEMV inner loops (rows, dot4)
// and the vector kernels (dot, the dot with bfloat16 weights, axpy, scale,
// max, exp, exp-shift-sum, tanh, GELU).
//
// Run it through go generate in the parent directory; it writes
// ../asm_amd64.s and the Go declarations ../asm_amd64.go.
//
// Conventions of every vector kernel generated here: it processes only
// whole vectors of 8 float32 (the length it is given must be a multiple of
// 8); the Go wrappers in dispatch_amd64.go handle tails. This keeps the
// assembly free of scalar tail loops.
package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	consts()
	sgemmKernelAVX2()
	sgemmKernelAVX512()
	sgemmSupAVX2()
	packT8()
	copy16()
	gemvN()
	dot()
	dotBF16()
	dot4()
	axpy()
	adamw()
	scale()
	maxKernel()
	expKernel()
	expShiftSum()
	expShiftGrad()
	tanhKernel()
	geluKernel()
	geluErfKernel()
	geluErfGradKernel()
	geluTanhGradKernel()
	Generate()
}

// c8 holds each constant replicated over 8 lanes (32 bytes), so it can be a
// 256-bit memory operand.
var (
	c8     Mem
	cIndex = map[string]int{}
)

func consts() {
	c8 = GLOBL("c8", RODATA|NOPTR)
	list := []struct {
		name string
		bits uint32
	}{
		{"expHi", math.Float32bits(89)},
		{"expLo", math.Float32bits(-104)},
		{"log2e", math.Float32bits(1.44269504088896341)},
		{"ln2hi", math.Float32bits(0.693359375)},
		{"ln2lo", math.Float32bits(-2.12194440e-4)},
		{"p0", math.Float32bits(1.9875691500e-4)},
		{"p1", math.Float32bits(1.3981999507e-3)},
		{"p2", math.Float32bits(8.3334519073e-3)},
		{"p3", math.Float32bits(4.1665795894e-2)},
		{"p4", math.Float32bits(1.6666665459e-1)},
		{"p5", math.Float32bits(5.0000001201e-1)},
		{"one", math.Float32bits(1)},
		{"two", math.Float32bits(2)},
		{"bias", 127},
		{"abs", 0x7fffffff},
		{"sign", 0x80000000},
		{"tanhSmall", math.Float32bits(0.625)},
		{"t0", math.Float32bits(-5.70498872745e-3)},
		{"t1", math.Float32bits(2.06390887954e-2)},
		{"t2", math.Float32bits(-5.37397155531e-2)},
		{"t3", math.Float32bits(1.33314422036e-1)},
		{"t4", math.Float32bits(-3.33332819422e-1)},
		{"negInf", math.Float32bits(float32(math.Inf(-1)))},
		// GELU: exp(-2u) with u = √(2/π)·(x + 0.044715·x³) is
		// exp(x·(g1 + g3·x²)).
		{"g1", math.Float32bits(float32(-2 * math.Sqrt(2/math.Pi)))},
		{"g3", math.Float32bits(float32(-2 * math.Sqrt(2/math.Pi) * 0.044715))},
		// Exact GELU, x·Φ(x): the tail Φ(−|x|) = ½·erfc(|x|/√2) by
		// Abramowitz & Stegun 7.1.26, t = 1/(1 + p·|x|/√2).
		{"mhalf", math.Float32bits(-0.5)},
		{"half", math.Float32bits(0.5)},
		{"s2pi", math.Float32bits(float32(math.Sqrt(2 / math.Pi)))},
		{"gCoef", math.Float32bits(0.044715)},
		{"gCoef3", math.Float32bits(3 * 0.044715)},
		{"invSqrt2Pi", math.Float32bits(float32(1 / math.Sqrt(2*math.Pi)))},
		{"geluNear", math.Float32bits(1e-3)},
		{"asP", math.Float32bits(float32(0.3275911 / math.Sqrt2))},
		{"asA1", math.Float32bits(0.254829592)},
		{"asA2", math.Float32bits(-0.284496736)},
		{"asA3", math.Float32bits(1.421413741)},
		{"asA4", math.Float32bits(-1.453152027)},
		{"asA5", math.Float32bits(1.061405429)},
	}
	for i, c := range list {
		cIndex[c.name] = i
		for l := 0; l < 8; l++ {
			DATA(32*i+4*l, U32(c.bits))
		}
	}
}

func k(name string) Mem {
	i, ok := cIndex[name]
	if !ok {
		panic("unknown constant " + name)
	}
	return c8.Offset(32 * i)
}

// kernelSpec describes one register-blocked SGEMM microkernel: an mr×nr
// tile (nr = 2 vectors) accumulated in 2·mr vector registers. Both the AVX2
// and the AVX-512 kernels come from genKernel, so the AVX-512 one (which
// cannot run on the development machine) shares every line of logic with
// the tested AVX2 one and differs only in registers and byte offsets.
type kernelSpec struct {
	name         string
	doc          []string
	mr, vecBytes int
	rows         int // rows of C computed (mr when 0): an edge kernel reads mr-wide slivers but fewer rows
	unroll       int
	acc          []VecPhysical // 2·mr accumulators
	b0, b1       VecPhysical   // the two B vectors of a row of the sliver
	a0, a1       VecPhysical   // broadcast A values (alternating)
	alpha, beta  VecPhysical
	t0, t1       VecPhysical // store temporaries
	zero         func(VecPhysical)
	// unpackedA: A is read where it lies, row i of the tile at a + i·lda
	// (k contiguous), instead of as a packed sliver.
	unpackedA bool
}

// prefetchC asks for the first and last cache line of each of the rows of
// the C tile before the k loop, so that the loads and stores of C at the
// end do not wait on memory.
func prefetchC(c, ldc Register, rows, rowBytes int) {
	p, step := GP64(), GP64()
	MOVQ(c, p)
	MOVQ(ldc, step)
	SHLQ(U8(2), step)
	for i := 0; i < rows; i++ {
		PREFETCHT0(Mem{Base: p})
		PREFETCHT0(Mem{Base: p, Disp: rowBytes - 4})
		if i < rows-1 {
			ADDQ(step, p)
		}
	}
}

func sgemmKernelAVX2() {
	s := avx2Tile()
	s.name = "sgemmKernel6x16AVX2"
	s.doc = []string{"sgemmKernel6x16AVX2 computes the 6×16 tile C = alpha·Ap·Bp + beta·C, where",
		"Ap is a packed 6×k sliver of A (column p at a[6p:6p+6]) and Bp a packed",
		"k×16 sliver of B (row p at b[16p:16p+16]); C has row stride ldc. beta == 0",
		"means C is not read. k may be 0."}
	genKernel(s)
}

func sgemmKernelAVX512() {
	zs := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23}
	spec := kernelSpec{
		name: "sgemmKernel12x32AVX512",
		doc: []string{"sgemmKernel12x32AVX512 is sgemmKernel6x16AVX2 for a 12×32 tile in zmm",
			"registers (AVX-512F): Ap column p at a[12p:12p+12], Bp row p at b[32p:32p+32]."},
		mr: 12, vecBytes: 64, unroll: 2, acc: zs,
		b0: Z24, b1: Z25, a0: Z26, a1: Z27,
		alpha: Z28, beta: Z29, t0: Z30, t1: Z31,
		zero: func(r VecPhysical) { VPXORD(r, r, r) },
	}
	genKernel(spec)
	// The 8-row edge: M = 128 (BERT's 1×128, GPT-2's prefill chunks) is
	// ten 12-row tiles and one of 8, which this writes straight into C
	// instead of through a scratch tile.
	spec.name, spec.rows = "sgemmKernel8x32AVX512", 8
	spec.doc = []string{"sgemmKernel8x32AVX512 is sgemmKernel12x32AVX512 for the first 8 rows of the",
		"12-row sliver Ap only: it reads and writes 8 rows of C."}
	spec.acc = zs[:16]
	genKernel(spec)

	// The same tiles reading A in place: a few rows of A (M = 128) are
	// cheaper to read from their rows than to pack, once per worker.
	spec.unpackedA = true
	spec.name, spec.rows = "sgemmKernelUA12x32AVX512", 0
	spec.acc = zs
	spec.doc = []string{"sgemmKernelUA12x32AVX512 is sgemmKernel12x32AVX512 with A read in place:",
		"row i of the tile's A is a[i·lda : i·lda+k]."}
	genKernel(spec)
	spec.name, spec.rows = "sgemmKernelUA8x32AVX512", 8
	spec.doc = []string{"sgemmKernelUA8x32AVX512 is sgemmKernelUA12x32AVX512 for 8 rows of A and C."}
	spec.acc = zs[:16]
	genKernel(spec)
}

func genKernel(s kernelSpec) {
	if s.unpackedA {
		TEXT(s.name, NOSPLIT, "func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, pf *float32)")
	} else {
		TEXT(s.name, NOSPLIT, "func(k int, a, b, c *float32, ldc int, alpha, beta float32, pf *float32)")
	}
	Pragma("noescape")
	Doc(append(s.doc,
		"Each k step also prefetches one cache line of the stream at pf (into L1),",
		"k lines in all: the caller points it at the B sliver it multiplies next,",
		"so that a sliver read from memory arrives while this one is used.")...)
	kk := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	// aRow(i, off) addresses A(i, p+off) for the current depth p: in the
	// packed sliver, or in row i (bases every third row, lda in bytes).
	var bases []Register
	var lda Register
	aStepRow := 0
	if s.unpackedA {
		lda = Load(Param("lda"), GP64())
		SHLQ(U8(2), lda)
		rows := s.mr
		if s.rows > 0 {
			rows = s.rows
		}
		bases = append(bases, a)
		for len(bases)*3 < rows {
			r := GP64()
			LEAQ(Mem{Base: bases[len(bases)-1], Index: lda, Scale: 2}, r)
			ADDQ(lda, r)
			bases = append(bases, r)
		}
		aStepRow = 4
	}
	aRow := func(i, off int) Mem {
		if !s.unpackedA {
			return Mem{Base: a, Disp: 4*s.mr*off + 4*i}
		}
		m := Mem{Base: bases[i/3], Disp: 4 * off}
		if i%3 > 0 {
			m.Index, m.Scale = lda, uint8(i%3)
		}
		return m
	}
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	pf := Load(Param("pf"), GP64())
	mr, vb := s.mr, s.vecBytes
	rows := mr
	if s.rows > 0 {
		rows = s.rows
	}
	prefetchC(c, ldc, rows, 2*vb) // measured +1..4% on 512³ and 1024³
	aStep, bStep := 4*mr, 2*vb    // bytes of A and B consumed per k
	if s.unpackedA {
		aStep = aStepRow
	}
	advanceA := func(n int) {
		if !s.unpackedA {
			ADDQ(U32(aStep*n), a)
			return
		}
		for _, r := range bases {
			ADDQ(U32(aStep*n), r)
		}
	}
	acc := func(i, h int) VecPhysical { return s.acc[2*i+h] }
	for _, r := range s.acc {
		s.zero(r)
	}
	step := func(off int) {
		VMOVUPS(Mem{Base: b, Disp: bStep * off}, s.b0)
		VMOVUPS(Mem{Base: b, Disp: bStep*off + vb}, s.b1)
		PREFETCHT0(Mem{Base: pf, Disp: 64 * off})
		for i := 0; i < rows; i++ {
			r := s.a0
			if i%2 == 1 {
				r = s.a1
			}
			VBROADCASTSS(aRow(i, off), r)
			VFMADD231PS(s.b0, r, acc(i, 0))
			VFMADD231PS(s.b1, r, acc(i, 1))
		}
	}
	Label("kUnrolled")
	CMPQ(kk, U8(s.unroll))
	JL(LabelRef("kSingle"))
	for u := 0; u < s.unroll; u++ {
		step(u)
	}
	advanceA(s.unroll)
	ADDQ(U32(bStep*s.unroll), b)
	ADDQ(U32(64*s.unroll), pf)
	SUBQ(U8(s.unroll), kk)
	JMP(LabelRef("kUnrolled"))
	Label("kSingle")
	TESTQ(kk, kk)
	JE(LabelRef("store"))
	step(0)
	advanceA(1)
	ADDQ(U32(bStep), b)
	ADDQ(U32(64), pf)
	DECQ(kk)
	JMP(LabelRef("kSingle"))

	Label("store")
	alphaOff := 40
	if s.unpackedA {
		alphaOff = 48
	}
	genStore(s, c, ldc, alphaOff)
}

// genStore writes the accumulators of s to the mr×nr tile at c (row stride
// ldc elements): C = alpha·acc + beta·C, or C = alpha·acc when beta is ±0
// (C is then not read). alpha and beta are the float32 arguments at frame
// offsets alphaOff and alphaOff+4.
func genStore(s kernelSpec, c, ldc Register, alphaOff int) {
	mr, vb := s.mr, s.vecBytes
	if s.rows > 0 {
		mr = s.rows
	}
	acc := func(i, h int) VecPhysical { return s.acc[2*i+h] }
	SHLQ(U8(2), ldc)
	VBROADCASTSS(NewParamAddr("alpha", alphaOff), s.alpha)
	betaBits := GP32()
	MOVL(NewParamAddr("beta", alphaOff+4), betaBits)
	ANDL(U32(0x7fffffff), betaBits)
	JNZ(LabelRef("withBeta"))
	for i := 0; i < mr; i++ {
		VMULPS(s.alpha, acc(i, 0), acc(i, 0))
		VMULPS(s.alpha, acc(i, 1), acc(i, 1))
		VMOVUPS(acc(i, 0), Mem{Base: c})
		VMOVUPS(acc(i, 1), Mem{Base: c, Disp: vb})
		if i < mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
	Label("withBeta")
	VBROADCASTSS(NewParamAddr("beta", alphaOff+4), s.beta)
	for i := 0; i < mr; i++ {
		VMULPS(Mem{Base: c}, s.beta, s.t0)
		VMULPS(Mem{Base: c, Disp: vb}, s.beta, s.t1)
		VFMADD231PS(s.alpha, acc(i, 0), s.t0)
		VFMADD231PS(s.alpha, acc(i, 1), s.t1)
		VMOVUPS(s.t0, Mem{Base: c})
		VMOVUPS(s.t1, Mem{Base: c, Disp: vb})
		if i < mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// avx2Tile is the register assignment of the 6×16 AVX2 tile.
func avx2Tile() kernelSpec {
	return kernelSpec{
		mr: 6, vecBytes: 32, unroll: 4,
		acc: []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11},
		b0:  Y12, b1: Y13, a0: Y14, a1: Y15,
		// After the k loop the B and A registers are free for the store.
		alpha: Y12, beta: Y13, t0: Y14, t1: Y15,
		zero: func(r VecPhysical) { VXORPS(r, r, r) },
	}
}

// supMR is the row count of the unpacked kernel.
const supMR = 6

// sgemmSupAVX2 is the 6×16 tile reading A and B where they lie, unpacked
// (BLIS's "sup" idea): for small products packing would cost as much as the
// multiply. A(i, p) is at a[i·rsa + p·csa], so one kernel serves A, Aᵀ and
// a packed sliver; row p of B is b[p·ldb:][:16]. The six A rows are
// addressed from two pointers, a and a + 3·rsa, with scaled indexes. One
// call does g tiles stacked down C (rows 6·g), reusing the B strip, so an
// attention tile's 16-column strip costs one call instead of one per six
// rows.
func sgemmSupAVX2() {
	s := avx2Tile()
	TEXT("sgemmSup6x16AVX2", NOSPLIT, "func(tiles, k int, a *float32, rsa, csa int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)")
	Pragma("noescape")
	Doc("sgemmSup6x16AVX2 computes the (6·tiles)×16 block C = alpha·A·B + beta·C with",
		"A(i, p) = a[i·rsa + p·csa] (6·tiles×k) and B(p, j) = b[p·ldb + j] (k×16), C with row",
		"stride ldc, as 6×16 tiles down C; beta == 0 means C is not read. k may be",
		"0; tiles must be at least 1.")
	g := Load(Param("tiles"), GP64())
	a := Load(Param("a"), GP64())
	rsa := Load(Param("rsa"), GP64())
	csa := Load(Param("csa"), GP64())
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), rsa)
	SHLQ(U8(2), csa)
	SHLQ(U8(2), ldb)
	SHLQ(U8(2), ldc)
	kk, ap, a3, bp, cp := GP64(), GP64(), GP64(), GP64(), GP64()
	rows := []Mem{
		{Base: ap}, {Base: ap, Index: rsa, Scale: 1}, {Base: ap, Index: rsa, Scale: 2},
		{Base: a3}, {Base: a3, Index: rsa, Scale: 1}, {Base: a3, Index: rsa, Scale: 2},
	}
	acc := func(i, h int) VecPhysical { return s.acc[2*i+h] }

	Label("tile")
	Load(Param("k"), kk)
	MOVQ(a, ap)
	LEAQ(Mem{Base: a, Index: rsa, Scale: 2}, a3)
	ADDQ(rsa, a3)
	MOVQ(b, bp)
	// Prefetch the first and last line of each C row (see prefetchC).
	MOVQ(c, cp)
	for i := 0; i < supMR; i++ {
		PREFETCHT0(Mem{Base: cp})
		PREFETCHT0(Mem{Base: cp, Disp: 60})
		if i < supMR-1 {
			ADDQ(ldc, cp)
		}
	}
	for _, r := range s.acc {
		s.zero(r)
	}
	TESTQ(kk, kk)
	JE(LabelRef("store"))
	Label("loop")
	VMOVUPS(Mem{Base: bp}, s.b0)
	VMOVUPS(Mem{Base: bp, Disp: 32}, s.b1)
	for i, m := range rows {
		r := s.a0
		if i%2 == 1 {
			r = s.a1
		}
		VBROADCASTSS(m, r)
		VFMADD231PS(s.b0, r, acc(i, 0))
		VFMADD231PS(s.b1, r, acc(i, 1))
	}
	ADDQ(csa, ap)
	ADDQ(csa, a3)
	ADDQ(ldb, bp)
	DECQ(kk)
	JNZ(LabelRef("loop"))

	// C = alpha·acc + beta·C, or alpha·acc when beta is ±0 (C not read).
	Label("store")
	MOVQ(c, cp)
	VBROADCASTSS(NewParamAddr("alpha", 72), s.alpha)
	betaBits := GP32()
	MOVL(NewParamAddr("beta", 76), betaBits)
	ANDL(U32(0x7fffffff), betaBits)
	JNZ(LabelRef("withBeta"))
	for i := 0; i < supMR; i++ {
		VMULPS(s.alpha, acc(i, 0), acc(i, 0))
		VMULPS(s.alpha, acc(i, 1), acc(i, 1))
		VMOVUPS(acc(i, 0), Mem{Base: cp})
		VMOVUPS(acc(i, 1), Mem{Base: cp, Disp: 32})
		ADDQ(ldc, cp)
	}
	JMP(LabelRef("next"))
	Label("withBeta")
	VBROADCASTSS(NewParamAddr("beta", 76), s.beta)
	for i := 0; i < supMR; i++ {
		VMULPS(Mem{Base: cp}, s.beta, s.t0)
		VMULPS(Mem{Base: cp, Disp: 32}, s.beta, s.t1)
		VFMADD231PS(s.alpha, acc(i, 0), s.t0)
		VFMADD231PS(s.alpha, acc(i, 1), s.t1)
		VMOVUPS(s.t0, Mem{Base: cp})
		VMOVUPS(s.t1, Mem{Base: cp, Disp: 32})
		ADDQ(ldc, cp)
	}

	// Next tile: A and C six rows down.
	Label("next")
	MOVQ(cp, c)
	LEAQ(Mem{Base: a, Index: rsa, Scale: 4}, a)
	LEAQ(Mem{Base: a, Index: rsa, Scale: 2}, a)
	DECQ(g)
	JNZ(LabelRef("tile"))
	VZEROUPPER()
	RET()
}

// rows8 returns the addresses of 8 rows at base, base+ld, ..., base+7·ld
// using base, base+4·ld, ld and 3·ld (x86 scales only go to 8).
func rows8(base, base4, ld, ld3 Register) []Mem {
	return []Mem{
		{Base: base}, {Base: base, Index: ld, Scale: 1}, {Base: base, Index: ld, Scale: 2}, {Base: base, Index: ld3, Scale: 1},
		{Base: base4}, {Base: base4, Index: ld, Scale: 1}, {Base: base4, Index: ld, Scale: 2}, {Base: base4, Index: ld3, Scale: 1},
	}
}

func packT8() {
	TEXT("packT8AVX2", NOSPLIT, "func(dst *float32, dstStride int, src *float32, ld int, k int)")
	Pragma("noescape")
	Doc("packT8AVX2 transposes 8 rows of src (row stride ld) into 8 lanes of dst:",
		"dst[p·dstStride + l] = src[l·ld + p] for l < 8, p < k; k must be a multiple of",
		"8. It packs whole slivers of Bᵀ (and Aᵀ-like gathers) in 8×8 blocks.")
	d := Load(Param("dst"), GP64())
	ds := Load(Param("dstStride"), GP64())
	sp := Load(Param("src"), GP64())
	ld := Load(Param("ld"), GP64())
	n := Load(Param("k"), GP64())
	SHLQ(U8(2), ds)
	SHLQ(U8(2), ld)
	ld3, ds3, s4, d4 := GP64(), GP64(), GP64(), GP64()
	LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	LEAQ(Mem{Base: ds, Index: ds, Scale: 2}, ds3)
	LEAQ(Mem{Base: sp, Index: ld, Scale: 4}, s4)
	dstep := GP64()
	MOVQ(ds, dstep)
	SHLQ(U8(3), dstep) // 8 rows of dst per block
	in := rows8(sp, s4, ld, ld3)
	Label("block")
	CMPQ(n, U8(8))
	JL(LabelRef("done"))
	LEAQ(Mem{Base: d, Index: ds, Scale: 4}, d4)
	out := rows8(d, d4, ds, ds3)
	r := make([]VecVirtual, 8)
	for i := range r {
		r[i] = YMM()
		VMOVUPS(in[i], r[i])
	}
	t := make([]VecVirtual, 8)
	for i := 0; i < 8; i += 2 {
		t[i], t[i+1] = YMM(), YMM()
		VUNPCKLPS(r[i+1], r[i], t[i])
		VUNPCKHPS(r[i+1], r[i], t[i+1])
	}
	// s0..s3 from rows 0-3, s4..s7 from rows 4-7.
	q := make([]VecVirtual, 8)
	for h := 0; h < 2; h++ {
		b := 4 * h
		q[b], q[b+1], q[b+2], q[b+3] = YMM(), YMM(), YMM(), YMM()
		VSHUFPS(U8(0x44), t[b+2], t[b], q[b])
		VSHUFPS(U8(0xee), t[b+2], t[b], q[b+1])
		VSHUFPS(U8(0x44), t[b+3], t[b+1], q[b+2])
		VSHUFPS(U8(0xee), t[b+3], t[b+1], q[b+3])
	}
	for i := 0; i < 4; i++ {
		lo, hi := YMM(), YMM()
		VPERM2F128(U8(0x20), q[i+4], q[i], lo)
		VPERM2F128(U8(0x31), q[i+4], q[i], hi)
		VMOVUPS(lo, out[i])
		VMOVUPS(hi, out[i+4])
	}
	ADDQ(U8(32), sp)
	ADDQ(U8(32), s4)
	ADDQ(dstep, d)
	SUBQ(U8(8), n)
	JMP(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
}

func copy16() {
	TEXT("copy16AVX2", NOSPLIT, "func(dst *float32, dstStride int, src *float32, ld int, k int)")
	Pragma("noescape")
	Doc("copy16AVX2 copies 16 floats from each of k rows: dst[p·dstStride + j] =",
		"src[p·ld + j] for j < 16, p < k. It packs whole slivers of B (two vector",
		"moves per row, where a Go array copy becomes a memmove call).")
	d := Load(Param("dst"), GP64())
	ds := Load(Param("dstStride"), GP64())
	sp := Load(Param("src"), GP64())
	ld := Load(Param("ld"), GP64())
	n := Load(Param("k"), GP64())
	SHLQ(U8(2), ds)
	SHLQ(U8(2), ld)
	Label("row")
	TESTQ(n, n)
	JE(LabelRef("done"))
	v0, v1 := YMM(), YMM()
	VMOVUPS(Mem{Base: sp}, v0)
	VMOVUPS(Mem{Base: sp, Disp: 32}, v1)
	VMOVUPS(v0, Mem{Base: d})
	VMOVUPS(v1, Mem{Base: d, Disp: 32})
	ADDQ(ld, sp)
	ADDQ(ds, d)
	DECQ(n)
	JMP(LabelRef("row"))
	Label("done")
	VZEROUPPER()
	RET()
}

func gemvN() {
	TEXT("gemvNAVX2", NOSPLIT, "func(x, b []float32, ldb int, y []float32)")
	Pragma("noescape")
	Doc("gemvNAVX2 computes y[j] += Σ_p x[p]·b[p·ldb+j] for j < len(y), p < len(x):",
		"y += xᵀ·B with B row-major (len(x) rows, row stride ldb). len(y) must be a",
		"multiple of 8. Rows are taken four at a time so y is read and written once",
		"per four rows of B.")
	xp := Load(Param("x").Base(), GP64())
	kk := Load(Param("x").Len(), GP64())
	bp := Load(Param("b").Base(), GP64())
	ldb := Load(Param("ldb"), GP64())
	yp := Load(Param("y").Base(), GP64())
	n := Load(Param("y").Len(), GP64())
	SHLQ(U8(2), ldb)
	ld3 := GP64()
	LEAQ(Mem{Base: ldb, Index: ldb, Scale: 2}, ld3)
	x0, x1, x2, x3 := YMM(), YMM(), YMM(), YMM()
	j := GP64()

	Label("rows4")
	CMPQ(kk, U8(4))
	JL(LabelRef("rows1"))
	VBROADCASTSS(Mem{Base: xp}, x0)
	VBROADCASTSS(Mem{Base: xp, Disp: 4}, x1)
	VBROADCASTSS(Mem{Base: xp, Disp: 8}, x2)
	VBROADCASTSS(Mem{Base: xp, Disp: 12}, x3)
	XORQ(j, j)
	b1, b2, b3 := GP64(), GP64(), GP64()
	LEAQ(Mem{Base: bp, Index: ldb, Scale: 1}, b1)
	LEAQ(Mem{Base: bp, Index: ldb, Scale: 2}, b2)
	LEAQ(Mem{Base: bp, Index: ld3, Scale: 1}, b3)
	Label("cols4")
	CMPQ(j, n)
	JGE(LabelRef("next4"))
	y0 := YMM()
	VMOVUPS(Mem{Base: yp, Index: j, Scale: 4}, y0)
	VFMADD231PS(Mem{Base: bp, Index: j, Scale: 4}, x0, y0)
	VFMADD231PS(Mem{Base: b1, Index: j, Scale: 4}, x1, y0)
	VFMADD231PS(Mem{Base: b2, Index: j, Scale: 4}, x2, y0)
	VFMADD231PS(Mem{Base: b3, Index: j, Scale: 4}, x3, y0)
	VMOVUPS(y0, Mem{Base: yp, Index: j, Scale: 4})
	ADDQ(U8(8), j)
	JMP(LabelRef("cols4"))
	Label("next4")
	ADDQ(U8(16), xp)
	LEAQ(Mem{Base: bp, Index: ldb, Scale: 4}, bp)
	SUBQ(U8(4), kk)
	JMP(LabelRef("rows4"))

	Label("rows1")
	TESTQ(kk, kk)
	JE(LabelRef("done"))
	VBROADCASTSS(Mem{Base: xp}, x0)
	XORQ(j, j)
	Label("cols1")
	CMPQ(j, n)
	JGE(LabelRef("next1"))
	y1 := YMM()
	VMOVUPS(Mem{Base: yp, Index: j, Scale: 4}, y1)
	VFMADD231PS(Mem{Base: bp, Index: j, Scale: 4}, x0, y1)
	VMOVUPS(y1, Mem{Base: yp, Index: j, Scale: 4})
	ADDQ(U8(8), j)
	JMP(LabelRef("cols1"))
	Label("next1")
	ADDQ(U8(4), xp)
	ADDQ(ldb, bp)
	DECQ(kk)
	JMP(LabelRef("rows1"))
	Label("done")
	VZEROUPPER()
	RET()
}

// reduceSum leaves the horizontal sum of the 8 lanes of v in v.AsX() lane 0.
func reduceSum(v VecVirtual) {
	hi := XMM()
	VEXTRACTF128(U8(1), v, hi)
	VADDPS(v.AsX(), hi, v.AsX())
	VHADDPS(v.AsX(), v.AsX(), v.AsX())
	VHADDPS(v.AsX(), v.AsX(), v.AsX())
}

// zeroAcc returns four zeroed vector accumulators.
func zeroAcc() []VecVirtual {
	acc := []VecVirtual{YMM(), YMM(), YMM(), YMM()}
	for _, r := range acc {
		VXORPS(r, r, r)
	}
	return acc
}

// returnSum4 ends a kernel returning the sum of all lanes of the four
// accumulators.
func returnSum4(acc []VecVirtual) {
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	reduceSum(acc[0])
	VZEROUPPER()
	Store(acc[0].AsX(), ReturnIndex(0))
	RET()
}

// stream emits a loop over n float32 (n a multiple of 8): body(i, disp)
// handles vector i of an iteration at byte offset disp from every pointer
// in ptrs. Four vectors go per iteration while 32 or more elements remain
// (independent chains for the out-of-order core), then one at a time with
// i = 0. The pointers advance past what was done; the loop ends at label
// "done".
func stream(n Register, ptrs []Register, body func(i, disp int)) {
	Label("loop32")
	CMPQ(n, U8(32))
	JL(LabelRef("loop8"))
	for i := 0; i < 4; i++ {
		body(i, 32*i)
	}
	for _, p := range ptrs {
		ADDQ(U8(128), p)
	}
	SUBQ(U8(32), n)
	JMP(LabelRef("loop32"))
	Label("loop8")
	TESTQ(n, n)
	JE(LabelRef("done"))
	body(0, 0)
	for _, p := range ptrs {
		ADDQ(U8(32), p)
	}
	SUBQ(U8(8), n)
	JMP(LabelRef("loop8"))
	Label("done")
}

func dot() {
	TEXT("dotAVX2", NOSPLIT, "func(x, y []float32) float32")
	Pragma("noescape")
	Doc("dotAVX2 returns Σ x[i]·y[i] for i < len(x); len(x) must be a multiple of 8",
		"and len(y) >= len(x).")
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	acc := zeroAcc()
	stream(n, []Register{x, y}, func(i, disp int) {
		t := YMM()
		VMOVUPS(Mem{Base: x, Disp: disp}, t)
		VFMADD231PS(Mem{Base: y, Disp: disp}, t, acc[i])
	})
	returnSum4(acc)
}

// dotBF16 is dot with the second operand in bfloat16 (the upper half of a
// float32), widened in registers by a zero-extension and a 16-bit shift, so
// the weights of a matrix-vector product cost half the bytes. It walks one
// row: a single sequential stream, which the hardware prefetcher follows far
// better than several interleaved rows. The pointers stay put and one index
// scales to both element sizes (stream cannot: it moves every pointer by
// the same byte count).
func dotBF16() {
	TEXT("dotBF16AVX2", NOSPLIT, "func(x []float32, w []uint16) float32")
	Pragma("noescape")
	Doc("dotBF16AVX2 returns Σ x[i]·float32(w[i]<<16) for i < len(x); len(x) must be",
		"a multiple of 8 and len(w) >= len(x).")
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	w := Load(Param("w").Base(), GP64())
	n32 := GP64()
	MOVQ(n, n32)
	ANDQ(I8(-32), n32)
	acc := zeroAcc()
	i := GP64()
	XORQ(i, i)
	widenFMA := func(u int, acc VecVirtual) {
		t := YMM()
		VPMOVZXWD(Mem{Base: w, Index: i, Scale: 2, Disp: 16 * u}, t)
		VPSLLD(U8(16), t, t)
		VFMADD231PS(Mem{Base: x, Index: i, Scale: 4, Disp: 32 * u}, t, acc)
	}
	Label("loop32")
	CMPQ(i, n32)
	JGE(LabelRef("loop8"))
	for u := range acc {
		widenFMA(u, acc[u])
	}
	ADDQ(U8(32), i)
	JMP(LabelRef("loop32"))
	Label("loop8")
	CMPQ(i, n)
	JGE(LabelRef("done"))
	widenFMA(0, acc[0])
	ADDQ(U8(8), i)
	JMP(LabelRef("loop8"))
	Label("done")
	returnSum4(acc)
}

func dot4() {
	TEXT("dot4AVX2", NOSPLIT, "func(x, b []float32, ldb int, out *[4]float32)")
	Pragma("noescape")
	Doc("dot4AVX2 computes out[r] = Σ_p x[p]·b[r·ldb+p] for r < 4, p < len(x): four",
		"rows of a row-major matrix times one vector, loading x once for all four.",
		"len(x) must be a multiple of 8 and b must hold 3·ldb+len(x) elements.")
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	b0 := Load(Param("b").Base(), GP64())
	ldb := Load(Param("ldb"), GP64())
	out := Load(Param("out"), GP64())
	SHLQ(U8(2), ldb)
	b1, b2, b3 := GP64(), GP64(), GP64()
	LEAQ(Mem{Base: b0, Index: ldb, Scale: 1}, b1)
	LEAQ(Mem{Base: b0, Index: ldb, Scale: 2}, b2)
	LEAQ(Mem{Base: b1, Index: ldb, Scale: 2}, b3)
	rows := []Register{b0, b1, b2, b3}
	acc := []VecVirtual{YMM(), YMM(), YMM(), YMM()}
	for _, r := range acc {
		VXORPS(r, r, r)
	}
	i := GP64()
	XORQ(i, i)
	SHLQ(U8(2), n)
	Label("loop")
	CMPQ(i, n)
	JGE(LabelRef("done"))
	xv := YMM()
	VMOVUPS(Mem{Base: x, Index: i, Scale: 1}, xv)
	for r := range acc {
		VFMADD231PS(Mem{Base: rows[r], Index: i, Scale: 1}, xv, acc[r])
	}
	ADDQ(U8(32), i)
	JMP(LabelRef("loop"))
	Label("done")
	for r := range acc {
		reduceSum(acc[r])
		VMOVSS(acc[r].AsX(), Mem{Base: out, Disp: 4 * r})
	}
	VZEROUPPER()
	RET()
}

func axpy() {
	TEXT("axpyAVX2", NOSPLIT, "func(alpha float32, x, y []float32)")
	Pragma("noescape")
	Doc("axpyAVX2 computes y[i] += alpha·x[i] for i < len(x); len(x) must be a",
		"multiple of 8 and len(y) >= len(x).")
	al := YMM()
	VBROADCASTSS(NewParamAddr("alpha", 0), al)
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	stream(n, []Register{x, y}, func(_, disp int) {
		t := YMM()
		VMOVUPS(Mem{Base: y, Disp: disp}, t)
		VFMADD231PS(Mem{Base: x, Disp: disp}, al, t)
		VMOVUPS(t, Mem{Base: y, Disp: disp})
	})
	VZEROUPPER()
	RET()
}

func adamw() {
	TEXT("adamwAVX2", NOSPLIT, "func(p, g, m, v []float32, k *[64]float32)")
	Pragma("noescape")
	Doc("adamwAVX2 is AdamWRef's loop over len(p) elements (a multiple of 8) with",
		"the constants of AdamWConsts each replicated over 8 lanes of k, in",
		"the reference's order: k[0:8] β1, [8:16] 1−β1, [16:24] β2, [24:32] 1−β2,",
		"[32:40] √(1−β2ᵗ), [40:48] −lr/(1−β1ᵗ), [48:56] ε, [56:64] 1−lr·wd. Every",
		"operation is rounded on its own (no FMA), so the results equal AdamWRef's",
		"bit for bit.")
	p := Load(Param("p").Base(), GP64())
	g := Load(Param("g").Base(), GP64())
	m := Load(Param("m").Base(), GP64())
	v := Load(Param("v").Base(), GP64())
	kp := Load(Param("k"), GP64())
	n := Load(Param("p").Len(), GP64())
	c := func(i int) Mem { return Mem{Base: kp, Disp: 32 * i} }
	stream(n, []Register{p, g, m, v}, func(_, disp int) {
		gi, mi, vi, t := YMM(), YMM(), YMM(), YMM()
		VMOVUPS(Mem{Base: g, Disp: disp}, gi)
		VMOVUPS(Mem{Base: m, Disp: disp}, mi)
		VMULPS(c(0), mi, mi) // m·β1
		VMULPS(c(1), gi, t)  // (1−β1)·g
		VADDPS(t, mi, mi)
		VMOVUPS(mi, Mem{Base: m, Disp: disp})
		VMULPS(c(3), gi, t) // (1−β2)·g
		VMULPS(gi, t, t)    // ·g
		VMOVUPS(Mem{Base: v, Disp: disp}, vi)
		VMULPS(c(2), vi, vi)
		VADDPS(t, vi, vi)
		VMOVUPS(vi, Mem{Base: v, Disp: disp})
		VSQRTPS(vi, vi)
		VDIVPS(c(4), vi, vi) // √v / √(1−β2ᵗ)
		VADDPS(c(6), vi, vi) // + ε
		VDIVPS(vi, mi, mi)   // m / denom
		VMULPS(c(5), mi, mi) // −lr/(1−β1ᵗ) · m/denom
		VMOVUPS(Mem{Base: p, Disp: disp}, t)
		VMULPS(c(7), t, t)
		VADDPS(mi, t, t)
		VMOVUPS(t, Mem{Base: p, Disp: disp})
	})
	VZEROUPPER()
	RET()
}

func scale() {
	TEXT("scaleAVX2", NOSPLIT, "func(alpha float32, x []float32)")
	Pragma("noescape")
	Doc("scaleAVX2 computes x[i] *= alpha; len(x) must be a multiple of 8.")
	al := YMM()
	VBROADCASTSS(NewParamAddr("alpha", 0), al)
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	stream(n, []Register{x}, func(_, disp int) {
		t := YMM()
		VMULPS(Mem{Base: x, Disp: disp}, al, t)
		VMOVUPS(t, Mem{Base: x, Disp: disp})
	})
	VZEROUPPER()
	RET()
}

func maxKernel() {
	TEXT("maxAVX2", NOSPLIT, "func(x []float32) float32")
	Pragma("noescape")
	Doc("maxAVX2 returns the largest element of x, ignoring NaNs (as MaxRef does:",
		"a NaN never compares greater); -Inf when all are NaN. len(x) must be a",
		"positive multiple of 8.")
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	acc := []VecVirtual{YMM(), YMM(), YMM(), YMM()}
	for _, r := range acc {
		VMOVUPS(k("negInf"), r)
	}
	// VMAXPS returns its second source (the first Go operand) when either
	// is NaN, so the running maximum goes there: a NaN element leaves it
	// unchanged.
	stream(n, []Register{x}, func(i, disp int) {
		t := YMM()
		VMOVUPS(Mem{Base: x, Disp: disp}, t)
		VMAXPS(acc[i], t, acc[i])
	})
	VMAXPS(acc[1], acc[0], acc[0])
	VMAXPS(acc[3], acc[2], acc[2])
	VMAXPS(acc[2], acc[0], acc[0])
	hi := XMM()
	VEXTRACTF128(U8(1), acc[0], hi)
	VMAXPS(hi, acc[0].AsX(), acc[0].AsX())
	VPERMILPS(U8(0x4e), acc[0].AsX(), hi)
	VMAXPS(hi, acc[0].AsX(), acc[0].AsX())
	VPERMILPS(U8(0xb1), acc[0].AsX(), hi)
	VMAXPS(hi, acc[0].AsX(), acc[0].AsX())
	VZEROUPPER()
	Store(acc[0].AsX(), ReturnIndex(0))
	RET()
}

// expVec computes out = exp(x) for 8 lanes (x is left unchanged):
// clamp to [-104, 89], n = round(x·log2e), r = x - n·ln2 (in two parts),
// exp(r) by the Cephes degree-6 polynomial, then scale by 2^n as two
// factors 2^(n>>1)·2^(n-(n>>1)) so that results down to the subnormal range
// and up to overflow come out right. NaN lanes are passed through.
func expVec(x, out VecVirtual) {
	xc, n, r, t := YMM(), YMM(), YMM(), YMM()
	VMINPS(k("expHi"), x, xc)
	VMAXPS(k("expLo"), xc, xc)
	VMULPS(k("log2e"), xc, n)
	VROUNDPS(U8(0), n, n)
	VFNMADD231PS(k("ln2hi"), n, xc)
	VFNMADD231PS(k("ln2lo"), n, xc)
	// xc now holds r.
	VMOVUPS(k("p0"), out)
	VFMADD213PS(k("p1"), xc, out)
	VFMADD213PS(k("p2"), xc, out)
	VFMADD213PS(k("p3"), xc, out)
	VFMADD213PS(k("p4"), xc, out)
	VFMADD213PS(k("p5"), xc, out)
	VMULPS(xc, xc, r)
	VFMADD213PS(xc, r, out) // out = r²·p + r
	VADDPS(k("one"), out, out)
	VCVTPS2DQ(n, n)
	VPSRAD(U8(1), n, t)
	VPSUBD(t, n, n)
	VPADDD(k("bias"), t, t)
	VPADDD(k("bias"), n, n)
	VPSLLD(U8(23), t, t)
	VPSLLD(U8(23), n, n)
	VMULPS(t, out, out)
	VMULPS(n, out, out)
	VCMPPS(U8(3), x, x, t) // unordered: x is NaN
	VBLENDVPS(t, x, out, out)
}

func expKernel() {
	TEXT("expAVX2", NOSPLIT, "func(dst, src []float32)")
	Pragma("noescape")
	Doc("expAVX2 computes dst[i] = exp(src[i]) for i < len(src); len(src) must be",
		"a multiple of 8 and len(dst) >= len(src). See expVec in the generator",
		"for the method (max relative error about 1.2e-7).")
	d := Load(Param("dst").Base(), GP64())
	s := Load(Param("src").Base(), GP64())
	n := Load(Param("src").Len(), GP64())
	stream(n, []Register{d, s}, func(_, disp int) {
		x, o := YMM(), YMM()
		VMOVUPS(Mem{Base: s, Disp: disp}, x)
		expVec(x, o)
		VMOVUPS(o, Mem{Base: d, Disp: disp})
	})
	VZEROUPPER()
	RET()
}

func expShiftSum() {
	TEXT("expShiftSumAVX2", NOSPLIT, "func(x []float32, shift float32) float32")
	Pragma("noescape")
	Doc("expShiftSumAVX2 computes x[i] = exp(x[i] - shift) in place and returns",
		"their sum; len(x) must be a multiple of 8.")
	p := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	sh, acc := YMM(), YMM()
	VBROADCASTSS(NewParamAddr("shift", 24), sh)
	VXORPS(acc, acc, acc)
	stream(n, []Register{p}, func(_, disp int) {
		x, o := YMM(), YMM()
		VMOVUPS(Mem{Base: p, Disp: disp}, x)
		VSUBPS(sh, x, x)
		expVec(x, o)
		VMOVUPS(o, Mem{Base: p, Disp: disp})
		VADDPS(o, acc, acc)
	})
	reduceSum(acc)
	VZEROUPPER()
	Store(acc.AsX(), ReturnIndex(0))
	RET()
}

// expShiftGrad is the elementwise step of the attention backward pass over
// one row of a tile: P = exp(S − lse) in place of S, and dS = P∘(dP − D) in
// place of dP, in one pass (S and dP are each read and written once).
func expShiftGrad() {
	TEXT("expShiftGradAVX2", NOSPLIT, "func(p, ds []float32, shift, d float32)")
	Pragma("noescape")
	Doc("expShiftGradAVX2 computes p[i] = exp(p[i] - shift) in place and then",
		"ds[i] = p[i]·(ds[i] - d) for i < len(p); len(p) must be a multiple of 8",
		"and len(ds) >= len(p).")
	p := Load(Param("p").Base(), GP64())
	g := Load(Param("ds").Base(), GP64())
	n := Load(Param("p").Len(), GP64())
	sh, dd := YMM(), YMM()
	VBROADCASTSS(NewParamAddr("shift", 48), sh)
	VBROADCASTSS(NewParamAddr("d", 52), dd)
	stream(n, []Register{p, g}, func(_, disp int) {
		x, o, t := YMM(), YMM(), YMM()
		VMOVUPS(Mem{Base: p, Disp: disp}, x)
		VSUBPS(sh, x, x)
		expVec(x, o)
		VMOVUPS(o, Mem{Base: p, Disp: disp})
		VMOVUPS(Mem{Base: g, Disp: disp}, t)
		VSUBPS(dd, t, t)
		VMULPS(o, t, t)
		VMOVUPS(t, Mem{Base: g, Disp: disp})
	})
	VZEROUPPER()
	RET()
}

func tanhKernel() {
	TEXT("tanhAVX2", NOSPLIT, "func(dst, src []float32)")
	Pragma("noescape")
	Doc("tanhAVX2 computes dst[i] = tanh(src[i]) for i < len(src); len(src) must be",
		"a multiple of 8 and len(dst) >= len(src). |x| < 0.625 uses the Cephes odd",
		"polynomial x + x·z·P(z), z = x²; larger |x| uses sign(x)·(1 - 2/(exp(2|x|)+1)),",
		"which tends to ±1 as exp overflows.")
	d := Load(Param("dst").Base(), GP64())
	s := Load(Param("src").Base(), GP64())
	n := Load(Param("src").Len(), GP64())
	stream(n, []Register{d, s}, func(_, disp int) {
		x, e := YMM(), YMM()
		VMOVUPS(Mem{Base: s, Disp: disp}, x)
		tanhVec(x, e)
		VMOVUPS(e, Mem{Base: d, Disp: disp})
	})
	VZEROUPPER()
	RET()
}

// tanhVec sets out = tanh(x) (see tanhAVX2); x is kept.
func tanhVec(x, out VecVirtual) {
	ax, small, z := YMM(), YMM(), YMM()
	e := out
	VANDPS(k("abs"), x, ax)
	// large: 1 - 2/(exp(2|x|)+1), sign restored
	VADDPS(ax, ax, z)
	expVec(z, e)
	VADDPS(k("one"), e, e)
	VMOVUPS(k("two"), z)
	VDIVPS(e, z, e)
	VMOVUPS(k("one"), z)
	VSUBPS(e, z, e)
	VANDPS(k("sign"), x, z)
	VXORPS(z, e, e)
	// small: x + x·z·P(z)
	VMULPS(x, x, z)
	VMOVUPS(k("t0"), small)
	VFMADD213PS(k("t1"), z, small)
	VFMADD213PS(k("t2"), z, small)
	VFMADD213PS(k("t3"), z, small)
	VFMADD213PS(k("t4"), z, small)
	VMULPS(z, small, small)
	VFMADD213PS(x, x, small)             // small = x·small + x
	VCMPPS(U8(1), k("tanhSmall"), ax, z) // |x| < 0.625
	VBLENDVPS(z, small, e, e)
}

func geluTanhGradKernel() {
	TEXT("geluTanhGradAVX2", NOSPLIT, "func(dx, dy, x []float32)")
	Pragma("noescape")
	Doc("geluTanhGradAVX2 computes dx[i] += dy[i]·(½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715·x²)),",
		"t = tanh(√(2/π)(x + 0.044715·x³)), x = x[i]: the derivative of gelu(approximate='tanh');",
		"len(x) must be a multiple of 8 and dx, dy at least as long.")
	dx := Load(Param("dx").Base(), GP64())
	dy := Load(Param("dy").Base(), GP64())
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	stream(n, []Register{dx, dy, x}, func(_, disp int) {
		xv, x2, u, t, a := YMM(), YMM(), YMM(), YMM(), YMM()
		VMOVUPS(Mem{Base: x, Disp: disp}, xv)
		VMULPS(xv, xv, x2)
		VMULPS(k("gCoef"), x2, u) // 0.044715·x²
		VMULPS(xv, u, u)
		VADDPS(xv, u, u)
		VMULPS(k("s2pi"), u, u) // √(2/π)(x + 0.044715·x³)
		tanhVec(u, t)
		VMULPS(k("gCoef3"), x2, a) // 3·0.044715·x²
		VADDPS(k("one"), a, a)
		VMULPS(k("s2pi"), a, a) // √(2/π)(1 + 3·0.044715·x²)
		VMULPS(t, t, u)
		VMOVUPS(k("one"), x2)
		VSUBPS(u, x2, u) // 1 − t²
		VMULPS(u, a, a)
		VMULPS(xv, a, a)
		VADDPS(k("one"), t, t)
		VADDPS(t, a, a)
		VMULPS(k("half"), a, a) // ½(1 + t) + ½x(1 − t²)·…
		VMULPS(Mem{Base: dy, Disp: disp}, a, a)
		VADDPS(Mem{Base: dx, Disp: disp}, a, a)
		VMOVUPS(a, Mem{Base: dx, Disp: disp})
	})
	VZEROUPPER()
	RET()
}

func geluKernel() {
	TEXT("geluTanhAVX2", NOSPLIT, "func(dst, src []float32)")
	Pragma("noescape")
	Doc("geluTanhAVX2 computes dst[i] = gelu(src[i]) with the tanh approximation,",
		"0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³), evaluated as the equal",
		"x / (1 + exp(-2u)); len(src) must be a multiple of 8 and len(dst) >= len(src).")
	d := Load(Param("dst").Base(), GP64())
	s := Load(Param("src").Base(), GP64())
	n := Load(Param("src").Len(), GP64())
	stream(n, []Register{d, s}, func(_, disp int) {
		x, z, e := YMM(), YMM(), YMM()
		VMOVUPS(Mem{Base: s, Disp: disp}, x)
		VMULPS(x, x, z)
		VMULPS(k("g3"), z, z)
		VADDPS(k("g1"), z, z)
		VMULPS(x, z, z) // z = -2u
		expVec(z, e)
		VADDPS(k("one"), e, e)
		VDIVPS(e, x, e) // x / (1 + exp(-2u))
		VMOVUPS(e, Mem{Base: d, Disp: disp})
	})
	VZEROUPPER()
	RET()
}

func geluErfGradKernel() {
	TEXT("geluErfGradAVX2", NOSPLIT, "func(dx, dy, x, y []float32)")
	Pragma("noescape")
	Doc("geluErfGradAVX2 computes dx[i] += dy[i]·(Φ(x) + x·φ(x)), x = x[i], with",
		"Φ(x) = y[i]/x from the forward's y = x·Φ(x) where |x| > 1e-3 and",
		"½ + x·φ(0) nearer 0, φ(x) = exp(−x²/2)/√(2π); len(x) must be a multiple",
		"of 8 and dx, dy, y at least as long.")
	dx := Load(Param("dx").Base(), GP64())
	dy := Load(Param("dy").Base(), GP64())
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	stream(n, []Register{dx, dy, x, y}, func(_, disp int) {
		xv, z, e, near, far := YMM(), YMM(), YMM(), YMM(), YMM()
		VMOVUPS(Mem{Base: x, Disp: disp}, xv)
		VMULPS(xv, xv, z)
		VMULPS(k("mhalf"), z, z) // −x²/2
		expVec(z, e)
		VMULPS(k("invSqrt2Pi"), xv, near) // x·φ(0)
		VMULPS(near, e, e)                // x·φ(x)
		VADDPS(k("half"), near, near)     // ½ + x·φ(0)
		VMOVUPS(Mem{Base: y, Disp: disp}, far)
		VDIVPS(xv, far, far) // y/x
		VANDPS(k("abs"), xv, z)
		VCMPPS(U8(1), k("geluNear"), z, z) // |x| < 1e-3 (false for NaN: y/x)
		VBLENDVPS(z, near, far, far)
		VADDPS(e, far, far)
		VMULPS(Mem{Base: dy, Disp: disp}, far, far)
		VADDPS(Mem{Base: dx, Disp: disp}, far, far)
		VMOVUPS(far, Mem{Base: dx, Disp: disp})
	})
	VZEROUPPER()
	RET()
}

func geluErfKernel() {
	TEXT("geluErfAVX2", NOSPLIT, "func(dst, src []float32)")
	Pragma("noescape")
	Doc("geluErfAVX2 computes dst[i] = x·Φ(x) = 0.5·x·(1 + erf(x/√2)), x = src[i]",
		"(torch's exact GELU): r = Φ(−|x|) = ½·t·A(t)·exp(−x²/2) with t = 1/(1 + p·|x|/√2)",
		"and A the Abramowitz & Stegun 7.1.26 polynomial, Φ(x) = r for x < 0 and",
		"1 − r otherwise (chosen by the sign bit); len(src) must be a multiple of 8",
		"and len(dst) >= len(src).")
	d := Load(Param("dst").Base(), GP64())
	s := Load(Param("src").Base(), GP64())
	n := Load(Param("src").Len(), GP64())
	stream(n, []Register{d, s}, func(_, disp int) {
		x, z, e, t, a := YMM(), YMM(), YMM(), YMM(), YMM()
		VMOVUPS(Mem{Base: s, Disp: disp}, x)
		VMULPS(x, x, z)
		VMULPS(k("mhalf"), z, z)
		expVec(z, e) // exp(−x²/2)
		VANDPS(k("abs"), x, z)
		VMOVUPS(k("one"), t)
		VFMADD231PS(k("asP"), z, t) // 1 + p·|x|/√2
		VMOVUPS(k("one"), z)
		VDIVPS(t, z, t)
		VMOVUPS(k("asA5"), a)
		VFMADD213PS(k("asA4"), t, a)
		VFMADD213PS(k("asA3"), t, a)
		VFMADD213PS(k("asA2"), t, a)
		VFMADD213PS(k("asA1"), t, a)
		VMULPS(t, a, a)
		VMULPS(e, a, a)
		VMULPS(k("half"), a, a) // r = Φ(−|x|)
		VSUBPS(a, z, z)         // 1 − r
		VBLENDVPS(x, a, z, z)   // x < 0: r
		VMULPS(x, z, z)
		VMOVUPS(z, Mem{Base: d, Disp: disp})
	})
	VZEROUPPER()
	RET()
}
