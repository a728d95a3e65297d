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
// Layout (row-major): q and out are [B,NH,Tq,HS]; k and v are
// [B,NKV,Tk,HS]; lse is [B,NH,Tq]; probs is [B,NH,Tq,Tk]; all contiguous,
// except that k and v may be views into a larger buffer: Params.KVHeadStride
// puts consecutive (batch, KV head) blocks of Tk rows that many floats apart
// (rows within a block stay HS apart), so a KV cache preallocated as
// [B,NKV,maxT,HS] is read in place, its first Tk positions per head. Head h
// reads KV head h/(NH/NKV) (grouped-query attention; NKV == NH is ordinary
// multi-head attention, NKV == 1 multi-query). Gradients dk and dv are
// always contiguous [B,NKV,Tk,HS].
//
// A query row whose keys are all masked out yields out = 0, lse = −∞, probs
// = 0 and zero gradients, in every kernel (the FlashAttention convention;
// PyTorch's softmax would give NaN there).
package attention

import (
	"fmt"

	"github.com/attn-dev/attn/internal/kernels"
)

// Kernel chooses an implementation; Auto picks the fastest one that can
// serve the request.
type Kernel int

const (
	// Auto uses the GEMM-based probabilities path when probabilities are
	// requested, Decode for a few query rows without dropout, Sparse when
	// a sparse pattern is set and Flash otherwise.
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
	// KVHeadStride is the number of float32 elements between the starts of
	// consecutive (batch, KV head) blocks of k and v; 0 means Tk·HS
	// (contiguous). Otherwise it must be ≥ Tk·HS, and k and v then hold
	// between (B·NKV−1)·KVHeadStride + Tk·HS and B·NKV·KVHeadStride
	// elements (a KV cache [B,NKV,maxT,HS] passes KVHeadStride = maxT·HS
	// and either the whole buffer or a prefix); the rows from Tk on of
	// each block are never read.
	KVHeadStride int
	// Kernel forces an implementation; Auto chooses.
	Kernel Kernel
}

// Sparse reports whether a sparse pattern (window or block layout) is set.
func (p *Params) Sparse() bool { return p.Window > 0 || p.BlockLayout != nil }

// Forward computes out = softmax(Scale·Q·Kᵀ + masks)·V (with dropout when
// DropoutP > 0) for the layout of the package comment.
//
// lse [B,NH,Tq] receives the per-row log-sum-exp that Backward needs; it may
// be nil in inference. probs [B,NH,Tq,Tk], when non-nil, receives the
// attention probabilities (before dropout); since they are materialised
// anyway, every kernel but Ref then uses the GEMM-based probabilities path
// (probsForward). Otherwise the kernel is p.Kernel, or the fastest one when
// Auto; the fast kernels never hold more than a tile of scores.
func Forward(p *Params, q, k, v, out, lse, probs []float32) error {
	c, err := getCall(p)
	if err != nil {
		return err
	}
	defer putCall(c)
	pl := &c.pl
	if err := pl.checkQKV(q, k, v); err != nil {
		return err
	}
	if err := checkLen("out [B,NH,Tq,HS]", len(out), pl.B*pl.NH*pl.Tq*pl.HS); err != nil {
		return err
	}
	if lse != nil {
		if err := checkLen("lse [B,NH,Tq]", len(lse), pl.B*pl.NH*pl.Tq); err != nil {
			return err
		}
	}
	if probs != nil {
		if err := checkLen("probs [B,NH,Tq,Tk]", len(probs), pl.B*pl.NH*pl.Tq*pl.Tk); err != nil {
			return err
		}
	}
	kern := forwardKernel(p, pl, probs != nil)
	if kern < Ref || kern > Decode {
		return fmt.Errorf("attention: unknown kernel %v", p.Kernel)
	}
	switch {
	case kern == Ref:
		refForward(pl, q, k, v, out, lse, probs)
	case probs != nil:
		probsForward(pl, q, k, v, out, lse, probs)
	case kern == Decode && pl.group*pl.Tq <= decodeMaxStack:
		c.decodeForward(q, k, v, out, lse)
	default:
		c.tiledForward(tileSizes(pl, kern, false), q, k, v, out, lse)
	}
	return nil
}

// forwardKernel resolves Auto; with probabilities asked for, Auto means
// the tiled probabilities path (any kernel but Ref does).
func forwardKernel(p *Params, pl *plan, wantProbs bool) Kernel {
	if wantProbs && p.Kernel == Auto {
		return Flash
	}
	if p.Kernel != Auto {
		return p.Kernel
	}
	switch {
	case pl.Tq <= decodeMaxRows && pl.dropP == 0 && !p.Sparse():
		return Decode
	case p.Sparse():
		return Sparse
	default:
		return Flash
	}
}

// Backward computes the gradients of Forward's out with respect to q, k and
// v, given dout = ∂L/∂out and the out and lse that Forward returned (with
// the same Params: same masks, same dropout seed). dq [B,NH,Tq,HS], dk and
// dv [B,NKV,Tk,HS] are overwritten (contiguous even when k and v are read
// with a KVHeadStride); dk and dv sum over the query heads that share a KV
// head. The additive Mask gets no gradient.
func Backward(p *Params, q, k, v, out, lse, dout, dq, dk, dv []float32) error {
	c, err := getCall(p)
	if err != nil {
		return err
	}
	defer putCall(c)
	pl := &c.pl
	if err := pl.checkQKV(q, k, v); err != nil {
		return err
	}
	nq, nkv := pl.B*pl.NH*pl.Tq*pl.HS, pl.B*pl.NKV*pl.Tk*pl.HS
	for _, x := range []struct {
		name      string
		got, want int
	}{
		{"out [B,NH,Tq,HS]", len(out), nq},
		{"lse [B,NH,Tq]", len(lse), pl.B * pl.NH * pl.Tq},
		{"dout [B,NH,Tq,HS]", len(dout), nq},
		{"dq [B,NH,Tq,HS]", len(dq), nq},
		{"dk [B,NKV,Tk,HS]", len(dk), nkv},
		{"dv [B,NKV,Tk,HS]", len(dv), nkv},
	} {
		if err := checkLen(x.name, x.got, x.want); err != nil {
			return err
		}
	}
	switch p.Kernel {
	case Ref:
		refBackward(pl, q, k, v, out, lse, dout, dq, dk, dv)
	case Auto, Flash, Sparse, Decode:
		kern := p.Kernel
		if kern != Flash && p.Sparse() {
			kern = Sparse
		}
		c.tiledBackward(tileSizes(pl, kern, true), q, k, v, out, lse, dout, dq, dk, dv)
	default:
		return fmt.Errorf("attention: unknown kernel %v", p.Kernel)
	}
	return nil
}

// ReleaseScratch drops the idle per-call state and tile workspaces (and
// the GEMM scratch of package kernels), so their memory goes back to the
// garbage collector; the next calls allocate them afresh. Long-running
// programs can call it after a burst of long sequences; Bench calls it to
// measure a cold call.
func ReleaseScratch() {
	freeCalls.Drain()
	freeWorkspaces.Drain()
	kernels.ReleaseScratch()
}
