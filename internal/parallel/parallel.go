// Package parallel runs loops over all cores with coarse chunks.
//
// Work is handed to a set of long-lived worker goroutines (one fewer than
// Workers(); the caller's goroutine takes a share itself), so a parallel
// loop costs a few channel operations, not goroutine start-ups. Workers()
// is GOMAXPROCS at first use unless SetWorkers changes it.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// group tracks the chunks of one loop still running; done receives a token
// when the last one finishes.
type group struct {
	pending atomic.Int32
	done    chan struct{}
}

func (g *group) finish() {
	if g.pending.Add(-1) == 0 {
		g.done <- struct{}{}
	}
}

type job struct {
	fn     func(lo, hi int)
	lo, hi int
	g      *group
}

func (j job) run() {
	j.fn(j.lo, j.hi)
	j.g.finish()
}

var (
	startOnce sync.Once
	jobs      chan job
	mu        sync.Mutex // guards spawned
	spawned   int        // worker goroutines started (they never exit)
	nworkers  atomic.Int32
	groups    = NewFreeList(64, func() *group { return &group{done: make(chan struct{}, 1)} })
)

// jobQueue bounds the queued chunks; more than that run inline.
const jobQueue = 256

func start() {
	jobs = make(chan job, jobQueue)
	if nworkers.Load() == 0 {
		setWorkers(runtime.GOMAXPROCS(0))
	}
}

// setWorkers makes n the loop width, starting goroutines as needed.
func setWorkers(n int) {
	mu.Lock()
	defer mu.Unlock()
	for ; spawned < n-1; spawned++ {
		go func() {
			for j := range jobs {
				j.run()
			}
		}()
	}
	nworkers.Store(int32(n))
}

// Workers is the number of goroutines a parallel loop uses (GOMAXPROCS at
// first use, or the value last given to SetWorkers).
func Workers() int {
	startOnce.Do(start)
	return int(nworkers.Load())
}

// SetWorkers sets the number of goroutines parallel loops use from now on
// (n < 1 means GOMAXPROCS). Extra idle workers from an earlier, larger
// setting stay parked; loops simply use fewer chunks. Loops already running
// keep their split.
func SetWorkers(n int) {
	startOnce.Do(start)
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	setWorkers(n)
}

// For splits [0, n) into at most Workers() contiguous chunks of at least
// grain items each and calls fn(lo, hi) for every chunk, concurrently. It
// returns when every chunk is done. fn must not call For recursively with
// the expectation of more parallelism: nested loops run, but share the
// same workers.
func For(n, grain int, fn func(lo, hi int)) {
	ForChunks(n, grain, Workers(), fn)
}

// ForChunks is For with an explicit upper bound on the number of chunks.
func ForChunks(n, grain, maxChunks int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	w := Workers()
	if maxChunks > w {
		maxChunks = w
	}
	chunks := n / grain
	if chunks > maxChunks {
		chunks = maxChunks
	}
	if chunks <= 1 {
		fn(0, n)
		return
	}
	g := groups.Get()
	g.pending.Store(int32(chunks))
	size, rem := n/chunks, n%chunks
	lo := 0
	first := 0
	for c := 0; c < chunks; c++ {
		hi := lo + size
		if c < rem {
			hi++
		}
		if c == 0 {
			first = hi
		} else {
			select {
			case jobs <- job{fn, lo, hi, g}:
			default:
				// Queue full (nested or concurrent loops): run inline rather
				// than block.
				job{fn, lo, hi, g}.run()
			}
		}
		lo = hi
	}
	job{fn, 0, first, g}.run()
	// While our chunks are out, help with queued work (ours or a nested
	// loop's) instead of sleeping: a worker blocked in a nested loop must
	// never wait on a chunk that only it could run.
	for {
		select {
		case <-g.done:
			groups.Put(g)
			return
		case j := <-jobs:
			j.run()
		}
	}
}
