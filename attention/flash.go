package attention

import (
	"math"

	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/internal/parallel"
)

// tiles are the query-block (br) and key-block (bc) sizes of the tiled
// kernels. At 128×128 with HS = 64 a tile's working set (Q block, Kᵀ and V
// blocks 32 KiB each, the 64 KiB score tile, the 32 KiB output
// accumulator) sits in Zen 3's 512 KiB L2; bc ≤ 128 keeps every product on
// the kernels' unpacked small-GEMM path (k ≤ 128). 128×128 measured best
// among 64…256 on the 2-core machine.
type tiles struct{ br, bc int }

// tileSizes picks tiles for a kernel: 128×128 forward, 96×96 backward
// (96 is a multiple of the small-GEMM kernel's 6 rows and 16 columns, so
// every product of the five — bc×HS ones included — runs on whole register
// tiles, without packed edge slivers or merged edge tiles: the tile
// sequence runs at 75 best GFLOP/s per core vs 65-70 at 64×128,
// BenchmarkAttnBackwardTiles); block-sparse layouts use their own block
// size (up to 128) so that tiles are all-or-nothing.
func tileSizes(pl *plan, kern Kernel, backward bool) tiles {
	t := tiles{br: 128, bc: 128}
	if backward {
		t.br, t.bc = 96, 96
	}
	if kern == Sparse && pl.layout != nil && pl.bs <= 128 {
		t.br, t.bc = pl.bs, pl.bs
	}
	return t
}

// workspace is one worker's buffers: O(br·(bc+HS)) floats of tiles plus,
// in a dense forward pass, one head's Kᵀ (HS·Tk floats); never L².
type workspace struct {
	s, p2, o []float32 // score tile, second tile (backward), output accumulator
	m, l     []float32 // running max and running sum per row
	// kt holds Kᵀ ([HS, n]) of one KV head (forward) or key block
	// (backward, with vt = Vᵀ), so the products read B untransposed;
	// ktCall and ktU say whose it is in the forward pass.
	kt, vt []float32
	ktCall uint64
	ktU    int
}

// freeWorkspaces keeps idle workspaces (a free list, not a sync.Pool, so
// garbage collections do not make the next calls allocate tiles afresh).
var freeWorkspaces = parallel.NewFreeList(64, func() *workspace { return new(workspace) })

func putWorkspace(ws *workspace) { freeWorkspaces.Put(ws) }

// padLD returns a row stride of at least n floats that is not a multiple of
// 256 bytes' large powers of two: rows of a tile read down a column (the
// B operand of the small-GEMM kernel) then fall into different L1 sets
// instead of thrashing one (a stride of 2048 floats maps every row to the
// same set; 128 floats to one set in eight).
func padLD(n int) int {
	ld := (n + 15) &^ 15
	if ld%64 == 0 {
		ld += 16
	}
	return ld
}

func getWorkspace(rows, cols, hs int) *workspace {
	ws := freeWorkspaces.Get()
	ws.s = growTo(ws.s, rows*cols)
	ws.p2 = growTo(ws.p2, rows*cols)
	ws.o = growTo(ws.o, rows*hs)
	ws.m = growTo(ws.m, rows)
	ws.l = growTo(ws.l, rows)
	return ws
}

// growTo returns b resized to n, reallocated only when too small.
func growTo(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// reset starts the online softmax for rows rows: m = −∞, l = 0, O = 0.
func (ws *workspace) reset(rows, hs int) {
	ninf := float32(math.Inf(-1))
	for r := 0; r < rows; r++ {
		ws.m[r], ws.l[r] = ninf, 0
	}
	clear(ws.o[:rows*hs])
}

// onlineTile folds keys [j0, j1) of one KV head (kk, vv: [Tk,HS]) into the
// running softmax state of rows query rows qr ([rows,HS]); row r is query
// (h0 + (i0+r)/Tq, (i0+r) mod Tq) of batch b. With S = Scale·Q·Kᵀ + masks
// over the tile and m' = max(m, rowmax S):
//
//	l ← l·e^{m−m'} + Σ_j e^{S_j−m'},  O ← O·e^{m−m'} + (e^{S−m'}∘Z)·V,  m ← m'
//
// cls is the tile's structural class (tileFull or tilePartial).
func (pl *plan) onlineTile(ws *workspace, bc int, b, h0, i0, rows int, qr, kk, kt []float32, ldk int, vv []float32, j0, j1, cls int) {
	hs := pl.HS
	cols := j1 - j0
	s := ws.s
	if kt != nil {
		kernels.SgemmSerial(false, false, rows, cols, hs, pl.scale, qr, hs, kt, ldk, 0, s, bc)
	} else {
		kernels.SgemmSerial(false, true, rows, cols, hs, pl.scale, qr, hs, kk[j0*hs:], hs, 0, s, bc)
	}
	needMask := cls == tilePartial || pl.mask != nil || pl.pad != nil
	ninf := float32(math.Inf(-1))
	for r := 0; r < rows; r++ {
		row := s[r*bc : r*bc+cols]
		h, i := h0+(i0+r)/pl.Tq, (i0+r)%pl.Tq
		if needMask {
			pl.maskRow(b, h, i, j0, row, cls == tilePartial)
		}
		mOld := ws.m[r]
		mNew := max(mOld, kernels.Max(row))
		if mNew == ninf {
			clear(row)
			continue
		}
		sum := kernels.ExpShiftSum(row, mNew)
		if mOld != mNew {
			alpha := float32(math.Exp(float64(mOld - mNew)))
			ws.l[r] *= alpha
			kernels.Scale(alpha, ws.o[r*hs:(r+1)*hs])
			ws.m[r] = mNew
		}
		ws.l[r] += sum
		if pl.dropP > 0 {
			pl.dropRow(b, h, i, j0, row)
		}
	}
	kernels.SgemmSerial(false, false, rows, hs, cols, 1, s, bc, vv[j0*hs:], hs, 1, ws.o, hs)
}

// tiledForward is FlashAttention's forward pass: one work item per
// (b, h, query block of br rows); each walks the key blocks the masks leave
// visible, folding them in with onlineTile, then writes out = O/l and
// lse = m + log l. Causal and sparse patterns skip invisible tiles, so the
// cost is proportional to the visible tiles and the extra memory is one
// workspace per worker.
func (c *call) tiledForward(t tiles, q, k, v, out, lse []float32) {
	c.t, c.q, c.k, c.v, c.out, c.lse = t, q, k, v, out, lse
	c.nqb = (c.pl.Tq + t.br - 1) / t.br
	c.tag = callTags.Add(1)
	c.forEachDynamic(c.pl.B*c.pl.NH*c.nqb, c.forwardItem)
}

// tiledForwardItem is work item it of tiledForward.
func (c *call) tiledForwardItem(it int) {
	pl, t, nqb := &c.pl, c.t, c.nqb
	hs := pl.HS
	q, k, v := c.q, c.k, c.v
	// Items run head by head, so a worker transposes each KV head once;
	// within a head, later query blocks (more keys under a causal mask) go
	// first so the tail of the schedule is short.
	bh, qb := it/nqb, nqb-1-it%nqb
	b, h := bh/pl.NH, bh%pl.NH
	i0 := qb * t.br
	i1 := min(i0+t.br, pl.Tq)
	rows := i1 - i0
	ld := padLD(t.bc)
	ws := getWorkspace(t.br, ld, hs)
	defer putWorkspace(ws)
	ws.reset(rows, hs)
	qr := q[(bh*pl.Tq+i0)*hs : (bh*pl.Tq+i1)*hs]
	u := b*pl.NKV + h/pl.group
	kk, vv := pl.kvBlock(k, u), pl.kvBlock(v, u)
	lo, hi := pl.keyRange(i0, i1)
	// Kᵀ lets each score product read B untransposed. A dense pass reuses
	// the whole head's Kᵀ in every query block, so a worker transposes it
	// once per head (a causal pass too: its later query blocks need nearly
	// all of K); a narrow window transposes tile by tile (1/256 of the
	// tile's work) rather than all of K.
	perTile := nqb == 1 || (pl.window > 0 && 2*(hi-lo) < pl.Tk)
	ldkt := padLD(pl.Tk)
	if !perTile && (ws.ktCall != c.tag || ws.ktU != u) {
		ws.kt = growTo(ws.kt, hs*ldkt)
		kernels.Transpose(ws.kt, ldkt, kk, hs, pl.Tk, hs)
		ws.ktCall, ws.ktU = c.tag, u
	}
	for j0 := lo / t.bc * t.bc; j0 < hi; j0 += t.bc {
		j1 := min(j0+t.bc, pl.Tk)
		cls := pl.tileClass(i0, i1, j0, j1)
		if cls == tileNone {
			continue
		}
		var kt []float32
		ldk := ldkt
		if perTile {
			ws.vt = growTo(ws.vt, hs*ld)
			kernels.Transpose(ws.vt, ld, kk[j0*hs:j1*hs], hs, j1-j0, hs)
			kt, ldk = ws.vt, ld
		} else {
			kt = ws.kt[j0:]
		}
		pl.onlineTile(ws, ld, b, h, i0, rows, qr, kk, kt, ldk, vv, j0, j1, cls)
	}
	finishRows(ws, rows, hs, c.out[(bh*pl.Tq+i0)*hs:], lseSlice(c.lse, bh*pl.Tq+i0))
}

func lseSlice(lse []float32, at int) []float32 {
	if lse == nil {
		return nil
	}
	return lse[at:]
}

// finishRows writes out[r] = O[r]/l[r] and lse[r] = m[r] + log l[r] (lse may
// be nil); rows that saw no visible key get out = 0, lse = −∞.
func finishRows(ws *workspace, rows, hs int, out, lse []float32) {
	ninf := float32(math.Inf(-1))
	for r := 0; r < rows; r++ {
		o := out[r*hs : (r+1)*hs]
		if ws.l[r] == 0 {
			clear(o)
			if lse != nil {
				lse[r] = ninf
			}
			continue
		}
		inv := 1 / ws.l[r]
		for x, a := range ws.o[r*hs : (r+1)*hs] {
			o[x] = a * inv
		}
		if lse != nil {
			lse[r] = ws.m[r] + float32(math.Log(float64(ws.l[r])))
		}
	}
}
