package attention

import (
	"math"

	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/internal/parallel"
)

// refForward is the algorithmic reference: for every query row r = (b,h,i)
// it materialises the Tk scores s = Scale·q[r]·Kᵀ + masks, takes
// P = softmax(s), lse[r] = log Σ exp(s) and out[r] = Σ_j P[j]·Z[j]·v[j].
// Extra memory: one row of Tk scores per worker.
func refForward(pl *plan, q, k, v, out, lse, probs []float32) {
	hs, tk := pl.HS, pl.Tk
	ninf := float32(math.Inf(-1))
	parallel.For(pl.B*pl.NH*pl.Tq, 8, func(lo, hi int) {
		s := make([]float32, tk)
		for r := lo; r < hi; r++ {
			i := r % pl.Tq
			h := (r / pl.Tq) % pl.NH
			b := r / (pl.Tq * pl.NH)
			u := b*pl.NKV + h/pl.group
			kk, vv := pl.kvBlock(k, u), pl.kvBlock(v, u)
			qi := q[r*hs : (r+1)*hs]
			o := out[r*hs : (r+1)*hs]
			for j := range s {
				s[j] = pl.scale * kernels.Dot(qi, kk[j*hs:(j+1)*hs])
			}
			pl.maskRow(b, h, i, 0, s, true)
			m := kernels.Max(s)
			clear(o)
			if m == ninf {
				if lse != nil {
					lse[r] = ninf
				}
				if probs != nil {
					clear(probs[r*tk : (r+1)*tk])
				}
				continue
			}
			sum := kernels.ExpShiftSum(s, m)
			kernels.Scale(1/sum, s)
			if lse != nil {
				lse[r] = m + float32(math.Log(float64(sum)))
			}
			if probs != nil {
				copy(probs[r*tk:(r+1)*tk], s)
			}
			if pl.dropP > 0 {
				pl.dropRow(b, h, i, 0, s)
			}
			for j, p := range s {
				if p != 0 {
					kernels.Axpy(p, vv[j*hs:(j+1)*hs], o)
				}
			}
		}
	})
}

// refBackward is the reference backward pass. With P recomputed from the
// saved lse, dP̃[j] = dout[r]·v[j], D = dout[r]·out[r] and
// dS[j] = P[j]·(Z[j]·dP̃[j] − D):
//
//	dq[r] = Scale·Σ_j dS[j]·k[j]
//	dk[j] += Scale·dS[j]·q[r]     (summed over the heads sharing a KV head)
//	dv[j] += P[j]·Z[j]·dout[r]
//
// dq, dk and dv are overwritten. Work is split over (b, KV head) so that
// every worker owns the dk, dv rows it accumulates into.
func refBackward(pl *plan, q, k, v, out, lse, dout, dq, dk, dv []float32) {
	hs, tk := pl.HS, pl.Tk
	ninf := float32(math.Inf(-1))
	parallel.For(pl.B*pl.NKV, 1, func(lo, hi int) {
		p := make([]float32, tk)
		dp := make([]float32, tk)
		for u := lo; u < hi; u++ {
			b, kvh := u/pl.NKV, u%pl.NKV
			kk, vv := pl.kvBlock(k, u), pl.kvBlock(v, u)
			dkk, dvv := pl.gradBlock(dk, u), pl.gradBlock(dv, u)
			clear(dkk)
			clear(dvv)
			for h := kvh * pl.group; h < (kvh+1)*pl.group; h++ {
				for i := 0; i < pl.Tq; i++ {
					r := (b*pl.NH+h)*pl.Tq + i
					qi, oi, doi := q[r*hs:(r+1)*hs], out[r*hs:(r+1)*hs], dout[r*hs:(r+1)*hs]
					dqi := dq[r*hs : (r+1)*hs]
					clear(dqi)
					if lse[r] == ninf {
						continue
					}
					for j := range p {
						p[j] = pl.scale * kernels.Dot(qi, kk[j*hs:(j+1)*hs])
					}
					pl.maskRow(b, h, i, 0, p, true)
					for j, s := range p {
						p[j] = float32(math.Exp(float64(s - lse[r])))
					}
					// pz = P∘Z; dp = Z∘(dout·v).
					for j := range dp {
						dp[j] = kernels.Dot(doi, vv[j*hs:(j+1)*hs])
					}
					d := kernels.Dot(doi, oi)
					for j := range p {
						if p[j] == 0 {
							continue
						}
						z := float32(1)
						if pl.dropP > 0 {
							z = 0
							if pl.keep(b, h, i, j) {
								z = pl.dropScale
							}
						}
						ds := p[j] * (z*dp[j] - d)
						if pz := p[j] * z; pz != 0 {
							kernels.Axpy(pz, doi, dvv[j*hs:(j+1)*hs])
						}
						if ds != 0 {
							kernels.Axpy(pl.scale*ds, kk[j*hs:(j+1)*hs], dqi)
							kernels.Axpy(pl.scale*ds, qi, dkk[j*hs:(j+1)*hs])
						}
					}
				}
			}
		}
	})
}
