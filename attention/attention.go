package attention

import "fmt"

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
// dv [B,NKV,Tk,HS] are overwritten; dk and dv sum over the query heads that
// share a KV head. The additive Mask gets no gradient.
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
