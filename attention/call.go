package attention

import (
	"sync/atomic"

	"github.com/attn-dev/attn/internal/parallel"
)

// call is the state of one Forward or Backward: the digested Params, the
// kernel's arguments and its O(L) scratch. Calls are pooled and their work
// items are method values bound once, when the call is first made, so a
// steady-state call hands work to the parallel loop without allocating a
// closure, a plan or a buffer.
type call struct {
	pl plan
	t  tiles

	q, k, v, out, lse []float32
	dout, dq, dk, dv  []float32

	tag            uint64 // forward: tags the Kᵀ transposes of this call
	nqb, nkb       int    // query and key blocks of the tiled kernels
	units, nsplit  int    // (b, KV head) units and key-axis splits
	per            int    // decode: keys per split
	dD             []float32
	parts          [][]float32 // backward: private dq copies of splits 1…
	part           []float32   // decode: the splits' partial (O, m, l)
	sumPart        []float32   // the dq copy being summed into dq
	next           atomic.Int64
	n              int
	item           func(it int)
	dynamic        func(lo, hi int)
	forwardItem    func(it int)
	backwardItem   func(it int)
	decodeItem     func(it int)
	rowDots, sumDQ func(lo, hi int)
}

// freeCalls keeps idle calls with their scratch; only as many calls exist
// as ran at once.
var freeCalls = parallel.NewFreeList(16, newCall)

// newCall makes a call with its work items bound.
func newCall() *call {
	c := new(call)
	c.dynamic = c.runDynamic
	c.forwardItem = c.tiledForwardItem
	c.backwardItem = c.tiledBackwardItem
	c.decodeItem = c.decodeForwardItem
	c.rowDots = c.backwardRowDots
	c.sumDQ = c.backwardSumDQ
	return c
}

var callTags atomic.Uint64 // tags the Kᵀ transposes of one forward call

// getCall returns a pooled call with p digested into its plan.
func getCall(p *Params) (*call, error) {
	c := freeCalls.Get()
	if err := initPlan(&c.pl, p); err != nil {
		putCall(c)
		return nil, err
	}
	return c, nil
}

// putCall drops the call's references to the caller's tensors and pools
// it with its scratch.
func putCall(c *call) {
	c.q, c.k, c.v, c.out, c.lse = nil, nil, nil, nil, nil
	c.dout, c.dq, c.dk, c.dv, c.sumPart = nil, nil, nil, nil, nil
	c.pl.pad, c.pl.mask, c.pl.layout = nil, nil, nil
	c.item = nil
	freeCalls.Put(c)
}

// forEachDynamic runs item(it) for it in [0, n) on every worker, handing
// out items one at a time from a shared counter so uneven items (causal
// tiles) balance across cores.
func (c *call) forEachDynamic(n int, item func(it int)) {
	c.n, c.item = n, item
	c.next.Store(0)
	parallel.For(min(parallel.Workers(), n), 1, c.dynamic)
}

func (c *call) runDynamic(lo, hi int) {
	for w := lo; w < hi; w++ {
		for {
			it := int(c.next.Add(1) - 1)
			if it >= c.n {
				break
			}
			c.item(it)
		}
	}
}
