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

// rowwise runs fwd over the rows of x's last axis into a new tensor and
// records back, which finds the output in saved[0] and rows, n in i[0:2].
func (g *Graph) rowwise(op string, x *Var, fwd func(t *task, lo, hi int), back func(*Graph, *node)) *Var {
	rows, n := lastAxis(op, x)
	xv := g.contig(x)
	out := g.arena.Empty(xv.Shape...)
	g.forRows(rows, rowGrain, task{fn: fwd, x: xv.Data(), z: out.Data(), i: [8]int{n}})
	y := g.newVar(out)
	if nd := g.record(back, y, x); nd != nil {
		nd.saved[0] = out
		nd.i[0], nd.i[1] = rows, n
	}
	return y
}

func softmaxRows(t *task, lo, hi int) {
	n := t.i[0]
	for r := lo; r < hi; r++ {
		x, z := t.x[r*n:(r+1)*n], t.z[r*n:(r+1)*n]
		copy(z, x)
		s := kernels.ExpShiftSum(z, kernels.Max(x))
		kernels.Scale(1/s, z)
	}
}

func softmaxBackward(g *Graph, nd *node) {
	g.forRows(nd.i[0], rowGrain, task{fn: softmaxGradRows, y: nd.saved[0].Data(), z: nd.out.Grad.Data(),
		w: g.grad(nd.in[0]).Data(), i: [8]int{nd.i[1]}})
}

func softmaxGradRows(t *task, lo, hi int) {
	n := t.i[0]
	for r := lo; r < hi; r++ {
		y, dy, dx := t.y[r*n:(r+1)*n], t.z[r*n:(r+1)*n], t.w[r*n:(r+1)*n]
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
	n := t.i[0]
	for r := lo; r < hi; r++ {
		x, z := t.x[r*n:(r+1)*n], t.z[r*n:(r+1)*n]
		copy(z, x)
		m := kernels.Max(x)
		shift := m + float32(math.Log(float64(kernels.ExpShiftSum(z, m))))
		for j, v := range x {
			z[j] = v - shift
		}
	}
}

func logSoftmaxBackward(g *Graph, nd *node) {
	g.forRows(nd.i[0], rowGrain, task{fn: logSoftmaxGradRows, y: nd.saved[0].Data(), z: nd.out.Grad.Data(),
		w: g.grad(nd.in[0]).Data(), i: [8]int{nd.i[1]}})
}

func logSoftmaxGradRows(t *task, lo, hi int) {
	n := t.i[0]
	for r := lo; r < hi; r++ {
		y, dy, dx := t.y[r*n:(r+1)*n], t.z[r*n:(r+1)*n], t.w[r*n:(r+1)*n]
		var s float32
		for _, v := range dy {
			s += v
		}
		for j, v := range y {
			dx[j] += dy[j] - float32(math.Exp(float64(v)))*s
		}
	}
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
	g.forRows(chunks, 1, task{fn: crossEntropyChunks, x: xv.Data(), y: g.arena.Empty(chunks, v).Data(),
		u: losses.Data(), v: lse.Data(), ints: tg, i: [8]int{v, ignoreIndex, rows, chunks}})
	var sum float64
	for _, l := range losses.Data() {
		sum += float64(l)
	}
	out := g.arena.Empty()
	out.Data()[0] = float32(sum / float64(count)) // NaN when count == 0, as torch
	y := g.newVar(out)
	if nd := g.record(crossEntropyBackward, y, logits); nd != nil {
		nd.saved[0], nd.saved[1] = xv, lse
		nd.ints = tg
		nd.i[0], nd.i[1], nd.i[2], nd.i[3] = rows, v, ignoreIndex, count
	}
	return y
}

// chunkRows returns the rows of chunk c when rows are split into chunks
// contiguous parts; each chunk owns row c of the [chunks, V] scratch t.y.
func chunkRows(c, rows, chunks int) (lo, hi int) { return c * rows / chunks, (c + 1) * rows / chunks }

// crossEntropyChunks computes, for the rows of chunks [lo, hi), lse and
// the loss lse − x[target] (0 for ignored rows).
func crossEntropyChunks(t *task, lo, hi int) {
	v, ignore, rows, chunks := t.i[0], t.i[1], t.i[2], t.i[3]
	for c := lo; c < hi; c++ {
		buf := t.y[c*v : (c+1)*v]
		r0, r1 := chunkRows(c, rows, chunks)
		for r := r0; r < r1; r++ {
			x := t.x[r*v : (r+1)*v]
			copy(buf, x)
			m := kernels.Max(x)
			l := m + float32(math.Log(float64(kernels.ExpShiftSum(buf, m))))
			t.v[r] = l
			if tg := t.ints[r]; tg != ignore {
				t.u[r] = l - x[tg]
			} else {
				t.u[r] = 0
			}
		}
	}
}

func crossEntropyBackward(g *Graph, nd *node) {
	rows, v, ignore, count := nd.i[0], nd.i[1], nd.i[2], nd.i[3]
	dx := g.grad(nd.in[0]).Data()
	if count == 0 {
		return
	}
	scale := nd.out.Grad.Data()[0] / float32(count)
	chunks := min(parallel.Workers(), rows)
	g.forRows(chunks, 1, task{fn: crossEntropyGradChunks, x: nd.saved[0].Data(), v: nd.saved[1].Data(),
		y: g.arena.Empty(chunks, v).Data(), w: dx, ints: nd.ints, i: [8]int{v, ignore, rows, chunks}, f: [2]float32{scale}})
}

// crossEntropyGradChunks accumulates dx += scale·(exp(x − lse) − onehot)
// over the kept rows of chunks [lo, hi).
func crossEntropyGradChunks(t *task, lo, hi int) {
	v, ignore, rows, chunks, scale := t.i[0], t.i[1], t.i[2], t.i[3], t.f[0]
	for c := lo; c < hi; c++ {
		buf := t.y[c*v : (c+1)*v]
		r0, r1 := chunkRows(c, rows, chunks)
		for r := r0; r < r1; r++ {
			tg := t.ints[r]
			if tg == ignore {
				continue
			}
			copy(buf, t.x[r*v:(r+1)*v])
			kernels.ExpShiftSum(buf, t.v[r])
			dx := t.w[r*v : (r+1)*v]
			kernels.Axpy(scale, buf, dx)
			dx[tg] -= scale
		}
	}
}
