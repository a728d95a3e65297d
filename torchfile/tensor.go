package torchfile

import (
	"errors"
	"fmt"
	"io"
	"math/bits"

	"github.com/attn-dev/attn/safetensors"
)

// maxPickle caps the state dict's pickle (GPT-2 XL's is ~100 KB).
const maxPickle = 1 << 30

// maxDims caps a tensor's rank.
const maxDims = 64

// storageDTypes maps torch's storage classes to element types.
var storageDTypes = map[string]safetensors.DType{
	"FloatStorage":    safetensors.DTypeF32,
	"HalfStorage":     safetensors.DTypeF16,
	"BFloat16Storage": safetensors.DTypeBF16,
	"DoubleStorage":   safetensors.DTypeF64,
	"LongStorage":     safetensors.DTypeI64,
	"IntStorage":      safetensors.DTypeI32,
	"ShortStorage":    safetensors.DTypeI16,
	"CharStorage":     safetensors.DTypeI8,
	"ByteStorage":     safetensors.DTypeU8,
	"BoolStorage":     safetensors.DTypeBOOL,
}

// storageRef is one storage the pickle refers to by key; off, its bytes'
// offset in the file, is found after the pickle has run (-1 until then).
type storageRef struct {
	key   string
	dtype safetensors.DType
	numel int64
	off   int64
}

func (s *storageRef) nbytes() int64 { return s.numel * int64(s.dtype.Size()) }

// tensorRef is a view of a storage, as _rebuild_tensor_v2 describes it.
type tensorRef struct {
	storage       *storageRef
	offset        int64
	shape, stride []int64
	last          int64 // the highest element index the view reads
}

// holder collects what one checkpoint's pickle refers to.
type holder struct {
	r        io.ReaderAt
	fileSize int64
	storages map[string]*storageRef
	order    []string // storage keys in order of first use
	storeSum int64    // bytes of all storages
	top      any
}

func newHolder(r io.ReaderAt, fileSize int64) *holder {
	return &holder{r: r, fileSize: fileSize, storages: map[string]*storageRef{}}
}

// persistentLoad resolves torch.save's persistent ids:
// ('storage', torch.FloatStorage, key, location, numel) in the zip layout,
// with a sixth element, the view metadata (None), in the legacy one.
func (h *holder) persistentLoad(pid any) (any, error) {
	t, ok := pid.(tuple)
	if !ok || len(t) < 5 || len(t) > 6 || t[0] != "storage" {
		return nil, fmt.Errorf("persistent id %s is not a storage reference", describe(pid))
	}
	g, ok := t[1].(global)
	dt, known := storageDTypes[g.name]
	if !ok || g.module != "torch" || !known {
		return nil, fmt.Errorf("persistent id names %s, not a storage type", typeName(t[1]))
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("storage key is %s, not a string", aTypeName(t[2]))
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("storage %q: element count %s", key, describe(t[4]))
	}
	if len(t) == 6 && t[5] != nil {
		return nil, fmt.Errorf("storage %q: storage views (PyTorch before 0.4) are not supported", key)
	}
	if s, ok := h.storages[key]; ok {
		if s.dtype != dt || s.numel != numel {
			return nil, fmt.Errorf("storage %q is referred to as %d×%s and as %d×%s", key, s.numel, s.dtype, numel, dt)
		}
		return s, nil
	}
	// Every storage's bytes are in the file, so together they fit in it.
	if numel > (h.fileSize-h.storeSum)/int64(dt.Size()) {
		return nil, fmt.Errorf("storage %q of %d %s elements is larger than the file (%d bytes)", key, numel, dt, h.fileSize)
	}
	s := &storageRef{key: key, dtype: dt, numel: numel, off: -1}
	h.storeSum += s.nbytes()
	h.storages[key] = s
	h.order = append(h.order, key)
	return s, nil
}

// reduce implements the allowed callables.
func (h *holder) reduce(g global, args tuple) (any, error) {
	switch g.module + "." + g.name {
	case "collections.OrderedDict":
		if len(args) != 0 {
			return nil, fmt.Errorf("called with %d arguments; only OrderedDict() is supported", len(args))
		}
		return newDict(), nil
	case "torch._utils._rebuild_tensor_v2":
		return rebuildTensor(args)
	case "torch._utils._rebuild_parameter":
		// (data, requires_grad, backward_hooks): a Parameter is its tensor.
		if len(args) != 3 {
			return nil, fmt.Errorf("called with %d arguments, want 3", len(args))
		}
		t, ok := args[0].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("data is %s, not a tensor", aTypeName(args[0]))
		}
		return t, nil
	}
	return nil, errors.New("is not callable")
}

// rebuildTensor checks _rebuild_tensor_v2(storage, storage_offset, size,
// stride, requires_grad, backward_hooks[, metadata]): every element the
// view reaches must lie inside the storage.
func rebuildTensor(args tuple) (any, error) {
	if len(args) != 6 && len(args) != 7 {
		return nil, fmt.Errorf("called with %d arguments, want 6 or 7", len(args))
	}
	s, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("storage is %s", aTypeName(args[0]))
	}
	off, ok := args[1].(int64)
	if !ok || off < 0 {
		return nil, fmt.Errorf("storage %q: storage offset %s", s.key, describe(args[1]))
	}
	shape, err := ints(args[2], "size")
	if err != nil {
		return nil, fmt.Errorf("storage %q: %w", s.key, err)
	}
	stride, err := ints(args[3], "stride")
	if err != nil {
		return nil, fmt.Errorf("storage %q: %w", s.key, err)
	}
	if len(shape) != len(stride) {
		return nil, fmt.Errorf("storage %q: size %v and stride %v differ in length", s.key, shape, stride)
	}
	t := &tensorRef{storage: s, offset: off, shape: shape, stride: stride}
	n, ok := numel(shape)
	if !ok {
		return nil, fmt.Errorf("storage %q: size %v overflows", s.key, shape)
	}
	if n == 0 {
		return t, nil
	}
	last := off
	for i, d := range shape {
		hi, lo := bits.Mul64(uint64(d-1), uint64(stride[i]))
		if hi != 0 || lo >= uint64(s.numel) || last+int64(lo) >= s.numel {
			return nil, fmt.Errorf("storage %q: a view with offset %d, size %v and stride %v reaches past its %d elements", s.key, off, shape, stride, s.numel)
		}
		last += int64(lo)
	}
	if last >= s.numel {
		return nil, fmt.Errorf("storage %q: a view with offset %d, size %v and stride %v reaches past its %d elements", s.key, off, shape, stride, s.numel)
	}
	t.last = last
	return t, nil
}

// ints reads a tuple of non-negative ints.
func ints(v any, what string) ([]int64, error) {
	t, ok := v.(tuple)
	if !ok {
		return nil, fmt.Errorf("%s is %s, not a tuple", what, aTypeName(v))
	}
	if len(t) > maxDims {
		return nil, fmt.Errorf("%s has %d dimensions, more than %d", what, len(t), maxDims)
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("%s has element %s", what, describe(x))
		}
		out[i] = n
	}
	return out, nil
}

// numel is the product of shape; ok is false past 2^62.
func numel(shape []int64) (int64, bool) {
	n := uint64(1)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > 1<<62 {
			return 0, false
		}
		n = lo
	}
	return int64(n), true
}

// describe prints a small value for an error message, tuples to a
// depth of 3 (a pickle can nest them a million deep).
func describe(v any) string { return describeDepth(v, 3) }

func describeDepth(v any, depth int) string {
	switch v := v.(type) {
	case string:
		if len(v) > 64 {
			v = v[:64] + "..."
		}
		return fmt.Sprintf("%q", v)
	case int64, float64, bool:
		return fmt.Sprint(v)
	case tuple:
		if depth == 0 {
			return "(...)"
		}
		if len(v) <= 8 {
			s := "("
			for i, x := range v {
				if i > 0 {
					s += ", "
				}
				s += describeDepth(x, depth-1)
			}
			return s + ")"
		}
	}
	return "of type " + typeName(v)
}

// tensors flattens the pickle's dict (nested dicts join their keys with
// ".") into the tensors to materialise, each with a Fill that reads it
// from the file. Zero strides can make a view far larger than its
// storage, so the total is capped (see the package documentation).
func (h *holder) tensors() ([]safetensors.Tensor, error) {
	top, ok := h.top.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("the checkpoint holds %s, not a state dict", aTypeName(h.top))
	}
	var out []safetensors.Tensor
	budget := 8*h.fileSize + 16<<20
	seen := map[string]bool{}
	walked := map[*pyDict]bool{}
	var walk func(d *pyDict, prefix string, depth int) error
	walk = func(d *pyDict, prefix string, depth int) error {
		if depth > maxDepth {
			return fmt.Errorf("dicts nested deeper than %d (at %q)", maxDepth, prefix)
		}
		// A state dict is a tree; a dict reached twice (memo references)
		// could otherwise make the walk exponential or endless.
		if walked[d] {
			return fmt.Errorf("the dict at %q appears twice in the state dict", prefix)
		}
		walked[d] = true
		for i, k := range d.keys {
			ks, ok := k.(string)
			if !ok {
				return fmt.Errorf("key %s in %q is not a string", describe(k), prefix)
			}
			name := prefix + ks
			switch v := d.vals[i].(type) {
			case *pyDict:
				if err := walk(v, name+".", depth+1); err != nil {
					return err
				}
			case *tensorRef:
				if seen[name] {
					return fmt.Errorf("tensor %q appears twice", name)
				}
				seen[name] = true
				n, _ := numel(v.shape) // checked in rebuildTensor
				size := n * int64(v.storage.dtype.Size())
				if size > budget {
					return fmt.Errorf("tensor %q: its %d bytes (size %v, stride %v) exceed what a file of %d bytes may expand to", name, size, v.shape, v.stride, h.fileSize)
				}
				budget -= size
				out = append(out, h.tensor(name, v, n))
			default:
				return fmt.Errorf("entry %q is %s, not a tensor", name, aTypeName(v))
			}
		}
		return nil
	}
	if err := walk(top, "", 0); err != nil {
		return nil, err
	}
	return out, nil
}

// tensor describes the view t (n elements, bounds checked) as a
// contiguous tensor whose Fill reads it from the file.
func (h *holder) tensor(name string, t *tensorRef, n int64) safetensors.Tensor {
	shape := make([]int, len(t.shape))
	for i, d := range t.shape {
		shape[i] = int(d)
	}
	out := safetensors.Tensor{Name: name, DType: t.storage.dtype, Shape: shape}
	if n == 0 {
		out.Data = []byte{}
	} else {
		out.Fill = func(dst []byte) error { return h.fill(t, dst) }
	}
	return out
}

// fill reads the view t into dst, row-major: a contiguous view straight
// from the file, any other through the span of the storage it covers.
func (h *holder) fill(t *tensorRef, dst []byte) error {
	es := int64(t.storage.dtype.Size())
	at := t.storage.off + t.offset*es
	if contiguous(t.shape, t.stride) {
		return readAt(h.r, dst, at)
	}
	span := make([]byte, (t.last-t.offset+1)*es)
	if err := readAt(h.r, span, at); err != nil {
		return err
	}
	// Walk the index space with the innermost dimension as the loop.
	rank := len(t.shape)
	idx := make([]int64, rank)
	inner, istride := t.shape[rank-1], t.stride[rank-1]*es
	for o := int64(0); o < int64(len(dst)); {
		base := int64(0)
		for i := 0; i < rank-1; i++ {
			base += idx[i] * t.stride[i] * es
		}
		for j := int64(0); j < inner; j++ {
			copy(dst[o:o+es], span[base+j*istride:])
			o += es
		}
		for i := rank - 2; i >= 0; i-- {
			idx[i]++
			if idx[i] < t.shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return nil
}

// readAt fills b from r at off.
func readAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	return fmt.Errorf("reading %d bytes at offset %d: %w", len(b), off, err)
}

// contiguous reports whether stride is the row-major stride of shape
// (dimensions of size 1 may have any stride, as in torch).
func contiguous(shape, stride []int64) bool {
	want := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && stride[i] != want {
			return false
		}
		want *= shape[i]
	}
	return true
}
