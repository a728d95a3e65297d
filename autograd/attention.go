package autograd

import (
	"github.com/attn-dev/attn/attention"
	"github.com/attn-dev/attn/tensor"
)

// attnSaved is what Attention keeps for backward: the values of q, k, v,
// a copy of the Params (masks are shared, not copied: keep them
// unchanged until Backward) and the per-row log-sum-exp.
type attnSaved struct {
	q, k, v *tensor.Tensor
	p       attention.Params
	lse     *tensor.Tensor
}

// Attention returns scaled dot-product attention (package attention)
//
//	out = softmax(Scale·Q·Kᵀ + masks)·V
//
// for q [B, NH, Tq, HS] and k, v [B, NKV, Tk, HS], out [B, NH, Tq, HS];
// p gives the sizes (which must match the shapes), masks, dropout and
// kernel. With wantProbs it also returns the probabilities
// [B, NH, Tq, Tk], before dropout (attention.Forward then runs its path
// that materialises them); they carry no gradient. Otherwise probs is
// nil.
//
// Backward calls attention.Backward with the saved log-sum-exp and adds
// the results into dq, dk, dv (dk and dv summed over grouped heads). The
// additive mask gets no gradient. Dropout inside attention uses p.Seed and
// is applied only in a training graph.
func (g *Graph) Attention(q, k, v *Var, p *attention.Params, wantProbs bool) (out, probs *Var) {
	const op = "autograd.Attention"
	if p == nil {
		tensor.Panicf(op, "nil Params")
	}
	nkv := p.NKV
	if nkv == 0 {
		nkv = p.NH
	}
	wq := []int{p.B, p.NH, p.Tq, p.HS}
	wkv := []int{p.B, nkv, p.Tk, p.HS}
	if !tensor.EqualShape(q.Value.Shape, wq) || !tensor.EqualShape(k.Value.Shape, wkv) || !tensor.EqualShape(v.Value.Shape, wkv) {
		tensor.Panicf(op, "q %v, k %v, v %v do not match Params (want q %v, k and v %v)",
			q.Value.Shape, k.Value.Shape, v.Value.Shape, tensor.Dims(wq), tensor.Dims(wkv))
	}
	pp := *p
	if !g.train {
		pp.DropoutP = 0
	}
	recording := g.train && (q.requiresGrad || k.requiresGrad || v.requiresGrad)
	qv := g.contig(q)
	// Keys and values that are views into a larger buffer of heads (a KV
	// cache) are read where they lie, unless the tape must keep them.
	kd, kStride := headStrided(k.Value, nkv, p.Tk, p.HS)
	vd, vStride := headStrided(v.Value, nkv, p.Tk, p.HS)
	var kv, vv *tensor.Tensor
	if recording || kd == nil || vd == nil || kStride != vStride {
		kv, vv = g.contig(k), g.contig(v)
		kd, vd, kStride = kv.Data(), vv.Data(), 0
	}
	pp.KVHeadStride = kStride
	o := g.arena.Empty(wq...)
	var lse, pr *tensor.Tensor
	var lseData, prData []float32
	if recording {
		lse = g.arena.Empty(p.B, p.NH, p.Tq)
		lseData = lse.Data()
	}
	if wantProbs {
		pr = g.arena.Empty(p.B, p.NH, p.Tq, p.Tk)
		prData = pr.Data()
	}
	if err := attention.Forward(&pp, qv.Data(), kd, vd, o.Data(), lseData, prData); err != nil {
		tensor.Panicf(op, "%v", err)
	}
	out = g.newVar(o)
	if wantProbs {
		probs = g.newVar(pr)
	}
	if nd := g.record(attentionBackward, out, q, k, v); nd != nil {
		nd.attn = attnSaved{q: qv, k: kv, v: vv, p: pp, lse: lse}
	}
	return out, probs
}

func attentionBackward(g *Graph, nd *node) {
	q, k, v := nd.in[0], nd.in[1], nd.in[2]
	s := &nd.attn
	qv, kv, vv := s.q, s.k, s.v
	dq, dk, dv := g.arena.Empty(qv.Shape...), g.arena.Empty(kv.Shape...), g.arena.Empty(vv.Shape...)
	err := attention.Backward(&s.p, qv.Data(), kv.Data(), vv.Data(), nd.out.Value.Data(), s.lse.Data(),
		nd.out.Grad.Data(), dq.Data(), dk.Data(), dv.Data())
	if err != nil {
		// Forward validated the same Params and shapes.
		tensor.Panicf("autograd.Attention backward", "%v", err)
	}
	for _, pair := range [3]struct {
		v *Var
		d *tensor.Tensor
	}{{q, dq}, {k, dk}, {v, dv}} {
		if needs(pair.v) {
			g.grad(pair.v).AddScaled(1, pair.d)
		}
	}
}

// headStrided returns the elements of t [B, NKV, Tk, HS] from its first
// to its last, and the distance between its heads, when t's rows are
// contiguous within each head and its heads evenly spaced (a prefix of a
// KV cache [B, NKV, maxT, HS]); nil otherwise.
func headStrided(t *tensor.Tensor, nkv, tk, hs int) ([]float32, int) {
	st := t.Strides
	if len(st) != 4 || st[3] != 1 || (st[2] != hs && tk > 1) || st[1] < tk*hs || st[0] != nkv*st[1] {
		return nil, 0
	}
	n := (t.Shape[0]*nkv-1)*st[1] + tk*hs
	b := t.Backing()
	if t.Offset+n > len(b) {
		return nil, 0
	}
	return b[t.Offset : t.Offset+n : t.Offset+n], st[1]
}
