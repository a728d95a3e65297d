package autograd

import (
	"github.com/attn-dev/attn/internal/gemv"
	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/tensor"
)

// A Linear weight W [out, in] is multiplied in one of three forms, chosen
// per call in inference graphs (training graphs always use W itself):
//
//	few rows (decode)   matrix-vector products (package gemv) that stream W
//	                    once for all rows: float32 in place, or bfloat16
//	many rows (prefill) the GEMM, against W (packed per call), a packed copy
//	                    kept across calls (SetPackedLinear), or the bfloat16
//	                    copy widened per call
//
// The bfloat16 copy (SetBF16) replaces W for inference: the float32 values
// need not stay resident, and a training graph refuses the weight.

// gemvRowsF32 and gemvRowsBF16 are the most rows a product runs as
// matrix-vector products rather than a GEMM. Measured on a 3072×768
// float32 matrix, 2 threads (best of 200): 1 row 78 µs through gemv
// against 110 µs through the GEMM's small-M path, 2 rows 190 against
// 157, 8 rows 566 against 456. For bfloat16 the GEMM needs the matrix
// widened first; GPT-2-small prefill tok/s (matrix-vector / widen +
// GEMM): 8 tokens 96-180 / 32-61, 32 tokens 130-137 / 97-122, 64 tokens
// 109-131 / 198-211.
const (
	gemvRowsF32  = 1
	gemvRowsBF16 = 32
)

// packedWeight is a Linear weight W [out, in] packed as op(B) = Wᵀ for
// kernels.SgemmPackedB, with the address of the data it was packed from.
type packedWeight struct {
	pb  *kernels.PackedB
	src *float32
}

// SetPackedLinear lets Graph.Linear keep a copy of v, a weight [out, in],
// packed into the SGEMM microkernel's panel layout, and multiply against
// that copy instead of packing W at every call. Off by default; on is an
// opt-in for inference-heavy callers (a whole-sequence forward).
//
// The copy is built lazily, at the first inference (train=false) Linear
// with at least kernels.PackMinRows rows of x; products with fewer rows
// (decode steps, M = 1) never pack and stream the weight as before, so a
// decoder that only decodes holds no copy. Memory: the copy is as large as
// the weight (4·out·in bytes) and lives until SetPackedLinear(false).
//
// Staleness: a training graph's Linear drops the copy (an optimizer step
// may follow), and a copy packed from other storage than v.Value's is
// rebuilt; a caller that writes into v.Value's data in place outside a
// training graph must call SetPackedLinear(false) first. Returns v.
func (v *Var) SetPackedLinear(on bool) *Var {
	v.packLinear = on
	if !on {
		v.packed.Store(nil)
	}
	return v
}

// PackedLinearBytes is the memory held by v's packed copy (0 when none).
func (v *Var) PackedLinearBytes() int64 {
	if p := v.packed.Load(); p != nil {
		return p.pb.Bytes()
	}
	return 0
}

// SetBF16 makes inference graphs multiply by m, a bfloat16 copy of v (a
// Linear weight [out, in]; m is [out, in] too), instead of v.Value. It is
// for inference only: a training graph's Linear panics on such a weight,
// since its float32 values may be gone from memory. nil removes the copy.
// Returns v.
func (v *Var) SetBF16(m *gemv.Matrix) *Var {
	v.bf16 = m
	return v
}

// BF16 returns the bfloat16 copy set by SetBF16, or nil.
func (v *Var) BF16() *gemv.Matrix { return v.bf16 }

// linearInfer computes y [rows, out] = x [rows, in]·Wᵀ + bias in an
// inference graph, in the form that suits rows and w (see the top of this
// file).
func (g *Graph) linearInfer(w *Var, rows, in, out int, x, bias, y []float32) {
	if m := w.bf16; m != nil {
		if rows <= gemvRowsBF16 {
			gemv.MulVec(y, m, x, bias)
			return
		}
		wide := g.arena.Empty(out, in).Data()
		g.forRows(out, 64, task{fn: widenRows, widen: widenArgs{bf16: m.BF16, f32: wide, c: in}})
		g.sgemm(false, true, rows, out, in, 1, x, in, wide, in, 0, y, out)
	} else {
		wd := g.contig(w).Data()
		if rows <= gemvRowsF32 {
			gemv.MulVec(y, &gemv.Matrix{Rows: out, Cols: in, F32: wd}, x, bias)
			return
		}
		if g.linearPacked(w, rows, in, out, x, bias, y) {
			return // the bias went in with the product
		}
		g.sgemm(false, true, rows, out, in, 1, x, in, wd, in, 0, y, out)
	}
	if bias != nil {
		g.forRows(rows, rowGrain, task{fn: biasRows, bias: biasArgs{b: bias, y: y, c: out}})
	}
}

// widenArgs: f32 = bf16 widened, both matrices of c columns.
type widenArgs struct {
	bf16 []uint16
	f32  []float32
	c    int
}

// widenRows converts rows [lo, hi) of the bfloat16 matrix into float32.
func widenRows(t *task, lo, hi int) {
	a := &t.widen
	c := a.c
	src, dst := a.bf16[lo*c:hi*c], a.f32[lo*c:hi*c]
	for i, b := range src {
		dst[i] = gemv.FromBF16(b)
	}
}

// linearPacked computes y = x·Wᵀ + bias (y [rows, out], x [rows, in], bias
// [out] or nil) against w's packed copy, packing it first if needed, and
// reports whether it did; false means the caller runs the ordinary product
// (packing off or not worth it, weight not contiguous).
func (g *Graph) linearPacked(w *Var, rows, in, out int, x, bias, y []float32) bool {
	if !w.packLinear || rows < kernels.PackMinRows || !w.Value.IsContiguous() {
		return false
	}
	wd := w.Value.Data()
	if len(wd) == 0 {
		return false
	}
	p := w.packed.Load()
	if p == nil || p.src != &wd[0] || p.pb.K() != in || p.pb.N() != out {
		pb, err := kernels.PackB(true, in, out, wd, in)
		if err != nil {
			return false // the ordinary path reports the shape problem
		}
		p = &packedWeight{pb: pb, src: &wd[0]}
		w.packed.Store(p)
	}
	kernels.SgemmPackedBBias(false, rows, 1, x, in, p.pb, 0, y, out, bias)
	return true
}

// checkTrainable panics when a training graph meets a weight that holds
// bfloat16 values for inference only.
func checkTrainable(op string, w *Var) {
	if w.bf16 != nil {
		tensor.Panicf(op, "weight %v holds bfloat16 values for inference only; load the model in float32 to train", w.Value.Shape)
	}
}
