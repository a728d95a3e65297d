// Package parallel runs loops over all cores with coarse chunks.
//
// Work is handed to a set of long-lived worker goroutines (one fewer than
// Workers(); the caller's goroutine takes a share itself), so a parallel
// loop costs a few channel operations, not goroutine start-ups. Workers()
// is GOMAXPROCS at first use unless SetWorkers changes it.
//
// A worker that runs out of work, and a caller waiting for its loop's last
// chunks, poll for up to spinWait before parking. A parked goroutine is
// woken through the scheduler and the OS; on a virtual machine whose idle
// vCPU halts that takes 20–40 µs, long enough that the caller had finished
// its own chunk and taken the worker's too, so loops of ~0.1 ms (decode
// GEMVs, attention) ran on one core. OpenMP and OpenBLAS spin likewise.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinWait bounds the polling before a goroutine parks. It covers the
// serial steps between the loops of one forward pass and the difference in
// finishing time of the two halves of a 1024³ SGEMM (a few hundred µs; a
// worker parked meanwhile was woken 0.1–3 ms late on the next call), while
// an idle program burns at most this much per worker after its last loop.
const spinWait = time.Millisecond

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
	wake      chan struct{} // tokens for parked workers
	parked    atomic.Int32  // workers waiting on wake
	mu        sync.Mutex    // guards spawned
	spawned   int           // worker goroutines started (they never exit)
	nworkers  atomic.Int32
	groups    = NewFreeList(64, func() *group { return &group{done: make(chan struct{}, 1)} })
)

// jobQueue bounds the queued chunks; more than that run inline.
const jobQueue = 256

func start() {
	jobs = make(chan job, jobQueue)
	wake = make(chan struct{}, jobQueue)
	if nworkers.Load() == 0 {
		setWorkers(runtime.GOMAXPROCS(0))
	}
}

// setWorkers makes n the loop width, starting goroutines as needed.
func setWorkers(n int) {
	mu.Lock()
	defer mu.Unlock()
	for ; spawned < n-1; spawned++ {
		go work()
	}
	nworkers.Store(int32(n))
}

// work runs queued jobs forever. Out of work, it polls the queue for up to
// spinWait, then parks on wake, never on the queue itself: a job handed
// straight to a parked goroutine could not be taken back, and the caller
// would wait for it while that goroutine sat in a run queue (on a P whose
// M is being woken, or behind the caller itself), whereas a job left in
// the queue is run by the caller if no worker comes for it first.
func work() {
	for {
		j, ok := poll()
		if !ok {
			parked.Add(1)
			// A job queued before the increment was visible to its sender
			// came with no wake token: look once more before sleeping.
			select {
			case j, ok = <-jobs:
			default:
				<-wake
			}
			parked.Add(-1)
			if !ok {
				continue
			}
		}
		j.run()
	}
}

// poll takes a queued job, waiting for one for up to spinWait.
func poll() (job, bool) {
	s := spinner{yield: true}
	for {
		select {
		case j := <-jobs:
			return j, true
		default:
		}
		if !s.spin() {
			return job{}, false
		}
	}
}

// enqueue queues j, or runs it here when the queue is full (nested or
// concurrent loops), and wakes a parked worker for it.
func enqueue(j job) {
	select {
	case jobs <- j:
	default:
		j.run()
		return
	}
	if parked.Load() > 0 {
		select {
		case wake <- struct{}{}:
		default: // enough tokens pending already
		}
	}
}

// spinner paces a polling loop and says when its time is up. An idle
// worker's spinner yields the processor now and then (yield), so that a
// goroutine readied on its P (the caller of a loop whose last chunk ran
// there) runs without waiting for another P to be woken. A waiting caller
// does not yield: were both to yield at once, the scheduler could take
// both from the global queue onto one P and let the other P sleep, and the
// next loop would run on one core.
type spinner struct {
	n     int
	t0    time.Time
	yield bool
}

func (s *spinner) spin() bool {
	s.n++
	if s.n%32 != 0 {
		return true
	}
	if s.t0.IsZero() {
		s.t0 = time.Now()
	} else if time.Since(s.t0) > spinWait {
		return false
	}
	if s.yield {
		runtime.Gosched()
	}
	return true
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
			enqueue(job{fn, lo, hi, g})
		}
		lo = hi
	}
	job{fn, 0, first, g}.run()
	g.wait()
	groups.Put(g)
}

// wait returns when g's chunks are done. Meanwhile it helps with queued
// work (ours or a nested loop's) instead of sleeping: a worker blocked in
// a nested loop must never wait on a chunk that only it could run. It
// polls for up to spinWait before it parks.
func (g *group) wait() {
	var s spinner
	for {
		select {
		case <-g.done:
			return
		default:
		}
		select {
		case j := <-jobs:
			j.run()
			s = spinner{}
			continue
		default:
		}
		if !s.spin() {
			break
		}
	}
	for {
		select {
		case <-g.done:
			return
		case j := <-jobs:
			j.run()
		}
	}
}
