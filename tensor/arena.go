package tensor

import "math/bits"

// Arena hands out tensors whose storage and headers it takes back all at
// once with Reset, so that a step that asks for the same sequence of
// shapes every time allocates nothing after the first. Buffers are kept
// in free lists by size class (lengths rounded up to one of 8 steps per
// power of two, at most 12.5% extra), so steps whose shapes drift a
// little, such as decoding with a growing sequence, reuse them too.
// Release drops the free buffers.
//
// Tensors from an Arena are valid until the next Reset; keep (Clone) any
// result needed afterwards. An Arena is not safe for concurrent use.
type Arena struct {
	free map[int][][]float32 // released buffers by capacity (a size class)
	used [][]float32         // buffers handed out since the last Reset
	hdrs []*Tensor           // tensor headers, reused across steps
	nh   int                 // headers handed out since the last Reset

	// allocated counts the float32s ever allocated, for tests and stats.
	allocated int
}

// NewArena returns an empty arena.
func NewArena() *Arena {
	return &Arena{free: make(map[int][][]float32)}
}

// header returns an unused tensor header.
func (a *Arena) header() *Tensor {
	if a.nh == len(a.hdrs) {
		a.hdrs = append(a.hdrs, &Tensor{})
	}
	t := a.hdrs[a.nh]
	a.nh++
	return t
}

// sizeClass rounds n up to the next size with 3 significant bits
// (n < 16 is its own class).
func sizeClass(n int) int {
	if n < 16 {
		return n
	}
	shift := bits.Len(uint(n)) - 4
	return ((n + 1<<shift - 1) >> shift) << shift
}

// buffer returns a buffer of length n with unspecified contents.
func (a *Arena) buffer(n int) []float32 {
	c := sizeClass(n)
	if l := a.free[c]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		a.free[c] = l[:len(l)-1]
		a.used = append(a.used, b)
		return b[:n]
	}
	b := make([]float32, c)
	a.allocated += c
	a.used = append(a.used, b)
	return b[:n]
}

// New returns a contiguous tensor of zeros with the given shape.
func (a *Arena) New(shape ...int) *Tensor {
	t := a.Empty(shape...)
	clear(t.data)
	return t
}

// Empty returns a contiguous tensor with the given shape whose contents
// are unspecified (left over from an earlier step): for outputs that are
// about to be overwritten completely.
func (a *Arena) Empty(shape ...int) *Tensor {
	n := checkShape("tensor.Arena.New", shape)
	t := a.header()
	t.setShape(shape)
	t.data = a.buffer(n)
	return t
}

// NewLike returns a tensor of zeros shaped like t.
func (a *Arena) NewLike(t *Tensor) *Tensor { return a.New(t.Shape...) }

// EmptyLike returns a tensor of unspecified contents shaped like t.
func (a *Arena) EmptyLike(t *Tensor) *Tensor { return a.Empty(t.Shape...) }

// View returns a new arena-owned header over the same storage as t, with
// t's shape, strides and offset.
func (a *Arena) View(t *Tensor) *Tensor {
	v := a.header()
	v.setView(t)
	return v
}

// Reshape is t.Reshape with an arena-owned header.
func (a *Arena) Reshape(t *Tensor, shape ...int) *Tensor {
	v := a.header()
	t.reshapeInto(v, shape)
	return v
}

// Slice is t.Slice with an arena-owned header: a view, no copy.
func (a *Arena) Slice(t *Tensor, dim, lo, hi int) *Tensor {
	dim = t.checkSlice("tensor.Arena.Slice", dim, lo, hi)
	v := a.header()
	v.setView(t)
	t.sliceInto(v, dim, lo, hi)
	return v
}

// Permute is t.Permute with an arena-owned header.
func (a *Arena) Permute(t *Tensor, dims ...int) *Tensor {
	v := a.header()
	t.permuteInto(v, dims)
	return v
}

// Contiguous returns t when it is contiguous, otherwise an arena-owned
// contiguous copy.
func (a *Arena) Contiguous(t *Tensor) *Tensor {
	if t.IsContiguous() {
		return t
	}
	c := a.Empty(t.Shape...)
	c.CopyFrom(t)
	return c
}

// Clone returns an arena-owned contiguous copy of t.
func (a *Arena) Clone(t *Tensor) *Tensor {
	c := a.Empty(t.Shape...)
	c.CopyFrom(t)
	return c
}

// Reset takes back every tensor handed out since the previous Reset.
func (a *Arena) Reset() {
	for i, b := range a.used {
		if b != nil {
			a.free[cap(b)] = append(a.free[cap(b)], b)
		}
		a.used[i] = nil
	}
	a.used = a.used[:0]
	for _, h := range a.hdrs[:a.nh] {
		h.data = nil
	}
	a.nh = 0
}

// Mark returns the arena's position for ReleaseSince: the number of
// buffers handed out since the last Reset.
func (a *Arena) Mark() int { return len(a.used) }

// ReleaseSince takes back every buffer handed out since mark (see Mark)
// except those that keep's tensors view, for a caller done with the
// intermediate tensors of a step before the step ends (a layer of an
// inference forward). Tensors over a taken-back buffer must not be used
// again.
func (a *Arena) ReleaseSince(mark int, keep ...*Tensor) {
	if mark < 0 || mark > len(a.used) {
		Panicf("tensor.Arena.ReleaseSince", "mark %d outside [0, %d]", mark, len(a.used))
	}
	n := mark
	for i := mark; i < len(a.used); i++ {
		b := a.used[i]
		if b == nil { // taken back by Put
			continue
		}
		if viewsAny(b, keep) {
			a.used[n] = b
			n++
			continue
		}
		a.free[cap(b)] = append(a.free[cap(b)], b)
	}
	clear(a.used[n:])
	a.used = a.used[:n]
}

// Put takes back the buffer that t views, handed out by this arena since
// the last Reset, for a caller that knows it dead before the step ends (a
// gradient that backward has consumed), and reports whether it found it.
// Tensors over that buffer must not be used again. It searches from the
// newest buffer, where a step's short-lived tensors are.
func (a *Arena) Put(t *Tensor) bool {
	if t == nil || cap(t.data) == 0 {
		return false
	}
	p := &t.data[:1][0]
	for i := len(a.used) - 1; i >= 0; i-- {
		b := a.used[i]
		if b == nil || &b[:1][0] != p {
			continue
		}
		a.free[cap(b)] = append(a.free[cap(b)], b)
		a.used[i] = nil // a hole, so that marks keep their positions
		return true
	}
	return false
}

// viewsAny reports whether one of ts has b as its storage.
func viewsAny(b []float32, ts []*Tensor) bool {
	for _, t := range ts {
		if t != nil && cap(t.data) > 0 && cap(b) > 0 && &t.data[:1][0] == &b[:1][0] {
			return true
		}
	}
	return false
}

// Release drops every free buffer (those not handed out since the last
// Reset) so the garbage collector can reclaim them, for example after an
// unusually large step.
func (a *Arena) Release() {
	for c, l := range a.free {
		a.allocated -= c * len(l)
		delete(a.free, c)
	}
}

// Allocated returns how many float32s the arena holds (handed out or
// free): flat across steps in steady state.
func (a *Arena) Allocated() int { return a.allocated }
