// Command _asm generates the amd64 assembly of package gemv with avo: the
// row dot product that a matrix-vector product with bfloat16 weights
// stored row-major [out, in] is made of, the weights widened to float32 on
// the fly (a bfloat16 is the high half of a float32, so widening is a
// zero-extension and a 16-bit shift).
//
// Run it through go generate in the parent directory; it writes
// ../gemv_amd64.s and ../gemv_amd64.go. The kernel handles whole blocks of
// 32 elements; the Go wrapper does the tail.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	dot1BF16()
	Generate()
}

// dot1BF16 emits Σ_p x[p]·float32(w[p]<<16) for one row (len(x) a multiple
// of 32): the matrix is then read as one sequential stream, which the
// hardware prefetcher follows far better than four interleaved short ones.
// (float32 rows need no kernel of their own: they are kernels.Dot.)
func dot1BF16() {
	const name, esize = "dot1BF16AVX2", 2
	TEXT(name, NOSPLIT, "func(x []float32, w []uint16) float32")
	Doc("dot1BF16AVX2 returns Σ_p x[p]·float32(w[p]<<16); len(x) % 32 == 0.")
	x, n, w := GP64(), GP64(), GP64()
	Load(Param("x").Base(), x)
	Load(Param("x").Len(), n)
	Load(Param("w").Base(), w)
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	i := GP64()
	XORQ(i, i)
	Label(name + "_loop")
	CMPQ(i, n)
	JGE(LabelRef(name + "_done"))
	for u := 0; u < 4; u++ {
		m := Mem{Base: w, Index: i, Scale: uint8(esize), Disp: u * 8 * esize}
		xm := Mem{Base: x, Index: i, Scale: 4, Disp: u * 32}
		t := YMM()
		VPMOVZXWD(m, t)
		VPSLLD(U8(16), t, t)
		VFMADD231PS(xm, t, acc[u])
	}
	ADDQ(U8(32), i)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	hi := XMM()
	VEXTRACTF128(U8(1), acc[0], hi)
	VADDPS(hi, acc[0].AsX(), hi)
	VHADDPS(hi, hi, hi)
	VHADDPS(hi, hi, hi)
	Store(hi, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
