package autograd

import (
	"github.com/attn-dev/attn/tensor"
)

// Dropout zeroes each element of x with probability p and scales the rest
// by 1/(1−p) (inverted dropout, as torch), in a training graph with
// dropout enabled (see SetDropout); otherwise,
// or when p == 0, it returns x itself. p == 1 gives zeros. The keep mask
// is a counter-based hash of the graph's seed stream (SetSeed) and the
// element index, so the same seed and op sequence reproduce it exactly,
// whatever the number of threads. Backward: dx = dy ⊙ mask/(1−p).
func (g *Graph) Dropout(x *Var, p float32) *Var {
	if !(p >= 0 && p <= 1) {
		tensor.Panicf("autograd.Dropout", "probability %v outside [0, 1] for x %v", p, x.Value.Shape)
	}
	if !g.DropoutEnabled() || p == 0 {
		return x
	}
	xv := g.contig(x)
	out := g.arena.Empty(xv.Shape...)
	mask := g.arena.Empty(xv.Shape...)
	base := g.next()
	var scale float32
	if p < 1 {
		scale = 1 / (1 - p)
	}
	// Keep iff the top 24 bits of the hash, as a uniform in [0, 1), are ≥ p.
	thresh := uint64(float64(p) * (1 << 24))
	if p == 1 {
		thresh = 1 << 24
	}
	g.forRows(xv.Len(), elemGrain, task{fn: dropoutRows, dropout: dropoutArgs{x: xv.Data(), y: out.Data(), mask: mask.Data(),
		base: base >> 1, thresh: thresh, scale: scale}})
	y := g.newVar(out)
	if nd := g.record(dropoutBackward, y, x); nd != nil {
		nd.mask = mask
	}
	return y
}

// dropoutArgs: y = x ⊙ mask, mask = scale where the hash of base and the
// element index clears thresh, else 0.
type dropoutArgs struct {
	x, y, mask   []float32
	base, thresh uint64
	scale        float32
}

// mix64 is the splitmix64 finaliser: a bijective 64-bit hash.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func dropoutRows(t *task, lo, hi int) {
	a := &t.dropout
	for i := lo; i < hi; i++ {
		m := float32(0)
		if mix64(a.base+uint64(i)*0x9e3779b97f4a7c15)>>40 >= a.thresh {
			m = a.scale
		}
		a.mask[i] = m
		a.y[i] = a.x[i] * m
	}
}

// dropoutBackward: dx += dy ⊙ mask.
func dropoutBackward(g *Graph, nd *node) {
	dy := nd.out.Grad.Data()
	g.accumInto(nd.in[0], accumArgs{dy: dy, by: nd.mask.Data()})
}

// NextSeed returns the next value of the graph's random stream (see
// SetSeed), for randomness drawn outside the graph's ops, such as
// attention dropout's seed.
func (g *Graph) NextSeed() uint64 { return g.next() }

// SetDropout turns dropout (Dropout, and the attention dropout of layers
// that ask DropoutEnabled) on or off in a training graph, as torch's
// module.train() and .eval() do, and returns the previous setting. New
// graphs have it on; an inference graph never drops.
func (g *Graph) SetDropout(on bool) (was bool) {
	was = !g.dropoutOff
	g.dropoutOff = !on
	return was
}

// DropoutEnabled reports whether dropout applies: a training graph with
// dropout on.
func (g *Graph) DropoutEnabled() bool { return g.train && !g.dropoutOff }
