package attention

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
