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
	qv, kv, vv := g.contig(q), g.contig(k), g.contig(v)
	o := g.arena.Empty(wq...)
	recording := g.train && (q.requiresGrad || k.requiresGrad || v.requiresGrad)
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
	if err := attention.Forward(&pp, qv.Data(), kv.Data(), vv.Data(), o.Data(), lseData, prData); err != nil {
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
