package autograd

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/attn-dev/attn/internal/gemv"
	"github.com/attn-dev/attn/internal/parallel"
	"github.com/attn-dev/attn/tensor"
)

// Var is a tensor in a computation: its Value and, once Backward has
// reached it, the gradient of the loss with respect to it in Grad (same
// shape as Value, contiguous).
//
// Vars made by Param or Const are leaves owned by the caller; their Grad
// is allocated on first use, survives Graph.Reset and accumulates across
// Backward calls until ZeroGrad. Vars made by Graph.Input or returned by
// ops belong to the Graph (their Grad comes from its arena) and are
// invalid after Reset.
type Var struct {
	Value *tensor.Tensor
	Grad  *tensor.Tensor

	requiresGrad bool
	leaf         bool

	// retainGrad: see Graph.RetainGrad.
	retainGrad bool

	// packLinear and packed: see SetPackedLinear; bf16: SetBF16.
	packLinear bool
	packed     atomic.Pointer[packedWeight]
	bf16       *gemv.Matrix
}

// Param returns a trainable leaf: Backward accumulates into its Grad.
func Param(t *tensor.Tensor) *Var { return &Var{Value: t, requiresGrad: true, leaf: true} }

// Const returns a non-trainable leaf (an input, a mask, a target).
func Const(t *tensor.Tensor) *Var { return &Var{Value: t, leaf: true} }

// RequiresGrad reports whether Backward will compute v's gradient.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// SetRequiresGrad makes a leaf (for example an input, to test input
// gradients) require a gradient or not, and returns v. It panics on a Var
// made by an op, whose requirement follows from its inputs.
func (v *Var) SetRequiresGrad(on bool) *Var {
	if !v.leaf {
		panic(&tensor.ShapeError{Op: "autograd.SetRequiresGrad", Msg: "only a Param or Const can change whether it requires a gradient (use Graph.Input's argument for graph inputs)"})
	}
	v.requiresGrad = on
	return v
}

// ZeroGrad clears v's accumulated gradient (keeping its buffer).
func (v *Var) ZeroGrad() {
	if v.Grad != nil {
		v.Grad.Zero()
	}
}

// Shape is v.Value.Shape.
func (v *Var) Shape() []int { return v.Value.Shape }

// node is one recorded op: back reads out.Grad and accumulates into the
// gradients of in (those that require one), using what forward saved.
// back is a plain function, not a closure, so recording allocates nothing.
//
// What forward saved is named per op: each op fills its own field below
// (its type is defined beside the op's forward and backward) and leaves
// the others zero. The tape is a reused []node, so the fields cost no
// allocation per record.
type node struct {
	back func(g *Graph, n *node)
	out  *Var
	in   [3]*Var

	binary    binarySaved     // Add, Sub, Mul
	scale     float32         // Scale, AddScalar, Reshape, Sum, Mean: dx = scale·dy
	reduce    reduceSaved     // SumAxis, MeanAxis
	unary     unarySaved      // GELU, GELUTanh, ReLU, SiLU, Tanh
	matMul    matMulSaved     // MatMul
	linear    linearSaved     // Linear
	norm      normSaved       // LayerNorm, RMSNorm
	softmax   softmaxSaved    // Softmax, LogSoftmax
	xent      xentSaved       // CrossEntropy
	lxent     linearXentSaved // LinearCrossEntropy
	heads     headsSaved      // SplitHeads, MergeHeads
	concat    concatSaved     // Concat
	narrow    narrowSaved     // Narrow
	dims      []int           // Permute: output axis i is input axis dims[i]
	mask      *tensor.Tensor  // Dropout: 0 or 1/(1−p) per element
	embedding embeddingSaved  // Embedding
	attn      attnSaved       // Attention
}

// task is the argument block of a parallel loop: fn and the arguments of
// its kind, in the field named for that kind (the others stay zero). The
// Graph owns one task and one closure (runTask) reading it, so that
// handing a loop body to parallel.For allocates nothing.
type task struct {
	fn      func(t *task, lo, hi int)
	binary  binaryArgs
	accum   accumArgs
	affine  affineArgs
	unary   unaryArgs
	gemm    gemmArgs
	bias    biasArgs
	widen   widenArgs
	norm    normArgs
	softmax softmaxArgs
	xent    xentArgs
	dropout dropoutArgs
}

// Graph records one forward computation for Backward. See the package
// comment.
type Graph struct {
	train      bool
	dropoutOff bool // SetDropout(false)
	arena      *tensor.Arena

	nodes []node
	vars  []*Var
	nv    int
	ints  []int
	bools []bool
	vlist []*Var

	backwardDone bool
	newGrads     []*tensor.Tensor // op gradients allocated by the running backward op
	rng          uint64

	task    task
	runTask func(lo, hi int)
}

// NewGraph returns an empty graph. With train=false it records no tape
// and dropout is off.
func NewGraph(train bool) *Graph {
	g := &Graph{train: train, arena: tensor.NewArena()}
	g.runTask = func(lo, hi int) { g.task.fn(&g.task, lo, hi) }
	g.SetSeed(0x5eed)
	return g
}

// Train reports whether the graph records a tape (and applies dropout).
func (g *Graph) Train() bool { return g.train }

// SetSeed re-seeds the graph's random stream (used by Dropout): the same
// seed and the same sequence of ops give the same masks. Reset does not
// rewind the stream; call SetSeed again to replay.
func (g *Graph) SetSeed(seed uint64) { g.rng = seed }

// next returns the next 64 random bits (splitmix64).
func (g *Graph) next() uint64 {
	g.rng += 0x9e3779b97f4a7c15
	return mix64(g.rng)
}

// Arena is the graph's buffer pool (reset by Reset).
func (g *Graph) Arena() *tensor.Arena { return g.arena }

// Reset forgets the tape and every Var the graph made, and takes back all
// their buffers for the next step. Leaves (Param, Const) keep their
// values and gradients.
func (g *Graph) Reset() {
	for i := range g.nodes {
		g.nodes[i] = node{}
	}
	g.nodes = g.nodes[:0]
	for _, v := range g.vars[:g.nv] {
		*v = Var{}
	}
	g.nv = 0
	g.ints = g.ints[:0]
	g.bools = g.bools[:0]
	clear(g.vlist)
	g.vlist = g.vlist[:0]
	g.backwardDone = false
	g.arena.Reset()
}

// Mark is a position in a graph's buffers, for Free.
type Mark struct{ buf int }

// Mark returns the current position in the graph's buffers.
func (g *Graph) Mark() Mark { return Mark{buf: g.arena.Mark()} }

// Free, in an inference graph, takes back the buffers of every value made
// since m except keep's, so that a stack of layers runs in the memory of
// one: each layer marks on entry and frees all but its output on exit.
// The Vars made since m, other than keep, must not be used again. In a
// training graph it does nothing (the tape needs the values).
func (g *Graph) Free(m Mark, keep ...*Var) {
	if g.train {
		return
	}
	var buf [8]*tensor.Tensor
	ts := buf[:0]
	for _, v := range keep {
		if v != nil {
			ts = append(ts, v.Value)
		}
	}
	g.arena.ReleaseSince(m.buf, ts...)
}

// Input returns a graph-owned leaf wrapping t (valid until Reset); unlike
// Const it allocates nothing in steady state. It requires a gradient when
// requiresGrad is set (its Grad then comes from the arena too).
func (g *Graph) Input(t *tensor.Tensor, requiresGrad bool) *Var {
	v := g.newVar(t)
	v.requiresGrad = requiresGrad
	return v
}

// newVar returns a graph-owned Var holding t.
func (g *Graph) newVar(t *tensor.Tensor) *Var {
	if g.nv == len(g.vars) {
		g.vars = append(g.vars, &Var{})
	}
	v := g.vars[g.nv]
	g.nv++
	v.Value = t
	return v
}

// saveInts returns a graph-owned copy of x, valid until Reset.
func (g *Graph) saveInts(x []int) []int {
	s := g.intBuf(len(x))
	copy(s, x)
	return s
}

// Ints returns a graph-owned []int of n zeros, valid until Reset: scratch
// for the ids, positions and masks of one forward, allocated once.
func (g *Graph) Ints(n int) []int {
	s := g.intBuf(n)
	clear(s)
	return s
}

// Bools returns a graph-owned []bool of n falses, valid until Reset.
func (g *Graph) Bools(n int) []bool {
	b := take(&g.bools, n)
	clear(b)
	return b
}

// intBuf returns a graph-owned []int of length n, valid until Reset.
func (g *Graph) intBuf(n int) []int { return take(&g.ints, n) }

// varList returns a graph-owned []*Var of length n, valid until Reset.
func (g *Graph) varList(n int) []*Var { return take(&g.vlist, n) }

// take carves the next n elements out of the graph-owned scratch *buf
// (emptied by Reset), growing it when full: a slice handed out earlier
// keeps its old backing, so it stays valid.
func take[T any](buf *[]T, n int) []T {
	if cap(*buf)-len(*buf) < n {
		*buf = make([]T, 0, 2*cap(*buf)+n)
	}
	s := len(*buf)
	*buf = (*buf)[:s+n]
	return (*buf)[s : s+n : s+n]
}

// record returns a new tape node for an op with output out and inputs
// in, or nil when the graph is not training or no input requires a
// gradient (then nothing is recorded and out requires none). The first
// three inputs are kept in node.in; ops with more keep their own list.
func (g *Graph) record(back func(*Graph, *node), out *Var, in ...*Var) *node {
	if !g.train {
		return nil
	}
	need := false
	for _, v := range in {
		if v != nil && v.requiresGrad {
			need = true
		}
	}
	if !need {
		return nil
	}
	out.requiresGrad = true
	g.nodes = append(g.nodes, node{back: back, out: out})
	n := &g.nodes[len(g.nodes)-1]
	copy(n.in[:], in)
	return n
}

// grad returns v's gradient buffer, making it (zeroed) on first use: in
// the arena for graph-owned Vars, on the heap for leaves.
func (g *Graph) grad(v *Var) *tensor.Tensor {
	t, fresh := g.gradFor(v)
	if fresh {
		clear(t.Data())
	}
	return t
}

// gradFor is grad for an op that writes every element of v's gradient:
// when v (not a leaf) has none yet, the buffer is new and not zeroed, and
// fresh tells the op to set each element instead of adding to it. A leaf's
// gradient outlives the graph and is allocated zeroed.
func (g *Graph) gradFor(v *Var) (t *tensor.Tensor, fresh bool) {
	switch {
	case v.Grad != nil:
		return v.Grad, false
	case v.leaf:
		v.Grad = tensor.New(v.Value.Shape...)
		return v.Grad, false
	}
	v.Grad = g.arena.Empty(v.Value.Shape...)
	g.newGrads = append(g.newGrads, v.Grad)
	return v.Grad, true
}

// needs reports whether backward must produce a gradient for v.
func needs(v *Var) bool { return v != nil && v.requiresGrad }

// Backward runs the tape from loss, a Var holding one element, seeding
// dloss/dloss = 1, and accumulates the gradient of loss into the Grad of
// every Var that requires one. It may run once per Reset.
func (g *Graph) Backward(loss *Var) error {
	switch {
	case !g.train:
		return errors.New("autograd.Backward: graph was made with train=false and recorded no tape")
	case loss == nil:
		return errors.New("autograd.Backward: nil loss")
	case loss.Value.Len() != 1:
		return fmt.Errorf("backward: loss has shape %v, want a single element", loss.Value.Shape)
	case !loss.requiresGrad:
		return errors.New("autograd.Backward: loss does not depend on anything that requires a gradient")
	case g.backwardDone:
		return errors.New("autograd.Backward: already run on this tape; call Reset before the next step")
	}
	g.backwardDone = true
	gl := g.grad(loss)
	gl.Data()[0]++
	for i := len(g.nodes) - 1; i >= 0; i-- {
		n := &g.nodes[i]
		if n.out.Grad == nil {
			continue // nothing flowed into this op's output
		}
		mark := g.arena.Mark()
		g.newGrads = g.newGrads[:0]
		n.back(g, n)
		// As torch frees a graph's buffers during backward: what this
		// op's backward allocated is dead once it returns, but for the
		// gradients it started (of its inputs), and its output's gradient
		// has been consumed (its only reader is this op). Without this, a
		// training step would hold a gradient for every activation at once.
		g.arena.ReleaseSince(mark, g.newGrads...)
		clear(g.newGrads)
		if !n.out.leaf && !n.out.retainGrad && g.arena.Put(n.out.Grad) {
			n.out.Grad = nil
		}
	}
	return nil
}

// RetainGrad keeps v's gradient after Backward (as torch's
// Tensor.retain_grad): the gradient of a Var made by an op is otherwise
// taken back once backward has consumed it. Call it before Backward; v
// stays valid until Reset.
func (g *Graph) RetainGrad(v *Var) { v.retainGrad = true }

// contig returns v's value as a contiguous tensor, copying into the arena
// when it is a strided view.
func (g *Graph) contig(v *Var) *tensor.Tensor { return g.arena.Contiguous(v.Value) }

// forRows runs fn over [0, n) in parallel with the given grain, through
// the graph's preallocated task.
func (g *Graph) forRows(n, grain int, t task) {
	g.task = t
	parallel.For(n, grain, g.runTask)
	g.task = task{}
}
