package autograd

import (
	"github.com/attn-dev/attn/internal/kernels"
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

// linearPacked computes y = x·Wᵀ (y [rows, out], x [rows, in]) against w's
// packed copy, packing it first if needed, and reports whether it did; false
// means the caller runs the ordinary product (packing off or not worth it,
// training graph, weight not contiguous).
func (g *Graph) linearPacked(w *Var, rows, in, out int, x, y []float32) bool {
	if !w.packLinear {
		return false
	}
	if g.train {
		w.packed.Store(nil)
		return false
	}
	if rows < kernels.PackMinRows || !w.Value.IsContiguous() {
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
	kernels.SgemmPackedB(false, rows, 1, x, in, p.pb, 0, y, out)
	return true
}
