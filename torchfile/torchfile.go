package torchfile

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/attn-dev/attn/safetensors"
)

// StateDict is the tensors of a checkpoint, in the order the file's dict
// lists them. Every tensor is materialised contiguous (row-major,
// little-endian) in its own Data, even when the file stores it as a view
// of a storage it shares with other tensors.
type StateDict struct {
	Tensors []safetensors.Tensor
}

// Tensor returns the tensor called name.
func (s *StateDict) Tensor(name string) (safetensors.Tensor, bool) {
	for _, t := range s.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return safetensors.Tensor{}, false
}

// Names lists the tensor names in file order.
func (s *StateDict) Names() []string {
	names := make([]string, len(s.Tensors))
	for i, t := range s.Tensors {
		names[i] = t.Name
	}
	return names
}

// Read reads the PyTorch checkpoint (torch.save of a state dict) at path.
// It never runs code from the file: see the package documentation.
func Read(path string) (*StateDict, error) {
	f, ts, err := openPlan(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := fillAll(ts); err != nil {
		return nil, fmt.Errorf("torchfile: %s: %w", path, err)
	}
	return &StateDict{Tensors: ts}, nil
}

// openPlan opens the checkpoint at path and plans its tensors (see plan);
// the caller closes the file once the tensors are filled.
func openPlan(path string) (*os.File, []safetensors.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("torchfile: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = errors.New("is a directory, not a checkpoint file")
	}
	var ts []safetensors.Tensor
	if err == nil {
		ts, err = plan(f, st.Size())
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("torchfile: %s: %w", path, err)
	}
	return f, ts, nil
}

// Decode reads a checkpoint of size bytes from r: the zip layout torch.save
// writes since PyTorch 1.6, or the legacy stream of pickles and storages
// (_use_new_zipfile_serialization=False).
func Decode(r io.ReaderAt, size int64) (*StateDict, error) {
	ts, err := plan(r, size)
	if err == nil {
		err = fillAll(ts)
	}
	if err != nil {
		return nil, err
	}
	return &StateDict{Tensors: ts}, nil
}

// fillAll reads every planned tensor into its own Data.
func fillAll(ts []safetensors.Tensor) error {
	for i := range ts {
		if t := &ts[i]; t.Data == nil {
			t.Data = make([]byte, t.DType.Size()*numElements(t.Shape))
			if err := t.Fill(t.Data); err != nil {
				return fmt.Errorf("tensor %q: %w", t.Name, err)
			}
			t.Fill = nil
		}
	}
	return nil
}

// numElements is the product of a checked shape.
func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// plan reads the checkpoint's pickle and checks every storage and view
// against the file without reading the tensors: each comes back with a
// Fill that reads it from r (empty ones with empty Data).
func plan(r io.ReaderAt, size int64) ([]safetensors.Tensor, error) {
	var magic [4]byte
	if size < 4 {
		return nil, fmt.Errorf("file of %d bytes is too short to be a PyTorch checkpoint", size)
	}
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	var h *holder
	var err error
	switch {
	case string(magic[:]) == "PK\x03\x04":
		h, err = readZip(r, size)
	case magic[0] == opProto:
		h, err = readLegacy(r, size)
	case size >= 263+5 && isTar(r):
		return nil, errors.New("a tar checkpoint (PyTorch before 0.4) is not supported; load and save it again with a recent PyTorch")
	default:
		return nil, fmt.Errorf("not a PyTorch checkpoint: starts with % x, neither a zip archive nor a pickle", magic)
	}
	if err != nil {
		return nil, err
	}
	return h.tensors()
}

// isTar reports whether r holds a tar header ("ustar" at offset 257).
func isTar(r io.ReaderAt) bool {
	var b [5]byte
	_, err := r.ReadAt(b[:], 257)
	return err == nil && string(b[:]) == "ustar"
}

// readZip reads the zip layout: <prefix>/data.pkl, the storages as
// <prefix>/data/<key> (stored, not compressed: torch.save aligns them so a
// reader can map them), <prefix>/version and, since PyTorch 2.1,
// <prefix>/byteorder.
func readZip(r io.ReaderAt, size int64) (*holder, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("zip archive (truncated or corrupt file?): %w", err)
	}
	files := make(map[string]*zip.File, len(zr.File))
	var pkl *zip.File
	for _, f := range zr.File {
		if _, dup := files[f.Name]; dup {
			return nil, fmt.Errorf("zip archive: entry %q appears twice", f.Name)
		}
		files[f.Name] = f
		if dir, base, ok := strings.Cut(f.Name, "/"); ok && base == "data.pkl" && dir != "" {
			if pkl != nil {
				return nil, fmt.Errorf("zip archive: two pickles, %s and %s", pkl.Name, f.Name)
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, errors.New("zip archive without a data.pkl: not a torch.save checkpoint")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if bo, ok := files[prefix+"byteorder"]; ok {
		b, err := readEntry(bo, 16)
		if err != nil {
			return nil, err
		}
		if s := string(b); s != "little" {
			return nil, fmt.Errorf("byte order %q is not supported (only little-endian checkpoints are)", s)
		}
	}
	// torch.save stores the pickle uncompressed; the cap also keeps a
	// deflated one from expanding far beyond the file.
	if pkl.UncompressedSize64 > maxPickle || pkl.UncompressedSize64 > uint64(size) {
		return nil, fmt.Errorf("%s: pickle of %d bytes exceeds the limit (%d bytes, and the file's size)", pkl.Name, pkl.UncompressedSize64, int64(maxPickle))
	}
	rc, err := pkl.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	defer rc.Close()
	h := newHolder(r, size)
	u := newUnpickler(newInput(rc, int64(pkl.UncompressedSize64)))
	u.persid, u.reduce = h.persistentLoad, h.reduce
	top, err := u.run()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	h.top = top
	for _, key := range h.order {
		s := h.storages[key]
		f, ok := files[prefix+"data/"+key]
		if !ok {
			return nil, fmt.Errorf("storage %q: no entry %sdata/%s in the archive", key, prefix, key)
		}
		if f.Method != zip.Store {
			return nil, fmt.Errorf("storage %q: entry %s is compressed (method %d); torch.save stores storages uncompressed", key, f.Name, f.Method)
		}
		want := s.nbytes()
		if f.UncompressedSize64 != uint64(want) || f.CompressedSize64 != uint64(want) {
			return nil, fmt.Errorf("storage %q: entry %s holds %d bytes, the pickle declares %d elements of %s (%d bytes)", key, f.Name, f.UncompressedSize64, s.numel, s.dtype, want)
		}
		off, err := f.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("storage %q: %w", key, err)
		}
		if off < 0 || off > size || want > size-off {
			return nil, fmt.Errorf("storage %q: entry %s runs past the end of the file", key, f.Name)
		}
		s.off = off
	}
	return h, nil
}

// readEntry reads a small zip entry whole.
func readEntry(f *zip.File, max int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(max) {
		return nil, fmt.Errorf("%s: %d bytes, expected at most %d", f.Name, f.UncompressedSize64, max)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return b, nil
}

// legacyMagic is torch.serialization.MAGIC_NUMBER as LONG1 bytes.
var legacyMagic = []byte{0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// legacyProtocol is torch.serialization.PROTOCOL_VERSION.
const legacyProtocol = 1001

// readLegacy reads the format of torch.save(..., _use_new_zipfile_serialization=False):
// pickles of the magic number, the protocol version and sys_info, the
// state dict's pickle, a pickle of the sorted storage keys, then for each
// key its element count (int64) and raw bytes.
func readLegacy(r io.ReaderAt, size int64) (*holder, error) {
	in := newInput(io.NewSectionReader(r, 0, size), size)
	header := func(what string) (any, error) {
		v, err := newUnpickler(in).run()
		if err != nil {
			return nil, fmt.Errorf("legacy format, %s: %w", what, err)
		}
		return v, nil
	}
	magic, err := header("magic number")
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(bigLong); !ok || !bytes.Equal(m, legacyMagic) {
		return nil, fmt.Errorf("legacy format: magic number %v is not torch.save's", magic)
	}
	proto, err := header("protocol version")
	if err != nil {
		return nil, err
	}
	if proto != any(int64(legacyProtocol)) {
		return nil, fmt.Errorf("legacy format: protocol version %v is not supported (%d is)", proto, legacyProtocol)
	}
	info, err := header("sys_info")
	if err != nil {
		return nil, err
	}
	d, ok := info.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("legacy format: sys_info is %s, not a dict", aTypeName(info))
	}
	if le, _ := d.get("little_endian"); le != true {
		return nil, errors.New("legacy format: the checkpoint was written big-endian, which is not supported")
	}
	h := newHolder(r, size)
	u := newUnpickler(in)
	u.persid, u.reduce = h.persistentLoad, h.reduce
	if h.top, err = u.run(); err != nil {
		return nil, fmt.Errorf("legacy format, state dict: %w", err)
	}
	keys, err := header("storage keys")
	if err != nil {
		return nil, err
	}
	kl, ok := keys.(*pyList)
	if !ok {
		return nil, fmt.Errorf("legacy format: storage keys are %s, not a list", aTypeName(keys))
	}
	for _, k := range kl.items {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("legacy format: a storage key is %s, not a string", aTypeName(k))
		}
		s, ok := h.storages[key]
		if !ok {
			return nil, fmt.Errorf("legacy format: storage %q is listed but no tensor uses it", key)
		}
		if s.off >= 0 {
			return nil, fmt.Errorf("legacy format: storage %q is listed twice", key)
		}
		n, err := in.uint(8)
		if err != nil {
			return nil, fmt.Errorf("legacy format: storage %q: %w", key, err)
		}
		if int64(n) != s.numel {
			return nil, fmt.Errorf("legacy format: storage %q holds %d elements, the pickle declares %d", key, int64(n), s.numel)
		}
		s.off = in.pos
		if err = in.skip(s.nbytes()); err != nil {
			return nil, fmt.Errorf("legacy format: storage %q: %w", key, err)
		}
	}
	for _, key := range h.order {
		if h.storages[key].off < 0 {
			return nil, fmt.Errorf("legacy format: storage %q is used by a tensor but not in the file", key)
		}
	}
	return h, nil
}
