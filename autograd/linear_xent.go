package autograd

import (
	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/internal/parallel"
	"github.com/attn-dev/attn/tensor"
)

// linearXentChunk bounds the logits LinearCrossEntropy holds at once
// (floats): a chunk of rows of [rows, V]. At least linearXentMinRows rows
// per chunk keep the dW product's depth at a full GEMM block. Variables
// for tests.
var (
	linearXentChunk   = 1 << 23
	linearXentMinRows = 256
)

// linearXentSaved is what LinearCrossEntropy's backward needs: x
// [rows, C] (contiguous), w [V, C], the log-sum-exp of every row and the
// targets.
type linearXentSaved struct {
	x, w          *tensor.Tensor
	lse           *tensor.Tensor
	targets       []int
	rows, c, v    int
	chunk         int // rows per chunk
	ignore, count int
}

// LinearCrossEntropy is CrossEntropy(Linear(x, w, nil), targets,
// ignoreIndex) — the mean over non-ignored rows of lse(x·wᵀ) − (x·wᵀ)[t]
// for x [..., C], w [V, C] — computed a chunk of rows at a time, so the
// logits [rows, V] and their gradient are never held whole: an LM head
// over a large vocabulary (GPT-2: 1024 positions × 50257 = 206 MB each)
// costs one chunk. Backward recomputes each chunk's logits (one more
// x·wᵀ) and turns them into their gradient in place. Without a tape
// (inference) it still saves the memory.
func (g *Graph) LinearCrossEntropy(x, w *Var, targets []int, ignoreIndex int) *Var {
	const op = "autograd.LinearCrossEntropy"
	rows, c := lastAxis(op, x)
	if w.Value.Rank() != 2 || w.Value.Shape[1] != c {
		tensor.Panicf(op, "weight %v does not map C=%d (want [V, %d])", w.Value.Shape, c, c)
	}
	v := w.Value.Shape[0]
	if len(targets) != rows {
		tensor.Panicf(op, "x %v has %d rows, got %d targets", x.Value.Shape, rows, len(targets))
	}
	count := 0
	for i, t := range targets {
		if t == ignoreIndex {
			continue
		}
		if t < 0 || t >= v {
			tensor.Panicf(op, "target %d at row %d outside [0, %d) (ignore_index %d)", t, i, v, ignoreIndex)
		}
		count++
	}
	xv, wv := g.contig(x), g.contig(w)
	chunk := min(rows, max(linearXentMinRows, linearXentChunk/v))
	buf := g.arena.Empty(chunk, v).Data()
	lse, losses := g.arena.Empty(rows), g.arena.Empty(rows)
	tg := g.saveInts(targets)
	workers := min(parallel.Workers(), chunk)
	scratch := g.arena.Empty(workers, v).Data()
	for r0 := 0; r0 < rows; r0 += chunk {
		n := min(chunk, rows-r0)
		logits := buf[:n*v]
		g.sgemm(false, true, n, v, c, 1, xv.Data()[r0*c:], c, wv.Data(), c, 0, logits, v)
		ch := min(workers, n)
		g.forRows(ch, 1, task{fn: crossEntropyChunks, xent: xentArgs{logits: logits, scratch: scratch,
			lse: lse.Data()[r0:], losses: losses.Data()[r0:], targets: tg[r0:], v: v, ignore: ignoreIndex, rows: n, chunks: ch}})
	}
	y := g.meanLoss(losses, count)
	if nd := g.record(linearXentBackward, y, x, w); nd != nil {
		nd.lxent = linearXentSaved{x: xv, w: wv, lse: lse, targets: tg, rows: rows, c: c, v: v, chunk: chunk,
			ignore: ignoreIndex, count: count}
	}
	return y
}

func linearXentBackward(g *Graph, nd *node) {
	s := &nd.lxent
	if s.count == 0 {
		return
	}
	x, w := nd.in[0], nd.in[1]
	var dx, dw []float32
	if needs(x) {
		dx = g.grad(x).Data()
	}
	if needs(w) {
		dw = g.grad(w).Data()
	}
	scale := nd.out.Grad.Data()[0] / float32(s.count)
	v, c := s.v, s.c
	buf := g.arena.Empty(s.chunk, v).Data()
	xd, wd := s.x.Data(), s.w.Data()
	for r0 := 0; r0 < s.rows; r0 += s.chunk {
		n := min(s.chunk, s.rows-r0)
		dl := buf[:n*v]
		g.sgemm(false, true, n, v, c, 1, xd[r0*c:], c, wd, c, 0, dl, v)
		g.forRows(n, 1, task{fn: xentGradInPlace, xent: xentArgs{dlogits: dl, lse: s.lse.Data()[r0:],
			targets: s.targets[r0:], v: v, ignore: s.ignore, scale: scale}})
		if dx != nil { // dx += dl·w
			g.sgemm(false, false, n, c, v, 1, dl, v, wd, c, 1, dx[r0*c:], c)
		}
		if dw != nil { // dw += dlᵀ·x
			g.sgemm(true, false, v, c, n, 1, dl, v, xd[r0*c:], c, 1, dw, c)
		}
	}
}

// xentGradInPlace turns rows [lo, hi) of logits (in dlogits) into the
// gradient scale·(exp(x − lse) − onehot), zero for ignored rows.
func xentGradInPlace(t *task, lo, hi int) {
	a := &t.xent
	v := a.v
	for r := lo; r < hi; r++ {
		row := a.dlogits[r*v : (r+1)*v]
		tg := a.targets[r]
		if tg == a.ignore {
			clear(row)
			continue
		}
		kernels.ExpShiftSum(row, a.lse[r])
		kernels.Scale(a.scale, row)
		row[tg] -= a.scale
	}
}
