// Package attention computes scaled dot-product attention on raw float32
// slices: a reference that materialises each row of scores, a tiled
// FlashAttention-style kernel with O(L) extra memory, a sparse variant
// (sliding window with global tokens, block-sparse layouts) that visits only
// the tiles a pattern needs, and a decode kernel for one new query against a
// KV cache. All of them compute, for batch b, head h, query i and key j,
//
//	s[i,j] = Scale·(q[i]·k[j]) + Mask[b,h,i,j]      (−∞ where a structural mask hides j)
//	P[i,:] = softmax(s[i,:])
//	out[i] = Σ_j P[i,j]·Z[i,j]·v[j]                  (Z = keep/(1−p) under dropout, else 1)
//	lse[i] = log Σ_j exp(s[i,j])                     (saved for the backward pass)
//
// Layout (row-major, contiguous): q and out are [B,NH,Tq,HS]; k and v are
// [B,NKV,Tk,HS]; lse is [B,NH,Tq]; probs is [B,NH,Tq,Tk]. Head h reads KV
// head h/(NH/NKV) (grouped-query attention; NKV == NH is ordinary
// multi-head attention, NKV == 1 multi-query).
//
// A query row whose keys are all masked out yields out = 0, lse = −∞, probs
// = 0 and zero gradients, in every kernel (the FlashAttention convention;
// PyTorch's softmax would give NaN there).
package attention

import (
	"fmt"
	"math"
)

// Kernel chooses an implementation; Auto picks the fastest one that can
// serve the request.
type Kernel int

const (
	// Auto uses Ref when probabilities are requested, Decode for a few
	// query rows without dropout, Sparse when a sparse pattern is set and
	// Flash otherwise.
	Auto Kernel = iota
	// Ref materialises every row of scores (the algorithmic reference).
	Ref
	// Flash tiles queries and keys with an online softmax.
	Flash
	// Sparse is the tiled kernel visiting only tiles the pattern touches.
	Sparse
	// Decode splits the key axis across cores for a few query rows.
	Decode
)

var kernelNames = [...]string{"auto", "ref", "flash", "sparse", "decode"}

// String returns the kernel's flag name.
func (k Kernel) String() string {
	if k >= 0 && int(k) < len(kernelNames) {
		return kernelNames[k]
	}
	return fmt.Sprintf("Kernel(%d)", int(k))
}

// ParseKernel maps a flag name (auto, ref, flash, sparse, decode) to a Kernel.
func ParseKernel(s string) (Kernel, error) {
	for i, n := range kernelNames {
		if n == s {
			return Kernel(i), nil
		}
	}
	return Auto, fmt.Errorf("attention: unknown kernel %q (want auto, ref, flash, sparse or decode)", s)
}

// Params describes one attention call. Masks combine: a key is visible to a
// query only if every structural mask (Causal, KeyPadding, Window/Global,
// BlockLayout) allows it; the additive Mask is then added to its score.
//
// Positions: query i is aligned with key position ia = i + Tk − Tq
// (bottom-right alignment, which equals torch.tril when Tq == Tk and is what
// a KV cache needs).
type Params struct {
	B, NH, Tq, Tk, HS int
	// NKV is the number of key/value heads; 0 means NH.
	NKV int
	// Scale multiplies q·k; 0 means 1/√HS.
	Scale float32
	// Causal hides key j from query i when j > ia.
	Causal bool
	// KeyPadding, [B,Tk], hides key j of batch b when true (torch's
	// key_padding_mask).
	KeyPadding []bool
	// Mask is added to the scores, broadcast over the dims of MaskShape
	// that are 1: MaskShape is [B|1, NH|1, Tq|1, Tk|1]. −∞ entries hide keys.
	Mask      []float32
	MaskShape [4]int
	// DropoutP drops attention probabilities with this probability (the rest
	// are scaled by 1/(1−p)); the keep decision is a counter-based hash of
	// (Seed, b, h, i, j), so the backward pass reproduces it exactly.
	DropoutP float32
	Seed     uint64
	// Window > 0 keeps only keys with |ia − j| < Window (combined with
	// Causal: the Window most recent keys, self included). Global lists
	// key positions that attend to and are attended by every position
	// (Longformer); a query is global when its aligned position ia is.
	Window int
	Global []int
	// BlockLayout, [ceil(Tq/BlockSize), ceil(Tk/BlockSize)], keeps the
	// (query block, key block) pairs that are true (BigBird-style
	// block-sparse attention; see BigBirdLayout).
	BlockSize   int
	BlockLayout []bool
	// Kernel forces an implementation; Auto chooses.
	Kernel Kernel
}

// Sparse reports whether a sparse pattern (window or block layout) is set.
func (p *Params) Sparse() bool { return p.Window > 0 || p.BlockLayout != nil }

// plan is Params validated and digested for the kernels.
type plan struct {
	B, NH, NKV, Tq, Tk, HS int
	group                  int // NH / NKV
	off                    int // Tk − Tq: query i sits at key position i+off
	scale                  float32
	causal                 bool
	pad                    []bool
	mask                   []float32
	mstride                [4]int // element strides of Mask, 0 on broadcast dims
	dropP                  float32
	dropScale              float32 // 1/(1−p)
	dropThresh             uint32  // keep iff hash ≥ dropThresh
	seed                   uint64
	window                 int
	gk                     []int32 // prefix counts of global key positions, len Tk+1; nil: none
	gkBuf                  []int32 // gk's storage, kept by pooled plans
	bs                     int
	layout                 []bool
	nkb                    int // key blocks per layout row
	structural             bool
}

// mulChecked returns a·b·…, or an error naming what when it overflows.
func mulChecked(what string, xs ...int) (int, error) {
	n := 1
	for _, x := range xs {
		if x != 0 && n > math.MaxInt/x {
			return 0, fmt.Errorf("attention: %s: size overflows", what)
		}
		n *= x
	}
	return n, nil
}

func checkLen(name string, got, want int) error {
	if got != want {
		return fmt.Errorf("attention: %s has %d elements, want %d", name, got, want)
	}
	return nil
}

// newPlan validates p against the slices of a call (nil slices are not
// checked) and digests it.
func newPlan(p *Params) (*plan, error) {
	pl := new(plan)
	if err := initPlan(pl, p); err != nil {
		return nil, err
	}
	return pl, nil
}

// initPlan is newPlan into pl, reusing its buffers; it allocates nothing
// unless p has Global tokens beyond pl's capacity or is invalid.
func initPlan(pl *plan, p *Params) error {
	*pl = plan{gkBuf: pl.gkBuf}
	if p == nil {
		return fmt.Errorf("attention: nil Params")
	}
	if p.B < 1 || p.NH < 1 || p.Tq < 1 || p.Tk < 1 || p.HS < 1 {
		return fmt.Errorf("attention: B=%d NH=%d Tq=%d Tk=%d HS=%d: all must be ≥ 1", p.B, p.NH, p.Tq, p.Tk, p.HS)
	}
	nkv := p.NKV
	if nkv == 0 {
		nkv = p.NH
	}
	if nkv < 0 || p.NH%nkv != 0 {
		return fmt.Errorf("attention: NH=%d is not a multiple of NKV=%d", p.NH, nkv)
	}
	if _, err := mulChecked("B·NH·Tq·Tk", p.B, p.NH, p.Tq, p.Tk); err != nil {
		return err
	}
	if _, err := mulChecked("B·NH·Tq·HS", p.B, p.NH, p.Tq, p.HS); err != nil {
		return err
	}
	if _, err := mulChecked("B·NKV·Tk·HS", p.B, nkv, p.Tk, p.HS); err != nil {
		return err
	}
	scale := p.Scale
	if math.IsNaN(float64(scale)) || math.IsInf(float64(scale), 0) {
		return fmt.Errorf("attention: Scale %v is not finite", scale)
	}
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(p.HS)))
	}
	pl.B, pl.NH, pl.NKV, pl.Tq, pl.Tk, pl.HS = p.B, p.NH, nkv, p.Tq, p.Tk, p.HS
	pl.group, pl.off, pl.scale, pl.causal = p.NH/nkv, p.Tk-p.Tq, scale, p.Causal
	if p.KeyPadding != nil {
		if err := checkLen("KeyPadding [B,Tk]", len(p.KeyPadding), p.B*p.Tk); err != nil {
			return err
		}
		pl.pad = p.KeyPadding
	}
	if p.Mask != nil {
		full := [4]int{p.B, p.NH, p.Tq, p.Tk}
		n := 1
		for d := 3; d >= 0; d-- {
			s := p.MaskShape[d]
			if s != full[d] && s != 1 {
				return fmt.Errorf("attention: MaskShape %v does not broadcast to [B,NH,Tq,Tk]=%v", p.MaskShape, full)
			}
			if s != 1 {
				pl.mstride[d] = n
			}
			n *= s
		}
		if len(p.Mask) != n {
			return fmt.Errorf("attention: Mask %v has %d elements, want %d", p.MaskShape, len(p.Mask), n)
		}
		pl.mask = p.Mask
	}
	if !(p.DropoutP >= 0 && p.DropoutP < 1) {
		return fmt.Errorf("attention: DropoutP %v outside [0,1)", p.DropoutP)
	}
	if p.DropoutP > 0 {
		pl.dropP = p.DropoutP
		pl.dropScale = 1 / (1 - p.DropoutP)
		t := math.Ceil(float64(p.DropoutP) * (1 << 32))
		if t > math.MaxUint32 {
			t = math.MaxUint32
		}
		pl.dropThresh = uint32(t)
		pl.seed = p.Seed
	}
	if p.Window < 0 {
		return fmt.Errorf("attention: Window %d is negative", p.Window)
	}
	pl.window = p.Window
	if len(p.Global) > 0 {
		if p.Window == 0 {
			return fmt.Errorf("attention: Global tokens need a Window")
		}
		if cap(pl.gkBuf) < p.Tk+1 {
			pl.gkBuf = make([]int32, p.Tk+1)
		}
		pl.gk = pl.gkBuf[:p.Tk+1]
		clear(pl.gk)
		for _, g := range p.Global {
			if g < 0 || g >= p.Tk {
				return fmt.Errorf("attention: Global position %d outside [0,%d)", g, p.Tk)
			}
			pl.gk[g+1] = 1
		}
		for j := 0; j < p.Tk; j++ {
			pl.gk[j+1] += pl.gk[j]
		}
	}
	if p.BlockLayout != nil {
		if p.BlockSize < 1 {
			return fmt.Errorf("attention: BlockLayout needs BlockSize ≥ 1, got %d", p.BlockSize)
		}
		nqb := (p.Tq + p.BlockSize - 1) / p.BlockSize
		pl.nkb = (p.Tk + p.BlockSize - 1) / p.BlockSize
		if len(p.BlockLayout) != nqb*pl.nkb {
			return fmt.Errorf("attention: BlockLayout [%d,%d] has %d elements, want %d", nqb, pl.nkb, len(p.BlockLayout), nqb*pl.nkb)
		}
		pl.bs = p.BlockSize
		pl.layout = p.BlockLayout
	}
	pl.structural = pl.causal || pl.window > 0 || pl.layout != nil
	return nil
}

// checkQKV checks the tensor slices every call shares.
func (pl *plan) checkQKV(q, k, v []float32) error {
	if err := checkLen("q [B,NH,Tq,HS]", len(q), pl.B*pl.NH*pl.Tq*pl.HS); err != nil {
		return err
	}
	if err := checkLen("k [B,NKV,Tk,HS]", len(k), pl.B*pl.NKV*pl.Tk*pl.HS); err != nil {
		return err
	}
	return checkLen("v [B,NKV,Tk,HS]", len(v), pl.B*pl.NKV*pl.Tk*pl.HS)
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
