package attention

import "math"

// What hides a score from a query, as the kernels apply it: the structural
// masks (causal, sliding window with global tokens, block layout) tile by
// tile and element by element, key padding, the additive mask, and
// dropout's keep decision; BigBirdLayout builds a block layout.
//
// Sparse attention reuses the tiled kernel (tiledForward/tiledBackward):
// Params.Window/Global and Params.BlockLayout make plan.classify report the
// tiles a pattern never touches, and those are skipped outright. A sliding
// window of width w therefore costs O(Tq·(w + tile)) per head, plus the rows
// and columns of the global tokens, instead of O(Tq·Tk); a block layout
// costs its number of true blocks. With Kernel == Sparse and a block
// layout, tiles match the layout's blocks, so no tile needs per-element
// masking.

// BigBirdLayout builds a BigBird block layout of nqb query blocks × nkb key
// blocks (row-major, true = attend): every query block sees the key blocks
// within window blocks of its own (aligned at the bottom right, as
// Params.Causal is), the first global blocks are global (their rows see
// everything and everything sees them), and each query block sees random
// more key blocks chosen by a generator seeded with seed.
func BigBirdLayout(nqb, nkb, window, global, random int, seed uint64) []bool {
	if nqb < 1 || nkb < 1 {
		return nil
	}
	layout := make([]bool, nqb*nkb)
	off := nkb - nqb
	rng := seed ^ 0x6A09E667F3BCC908
	for qb := 0; qb < nqb; qb++ {
		row := layout[qb*nkb : (qb+1)*nkb]
		a := qb + off
		for kb := max(0, a-window); kb <= min(nkb-1, a+window); kb++ {
			row[kb] = true
		}
		for kb := 0; kb < min(global, nkb); kb++ {
			row[kb] = true
		}
		if qb < global {
			for kb := range row {
				row[kb] = true
			}
		}
		for n := 0; n < random; n++ {
			rng += 0x9E3779B97F4A7C15
			z := rng
			z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
			z = (z ^ (z >> 27)) * 0x94D049BB133111EB
			z ^= z >> 31
			row[int(z%uint64(nkb))] = true
		}
	}
	return layout
}

// globalKey reports whether key position j is global.
func (pl *plan) globalKey(j int) bool {
	return pl.gk != nil && j >= 0 && j < pl.Tk && pl.gk[j+1] != pl.gk[j]
}

// anyGlobal reports whether a global position lies in [lo, hi) ∩ [0, Tk).
func (pl *plan) anyGlobal(lo, hi int) bool {
	if pl.gk == nil {
		return false
	}
	lo, hi = max(lo, 0), min(hi, pl.Tk)
	return lo < hi && pl.gk[hi] != pl.gk[lo]
}

// visible reports whether the structural masks (causal, window/global,
// block layout — not padding) let query i see key j.
func (pl *plan) visible(i, j int) bool {
	ia := i + pl.off
	if pl.causal && j > ia {
		return false
	}
	if pl.window > 0 {
		d := ia - j
		if d < 0 {
			d = -d
		}
		if d >= pl.window && !pl.globalKey(ia) && !pl.globalKey(j) {
			return false
		}
	}
	if pl.layout != nil && !pl.layout[(i/pl.bs)*pl.nkb+j/pl.bs] {
		return false
	}
	return true
}

// keyRange bounds the keys [lo, hi) that queries [i0, i1) may see, so a
// sliding window visits O(window) key blocks per query block instead of
// classifying all of them.
func (pl *plan) keyRange(i0, i1 int) (lo, hi int) {
	l0, _, ok := pl.span(i0)
	_, h1, _ := pl.span(i1 - 1)
	if !ok {
		return 0, pl.Tk
	}
	return max(l0, 0), min(h1+1, pl.Tk)
}

// queryRange bounds the queries [lo, hi) that may see a key in [j0, j1)
// (the backward pass's counterpart of keyRange).
func (pl *plan) queryRange(j0, j1 int) (lo, hi int) {
	if pl.layout != nil || pl.gk != nil {
		return 0, pl.Tq
	}
	lo, hi = 0, pl.Tq
	// span(i) = [ia−W+1, ia] (causal) or [ia−W+1, ia+W−1] with ia = i+off;
	// both ends grow with i.
	switch {
	case pl.causal:
		lo = j0 - pl.off
	case pl.window > 0:
		lo = j0 - pl.window + 1 - pl.off
	}
	if pl.window > 0 {
		hi = j1 - 1 + pl.window - pl.off
	}
	return max(lo, 0), min(hi, pl.Tq)
}

// Tile classes for the structural masks over a block of queries × keys.
const (
	tileNone    = iota // no visible pair: skip
	tileFull           // every pair visible: no per-element structural check
	tilePartial        // check each pair with visible
)

// tileClass is classify, short-cut to tileFull when no structural mask is
// set.
func (pl *plan) tileClass(i0, i1, j0, j1 int) int {
	if !pl.structural {
		return tileFull
	}
	return pl.classify(i0, i1, j0, j1)
}

// classify returns the tile class of queries [i0,i1) × keys [j0,j1).
func (pl *plan) classify(i0, i1, j0, j1 int) int {
	all := true
	if pl.causal {
		if j0 > i1-1+pl.off {
			return tileNone
		}
		if j1-1 > i0+pl.off {
			all = false
		}
	}
	if pl.window > 0 {
		a0, a1 := i0+pl.off, i1-1+pl.off // aligned query range, inclusive
		// Smallest and largest |ia − j| over the tile.
		var dmin int
		switch {
		case j0 > a1:
			dmin = j0 - a1
		case j1-1 < a0:
			dmin = a0 - (j1 - 1)
		}
		dmax := max(a1-j0, j1-1-a0)
		if dmin >= pl.window && !pl.anyGlobal(a0, a1+1) && !pl.anyGlobal(j0, j1) {
			return tileNone
		}
		if dmax >= pl.window {
			all = false
		}
	}
	if pl.layout != nil {
		some, every := false, true
		for qb := i0 / pl.bs; qb <= (i1-1)/pl.bs; qb++ {
			row := pl.layout[qb*pl.nkb:]
			for kb := j0 / pl.bs; kb <= (j1-1)/pl.bs; kb++ {
				if row[kb] {
					some = true
				} else {
					every = false
				}
			}
		}
		if !some {
			return tileNone
		}
		if !every {
			all = false
		}
	}
	if all {
		return tileFull
	}
	return tilePartial
}

// maskRow adds the masks of (b, h, query i) to scores s of keys
// [j0, j0+len(s)): −∞ where a structural mask (when structural) or the key
// padding hides a key, plus the additive mask.
func (pl *plan) maskRow(b, h, i, j0 int, s []float32, structural bool) {
	ninf := float32(math.Inf(-1))
	if pl.mask != nil {
		base := b*pl.mstride[0] + h*pl.mstride[1] + i*pl.mstride[2]
		st := pl.mstride[3]
		m := pl.mask
		for x := range s {
			s[x] += m[base+(j0+x)*st]
		}
	}
	if pl.pad != nil {
		pad := pl.pad[b*pl.Tk+j0 : b*pl.Tk+j0+len(s)]
		for x, p := range pad {
			if p {
				s[x] = ninf
			}
		}
	}
	if !structural || !pl.structural {
		return
	}
	if lo, hi, ok := pl.span(i); ok {
		// Causal and window masks leave one interval of keys [lo, hi].
		for x := range s {
			if j := j0 + x; j < lo || j > hi {
				s[x] = ninf
			}
		}
		return
	}
	for x := range s {
		if !pl.visible(i, j0+x) {
			s[x] = ninf
		}
	}
}

// span returns the interval [lo, hi] of keys query i may see when the
// structural masks are only causal and window ones (ok false otherwise).
func (pl *plan) span(i int) (lo, hi int, ok bool) {
	if pl.layout != nil || pl.gk != nil {
		return 0, 0, false
	}
	ia := i + pl.off
	lo, hi = 0, pl.Tk-1
	if pl.causal {
		hi = min(hi, ia)
	}
	if pl.window > 0 {
		lo = max(lo, ia-pl.window+1)
		hi = min(hi, ia+pl.window-1)
	}
	return lo, hi, true
}

// keep reports whether dropout keeps probability (b, h, i, j): a
// splitmix64 hash of the seed and the element's flat index, so forward and
// backward passes (and every kernel) agree without storing a mask.
func (pl *plan) keep(b, h, i, j int) bool {
	idx := uint64(((b*pl.NH+h)*pl.Tq+i)*pl.Tk + j)
	return keepHash(pl.seed, idx, pl.dropThresh)
}

// dropRow multiplies p[x] (probabilities of keys j0+x) by Z: 0 when dropped,
// 1/(1−p) when kept.
func (pl *plan) dropRow(b, h, i, j0 int, p []float32) {
	base := uint64(((b*pl.NH+h)*pl.Tq+i)*pl.Tk + j0)
	sc := pl.dropScale
	for x := range p {
		if keepHash(pl.seed, base+uint64(x), pl.dropThresh) {
			p[x] *= sc
		} else {
			p[x] = 0
		}
	}
}

func keepHash(seed, idx uint64, thresh uint32) bool {
	x := seed + (idx+1)*0x9E3779B97F4A7C15
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return uint32(x>>32) >= thresh
}
