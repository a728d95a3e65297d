package parallel

// FreeList keeps up to a fixed number of idle objects for reuse, so that
// hot paths recycle their scratch instead of allocating it. Unlike a
// sync.Pool it keeps its objects across garbage collections and GOMAXPROCS
// changes (a pool empties at each, and the next calls allocate afresh);
// only as many objects exist as were ever in use at once, and a Put beyond
// the capacity leaves the object to the garbage collector. Get and Put are
// safe for concurrent use and allocate nothing but the new objects.
type FreeList[T any] struct {
	idle  chan *T
	alloc func() *T
}

// NewFreeList returns a list holding at most capacity idle objects; mk
// makes a new one when the list is empty.
func NewFreeList[T any](capacity int, mk func() *T) *FreeList[T] {
	return &FreeList[T]{idle: make(chan *T, capacity), alloc: mk}
}

// Get returns an idle object, or a new one.
func (f *FreeList[T]) Get() *T {
	select {
	case x := <-f.idle:
		return x
	default:
		return f.alloc()
	}
}

// Put returns x to the list (or drops it when the list is full).
func (f *FreeList[T]) Put(x *T) {
	select {
	case f.idle <- x:
	default:
	}
}

// Drain drops every idle object, so the next Gets start cold (for
// measuring what a first call allocates).
func (f *FreeList[T]) Drain() {
	for {
		select {
		case <-f.idle:
		default:
			return
		}
	}
}
