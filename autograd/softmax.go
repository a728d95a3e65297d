package autograd

import (
	"math"

	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/internal/parallel"
	"github.com/attn-dev/attn/tensor"
)

// lastAxis returns the rows and row length of x viewed as [rows, n] over
// its last axis.
func lastAxis(op string, x *Var) (rows, n int) {
	xs := x.Value.Shape
	if len(xs) == 0 || xs[len(xs)-1] == 0 {
		tensor.Panicf(op, "x %v has no last axis to normalise over", xs)
	}
	n = xs[len(xs)-1]
	return x.Value.Len() / n, n
}

// Softmax returns softmax over the last axis of x:
// y_j = exp(x_j − max x)/Σ_k exp(x_k − max x). Backward:
// dx = y ⊙ (dy − Σ_k dy_k·y_k).
func (g *Graph) Softmax(x *Var) *Var {
	return g.rowwise("autograd.Softmax", x, softmaxRows, softmaxBackward)
}

// softmaxSaved is what Softmax and LogSoftmax keep for backward: their
// output y [rows, n], from which each gradient follows.
type softmaxSaved struct {
	y       *tensor.Tensor
	rows, n int
}

// softmaxArgs: forward y = f(x) row by row; backward dx += f'(y)·dy.
type softmaxArgs struct {
	x, y, dy, dx []float32
	n            int
}

// rowwise runs fwd over the rows of x's last axis into a new tensor and
// records back, which finds the output in node.softmax.
func (g *Graph) rowwise(op string, x *Var, fwd func(t *task, lo, hi int), back func(*Graph, *node)) *Var {
	rows, n := lastAxis(op, x)
	xv := g.contig(x)
	out := g.arena.Empty(xv.Shape...)
	g.forRows(rows, rowGrain, task{fn: fwd, softmax: softmaxArgs{x: xv.Data(), y: out.Data(), n: n}})
	y := g.newVar(out)
	if nd := g.record(back, y, x); nd != nil {
		nd.softmax = softmaxSaved{y: out, rows: rows, n: n}
	}
	return y
}

// rowwiseBackward runs grad over the rows of a Softmax or LogSoftmax.
func rowwiseBackward(g *Graph, nd *node, grad func(t *task, lo, hi int)) {
	s := &nd.softmax
	g.forRows(s.rows, rowGrain, task{fn: grad, softmax: softmaxArgs{y: s.y.Data(), dy: nd.out.Grad.Data(),
		dx: g.grad(nd.in[0]).Data(), n: s.n}})
}

func softmaxRows(t *task, lo, hi int) {
	a := &t.softmax
	n := a.n
	for r := lo; r < hi; r++ {
		x, y := a.x[r*n:(r+1)*n], a.y[r*n:(r+1)*n]
		copy(y, x)
		s := kernels.ExpShiftSum(y, kernels.Max(x))
		kernels.Scale(1/s, y)
	}
}

func softmaxBackward(g *Graph, nd *node) { rowwiseBackward(g, nd, softmaxGradRows) }

func softmaxGradRows(t *task, lo, hi int) {
	a := &t.softmax
	n := a.n
	for r := lo; r < hi; r++ {
		y, dy, dx := a.y[r*n:(r+1)*n], a.dy[r*n:(r+1)*n], a.dx[r*n:(r+1)*n]
		s := kernels.Dot(dy, y)
		for j, v := range y {
			dx[j] += v * (dy[j] - s)
		}
	}
}

// LogSoftmax returns log-softmax over the last axis of x:
// y_j = x_j − max x − log Σ_k exp(x_k − max x). Backward:
// dx = dy − exp(y)·Σ_k dy_k.
func (g *Graph) LogSoftmax(x *Var) *Var {
	return g.rowwise("autograd.LogSoftmax", x, logSoftmaxRows, logSoftmaxBackward)
}

func logSoftmaxRows(t *task, lo, hi int) {
	a := &t.softmax
	n := a.n
	for r := lo; r < hi; r++ {
		x, y := a.x[r*n:(r+1)*n], a.y[r*n:(r+1)*n]
		copy(y, x)
		m := kernels.Max(x)
		shift := m + float32(math.Log(float64(kernels.ExpShiftSum(y, m))))
		for j, v := range x {
			y[j] = v - shift
		}
	}
}

func logSoftmaxBackward(g *Graph, nd *node) { rowwiseBackward(g, nd, logSoftmaxGradRows) }

func logSoftmaxGradRows(t *task, lo, hi int) {
	a := &t.softmax
	n := a.n
	for r := lo; r < hi; r++ {
		y, dy, dx := a.y[r*n:(r+1)*n], a.dy[r*n:(r+1)*n], a.dx[r*n:(r+1)*n]
		var s float32
		for _, v := range dy {
			s += v
		}
		for j, v := range y {
			dx[j] += dy[j] - float32(math.Exp(float64(v)))*s
		}
	}
}

// xentSaved is what CrossEntropy keeps for backward: the logits
// [rows, V], each row's log-sum-exp, the targets and the number of rows
// not ignored (the mean's divisor).
type xentSaved struct {
	logits, lse   *tensor.Tensor
	targets       []int
	rows, v       int
	ignore, count int
}

// xentArgs are the arguments of CrossEntropy's loops, over chunks of
// rows, each chunk with its row of the [chunks, V] scratch: forward
// writes lse and losses per row; backward accumulates
// dlogits += scale·(softmax − onehot(target)).
type xentArgs struct {
	logits, scratch []float32
	lse, losses     []float32
	dlogits         []float32
	targets         []int
	v, ignore       int
	rows, chunks    int
	scale           float32
	fresh           bool // dlogits is new and not zeroed: set it, do not add
}

// CrossEntropy returns the mean over non-ignored rows of
// −log softmax(logits)[target], fused as torch.nn.functional.cross_entropy
// with reduction='mean' and ignore_index: logits [..., V], targets one
// class per row (len = Len/V), rows whose target is ignoreIndex skipped.
// When every row is ignored the loss is NaN, as in torch (0/0); its
// gradient is then zero. A target outside [0, V) that is not ignoreIndex
// panics.
//
// Forward keeps only the log-sum-exp of each row (no [N, V] buffer of
// probabilities, which for a large vocabulary would rival the logits);
// backward recomputes softmax from it:
// dlogits = (exp(logits − lse) − onehot(target))·dloss/count on kept rows,
// 0 on ignored ones.
func (g *Graph) CrossEntropy(logits *Var, targets []int, ignoreIndex int) *Var {
	const op = "autograd.CrossEntropy"
	rows, v := lastAxis(op, logits)
	if len(targets) != rows {
		tensor.Panicf(op, "logits %v have %d rows of V=%d, got %d targets", logits.Value.Shape, rows, v, len(targets))
	}
	count := 0
	for i, t := range targets {
		if t == ignoreIndex {
			continue
		}
		if t < 0 || t >= v {
			tensor.Panicf(op, "target %d at row %d outside [0, %d) for logits %v (ignore_index %d)", t, i, v, logits.Value.Shape, ignoreIndex)
		}
		count++
	}
	xv := g.contig(logits)
	lse, losses := g.arena.Empty(rows), g.arena.Empty(rows)
	tg := g.saveInts(targets)
	chunks := min(parallel.Workers(), rows)
	g.forRows(chunks, 1, task{fn: crossEntropyChunks, xent: xentArgs{logits: xv.Data(), scratch: g.arena.Empty(chunks, v).Data(),
		lse: lse.Data(), losses: losses.Data(), targets: tg, v: v, ignore: ignoreIndex, rows: rows, chunks: chunks}})
	y := g.meanLoss(losses, count)
	if nd := g.record(crossEntropyBackward, y, logits); nd != nil {
		nd.xent = xentSaved{logits: xv, lse: lse, targets: tg, rows: rows, v: v, ignore: ignoreIndex, count: count}
	}
	return y
}

// meanLoss returns a new Var holding the sum of the per-row losses over
// count, the kept rows (NaN when count == 0, as torch).
func (g *Graph) meanLoss(losses *tensor.Tensor, count int) *Var {
	var sum float64
	for _, l := range losses.Data() {
		sum += float64(l)
	}
	out := g.arena.Empty()
	out.Data()[0] = float32(sum / float64(count))
	return g.newVar(out)
}

// chunkRows returns the rows of chunk c when rows are split into chunks
// contiguous parts; each chunk owns row c of the [chunks, V] scratch.
func chunkRows(c, rows, chunks int) (lo, hi int) { return c * rows / chunks, (c + 1) * rows / chunks }

// crossEntropyChunks computes, for the rows of chunks [lo, hi), lse and
// the loss lse − x[target] (0 for ignored rows).
func crossEntropyChunks(t *task, lo, hi int) {
	a := &t.xent
	v := a.v
	for c := lo; c < hi; c++ {
		buf := a.scratch[c*v : (c+1)*v]
		r0, r1 := chunkRows(c, a.rows, a.chunks)
		for r := r0; r < r1; r++ {
			x := a.logits[r*v : (r+1)*v]
			copy(buf, x)
			m := kernels.Max(x)
			l := m + float32(math.Log(float64(kernels.ExpShiftSum(buf, m))))
			a.lse[r] = l
			if tg := a.targets[r]; tg != a.ignore {
				a.losses[r] = l - x[tg]
			} else {
				a.losses[r] = 0
			}
		}
	}
}

func crossEntropyBackward(g *Graph, nd *node) {
	s := &nd.xent
	gx, fresh := g.gradFor(nd.in[0])
	dx := gx.Data()
	if s.count == 0 {
		if fresh {
			clear(dx)
		}
		return
	}
	scale := nd.out.Grad.Data()[0] / float32(s.count)
	chunks := min(parallel.Workers(), s.rows)
	var scratch []float32
	if !fresh {
		scratch = g.arena.Empty(chunks, s.v).Data()
	}
	g.forRows(chunks, 1, task{fn: crossEntropyGradChunks, xent: xentArgs{logits: s.logits.Data(), lse: s.lse.Data(),
		scratch: scratch, dlogits: dx, targets: s.targets, fresh: fresh,
		v: s.v, ignore: s.ignore, rows: s.rows, chunks: chunks, scale: scale}})
}

// crossEntropyGradChunks accumulates dx += scale·(exp(x − lse) − onehot)
// over the kept rows of chunks [lo, hi); into a fresh dx it writes that
// (computed in place, no scratch, the same roundings) and zero rows for
// the ignored ones.
func crossEntropyGradChunks(t *task, lo, hi int) {
	a := &t.xent
	v, scale := a.v, a.scale
	for c := lo; c < hi; c++ {
		r0, r1 := chunkRows(c, a.rows, a.chunks)
		for r := r0; r < r1; r++ {
			tg := a.targets[r]
			dx := a.dlogits[r*v : (r+1)*v]
			if tg == a.ignore {
				if a.fresh {
					clear(dx)
				}
				continue
			}
			buf := dx
			if !a.fresh {
				buf = a.scratch[c*v : (c+1)*v]
			}
			copy(buf, a.logits[r*v:(r+1)*v])
			kernels.ExpShiftSum(buf, a.lse[r])
			if a.fresh {
				kernels.Scale(scale, dx)
			} else {
				kernels.Axpy(scale, buf, dx)
			}
			dx[tg] -= scale
		}
	}
}
