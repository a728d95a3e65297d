// Package tensor holds attn's float32 tensors: a shape, strides and an
// offset into a backing []float32, so that reshape, transpose, permute and
// slice are views that copy nothing.
//
// Element (i0, i1, …, in) of t lives at
//
//	t.Backing()[t.Offset + Σ ik·t.Strides[k]]
//
// and a freshly made tensor is contiguous row-major (the last index moves
// fastest). Shapes use one alphabet across attn: B batch, T sequence,
// C channels, NH heads, HS head size, V vocabulary.
//
// Misuse (a shape that does not fit, an index out of range) panics with a
// *ShapeError naming the operation and the shapes; see Recover for turning
// that into an error at an I/O boundary. Arena hands out tensors that are
// all taken back by one Reset, so a training or inference step allocates
// nothing once it has run once.
package tensor

import (
	"fmt"
	"strings"
)

// inlineDims is how many dimensions a Tensor stores without a separate
// allocation for its shape and strides.
const inlineDims = 6

// Tensor is a float32 array of any rank viewed through Shape, Strides and
// Offset. The zero value is not usable; make tensors with New, FromSlice
// or an Arena. Shape and Strides must be treated as read-only.
type Tensor struct {
	Shape   []int
	Strides []int
	Offset  int
	data    []float32

	shapeBuf, strideBuf [inlineDims]int
}

// New returns a contiguous tensor of zeros with the given shape. A
// tensor with no dimensions is a scalar holding one element.
func New(shape ...int) *Tensor {
	n := checkShape("tensor.New", shape)
	t := &Tensor{}
	t.setShape(shape)
	t.data = make([]float32, n)
	return t
}

// FromSlice wraps data (not copied) as a contiguous tensor of the given
// shape; len(data) must equal the product of the shape.
func FromSlice(data []float32, shape ...int) *Tensor {
	n := checkShape("tensor.FromSlice", shape)
	if n != len(data) {
		Panicf("tensor.FromSlice", "shape %v holds %d elements, data has %d", Dims(shape), n, len(data))
	}
	t := &Tensor{}
	t.setShape(shape)
	t.data = data
	return t
}

// maxElems bounds the size of one tensor (2³¹ float32s, 8 GiB), so that
// a corrupt shape fails with a message instead of a huge allocation.
const maxElems = 1 << 31

// checkShape returns the number of elements of shape, panicking on a
// negative dimension or a size above maxElems.
func checkShape(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			Panicf(op, "negative dimension in shape %v", Dims(shape))
		}
		if d != 0 && n > maxElems/d {
			Panicf(op, "shape %v holds more than %d elements", Dims(shape), maxElems)
		}
		n *= d
	}
	return n
}

// setShape sets t's shape to a copy of shape with contiguous row-major
// strides and offset 0.
func (t *Tensor) setShape(shape []int) {
	r := len(shape)
	t.setRank(r)
	copy(t.Shape, shape)
	s := 1
	for i := r - 1; i >= 0; i-- {
		t.Strides[i] = s
		s *= shape[i]
	}
	t.Offset = 0
}

// setRank points t.Shape and t.Strides at storage for r dimensions:
// t's inline arrays when they are large enough.
func (t *Tensor) setRank(r int) {
	if r <= inlineDims {
		t.Shape, t.Strides = t.shapeBuf[:r], t.strideBuf[:r]
		return
	}
	t.Shape, t.Strides = make([]int, r), make([]int, r)
}

// setView makes t a header over the same storage as src with src's
// shape, strides and offset (copied into t's own arrays).
func (t *Tensor) setView(src *Tensor) {
	t.setRank(len(src.Shape))
	copy(t.Shape, src.Shape)
	copy(t.Strides, src.Strides)
	t.Offset = src.Offset
	t.data = src.data
}

// view returns a new heap header over t's storage.
func (t *Tensor) view() *Tensor {
	v := &Tensor{}
	v.setView(t)
	return v
}

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.Shape) }

// Len is the number of elements (the product of the shape).
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Dim returns the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	return t.Shape[t.axis("tensor.Dim", i)]
}

// axis normalises a possibly negative axis, panicking when out of range.
func (t *Tensor) axis(op string, i int) int {
	r := len(t.Shape)
	if i < 0 {
		i += r
	}
	if i < 0 || i >= r {
		Panicf(op, "axis %d out of range for shape %v", i, t.Shape)
	}
	return i
}

// IsContiguous reports whether t's elements are laid out row-major with no
// gaps, so that Data can return them as one slice. Dimensions of size 1
// may have any stride.
func (t *Tensor) IsContiguous() bool {
	s := 1
	for i := len(t.Shape) - 1; i >= 0; i-- {
		if t.Shape[i] != 1 && t.Strides[i] != s {
			return false
		}
		s *= t.Shape[i]
	}
	return true
}

// Data returns t's elements in row-major order as a slice of the backing
// array (no copy: writes go to t). t must be contiguous; call Contiguous
// first otherwise.
func (t *Tensor) Data() []float32 {
	if !t.IsContiguous() {
		Panicf("tensor.Data", "tensor of shape %v with strides %v is not contiguous; call Contiguous first", t.Shape, t.Strides)
	}
	n := t.Len()
	return t.data[t.Offset : t.Offset+n : t.Offset+n]
}

// Backing returns the whole backing array that t views (shared with every
// other view of it).
func (t *Tensor) Backing() []float32 { return t.data }

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b *Tensor) bool { return EqualShape(a.Shape, b.Shape) }

// EqualShape reports whether two shapes are identical.
func EqualShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// index returns the backing index of the element at idx.
func (t *Tensor) index(op string, idx []int) int {
	if len(idx) != len(t.Shape) {
		Panicf(op, "%d indices for shape %v", len(idx), Dims(t.Shape))
	}
	o := t.Offset
	for i, v := range idx {
		if v < 0 || v >= t.Shape[i] {
			Panicf(op, "index %v out of range for shape %v", Dims(idx), Dims(t.Shape))
		}
		o += v * t.Strides[i]
	}
	return o
}

// At returns the element at idx (one index per dimension).
func (t *Tensor) At(idx ...int) float32 { return t.data[t.index("tensor.At", idx)] }

// Set stores v at idx (one index per dimension).
func (t *Tensor) Set(v float32, idx ...int) { t.data[t.index("tensor.Set", idx)] = v }

// Item returns the single element of a tensor holding exactly one.
func (t *Tensor) Item() float32 {
	if t.Len() != 1 {
		Panicf("tensor.Item", "tensor of shape %v holds %d elements, want 1", t.Shape, t.Len())
	}
	return t.data[t.Offset]
}

// resolveShape fills in a single -1 in shape so that it holds n elements.
// The result is written to dst (len(shape)).
func resolveShape(op string, dst, shape []int, n int, from []int) {
	infer := -1
	prod := 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0 || (d != 0 && prod > maxElems/d):
			Panicf(op, "bad dimension %d in shape %v", d, Dims(shape))
		default:
			prod *= d
		}
		dst[i] = d
	}
	if infer >= 0 {
		if prod == 0 || n%prod != 0 {
			Panicf(op, "cannot reshape %v (%d elements) to %v", Dims(from), n, Dims(shape))
		}
		dst[infer] = n / prod
		prod = n
	}
	if prod != n {
		Panicf(op, "cannot reshape %v (%d elements) to %v (%d elements)", Dims(from), n, Dims(shape), prod)
	}
}

// Reshape returns a view of t with a new shape holding the same number of
// elements; one dimension may be -1 and is then inferred. t must be
// contiguous (reshaping a strided view would need a copy: call
// Contiguous first).
func (t *Tensor) Reshape(shape ...int) *Tensor {
	v := &Tensor{}
	t.reshapeInto(v, shape)
	return v
}

func (t *Tensor) reshapeInto(v *Tensor, shape []int) {
	if !t.IsContiguous() {
		Panicf("tensor.Reshape", "tensor of shape %v with strides %v is not contiguous", t.Shape, t.Strides)
	}
	var buf [inlineDims]int
	var dst []int
	if len(shape) <= inlineDims {
		dst = buf[:len(shape)]
	} else {
		dst = make([]int, len(shape))
	}
	resolveShape("tensor.Reshape", dst, shape, t.Len(), t.Shape)
	data, off := t.data, t.Offset
	v.setShape(dst)
	v.data, v.Offset = data, off
}

// Transpose returns a view of t with dimensions d0 and d1 swapped
// (negative axes count from the end).
func (t *Tensor) Transpose(d0, d1 int) *Tensor {
	d0 = t.axis("tensor.Transpose", d0)
	d1 = t.axis("tensor.Transpose", d1)
	v := t.view()
	v.Shape[d0], v.Shape[d1] = v.Shape[d1], v.Shape[d0]
	v.Strides[d0], v.Strides[d1] = v.Strides[d1], v.Strides[d0]
	return v
}

// Permute returns a view of t whose dimension i is t's dimension
// dims[i]; dims must be a permutation of 0..Rank()-1.
func (t *Tensor) Permute(dims ...int) *Tensor {
	v := &Tensor{}
	t.permuteInto(v, dims)
	return v
}

func (t *Tensor) permuteInto(v *Tensor, dims []int) {
	r := len(t.Shape)
	if len(dims) != r {
		Panicf("tensor.Permute", "permutation %v for shape %v", Dims(dims), t.Shape)
	}
	var seen [64]bool
	for _, d := range dims {
		if d < 0 || d >= r || d >= len(seen) || seen[d] {
			Panicf("tensor.Permute", "%v is not a permutation of the axes of shape %v", Dims(dims), t.Shape)
		}
		seen[d] = true
	}
	v.setView(t)
	for i, d := range dims {
		v.Shape[i] = t.Shape[d]
		v.Strides[i] = t.Strides[d]
	}
}

// Slice returns a view of t restricted to indices [lo, hi) along dim.
func (t *Tensor) Slice(dim, lo, hi int) *Tensor {
	dim = t.checkSlice("tensor.Slice", dim, lo, hi)
	v := t.view()
	t.sliceInto(v, dim, lo, hi)
	return v
}

// checkSlice validates a Slice of t and returns dim made non-negative.
func (t *Tensor) checkSlice(op string, dim, lo, hi int) int {
	dim = t.axis(op, dim)
	if lo < 0 || hi < lo || hi > t.Shape[dim] {
		Panicf(op, "range [%d, %d) out of bounds for axis %d of shape %v", lo, hi, dim, t.Shape)
	}
	return dim
}

// sliceInto narrows v, a view of t, to [lo, hi) along dim (checked).
func (t *Tensor) sliceInto(v *Tensor, dim, lo, hi int) {
	v.Shape[dim] = hi - lo
	if hi > lo {
		v.Offset += lo * t.Strides[dim]
	}
}

// Contiguous returns t itself when it is already contiguous, otherwise a
// new contiguous copy of its elements.
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	return t.Clone()
}

// Clone returns a new contiguous copy of t.
func (t *Tensor) Clone() *Tensor {
	c := New(t.Shape...)
	c.CopyFrom(t)
	return c
}

// String prints the shape and up to the first 8 elements.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v[", t.Shape)
	i := 0
	t.each(func(v float32) bool {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 8 {
			b.WriteString("…")
			return false
		}
		fmt.Fprintf(&b, "%g", v)
		i++
		return true
	})
	b.WriteByte(']')
	return b.String()
}

// each calls fn on every element in row-major order until fn returns
// false.
func (t *Tensor) each(fn func(v float32) bool) {
	if t.IsContiguous() {
		for _, v := range t.Data() {
			if !fn(v) {
				return
			}
		}
		return
	}
	n := t.Len()
	if n == 0 {
		return
	}
	var idxBuf [inlineDims]int
	idx := idxBuf[:0]
	if len(t.Shape) > inlineDims {
		idx = make([]int, len(t.Shape))
	} else {
		idx = idxBuf[:len(t.Shape)]
	}
	o := t.Offset
	for k := 0; k < n; k++ {
		if !fn(t.data[o]) {
			return
		}
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			o += t.Strides[d]
			if idx[d] < t.Shape[d] {
				break
			}
			o -= idx[d] * t.Strides[d]
			idx[d] = 0
		}
	}
}
