package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxHeaderSize caps the JSON header length (100 MB, as the reference
// implementation does), so a corrupt length never triggers a huge read.
const MaxHeaderSize = 100 << 20

const metadataKey = "__metadata__"

// TensorInfo describes one tensor of a file. Offset is the byte offset of its
// data from the start of the data section and Size its length in bytes.
type TensorInfo struct {
	Name   string
	DType  DType
	Shape  []int
	Offset int64
	Size   int64
}

// NumElements is the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// header is a parsed and validated header.
type header struct {
	tensors  map[string]TensorInfo
	names    []string // sorted
	metadata map[string]string
}

type rawEntry struct {
	DType       *string
	Shape       *[]json.RawMessage
	DataOffsets *[]json.RawMessage
}

// decodeEntry decodes one tensor entry, matching its keys exactly
// (encoding/json alone would also accept "DType" or "Data_Offsets").
// Unknown keys are ignored, as the reference implementation does.
func decodeEntry(dec *json.Decoder) (rawEntry, error) {
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		return rawEntry{}, err
	}
	var e rawEntry
	fields := []struct {
		key string
		dst any
	}{{"dtype", &e.DType}, {"shape", &e.Shape}, {"data_offsets", &e.DataOffsets}}
	for _, f := range fields {
		v, ok := m[f.key]
		if !ok {
			continue
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return rawEntry{}, fmt.Errorf("%s: %w", f.key, err)
		}
	}
	return e, nil
}

// parseHeader decodes and validates a header against a data section of
// dataLen bytes.
func parseHeader(hdr []byte, dataLen int64) (*header, error) {
	if !utf8.Valid(hdr) {
		return nil, errors.New("header is not valid UTF-8")
	}
	trimmed := bytes.TrimLeft(hdr, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("header is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if _, err := dec.Token(); err != nil { // the opening '{'
		return nil, fmt.Errorf("header is not valid JSON: %w", err)
	}
	h := &header{tensors: map[string]TensorInfo{}}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("header is not valid JSON: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("header is not valid JSON: unexpected %v", tok)
		}
		if seen[name] {
			return nil, fmt.Errorf("tensor %q: duplicate name in header", name)
		}
		seen[name] = true
		if name == metadataKey {
			var md map[string]string
			if err := dec.Decode(&md); err != nil {
				return nil, fmt.Errorf("%s: must be an object of strings: %w", metadataKey, err)
			}
			h.metadata = md
			continue
		}
		raw, err := decodeEntry(dec)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("tensor %q: header is not valid JSON: it ends inside the entry", name)
			}
			return nil, fmt.Errorf("tensor %q: bad entry: %w", name, err)
		}
		info, err := checkEntry(name, raw)
		if err != nil {
			return nil, err
		}
		h.tensors[name] = info
		h.names = append(h.names, name)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("header is not valid JSON: %w", err)
	}
	if len(bytes.Trim(hdr[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, errors.New("header has trailing data after the JSON object")
	}
	sort.Strings(h.names)
	if err := checkLayout(h, dataLen); err != nil {
		return nil, err
	}
	return h, nil
}

// checkEntry validates one tensor entry on its own.
func checkEntry(name string, raw rawEntry) (TensorInfo, error) {
	if raw.DType == nil || raw.Shape == nil || raw.DataOffsets == nil {
		return TensorInfo{}, fmt.Errorf("tensor %q: entry needs dtype, shape and data_offsets", name)
	}
	dt := DType(*raw.DType)
	if !dt.Valid() {
		return TensorInfo{}, fmt.Errorf("tensor %q: unknown dtype %q", name, *raw.DType)
	}
	shape := make([]int, len(*raw.Shape))
	n := uint64(dt.Size())
	for i, s := range *raw.Shape {
		d, err := strconv.ParseUint(string(s), 10, 63)
		if err != nil {
			return TensorInfo{}, fmt.Errorf("tensor %q: dimension %d is %s, want a non-negative integer", name, i, s)
		}
		if d > math.MaxInt {
			return TensorInfo{}, fmt.Errorf("tensor %q: dimension %d is %d, too large", name, i, d)
		}
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > 1<<62 {
			return TensorInfo{}, fmt.Errorf("tensor %q: shape %s × %s bytes overflows", name, rawList(*raw.Shape), dt)
		}
		n = lo
		shape[i] = int(d)
	}
	offs := *raw.DataOffsets
	if len(offs) != 2 {
		return TensorInfo{}, fmt.Errorf("tensor %q: data_offsets has %d values, want 2", name, len(offs))
	}
	var be [2]uint64
	for i, o := range offs {
		v, err := strconv.ParseUint(string(o), 10, 63)
		if err != nil {
			return TensorInfo{}, fmt.Errorf("tensor %q: data_offsets[%d] is %s, want a non-negative integer", name, i, o)
		}
		be[i] = v
	}
	if be[0] > be[1] {
		return TensorInfo{}, fmt.Errorf("tensor %q: data_offsets [%d, %d] end before they begin", name, be[0], be[1])
	}
	if be[1]-be[0] != n {
		return TensorInfo{}, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, data_offsets [%d, %d] hold %d",
			name, shape, dt, n, be[0], be[1], be[1]-be[0])
	}
	return TensorInfo{Name: name, DType: dt, Shape: shape, Offset: int64(be[0]), Size: int64(n)}, nil
}

// rawList formats JSON values as "[a b c]".
func rawList(vs []json.RawMessage) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = string(v)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// checkLayout requires the tensors, sorted by offset, to tile [0, dataLen)
// exactly.
func checkLayout(h *header, dataLen int64) error {
	order := make([]TensorInfo, 0, len(h.tensors))
	for _, t := range h.tensors {
		order = append(order, t)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.Offset != b.Offset {
			return a.Offset < b.Offset
		}
		if a.Size != b.Size {
			return a.Size < b.Size
		}
		return a.Name < b.Name
	})
	var pos int64
	prev := ""
	for _, t := range order {
		end := t.Offset + t.Size
		switch {
		case end > dataLen:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the data section of %d bytes", t.Name, t.Offset, end, dataLen)
		case t.Offset < pos:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q ending at %d", t.Name, t.Offset, end, prev, pos)
		case t.Offset > pos:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] leave a gap of %d bytes after offset %d", t.Name, t.Offset, end, t.Offset-pos, pos)
		}
		pos, prev = end, t.Name
	}
	if pos != dataLen {
		return fmt.Errorf("data section has %d bytes but tensors cover only %d", dataLen, pos)
	}
	return nil
}
