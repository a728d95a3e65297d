package autograd

import (
	"math"

	"github.com/attn-dev/attn/internal/kernels"
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
// Forward keeps the probabilities; backward:
// dlogits = (softmax − onehot(target))·dloss/count on kept rows, 0 on
// ignored ones.
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
	probs := g.arena.Empty(xv.Shape...)
	losses := g.arena.Empty(rows)
	tg := g.saveInts(targets)
	g.forRows(rows, 4, task{fn: crossEntropyRows, x: xv.Data(), z: probs.Data(), u: losses.Data(), ints: tg, i: [8]int{v, ignoreIndex}})
	var sum float64
	for _, l := range losses.Data() {
		sum += float64(l)
	}
	out := g.arena.Empty()
	out.Data()[0] = float32(sum / float64(count)) // NaN when count == 0, as torch
	y := g.newVar(out)
	if nd := g.record(crossEntropyBackward, y, logits); nd != nil {
		nd.saved[0] = probs
		nd.ints = tg
		nd.i[0], nd.i[1], nd.i[2], nd.i[3] = rows, v, ignoreIndex, count
	}
	return y
}

func crossEntropyRows(t *task, lo, hi int) {
	v, ignore := t.i[0], t.i[1]
	for r := lo; r < hi; r++ {
		tg := t.ints[r]
		if tg == ignore {
			t.u[r] = 0
			continue
		}
		x, p := t.x[r*v:(r+1)*v], t.z[r*v:(r+1)*v]
		copy(p, x)
		m := kernels.Max(x)
		s := kernels.ExpShiftSum(p, m)
		kernels.Scale(1/s, p)
		// −log p[t] = log Σ exp(x − m) − (x[t] − m), without rounding p.
		t.u[r] = float32(math.Log(float64(s))) - (x[tg] - m)
	}
}

func crossEntropyBackward(g *Graph, nd *node) {
	rows, v, ignore, count := nd.i[0], nd.i[1], nd.i[2], nd.i[3]
	if count == 0 {
		g.grad(nd.in[0])
		return
	}
	scale := nd.out.Grad.Data()[0] / float32(count)
	g.forRows(rows, 4, task{fn: crossEntropyGradRows, y: nd.saved[0].Data(), w: g.grad(nd.in[0]).Data(),
		ints: nd.ints, i: [8]int{v, ignore}, f: [2]float32{scale}})
}

func crossEntropyGradRows(t *task, lo, hi int) {
	v, ignore, scale := t.i[0], t.i[1], t.f[0]
	for r := lo; r < hi; r++ {
		tg := t.ints[r]
		if tg == ignore {
			continue
		}
		p, dx := t.y[r*v:(r+1)*v], t.w[r*v:(r+1)*v]
		kernels.Axpy(scale, p, dx)
		dx[tg] -= scale
	}
}
