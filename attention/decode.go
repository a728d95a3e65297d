package attention

import (
	"math"

	"github.com/attn-dev/attn/internal/parallel"
)

// decodeMaxRows is the largest Tq for which Auto picks the decode kernel.
// decodeMaxStack bounds the query rows (NH/NKV·Tq) stacked on one KV head,
// and so the score tile; a Decode request beyond it runs the flash kernel.
const (
	decodeMaxRows  = 4
	decodeMaxStack = 256
)

// decodeChunk is the key-chunk width of the decode kernel (one score tile
// of group·Tq rows × decodeChunk keys), and decodeMinSplit the fewest keys
// worth giving a core of their own.
const (
	decodeChunk    = 256
	decodeMinSplit = 512
)

// decodeForward is flash-decoding: the key axis of every (b, KV head) is cut
// into splits, spread over the cores together with the heads; each split
// folds its keys into a partial (m, l, O) for all group·Tq query rows that
// share the KV head (so a cached key is read once for all of them), and a
// final pass merges the partials:
//
//	M = max_s m_s,  L = Σ_s l_s·e^{m_s−M},  out = Σ_s O_s·e^{m_s−M} / L,  lse = M + log L
//
// Extra memory: the partials, nsplit·B·NH·Tq·(HS+2) floats.
func (c *call) decodeForward(q, k, v, out, lse []float32) {
	pl := &c.pl
	hs := pl.HS
	rows := pl.group * pl.Tq // query rows per (b, KV head), contiguous in q
	units := pl.B * pl.NKV
	nsplit := 1
	if w := parallel.Workers(); units < 2*w {
		nsplit = min((2*w+units-1)/units, max(1, pl.Tk/decodeMinSplit))
	}
	per := (pl.Tk + nsplit - 1) / nsplit
	per = (per + decodeChunk - 1) / decodeChunk * decodeChunk
	nsplit = (pl.Tk + per - 1) / per
	c.q, c.k, c.v = q, k, v
	c.units, c.nsplit, c.per = units, nsplit, per
	// Every item writes its whole (O, m, l) partial, so no clearing.
	c.part = growTo(c.part, nsplit*units*rows*(hs+2))
	partO, partM, partL := c.decodePartials(rows)
	c.forEachDynamic(units*nsplit, c.decodeItem)
	ninf := float32(math.Inf(-1))
	for u := 0; u < units; u++ {
		b, kvh := u/pl.NKV, u%pl.NKV
		first := (b*pl.NH + kvh*pl.group) * pl.Tq
		for r := 0; r < rows; r++ {
			o := out[(first+r)*hs : (first+r+1)*hs]
			m := ninf
			for sp := 0; sp < nsplit; sp++ {
				m = max(m, partM[(sp*units+u)*rows+r])
			}
			clear(o)
			var l float32
			if m != ninf {
				for sp := 0; sp < nsplit; sp++ {
					at := (sp*units+u)*rows + r
					if partL[at] == 0 {
						continue
					}
					c := float32(math.Exp(float64(partM[at] - m)))
					l += partL[at] * c
					for x, a := range partO[at*hs : (at+1)*hs] {
						o[x] += a * c
					}
				}
			}
			if l == 0 {
				clear(o)
				if lse != nil {
					lse[first+r] = ninf
				}
				continue
			}
			inv := 1 / l
			for x := range o {
				o[x] *= inv
			}
			if lse != nil {
				lse[first+r] = m + float32(math.Log(float64(l)))
			}
		}
	}
}

// decodeForwardItem is work item it of decodeForward: unit (b, KV head)
// it mod units, key split it / units.
func (c *call) decodeForwardItem(it int) {
	pl := &c.pl
	hs := pl.HS
	rows := pl.group * pl.Tq
	units, per := c.units, c.per
	u, sp := it%units, it/units
	b, kvh := u/pl.NKV, u%pl.NKV
	h0 := kvh * pl.group
	ws := getWorkspace(rows, decodeChunk, hs)
	defer putWorkspace(ws)
	ws.reset(rows, hs)
	qr := c.q[(b*pl.NH+h0)*pl.Tq*hs : (b*pl.NH+h0+pl.group)*pl.Tq*hs]
	kk, vv := pl.kvBlock(c.k, u), pl.kvBlock(c.v, u)
	for j0 := sp * per; j0 < min((sp+1)*per, pl.Tk); j0 += decodeChunk {
		j1 := min(j0+decodeChunk, pl.Tk, (sp+1)*per)
		// Rows of different heads share query positions, so the tile's
		// query range is the whole of [0, Tq).
		cls := pl.tileClass(0, pl.Tq, j0, j1)
		if cls == tileNone {
			continue
		}
		pl.onlineTile(ws, decodeChunk, b, h0, 0, rows, qr, kk, nil, 0, vv, j0, j1, cls)
	}
	partO, partM, partL := c.decodePartials(rows)
	at := (sp*units + u) * rows
	copy(partO[at*hs:(at+rows)*hs], ws.o[:rows*hs])
	copy(partM[at:at+rows], ws.m[:rows])
	copy(partL[at:at+rows], ws.l[:rows])
}

// decodePartials splits c.part into the splits' partial outputs O
// [nsplit·units·rows, HS], maxima m and sums l [nsplit·units·rows].
func (c *call) decodePartials(rows int) (o, m, l []float32) {
	n := c.nsplit * c.units * rows
	hs := c.pl.HS
	return c.part[:n*hs], c.part[n*hs : n*(hs+1)], c.part[n*(hs+1) : n*(hs+2)]
}
