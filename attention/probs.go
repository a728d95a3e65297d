package attention

import (
	"math"

	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/internal/parallel"
)

// probsRows is the query-block height of probsForward.
const probsRows = 64

// probsForward serves a Forward that asks for the probabilities with a
// fast kernel: the scores are materialised anyway, so each (b, h, block of
// probsRows queries) computes its strip of scores straight into probs with
// one GEMM, turns each row into probabilities in place, and takes
// out = (P∘Z)·V with a second GEMM. The math is refForward's; the only
// extra memory is one strip of P∘Z per worker when dropout is on.
func probsForward(pl *plan, q, k, v, out, lse, probs []float32) {
	hs, tk := pl.HS, pl.Tk
	nqb := (pl.Tq + probsRows - 1) / probsRows
	ninf := float32(math.Inf(-1))
	parallel.For(pl.B*pl.NH*nqb, 1, func(lo, hi int) {
		var pz []float32
		if pl.dropP > 0 {
			pz = make([]float32, probsRows*tk)
		}
		for it := lo; it < hi; it++ {
			bh, qb := it/nqb, it%nqb
			b, h := bh/pl.NH, bh%pl.NH
			i0 := qb * probsRows
			rows := min(probsRows, pl.Tq-i0)
			r0 := bh*pl.Tq + i0
			u := b*pl.NKV + h/pl.group
			kk, vv := pl.kvBlock(k, u), pl.kvBlock(v, u)
			p := probs[r0*tk : (r0+rows)*tk]
			kernels.SgemmSerial(false, true, rows, tk, hs, pl.scale, q[r0*hs:], hs, kk, hs, 0, p, tk)
			for r := 0; r < rows; r++ {
				row := p[r*tk : (r+1)*tk]
				pl.maskRow(b, h, i0+r, 0, row, true)
				m := kernels.Max(row)
				if m == ninf {
					clear(row)
					if lse != nil {
						lse[r0+r] = ninf
					}
					continue
				}
				sum := kernels.ExpShiftSum(row, m)
				kernels.Scale(1/sum, row)
				if lse != nil {
					lse[r0+r] = m + float32(math.Log(float64(sum)))
				}
			}
			pv := p
			if pz != nil {
				pv = pz[:rows*tk]
				copy(pv, p)
				for r := 0; r < rows; r++ {
					pl.dropRow(b, h, i0+r, 0, pv[r*tk:(r+1)*tk])
				}
			}
			kernels.SgemmSerial(false, false, rows, hs, tk, 1, pv, tk, vv, hs, 0, out[r0*hs:], hs)
		}
	})
}
