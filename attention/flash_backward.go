package attention

import (
	"math"

	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/internal/parallel"
)

// dqPartBudget caps the bytes of the private dq copies of a split backward
// pass.
const dqPartBudget = 32 << 20

// tiledBackward is FlashAttention-2's backward pass. It never stores P:
// each tile's probabilities are recomputed from the saved lse,
// P = exp(Scale·Q·Kᵀ + masks − lse), and with D = rowsum(dout∘out),
//
//	dV_j += (P∘Z)ᵀ·dO_i,  dS = P∘(Z∘(dO_i·V_jᵀ) − D),
//	dK_j += Scale·dSᵀ·Q_i,  dQ_i += Scale·dS·K_j.
//
// A work unit is (b, KV head, split): it walks its key blocks (split s
// takes key blocks s, s+nsplit, …, which balances causal work) and, for
// every query head of the group and every visible query block, does the
// five tile products above. The unit owns the dk, dv rows of its key blocks;
// dq rows are owned by split 0, other splits accumulate into private
// copies that are summed at the end (only when B·NKV is too small to keep
// the cores busy otherwise).
func (c *call) tiledBackward(t tiles, q, k, v, out, lse, dout, dq, dk, dv []float32) {
	pl := &c.pl
	c.t, c.q, c.k, c.v, c.out, c.lse = t, q, k, v, out, lse
	c.dout, c.dq, c.dk, c.dv = dout, dq, dk, dv
	nq := pl.B * pl.NH * pl.Tq
	// D_i = dout_i · out_i: one float per query row.
	c.dD = growTo(c.dD, nq)
	parallel.For(nq, 256, c.rowDots)
	c.nkb = (pl.Tk + t.bc - 1) / t.bc
	c.units = pl.B * pl.NKV
	c.nsplit = 1
	if w := parallel.Workers(); c.units < 4*w {
		c.nsplit = min((4*w+c.units-1)/c.units, c.nkb)
		// Each extra split costs a private copy of dq; keep them within
		// dqPartBudget (summing copies keeps the result deterministic,
		// unlike atomic or locked accumulation).
		c.nsplit = max(1, min(c.nsplit, 1+dqPartBudget/(4*len(dq))))
	}
	for len(c.parts) < c.nsplit-1 {
		c.parts = append(c.parts, nil)
	}
	for s := range c.nsplit - 1 {
		c.parts[s] = growTo(c.parts[s], len(dq))
	}
	c.forEachDynamic(c.units*c.nsplit, c.backwardItem)
	for s := range c.nsplit - 1 {
		c.sumPart = c.parts[s]
		parallel.For(len(dq)/pl.HS, 256, c.sumDQ)
	}
}

// backwardRowDots computes D_r = dout_r · out_r for rows [lo, hi).
func (c *call) backwardRowDots(lo, hi int) {
	hs := c.pl.HS
	for r := lo; r < hi; r++ {
		c.dD[r] = kernels.Dot(c.dout[r*hs:(r+1)*hs], c.out[r*hs:(r+1)*hs])
	}
}

// backwardSumDQ adds rows [lo, hi) of the private dq copy c.sumPart into dq.
func (c *call) backwardSumDQ(lo, hi int) {
	hs := c.pl.HS
	kernels.Axpy(1, c.sumPart[lo*hs:hi*hs], c.dq[lo*hs:hi*hs])
}

// tiledBackwardItem is work item it of tiledBackward: unit (b, KV head)
// it mod units, split it / units.
func (c *call) tiledBackwardItem(it int) {
	pl, t := &c.pl, c.t
	hs := pl.HS
	k, v, dk, dv := c.k, c.v, c.dk, c.dv
	u, sp := it%c.units, it/c.units
	b, kvh := u/pl.NKV, u%pl.NKV
	kk, vv := pl.kvBlock(k, u), pl.kvBlock(v, u)
	dkk, dvv := pl.gradBlock(dk, u), pl.gradBlock(dv, u)
	dqs := c.dq
	if sp > 0 {
		dqs = c.parts[sp-1]
	}
	h0 := kvh * pl.group
	qlo, qhi := (b*pl.NH+h0)*pl.Tq*hs, (b*pl.NH+h0+pl.group)*pl.Tq*hs
	clear(dqs[qlo:qhi])
	ld := padLD(t.bc)
	ws := getWorkspace(t.br, ld, hs)
	defer putWorkspace(ws)
	for kb := sp; kb < c.nkb; kb += c.nsplit {
		j0 := kb * t.bc
		j1 := min(j0+t.bc, pl.Tk)
		clear(dkk[j0*hs : j1*hs])
		clear(dvv[j0*hs : j1*hs])
		// K_jᵀ and V_jᵀ serve every query block of every head below.
		ws.ktCall = 0 // no longer a forward pass's cached Kᵀ
		ws.kt = growTo(ws.kt, hs*ld)
		ws.vt = growTo(ws.vt, hs*ld)
		kernels.Transpose(ws.kt, ld, kk[j0*hs:j1*hs], hs, j1-j0, hs)
		kernels.Transpose(ws.vt, ld, vv[j0*hs:j1*hs], hs, j1-j0, hs)
		qlo, qhi := pl.queryRange(j0, j1)
		for h := h0; h < h0+pl.group; h++ {
			bh := b*pl.NH + h
			for i0 := qlo / t.br * t.br; i0 < qhi; i0 += t.br {
				i1 := min(i0+t.br, pl.Tq)
				cls := pl.tileClass(i0, i1, j0, j1)
				if cls == tileNone {
					continue
				}
				r0 := bh*pl.Tq + i0
				pl.backwardTile(ws, ld, b, h, i0, i1-i0, j0, j1, cls,
					c.q[r0*hs:], kk, vv, c.dout[r0*hs:], c.lse[r0:], c.dD[r0:],
					dqs[r0*hs:], dkk, dvv)
			}
		}
	}
}

// backwardTile does the five products of one (query block, key block)
// tile; qi, doi, lsei, di and dqi start at the block's first row, and
// ws.kt, ws.vt hold K_jᵀ and V_jᵀ ([HS, bc]).
func (pl *plan) backwardTile(ws *workspace, bc, b, h, i0, rows, j0, j1, cls int,
	qi, kk, vv, doi, lsei, di, dqi, dkk, dvv []float32) {
	hs := pl.HS
	cols := j1 - j0
	p, dp := ws.s, ws.p2
	kj := kk[j0*hs:]
	kernels.SgemmSerial(false, false, rows, cols, hs, pl.scale, qi, hs, ws.kt, bc, 0, p, bc)
	needMask := cls == tilePartial || pl.mask != nil || pl.pad != nil
	if needMask {
		for r := 0; r < rows; r++ {
			pl.maskRow(b, h, i0+r, j0, p[r*bc:r*bc+cols], cls == tilePartial)
		}
	}
	kernels.SgemmSerial(false, false, rows, cols, hs, 1, doi, hs, ws.vt, bc, 0, dp, bc)
	if pl.dropP > 0 {
		// dS needs Z∘dP̃ and dV needs P∘Z: apply Z to dP̃ now and to P
		// once dS is formed.
		for r := 0; r < rows; r++ {
			pl.dropRow(b, h, i0+r, j0, dp[r*bc:r*bc+cols])
		}
	}
	// P = exp(S − lse) in place in p, and dS = P∘(Z∘dP̃ − D) in place in
	// dp, in one pass per row; a row that sees no key (lse = −∞) has
	// P = dS = 0.
	ninf := float32(math.Inf(-1))
	for r := 0; r < rows; r++ {
		pr, dr := p[r*bc:r*bc+cols], dp[r*bc:r*bc+cols]
		if lsei[r] == ninf {
			clear(pr)
			clear(dr)
			continue
		}
		kernels.ExpShiftGrad(pr, dr, lsei[r], di[r])
	}
	if pl.dropP > 0 {
		for r := 0; r < rows; r++ {
			pl.dropRow(b, h, i0+r, j0, p[r*bc:r*bc+cols])
		}
	}
	kernels.SgemmSerial(true, false, cols, hs, rows, 1, p, bc, doi, hs, 1, dvv[j0*hs:], hs)
	kernels.SgemmSerial(true, false, cols, hs, rows, pl.scale, dp, bc, qi, hs, 1, dkk[j0*hs:], hs)
	kernels.SgemmSerial(false, false, rows, hs, cols, pl.scale, dp, bc, kj, hs, 1, dqi, hs)
}
