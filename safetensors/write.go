package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"sort"

	"github.com/attn-dev/attn/internal/gemv"
)

// Tensor is one tensor to write: Data holds product(Shape)×DType.Size()
// little-endian bytes, row-major. A tensor may instead leave Data nil and
// give Fill, which writes those bytes into dst when the file is written
// (one tensor at a time, so a converter need not hold them all).
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
	Fill  func(dst []byte) error
}

// size is the tensor's byte count; checkTensors has validated it.
func (t *Tensor) size() int64 {
	if t.Data == nil && t.Fill != nil {
		n := int64(t.DType.Size())
		for _, d := range t.Shape {
			n *= int64(d)
		}
		return n
	}
	return int64(len(t.Data))
}

// F32 makes an F32 tensor from row-major values.
func F32(name string, shape []int, values []float32) Tensor {
	b := make([]byte, 4*len(values))
	PutF32(b, values)
	return Tensor{Name: name, DType: DTypeF32, Shape: append([]int(nil), shape...), Data: b}
}

// BF16 makes a BF16 tensor from row-major values, each rounded to the
// nearest bfloat16 (ties to even), as torch's .to(torch.bfloat16) does.
func BF16(name string, shape []int, values []float32) Tensor {
	b := make([]byte, 2*len(values))
	PutBF16(b, values)
	return Tensor{Name: name, DType: DTypeBF16, Shape: append([]int(nil), shape...), Data: b}
}

// PutF32 encodes values into dst (4 bytes each, little-endian): what an
// F32 tensor's Fill writes.
func PutF32(dst []byte, values []float32) {
	for i, v := range values {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

// PutBF16 rounds values to bfloat16 into dst (2 bytes each): what a BF16
// tensor's Fill writes.
func PutBF16(dst []byte, values []float32) {
	for i, v := range values {
		binary.LittleEndian.PutUint16(dst[2*i:], gemv.ToBF16(v))
	}
}

// I64 makes an I64 tensor from row-major values.
func I64(name string, shape []int, values []int64) Tensor {
	b := make([]byte, 8*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return Tensor{Name: name, DType: DTypeI64, Shape: append([]int(nil), shape...), Data: b}
}

// Encode returns the complete file image of tensors and metadata (see Write
// for the layout).
func Encode(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	hdr, order, err := layout(tensors, metadata)
	if err != nil {
		return nil, err
	}
	size := int64(8 + len(hdr))
	for i := range order {
		size += order[i].size()
	}
	if size != int64(int(size)) {
		return nil, fmt.Errorf("safetensors: an image of %d bytes does not fit in memory", size)
	}
	// One allocation, which Fill writes into directly.
	img := make([]byte, size)
	binary.LittleEndian.PutUint64(img, uint64(len(hdr)))
	off := int64(copy(img[8:], hdr)) + 8
	for i := range order {
		t := &order[i]
		n := t.size()
		if err := fill(t, img[off:off+n:off+n]); err != nil {
			return nil, err
		}
		off += n
	}
	return img, nil
}

// Write writes tensors and metadata to path as a safetensors file,
// atomically: the bytes stream to a temporary file in the same directory,
// which is synced and renamed over path, so a reader never sees a partial
// file. Tensors are laid out by decreasing element size, then by name,
// which keeps every tensor aligned to its element size; the header is
// padded with spaces to a multiple of 8 bytes.
func Write(path string, tensors []Tensor, metadata map[string]string) (err error) {
	hdr, order, err := layout(tensors, metadata)
	if err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("safetensors: %s is a directory: name the file to write", path)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err = emit(w, hdr, order); err == nil {
		err = w.Flush()
	}
	if err != nil {
		return fmt.Errorf("safetensors: writing %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("safetensors: writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("safetensors: syncing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil { // make the rename durable; best effort
		d.Sync()
		d.Close()
	}
	return nil
}

// layout validates tensors and returns the padded JSON header and the
// tensors in file order.
func layout(tensors []Tensor, metadata map[string]string) ([]byte, []Tensor, error) {
	order, err := checkTensors(tensors)
	if err != nil {
		return nil, nil, err
	}
	var hb bytes.Buffer
	hb.WriteByte('{')
	if len(metadata) > 0 {
		md, err := json.Marshal(metadata) // keys sorted
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: metadata: %w", err)
		}
		hb.WriteString(`"` + metadataKey + `":`)
		hb.Write(md)
	}
	var off int64
	for i, t := range order {
		if i > 0 || len(metadata) > 0 {
			hb.WriteByte(',')
		}
		name, err := json.Marshal(t.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		sh, _ := json.Marshal(shape) // []int always marshals
		end := off + t.size()
		fmt.Fprintf(&hb, `%s:{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}`, name, t.DType, sh, off, end)
		off = end
	}
	hb.WriteByte('}')
	for hb.Len()%8 != 0 {
		hb.WriteByte(' ')
	}
	return hb.Bytes(), order, nil
}

// emit writes the length prefix, the header and every tensor's bytes.
func emit(w io.Writer, hdr []byte, order []Tensor) error {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	var buf []byte
	for i := range order {
		t := &order[i]
		data := t.Data
		if data == nil && t.Fill != nil {
			n := t.size()
			if int64(cap(buf)) < n {
				buf = make([]byte, n)
			}
			data = buf[:n]
			if err := fill(t, data); err != nil {
				return err
			}
		}
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
	}
	return nil
}

// fill writes t's bytes into dst (len(dst) = t.size()).
func fill(t *Tensor, dst []byte) error {
	if t.Data != nil || t.Fill == nil {
		copy(dst, t.Data)
		return nil
	}
	if err := t.Fill(dst); err != nil {
		return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
	}
	return nil
}

// checkTensors validates tensors for writing and returns them in file order.
func checkTensors(tensors []Tensor) ([]Tensor, error) {
	seen := make(map[string]bool, len(tensors))
	for _, t := range tensors {
		switch {
		case t.Name == "":
			return nil, errors.New("safetensors: tensor with an empty name")
		case t.Name == metadataKey:
			return nil, fmt.Errorf("safetensors: tensor %q: name is reserved", t.Name)
		case seen[t.Name]:
			return nil, fmt.Errorf("safetensors: tensor %q: duplicate name", t.Name)
		case !t.DType.Valid():
			return nil, fmt.Errorf("safetensors: tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		seen[t.Name] = true
		n := uint64(t.DType.Size())
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors: tensor %q: negative dimension in shape %v", t.Name, t.Shape)
			}
			hi, lo := bits.Mul64(n, uint64(d))
			if hi != 0 || lo > 1<<62 {
				return nil, fmt.Errorf("safetensors: tensor %q: shape %v overflows", t.Name, t.Shape)
			}
			n = lo
		}
		if t.Data == nil && t.Fill != nil {
			continue // Fill is given a slice of exactly n bytes
		}
		if uint64(len(t.Data)) != n {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, got %d", t.Name, t.Shape, t.DType, n, len(t.Data))
		}
	}
	order := append([]Tensor(nil), tensors...)
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.DType.Size() != b.DType.Size() {
			return a.DType.Size() > b.DType.Size()
		}
		return a.Name < b.Name
	})
	return order, nil
}
