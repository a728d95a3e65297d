package autograd

import (
	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/tensor"
	"slices"
)

// embeddingSaved is what Embedding keeps for backward: the ids picked
// and the row width C.
type embeddingSaved struct {
	ids []int
	c   int
}

// Embedding returns the rows of table [V, C] picked by ids, shaped
// [shape..., C] (shape is the layout of ids, e.g. B, T; its product must
// be len(ids); no shape means [len(ids), C]). An id outside [0, V)
// panics. Backward scatters: dtable[ids[i]] += dy[i].
func (g *Graph) Embedding(table *Var, ids []int, shape ...int) *Var {
	const op = "autograd.Embedding"
	ts := table.Value.Shape
	if len(ts) != 2 {
		tensor.Panicf(op, "table %v is not [V, C]", ts)
	}
	v, c := ts[0], ts[1]
	n := 1
	for _, d := range shape {
		n *= d
	}
	if len(shape) == 0 {
		n = len(ids)
	}
	if n != len(ids) {
		tensor.Panicf(op, "ids shape %v holds %d ids, got %d", tensor.Dims(slices.Clone(shape)), n, len(ids))
	}
	for i, id := range ids {
		if id < 0 || id >= v {
			tensor.Panicf(op, "id %d at position %d outside [0, %d) for table %v", id, i, v, ts)
		}
	}
	var shapeBuf [8]int
	os := shapeBuf[:0]
	if len(shape) == 0 {
		os = append(os, len(ids))
	} else {
		os = append(os, shape...)
	}
	os = append(os, c)
	tv := g.contig(table)
	out := g.arena.Empty(os...)
	td, od := tv.Data(), out.Data()
	for i, id := range ids {
		copy(od[i*c:(i+1)*c], td[id*c:(id+1)*c])
	}
	y := g.newVar(out)
	if nd := g.record(embeddingBackward, y, table); nd != nil {
		nd.embedding = embeddingSaved{ids: g.saveInts(ids), c: c}
	}
	return y
}

func embeddingBackward(g *Graph, nd *node) {
	s := &nd.embedding
	c := s.c
	dy, dt := nd.out.Grad.Data(), g.grad(nd.in[0]).Data()
	for i, id := range s.ids {
		kernels.Axpy(1, dy[i*c:(i+1)*c], dt[id*c:(id+1)*c])
	}
}
