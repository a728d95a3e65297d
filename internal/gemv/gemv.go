// Package gemv holds the matrix-vector products of one decoding step:
// y[b] = W·x[b] for a weight matrix W stored row-major [rows, cols] (the
// [out, in] layout of nn.Linear), either float32 or bfloat16, and a few
// input vectors x[b]. A decode step is bound by the bytes of W it reads, so
// the products walk W once, four rows at a time, for all inputs together,
// split across the workers by blocks of rows; bfloat16 weights halve the
// bytes and are widened to float32 in registers (the accumulation is
// float32 either way). The row dot products are kernels.Dot and
// kernels.DotBF16, so the assembly and its pure-Go twin are chosen there.
package gemv

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/internal/parallel"
)

// BF16 is a bfloat16: the upper 16 bits of a float32.
type BF16 = uint16

// ToBF16 rounds f to the nearest bfloat16, ties to even (NaN stays NaN),
// as torch's float32 → bfloat16 conversion does.
func ToBF16(f float32) BF16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return BF16(b>>16) | 0x40 // quiet NaN
	}
	b += 0x7fff + (b>>16)&1
	return BF16(b >> 16)
}

// FromBF16 widens a bfloat16 to float32 exactly.
func FromBF16(h BF16) float32 { return math.Float32frombits(uint32(h) << 16) }

// ToBF16Slice converts src into dst (len(dst) == len(src)).
func ToBF16Slice(dst []BF16, src []float32) {
	for i, v := range src {
		dst[i] = ToBF16(v)
	}
}

// Matrix is a weight matrix [Rows, Cols] in float32 (F32) or bfloat16
// (BF16); exactly one is set.
type Matrix struct {
	Rows, Cols int
	F32        []float32
	BF16       []BF16
}

// NewBF16 returns a bfloat16 copy [rows, cols] of the float32 matrix src
// (rounded to nearest even), in huge pages where the OS offers them. The
// copy lives as long as the returned Matrix: keep the Matrix, not only its
// BF16 slice.
func NewBF16(rows, cols int, src []float32) *Matrix {
	m := newBF16(rows, cols)
	ToBF16Slice(m.BF16, src[:rows*cols])
	return m
}

// newBF16 returns a Matrix with room for rows·cols bfloat16s.
func newBF16(rows, cols int) *Matrix {
	m := &Matrix{Rows: rows, Cols: cols}
	n := rows * cols
	if n > 0 {
		m.BF16 = allocBF16(m, n)
	}
	if m.BF16 == nil {
		m.BF16 = make([]BF16, n)
	}
	return m
}

// NewBF16T is NewBF16 of the transpose of src [cols, rows] (GPT-2's
// Conv1D weights, stored [in, out]): src is only read.
func NewBF16T(rows, cols int, src []float32) *Matrix {
	m := newBF16(rows, cols)
	src = src[:rows*cols]
	dst := m.BF16
	// Blocks of 16 output rows: each source row contributes one run of
	// 16 consecutive values (a cache line), written to 16 output rows.
	const blk = 16
	parallel.For((rows+blk-1)/blk, 1, func(lo, hi int) {
		for r0 := lo * blk; r0 < min(hi*blk, rows); r0 += blk {
			r1 := min(r0+blk, rows)
			for c := range cols {
				run := src[c*rows+r0 : c*rows+r1]
				for i, v := range run {
					dst[(r0+i)*cols+c] = ToBF16(v)
				}
			}
		}
	})
	return m
}

// Check reports whether the storage holds Rows·Cols values.
func (m *Matrix) Check() error {
	n := m.Rows * m.Cols
	if m.Rows <= 0 || m.Cols <= 0 || (len(m.F32) != n) == (len(m.BF16) != n) {
		return fmt.Errorf("gemv: matrix %d×%d with %d float32 and %d bfloat16 values", m.Rows, m.Cols, len(m.F32), len(m.BF16))
	}
	return nil
}

// Bytes is the size of the weights in memory.
func (m *Matrix) Bytes() int64 { return int64(len(m.F32))*4 + int64(len(m.BF16))*2 }

// chunkBlocks is how many 4-row blocks a worker claims at a time: small
// enough that a worker the OS has descheduled leaves little for the others
// to wait on (the rows are claimed dynamically, not split in halves), large
// enough that claiming costs nothing next to reading them.
const chunkBlocks = 16

// mulVec is one MulVec call's state; its work method is bound once, so
// fanning a call out to the workers allocates nothing.
type mulVec struct {
	y, x, bias []float32
	w          Matrix // a copy, so that the caller's Matrix does not escape
	nb, blocks int
	next       atomic.Int64
	work       func(lo, hi int)
}

var mulVecs = parallel.NewFreeList(16, func() *mulVec {
	m := &mulVec{}
	m.work = m.run
	return m
})

// MulVec computes y[b·Rows+r] = Σ_c W[r, c]·x[b·Cols+c] (+ bias[r] when bias
// is not nil) for the nb = len(x)/Cols input vectors, in parallel over rows.
// The caller guarantees the sizes (see Check).
func MulVec(y []float32, w *Matrix, x, bias []float32) {
	m := mulVecs.Get()
	m.y, m.w, m.x, m.bias = y, *w, x, bias
	m.nb, m.blocks = len(x)/w.Cols, (w.Rows+3)/4
	m.next.Store(0)
	chunks := (m.blocks + chunkBlocks - 1) / chunkBlocks
	parallel.For(min(parallel.Workers(), chunks), 1, m.work)
	m.y, m.w, m.x, m.bias = nil, Matrix{}, nil, nil
	mulVecs.Put(m)
}

// run claims chunks of blocks until none is left (lo, hi: the worker
// slots, unused).
func (m *mulVec) run(_, _ int) {
	var out [4]float32
	w := &m.w
	for {
		lo := int(m.next.Add(chunkBlocks)) - chunkBlocks
		if lo >= m.blocks {
			return
		}
		for blk := lo; blk < min(lo+chunkBlocks, m.blocks); blk++ {
			r0 := blk * 4
			nr := min(4, w.Rows-r0)
			for b := range m.nb {
				dot4(&out, w, r0, nr, m.x[b*w.Cols:(b+1)*w.Cols])
				yb := m.y[b*w.Rows+r0 : b*w.Rows+r0+nr]
				for i := range yb {
					yb[i] = out[i]
					if m.bias != nil {
						yb[i] += m.bias[r0+i]
					}
				}
			}
		}
	}
}

// dot4 computes out[i] = W[r0+i, :]·x for i < nr (nr ≤ 4), one row after
// the other: the matrix is then read as one sequential stream, which the
// hardware prefetcher follows better than four interleaved rows (measured:
// bfloat16 rows of 1.5 KB ran 1.3x faster this way, float32 the same).
func dot4(out *[4]float32, w *Matrix, r0, nr int, x []float32) {
	c := w.Cols
	for i := range nr {
		row := (r0 + i) * c
		if w.F32 != nil {
			out[i] = kernels.Dot(x, w.F32[row:row+c])
		} else {
			out[i] = kernels.DotBF16(x, w.BF16[row:row+c])
		}
	}
}

// MulVecRef is MulVec computed in float64 without blocking, the reference
// the kernels are tested against.
func MulVecRef(y []float32, w *Matrix, x, bias []float32) {
	nb := len(x) / w.Cols
	for b := range nb {
		for r := range w.Rows {
			var s float64
			for c := range w.Cols {
				var wv float32
				if w.F32 != nil {
					wv = w.F32[r*w.Cols+c]
				} else {
					wv = FromBF16(w.BF16[r*w.Cols+c])
				}
				s += float64(wv) * float64(x[b*w.Cols+c])
			}
			if bias != nil {
				s += float64(bias[r])
			}
			y[b*w.Rows+r] = float32(s)
		}
	}
}
