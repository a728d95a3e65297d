package attention

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// confCase is one conformance shape; every kernel must match the reference
// on it, forward and backward.
type confCase struct {
	name                   string
	B, NH, NKV, Tq, Tk, HS int
	causal                 bool
	pad                    bool   // pad a random tail of keys per batch (whole rows for batch 0 when padAll)
	padAll                 bool   // batch 0 fully padded: every row fully masked
	mask                   [4]int // additive mask shape, zero = none
	dropout                float32
	scale                  float32
	window                 int
	global                 []int
	blockSize              int // with a BigBird layout when > 0
}

func (c confCase) params(rng *rand.Rand) *Params {
	p := &Params{B: c.B, NH: c.NH, NKV: c.NKV, Tq: c.Tq, Tk: c.Tk, HS: c.HS,
		Causal: c.causal, DropoutP: c.dropout, Seed: rng.Uint64(), Scale: c.scale,
		Window: c.window, Global: c.global}
	if c.pad {
		p.KeyPadding = make([]bool, c.B*c.Tk)
		for b := 0; b < c.B; b++ {
			n := rng.IntN(c.Tk/2 + 1)
			if b == 0 && c.padAll {
				n = c.Tk
			}
			for j := c.Tk - n; j < c.Tk; j++ {
				p.KeyPadding[b*c.Tk+j] = true
			}
		}
	}
	if c.mask != [4]int{} {
		p.MaskShape = c.mask
		p.Mask = randn(rng, c.mask[0]*c.mask[1]*c.mask[2]*c.mask[3], 1)
		// Some −∞ entries, as a boolean mask converted to additive would have.
		for x := range p.Mask {
			if rng.IntN(7) == 0 {
				p.Mask[x] = float32(math.Inf(-1))
			}
		}
	}
	if c.blockSize > 0 {
		nqb, nkb := (c.Tq+c.blockSize-1)/c.blockSize, (c.Tk+c.blockSize-1)/c.blockSize
		p.BlockSize = c.blockSize
		p.BlockLayout = BigBirdLayout(nqb, nkb, 1, 1, 1, rng.Uint64())
	}
	return p
}

func randn(rng *rand.Rand, n int, sd float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * sd)
	}
	return x
}

// confCases lists hand-picked edge cases plus random shapes (L up to 1000+).
func confCases() []confCase {
	cs := []confCase{
		{name: "1x1", B: 1, NH: 1, Tq: 1, Tk: 1, HS: 1},
		{name: "odd", B: 2, NH: 3, Tq: 67, Tk: 67, HS: 13},
		{name: "causal_odd", B: 2, NH: 3, Tq: 131, Tk: 131, HS: 24, causal: true},
		{name: "cross_short_q", B: 1, NH: 2, Tq: 5, Tk: 130, HS: 16, causal: true},
		{name: "cross_long_q_fully_masked_rows", B: 1, NH: 2, Tq: 90, Tk: 20, HS: 8, causal: true},
		{name: "gqa_pad", B: 2, NH: 6, NKV: 2, Tq: 70, Tk: 70, HS: 16, causal: true, pad: true},
		{name: "mqa_mask_full", B: 2, NH: 4, NKV: 1, Tq: 33, Tk: 65, HS: 8, mask: [4]int{2, 4, 33, 65}},
		{name: "mask_broadcast", B: 2, NH: 2, Tq: 40, Tk: 40, HS: 8, mask: [4]int{1, 2, 1, 40}, scale: 0.7},
		{name: "all_padded_batch", B: 2, NH: 2, Tq: 9, Tk: 9, HS: 8, pad: true, padAll: true},
		{name: "dropout", B: 1, NH: 2, Tq: 70, Tk: 75, HS: 16, dropout: 0.3},
		{name: "dropout_causal_gqa", B: 2, NH: 4, NKV: 2, Tq: 65, Tk: 65, HS: 8, causal: true, dropout: 0.1},
		{name: "decode_rows", B: 3, NH: 4, NKV: 2, Tq: 1, Tk: 700, HS: 32, causal: true, pad: true},
		{name: "decode_split_keys", B: 1, NH: 2, NKV: 1, Tq: 2, Tk: 1500, HS: 16, causal: true, pad: true},
		{name: "decode_4rows_mask", B: 1, NH: 8, NKV: 1, Tq: 4, Tk: 600, HS: 16, causal: true, mask: [4]int{1, 1, 4, 600}},
		{name: "window_causal", B: 1, NH: 2, Tq: 300, Tk: 300, HS: 16, causal: true, window: 37},
		{name: "window_bidir_global", B: 2, NH: 2, Tq: 260, Tk: 260, HS: 8, window: 20, global: []int{0, 5, 200}, pad: true},
		{name: "window_cross", B: 1, NH: 2, Tq: 50, Tk: 150, HS: 8, window: 30, causal: true},
		{name: "block_sparse", B: 1, NH: 3, Tq: 200, Tk: 200, HS: 16, blockSize: 32},
		{name: "block_sparse_causal_odd", B: 1, NH: 2, Tq: 150, Tk: 150, HS: 8, blockSize: 24, causal: true, dropout: 0.2},
		{name: "long", B: 1, NH: 1, NKV: 1, Tq: 1030, Tk: 1030, HS: 16, causal: true},
		// A KV cache: few new queries against a longer prefix (bottom-right
		// aligned), padded batches, GQA, odd sizes.
		{name: "cache_decode", B: 2, NH: 6, NKV: 2, Tq: 1, Tk: 333, HS: 24, causal: true, pad: true, mask: [4]int{2, 1, 1, 333}},
		{name: "cache_chunk", B: 2, NH: 4, NKV: 2, Tq: 37, Tk: 301, HS: 13, causal: true, pad: true, mask: [4]int{1, 4, 37, 301}},
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for n := 0; n < 8; n++ {
		nkv := 1 + rng.IntN(3)
		c := confCase{
			name: fmt.Sprintf("random%d", n),
			B:    1 + rng.IntN(2), NH: nkv * (1 + rng.IntN(2)), NKV: nkv,
			Tq: 1 + rng.IntN(200), Tk: 1 + rng.IntN(200), HS: 1 + rng.IntN(40),
			causal: rng.IntN(2) == 0, pad: rng.IntN(2) == 0,
		}
		if rng.IntN(2) == 0 {
			c.mask = [4]int{1, c.NH, c.Tq, c.Tk}
		}
		if rng.IntN(3) == 0 {
			c.dropout = 0.25
		}
		if rng.IntN(3) == 0 {
			c.window = 1 + rng.IntN(40)
		}
		cs = append(cs, c)
	}
	for n := 0; n < 4; n++ {
		nkv := 1 + rng.IntN(3)
		tq := 1
		if n%2 == 1 {
			tq = 2 + rng.IntN(40)
		}
		c := confCase{
			name: fmt.Sprintf("random_cache%d", n),
			B:    1 + rng.IntN(3), NH: nkv * (1 + rng.IntN(3)), NKV: nkv,
			Tq: tq, Tk: tq + rng.IntN(400), HS: 1 + rng.IntN(40),
			causal: rng.IntN(4) != 0, pad: rng.IntN(2) == 0,
		}
		if rng.IntN(2) == 0 {
			c.mask = [4]int{c.B, 1, c.Tq, c.Tk}
		}
		cs = append(cs, c)
	}
	if !testing.Short() {
		cs = append(cs, confCase{name: "long_gqa_mask", B: 1, NH: 2, NKV: 1, Tq: 1100, Tk: 1200, HS: 32,
			causal: true, pad: true, mask: [4]int{1, 1, 1100, 1200}})
	}
	return cs
}

// TestConformance runs every kernel against the reference on the same
// inputs: forward |a−b| ≤ 1e-5 + 1e-5|b|, gradients ≤ 1e-4 + 1e-4|b|,
// probabilities from the reference path, lse equal. Every kernel, the
// reference included, must also give bit-identical results when k and v
// are read in place from a larger buffer (KVHeadStride; see stridedKV).
func TestConformance(t *testing.T) {
	for ci, c := range confCases() {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(ci), 99))
			p := c.params(rng)
			q, k, v, dout := c.inputs(rng)
			ref := run(t, p, Ref, q, k, v, dout)
			sk := newStridedKV(rng, p, k, v)
			sk.check(t, Ref, q, dout, ref)
			kerns := []Kernel{Flash, Decode, Auto, probsKernel}
			if p.Sparse() {
				kerns = append(kerns, Sparse)
			}
			for _, kern := range kerns {
				name := kern.String()
				if kern == probsKernel {
					name = "flash+probs"
				}
				t.Run(name, func(t *testing.T) {
					got := run(t, p, kern, q, k, v, dout)
					closeTo(t, "out", got.out, ref.out, 1e-5, 1e-5)
					closeTo(t, "lse", got.lse, ref.lse, 1e-5, 1e-5)
					closeTo(t, "dq", got.dq, ref.dq, 1e-4, 1e-4)
					closeTo(t, "dk", got.dk, ref.dk, 1e-4, 1e-4)
					closeTo(t, "dv", got.dv, ref.dv, 1e-4, 1e-4)
					if kern == probsKernel {
						closeTo(t, "probs", got.probs, ref.probs, 1e-6, 1e-5)
					}
					sk.check(t, kern, q, dout, got)
				})
			}
		})
	}
}

type result struct{ out, lse, probs, dq, dk, dv []float32 }

// stridedKV is a case's k and v laid out as a KV cache holds them: each
// (b, KV head) block of Tk rows starts stride floats after the previous
// one, and everything else in the buffer is NaN, so a kernel that reads
// past a block's Tk rows (or ignores the stride) turns its output NaN.
type stridedKV struct {
	p          Params // with KVHeadStride set
	k, v       []float32
	kAll, vAll []float32 // whole buffers, B·NKV·stride floats
	calls      int
}

// newStridedKV embeds k and v ([B,NKV,Tk,HS]) with a random stride of
// Tk·HS plus 1 to 3·HS+4 floats (so blocks start misaligned).
func newStridedKV(rng *rand.Rand, p *Params, k, v []float32) *stridedKV {
	s := &stridedKV{p: *p}
	rows := p.Tk * p.HS
	units := len(k) / rows
	stride := rows + 1 + rng.IntN(3*p.HS+4)
	s.p.KVHeadStride = stride
	embed := func(x []float32) []float32 {
		buf := make([]float32, units*stride)
		for i := range buf {
			buf[i] = float32(math.NaN())
		}
		for u := 0; u < units; u++ {
			copy(buf[u*stride:], x[u*rows:(u+1)*rows])
		}
		return buf
	}
	s.kAll, s.vAll = embed(k), embed(v)
	end := (units-1)*stride + rows
	s.k, s.v = s.kAll[:end], s.vAll[:end]
	return s
}

// check runs kern on the strided k and v and requires the very bits of
// want, the same call on contiguous k and v. Calls alternate between the
// buffers trimmed after the last block's rows and whole.
func (s *stridedKV) check(t *testing.T, kern Kernel, q, dout []float32, want result) {
	t.Helper()
	s.calls++
	k, v, whole := s.k, s.v, s.calls%2 == 0
	if whole {
		k, v = s.kAll, s.vAll
	}
	got := run(t, &s.p, kern, q, k, v, dout)
	for _, x := range []struct {
		name      string
		got, want []float32
	}{
		{"out", got.out, want.out}, {"lse", got.lse, want.lse}, {"probs", got.probs, want.probs},
		{"dq", got.dq, want.dq}, {"dk", got.dk, want.dk}, {"dv", got.dv, want.dv},
	} {
		if i := firstDiffBits(x.got, x.want); i >= 0 {
			t.Fatalf("strided k, v (KVHeadStride %d, whole buffer %v): %s[%d] = %v, contiguous gives %v",
				s.p.KVHeadStride, whole, x.name, i, x.got[i], x.want[i])
		}
	}
}

// firstDiffBits returns the first index where a and b differ bit for bit
// (or len(a) when only their lengths differ), or −1.
func firstDiffBits(a, b []float32) int {
	for i := range min(len(a), len(b)) {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// probsKernel makes run call Flash with probs requested, which takes the
// GEMM-based probabilities path.
const probsKernel Kernel = -1

// run does Forward and Backward with kern; for Ref and probsKernel it also
// asks for probs.
func run(t *testing.T, p0 *Params, kern Kernel, q, k, v, dout []float32) result {
	t.Helper()
	p := *p0
	p.Kernel = kern
	nkv := p.NKV
	if nkv == 0 {
		nkv = p.NH
	}
	nk := p.B * nkv * p.Tk * p.HS // gradients are contiguous, whatever k's stride
	r := result{out: make([]float32, len(q)), lse: make([]float32, p.B*p.NH*p.Tq),
		dq: make([]float32, len(q)), dk: make([]float32, nk), dv: make([]float32, nk)}
	if kern == Ref || kern == probsKernel {
		r.probs = make([]float32, p.B*p.NH*p.Tq*p.Tk)
	}
	if kern == probsKernel {
		p.Kernel = Flash
	}
	// Poison the outputs: every kernel must overwrite them.
	for _, s := range [][]float32{r.out, r.lse, r.dq, r.dk, r.dv} {
		for i := range s {
			s[i] = float32(math.NaN())
		}
	}
	if err := Forward(&p, q, k, v, r.out, r.lse, r.probs); err != nil {
		t.Fatalf("%v forward: %v", kern, err)
	}
	if err := Backward(&p, q, k, v, r.out, r.lse, dout, r.dq, r.dk, r.dv); err != nil {
		t.Fatalf("%v backward: %v", kern, err)
	}
	return r
}

// TestSparseMatchesDenseMask checks the sparse kernel against the reference
// given the pattern as an explicit dense additive mask (0 or −∞), with no
// sparse fields set.
func TestSparseMatchesDenseMask(t *testing.T) {
	for ci, c := range confCases() {
		if c.window == 0 && c.blockSize == 0 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(ci), 3))
			p := c.params(rng)
			p.Mask, p.MaskShape = nil, [4]int{}
			pl, err := newPlan(p)
			if err != nil {
				t.Fatal(err)
			}
			dense := *p
			dense.Window, dense.Global, dense.BlockSize, dense.BlockLayout = 0, nil, 0, nil
			dense.MaskShape = [4]int{1, 1, c.Tq, c.Tk}
			dense.Mask = make([]float32, c.Tq*c.Tk)
			for i := 0; i < c.Tq; i++ {
				for j := 0; j < c.Tk; j++ {
					if !pl.visible(i, j) {
						dense.Mask[i*c.Tk+j] = float32(math.Inf(-1))
					}
				}
			}
			q, k, v, dout := c.inputs(rng)
			ref := run(t, &dense, Ref, q, k, v, dout)
			got := run(t, p, Sparse, q, k, v, dout)
			closeTo(t, "out", got.out, ref.out, 1e-5, 1e-5)
			closeTo(t, "dq", got.dq, ref.dq, 1e-4, 1e-4)
			closeTo(t, "dk", got.dk, ref.dk, 1e-4, 1e-4)
			closeTo(t, "dv", got.dv, ref.dv, 1e-4, 1e-4)
		})
	}
}

// TestBadInput checks that malformed calls return errors naming the
// problem instead of panicking.
func TestBadInput(t *testing.T) {
	ok := Params{B: 1, NH: 2, Tq: 3, Tk: 4, HS: 2}
	q, kv, out := make([]float32, 12), make([]float32, 16), make([]float32, 12)
	cases := []struct {
		name string
		edit func(p *Params)
		q    []float32
		want string
	}{
		{"zero heads", func(p *Params) { p.NH = 0 }, q, "all must be ≥ 1"},
		{"nkv", func(p *Params) { p.NKV = 3 }, q, "not a multiple of NKV"},
		{"q length", func(p *Params) {}, q[:11], "q [B,NH,Tq,HS] has 11 elements"},
		{"mask shape", func(p *Params) { p.Mask, p.MaskShape = make([]float32, 6), [4]int{1, 2, 3, 1} }, q, ""},
		{"mask broadcast", func(p *Params) { p.Mask, p.MaskShape = make([]float32, 6), [4]int{1, 2, 3, 2} }, q, "does not broadcast"},
		{"mask length", func(p *Params) { p.Mask, p.MaskShape = make([]float32, 5), [4]int{1, 2, 3, 1} }, q, "Mask [1 2 3 1] has 5 elements"},
		{"padding", func(p *Params) { p.KeyPadding = make([]bool, 3) }, q, "KeyPadding"},
		{"dropout", func(p *Params) { p.DropoutP = 1 }, q, "DropoutP"},
		{"scale", func(p *Params) { p.Scale = float32(math.NaN()) }, q, "Scale"},
		{"global without window", func(p *Params) { p.Global = []int{0} }, q, "need a Window"},
		{"global range", func(p *Params) { p.Window, p.Global = 2, []int{4} }, q, "outside [0,4)"},
		{"layout", func(p *Params) { p.BlockSize, p.BlockLayout = 2, make([]bool, 3) }, q, "BlockLayout [2,2]"},
		{"overflow", func(p *Params) { p.B, p.Tq, p.Tk = 1<<40, 1<<20, 1<<20 }, q, "overflows"},
		{"kernel", func(p *Params) { p.Kernel = 42 }, q, "unknown kernel"},
		{"kv stride short", func(p *Params) { p.KVHeadStride = 7 }, q, "KVHeadStride 7 is less than Tk·HS = 4·2"},
		{"kv stride negative", func(p *Params) { p.KVHeadStride = -8 }, q, "KVHeadStride -8 is less than"},
		{"kv stride length", func(p *Params) { p.KVHeadStride = 10 }, q, "k [B,NKV,Tk,HS] with KVHeadStride 10 has 16 elements, want 18 to 20"},
		{"kv stride equal", func(p *Params) { p.KVHeadStride = 8 }, q, ""},
		{"kv stride overflow", func(p *Params) { p.KVHeadStride = math.MaxInt/2 + 1 }, q, "B·NKV·KVHeadStride: size overflows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := ok
			c.edit(&p)
			err := Forward(&p, c.q, kv, kv, out, nil, nil)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if err := Backward(&ok, q, kv, kv, out, make([]float32, 5), q, q, kv, kv); err == nil || !strings.Contains(err.Error(), "lse") {
		t.Fatalf("backward with short lse: %v", err)
	}
}

// inputs draws q, k, v and dout for the case, unit normal.
func (c confCase) inputs(rng *rand.Rand) (q, k, v, dout []float32) {
	nkv := c.NKV
	if nkv == 0 {
		nkv = c.NH
	}
	q = randn(rng, c.B*c.NH*c.Tq*c.HS, 1)
	k = randn(rng, c.B*nkv*c.Tk*c.HS, 1)
	v = randn(rng, c.B*nkv*c.Tk*c.HS, 1)
	return q, k, v, randn(rng, len(q), 1)
}

// TestTileBoundsMatchVisible pins the tile shortcuts (classify, keyRange,
// queryRange) to the element-wise visible on every pattern: a skipped tile
// holds no visible pair, a full tile no hidden one, and the ranges cover
// every visible pair.
func TestTileBoundsMatchVisible(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range confCases() {
		if c.Tq*c.Tk > 1e5 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			pl, err := newPlan(c.params(rng))
			if err != nil {
				t.Fatal(err)
			}
			for _, bs := range []int{1, 7, 16, 64} {
				for i0 := 0; i0 < c.Tq; i0 += bs {
					i1 := min(i0+bs, c.Tq)
					klo, khi := pl.keyRange(i0, i1)
					for j0 := 0; j0 < c.Tk; j0 += bs {
						j1 := min(j0+bs, c.Tk)
						qlo, qhi := pl.queryRange(j0, j1)
						cls := pl.classify(i0, i1, j0, j1)
						for i := i0; i < i1; i++ {
							for j := j0; j < j1; j++ {
								vis := pl.visible(i, j)
								if vis && (cls == tileNone || j < klo || j >= khi || i < qlo || i >= qhi) {
									t.Fatalf("tile %d×%d at (%d,%d): visible (%d,%d) skipped (class %d, keys [%d,%d), queries [%d,%d))",
										bs, bs, i0, j0, i, j, cls, klo, khi, qlo, qhi)
								}
								if !vis && cls == tileFull {
									t.Fatalf("tile %d×%d at (%d,%d) classed full, but (%d,%d) is hidden", bs, bs, i0, j0, i, j)
								}
							}
						}
					}
				}
			}
		})
	}
}
