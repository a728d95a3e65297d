package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"
)

// ErrNotFound is wrapped by the errors of lookups of a name the file lacks.
var ErrNotFound = errors.New("no such tensor")

// Source is a set of named tensors: one file (*File) or the shards of a
// sharded checkpoint (*Sharded).
type Source interface {
	// Names lists the tensor names, sorted.
	Names() []string
	// Info describes a tensor; ok is false if there is none by that name.
	Info(name string) (TensorInfo, bool)
	// Float32 returns a float tensor's elements (row-major) and its shape.
	Float32(name string) ([]float32, []int, error)
	// Int64 returns an integer tensor's elements (row-major) and its shape.
	Int64(name string) ([]int64, []int, error)
	// Metadata returns the free-form string metadata.
	Metadata() map[string]string
	// Close releases the mapping(s); slices returned earlier become invalid.
	Close() error
}

// File is an open safetensors file.
type File struct {
	path   string
	hdr    *header
	data   []byte       // the data section
	unmap  func() error // nil for an image in memory (Parse)
	closed bool
}

var _ Source = (*File)(nil)

// Open reads and validates the header of the safetensors file at path and
// maps its data. The caller must Close it.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	size := st.Size()
	var lenBuf [8]byte
	if size >= 8 {
		if _, err := f.ReadAt(lenBuf[:], 0); err != nil {
			return nil, fmt.Errorf("safetensors: %s: reading header length: %w", path, err)
		}
	}
	n, err := headerLen(path, "file", lenBuf[:], size)
	if err != nil {
		return nil, err
	}
	hbuf := make([]byte, n)
	if _, err := f.ReadAt(hbuf, 8); err != nil && !(errors.Is(err, io.EOF) && len(hbuf) == 0) {
		return nil, fmt.Errorf("safetensors: %s: reading header: %w", path, err)
	}
	dataStart := 8 + int64(n)
	hdr, err := parseHeader(hbuf, size-dataStart)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	whole, unmap, err := mapFile(f, size)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return &File{path: path, hdr: hdr, data: whole[dataStart:size], unmap: unmap}, nil
}

// Parse reads a safetensors image held in memory, as Encode returns it;
// name stands for the file in error messages. The File aliases image
// (Float32 of an aligned F32 tensor returns a view of it), Close releases
// nothing and Evict does nothing.
func Parse(name string, image []byte) (*File, error) {
	size := int64(len(image))
	n, err := headerLen(name, "image", image, size)
	if err != nil {
		return nil, err
	}
	dataStart := 8 + int64(n)
	hdr, err := parseHeader(image[8:dataStart], size-dataStart)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", name, err)
	}
	return &File{path: name, hdr: hdr, data: image[dataStart:size:size]}, nil
}

// headerLen decodes and checks the header length at the start of a file
// (or image: what) of size bytes, given its first 8 bytes in lenBuf.
func headerLen(name, what string, lenBuf []byte, size int64) (uint64, error) {
	if size < 8 {
		return 0, fmt.Errorf("safetensors: %s: %s of %d bytes is too short for the 8-byte header length", name, what, size)
	}
	n := binary.LittleEndian.Uint64(lenBuf)
	if n > MaxHeaderSize {
		return 0, fmt.Errorf("safetensors: %s: header length %d exceeds the %d-byte limit", name, n, MaxHeaderSize)
	}
	if n > uint64(size-8) {
		return 0, fmt.Errorf("safetensors: %s: header length %d exceeds the %d bytes after it (truncated file?)", name, n, size-8)
	}
	return n, nil
}

// Close releases the mapping. Slices returned by Float32, Int64 and Bytes
// alias it and must not be used afterwards.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	var err error
	if f.unmap != nil {
		err = f.unmap()
	}
	f.unmap, f.data, f.closed = nil, nil, true
	if err != nil {
		return fmt.Errorf("safetensors: %s: unmap: %w", f.path, err)
	}
	return nil
}

// Path is the file's path as given to Open.
func (f *File) Path() string { return f.path }

// Names lists the tensor names, sorted.
func (f *File) Names() []string { return append([]string(nil), f.hdr.names...) }

// Info describes the named tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	t, ok := f.hdr.tensors[name]
	if ok {
		t.Shape = append([]int(nil), t.Shape...)
	}
	return t, ok
}

// Metadata returns a copy of the header's "__metadata__" map (empty if none).
func (f *File) Metadata() map[string]string {
	m := make(map[string]string, len(f.hdr.metadata))
	for k, v := range f.hdr.metadata {
		m[k] = v
	}
	return m
}

// Bytes returns the raw little-endian bytes of the named tensor, aliasing
// the mapping.
func (f *File) Bytes(name string) ([]byte, TensorInfo, error) {
	if f.closed {
		return nil, TensorInfo{}, fmt.Errorf("safetensors: %s: tensor %q: file is closed", f.path, name)
	}
	t, ok := f.Info(name)
	if !ok {
		return nil, TensorInfo{}, fmt.Errorf("safetensors: %s: tensor %q: %w", f.path, name, ErrNotFound)
	}
	return f.data[t.Offset : t.Offset+t.Size : t.Offset+t.Size], t, nil
}

// Evict drops the pages that hold only the named tensor from the
// process's resident memory (Linux; elsewhere it does nothing). The mapping
// is private: a page nobody wrote comes back unchanged from the file on
// the next read, but a page written since Open (slices returned by Float32
// alias it) loses the write. So it is for tensors nobody wrote, whose
// values a caller has copied (e.g. converted to bfloat16) and will read
// little or not at all: a read-only pass over a mapped tensor otherwise
// keeps all of it resident until Close.
func (f *File) Evict(name string) error {
	b, _, err := f.Bytes(name)
	if err != nil || f.unmap == nil { // an image in memory has no file to fall back on
		return err
	}
	if err := evictPages(b); err != nil {
		return fmt.Errorf("safetensors: %s: tensor %q: %w", f.path, name, err)
	}
	return nil
}

// Float32 returns the elements of a float tensor and its shape. An F32
// tensor whose data is 4-byte aligned is returned without copying (aliasing
// the copy-on-write mapping, valid until Close); F16 and BF16 are widened
// and F64 narrowed into a new slice.
func (f *File) Float32(name string) ([]float32, []int, error) {
	b, t, err := f.Bytes(name)
	if err != nil {
		return nil, nil, err
	}
	n := int(t.NumElements())
	out, err := toFloat32(b, t.DType, n)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s: tensor %q: %w", f.path, name, err)
	}
	return out, t.Shape, nil
}

// Int64 returns the elements of an integer tensor and its shape. An aligned
// I64 tensor is returned without copying (valid until Close); I32, I16, I8,
// U32, U16, U8 and BOOL are widened into a new slice.
func (f *File) Int64(name string) ([]int64, []int, error) {
	b, t, err := f.Bytes(name)
	if err != nil {
		return nil, nil, err
	}
	n := int(t.NumElements())
	out, err := toInt64(b, t.DType, n)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s: tensor %q: %w", f.path, name, err)
	}
	return out, t.Shape, nil
}

// littleEndian reports whether the host stores integers little-endian, in
// which case aligned tensor bytes can be viewed in place.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()
