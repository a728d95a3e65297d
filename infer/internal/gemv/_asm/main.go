// Command _asm generates the amd64 assembly of package gemv with avo: the
// four-row dot products that a matrix-vector product with weights stored
// row-major [out, in] is made of, for float32 weights and for bfloat16
// weights widened to float32 on the fly (a bfloat16 is the high half of a
// float32, so widening is a zero-extension and a 16-bit shift).
//
// Run it through go generate in the parent directory; it writes
// ../gemv_amd64.s and ../gemv_amd64.go. Each kernel handles whole blocks
// of 16 elements; the Go wrappers do the tails.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	dot4(false)
	dot4(true)
	Generate()
}

// dot4 emits out[r] = Σ_p x[p]·w[r·ldw+p] for r < 4, p < len(x) (a
// multiple of 16), w float32 or (bf16) uint16 holding bfloat16 bits.
func dot4(bf16 bool) {
	name, wt, esize := "dot4F32AVX2", "[]float32", 4
	if bf16 {
		name, wt, esize = "dot4BF16AVX2", "[]uint16", 2
	}
	TEXT(name, NOSPLIT, "func(x []float32, w "+wt+", ldw int, out *[4]float32)")
	if bf16 {
		Doc("dot4BF16AVX2 computes out[r] = Σ_p x[p]·float32(w[r·ldw+p]<<16) for r < 4; len(x) % 16 == 0.")
	} else {
		Doc("dot4F32AVX2 computes out[r] = Σ_p x[p]·w[r·ldw+p] for r < 4; len(x) % 16 == 0.")
	}
	x, n, w, ld := GP64(), GP64(), GP64(), GP64()
	Load(Param("x").Base(), x)
	Load(Param("x").Len(), n)
	Load(Param("w").Base(), w)
	Load(Param("ldw"), ld)
	SHLQ(U8(map[bool]uint8{false: 2, true: 1}[bf16]), ld)
	// Row pointers w0..w3.
	rows := []GPVirtual{w, GP64(), GP64(), GP64()}
	for r := 1; r < 4; r++ {
		MOVQ(rows[r-1], rows[r])
		ADDQ(ld, rows[r])
	}
	acc := make([]VecVirtual, 8) // acc[2r+u]: row r, unroll u
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	i := GP64()
	XORQ(i, i)
	Label(name + "_loop")
	CMPQ(i, n)
	JGE(LabelRef(name + "_done"))
	xv := []VecVirtual{YMM(), YMM()}
	VMOVUPS(Mem{Base: x, Index: i, Scale: 4}, xv[0])
	VMOVUPS(Mem{Base: x, Index: i, Scale: 4, Disp: 32}, xv[1])
	for r := 0; r < 4; r++ {
		for u := 0; u < 2; u++ {
			m := Mem{Base: rows[r], Index: i, Scale: uint8(esize), Disp: u * 8 * esize}
			if bf16 {
				t := YMM()
				VPMOVZXWD(m, t)
				VPSLLD(U8(16), t, t)
				VFMADD231PS(xv[u], t, acc[2*r+u])
			} else {
				VFMADD231PS(m, xv[u], acc[2*r+u])
			}
		}
	}
	ADDQ(U8(16), i)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	// Reduce each row's two accumulators to one float.
	o := GP64()
	Load(Param("out"), o)
	for r := 0; r < 4; r++ {
		a := acc[2*r]
		VADDPS(acc[2*r+1], a, a)
		hi := XMM()
		VEXTRACTF128(U8(1), a, hi)
		VADDPS(hi, a.AsX(), hi)
		VHADDPS(hi, hi, hi)
		VHADDPS(hi, hi, hi)
		VMOVSS(hi, Mem{Base: o, Disp: 4 * r})
	}
	VZEROUPPER()
	RET()
}
