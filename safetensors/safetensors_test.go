package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rt.safetensors")
	u8 := Tensor{Name: "mask", DType: DTypeU8, Shape: []int{3}, Data: []byte{1, 0, 1}}
	tensors := []Tensor{
		F32("b.weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, -6}),
		u8,
		I64("ids", []int{1, 4}, []int64{0, -1, 1 << 40, 7}),
		F32("a.scalar", nil, []float32{0.25}),
		F32("empty", []int{0, 5}, nil),
	}
	md := map[string]string{"format": "pt", "note": "ü"}
	if err := Write(path, tensors, md); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := f.Names(), []string{"a.scalar", "b.weight", "empty", "ids", "mask"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
	if got := f.Metadata(); !reflect.DeepEqual(got, md) {
		t.Errorf("Metadata = %v, want %v", got, md)
	}
	v, shape, err := f.Float32("b.weight")
	if err != nil || !reflect.DeepEqual(v, []float32{1, 2, 3, 4, 5, -6}) || !reflect.DeepEqual(shape, []int{2, 3}) {
		t.Errorf("Float32(b.weight) = %v %v %v", v, shape, err)
	}
	v, shape, err = f.Float32("a.scalar")
	if err != nil || !reflect.DeepEqual(v, []float32{0.25}) || len(shape) != 0 {
		t.Errorf("Float32(a.scalar) = %v %v %v", v, shape, err)
	}
	v, shape, err = f.Float32("empty")
	if err != nil || len(v) != 0 || !reflect.DeepEqual(shape, []int{0, 5}) {
		t.Errorf("Float32(empty) = %v %v %v", v, shape, err)
	}
	ids, _, err := f.Int64("ids")
	if err != nil || !reflect.DeepEqual(ids, []int64{0, -1, 1 << 40, 7}) {
		t.Errorf("Int64(ids) = %v %v", ids, err)
	}
	m, _, err := f.Int64("mask")
	if err != nil || !reflect.DeepEqual(m, []int64{1, 0, 1}) {
		t.Errorf("Int64(mask) = %v %v", m, err)
	}
	if _, _, err := f.Float32("ids"); err == nil || !strings.Contains(err.Error(), `"ids"`) {
		t.Errorf("Float32 of an I64 tensor: err = %v", err)
	}
	if _, _, err := f.Float32("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tensor: err = %v, want ErrNotFound", err)
	}
	info, ok := f.Info("ids")
	if !ok || info.DType != DTypeI64 || info.Offset%8 != 0 || info.Size != 32 {
		t.Errorf("Info(ids) = %+v %v", info, ok)
	}
	// The header is padded to 8 bytes and the data section starts aligned.
	raw, _ := os.ReadFile(path)
	if n := binary.LittleEndian.Uint64(raw); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	// Writing into a returned slice never reaches the file (copy-on-write).
	v, _, _ = f.Float32("b.weight")
	v[0] = 99
	raw2, _ := os.ReadFile(path)
	if !reflect.DeepEqual(raw, raw2) {
		t.Error("writing into a returned slice changed the file")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Float32("b.weight"); err == nil {
		t.Error("Float32 after Close succeeded")
	}
}

func TestWriteRejects(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"duplicate", []Tensor{F32("x", []int{1}, []float32{1}), F32("x", []int{1}, []float32{2})}, `"x": duplicate`},
		{"short data", []Tensor{{Name: "y", DType: DTypeF32, Shape: []int{2}, Data: make([]byte, 4)}}, `"y": shape [2] of F32 needs 8 bytes, got 4`},
		{"negative dim", []Tensor{{Name: "z", DType: DTypeF32, Shape: []int{-1}}}, `"z": negative dimension`},
		{"bad dtype", []Tensor{{Name: "w", DType: "F33", Shape: []int{}}}, `"w": unknown dtype`},
		{"reserved name", []Tensor{F32(metadataKey, nil, []float32{1})}, "reserved"},
		{"empty name", []Tensor{F32("", nil, []float32{1})}, "empty name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			err := Write(path, c.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if _, serr := os.Stat(path); serr == nil {
				t.Error("a rejected Write left a file behind")
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("temporary files left behind: %v", ents)
	}
	if err := Write(dir, []Tensor{F32("x", []int{1}, []float32{1})}, nil); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Write over a directory: %v", err)
	}
}

// rawFile builds a file image from a literal header and data section.
func rawFile(hdr string, data []byte) []byte {
	b := make([]byte, 8, 8+len(hdr)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(hdr)))
	return append(append(b, hdr...), data...)
}

// adversarial lists malformed files and a fragment their error must contain.
var adversarial = []struct {
	name string
	file []byte
	want string
}{
	{"empty file", nil, "too short"},
	{"truncated length", []byte{1, 2, 3}, "too short"},
	{"header larger than file", append(binary.LittleEndian.AppendUint64(nil, 64), `{}`...), "header length 64 exceeds the 2 bytes"},
	{"absurd header length", binary.LittleEndian.AppendUint64(nil, 1<<62), "exceeds the 104857600-byte limit"},
	{"not json", rawFile(`{"a":`, nil), "not valid JSON"},
	{"not an object", rawFile(`[1,2]`, nil), "not a JSON object"},
	{"invalid utf8", rawFile("{\"\xff\":1}", nil), "UTF-8"},
	{"trailing garbage", rawFile(`{} x`, nil), "trailing data"},
	{"truncated data", rawFile(`{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, make([]byte, 8)), `"t": data_offsets [0, 16] run past the data section of 8 bytes`},
	{"out of bounds", rawFile(`{"t":{"dtype":"U8","shape":[4],"data_offsets":[100,104]}}`, make([]byte, 4)), `"t": data_offsets [100, 104] run past`},
	{"overlap", rawFile(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, make([]byte, 6)), `"b": data_offsets [2, 6] overlap tensor "a"`},
	{"gap", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`, make([]byte, 6)), `"b": data_offsets [4, 6] leave a gap of 2 bytes`},
	{"leading gap", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, make([]byte, 4)), `"a": data_offsets [2, 4] leave a gap`},
	{"uncovered tail", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, make([]byte, 5)), "tensors cover only 2"},
	{"end before begin", rawFile(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}}`, make([]byte, 4)), `"a": data_offsets [4, 2] end before they begin`},
	{"shape product overflow", rawFile(`{"big":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, make([]byte, 4)), `"big": shape [4294967296 4294967296] × F32 bytes overflows`},
	{"2^60 elements", rawFile(`{"huge":{"dtype":"F32","shape":[1152921504606846976],"data_offsets":[0,4]}}`, make([]byte, 4)), `"huge": shape [1152921504606846976] of F32 needs 4611686018427387904 bytes`},
	{"negative dim", rawFile(`{"neg":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,0]}}`, nil), `"neg": dimension 0 is -1`},
	{"fractional dim", rawFile(`{"fr":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}}`, nil), `"fr": dimension 0 is 1.5`},
	{"unknown dtype", rawFile(`{"u":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `"u": unknown dtype "F33"`},
	{"wrong dtype size", rawFile(`{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `"w": shape [1] of I64 needs 8 bytes, data_offsets [0, 4] hold 4`},
	{"missing field", rawFile(`{"m":{"dtype":"F32","shape":[1]}}`, nil), `"m": entry needs dtype, shape and data_offsets`},
	{"three offsets", rawFile(`{"o":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, make([]byte, 1)), `"o": data_offsets has 3 values`},
	{"negative offset", rawFile(`{"o":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, nil), `"o": data_offsets[0] is -1`},
	{"quoted dim", rawFile(`{"q":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}`, make([]byte, 1)), `"q": dimension 0 is "1"`},
	{"key case", rawFile(`{"k":{"DTYPE":"U8","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), `"k": entry needs dtype, shape and data_offsets`},
	{"dtype not string", rawFile(`{"k":{"dtype":5,"shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), `"k": bad entry: dtype:`},
	{"entry not object", rawFile(`{"e":7}`, nil), `"e": bad entry`},
	{"duplicate name", rawFile(`{"d":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"d":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, make([]byte, 2)), `"d": duplicate name`},
	{"metadata not strings", rawFile(`{"__metadata__":{"a":1}}`, nil), "__metadata__: must be an object of strings"},
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	for i, c := range adversarial {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if err := os.WriteFile(path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("case %d: Open succeeded", i)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v\nwant it to contain %q and the path", err, c.want)
			}
		})
	}
}

// TestOpenRejectsWithoutAllocating checks a file claiming a 2^60-element
// tensor and one claiming a 2^62-byte header cost no large allocation.
func TestOpenRejectsWithoutAllocating(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"2^60 elements", "absurd header length", "header larger than file"} {
		var file []byte
		for _, c := range adversarial {
			if c.name == name {
				file = c.file
			}
		}
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		var before, after runtimeMem
		before.read()
		for range 10 {
			if _, err := Open(path); err == nil {
				t.Fatalf("%s: Open succeeded", name)
			}
		}
		after.read()
		if d := after.total - before.total; d > 1<<20 {
			t.Errorf("%s: 10 rejected Opens allocated %d bytes", name, d)
		}
	}
}

func TestSmallFixture(t *testing.T) {
	f, err := Open("testdata/small.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := os.ReadFile("testdata/small.expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]float64
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		got, _, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(w) {
			t.Fatalf("%s: %d values, want %d", name, len(got), len(w))
		}
		for i := range w {
			if got[i] != float32(w[i]) || math.Signbit(float64(got[i])) != math.Signbit(w[i]) {
				t.Errorf("%s[%d] = %g, want %g", name, i, got[i], w[i])
			}
		}
	}
	ints := []struct {
		name  string
		want  []int64
		shape []int
	}{
		{"ids", []int64{0, -1, 1 << 40}, []int{1, 3}},
		{"i32", []int64{7, -8}, []int{2}},
		{"flag", []int64{1, 0, 1}, []int{3}},
	}
	for _, c := range ints {
		got, shape, err := f.Int64(c.name)
		if err != nil || !reflect.DeepEqual(got, c.want) || !reflect.DeepEqual(shape, c.shape) {
			t.Errorf("Int64(%s) = %v %v %v, want %v %v", c.name, got, shape, err, c.want, c.shape)
		}
	}
	if s, _, err := f.Float32("scalar"); err != nil || len(s) != 1 || s[0] != 0.5 {
		t.Errorf("scalar = %v %v", s, err)
	}
	if md := f.Metadata(); md["made_by"] != "make_small.py" {
		t.Errorf("Metadata = %v", md)
	}
}

func TestConvertUnaligned(t *testing.T) {
	buf := make([]byte, 13)
	b := buf[1:13] // misaligned for float32
	want := []float32{1.5, -2, float32(math.Inf(1))}
	for i, v := range want {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	got, err := toFloat32(b, DTypeF32, 3)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("toFloat32 unaligned = %v %v", got, err)
	}
}

func TestF16ToFloat32(t *testing.T) {
	cases := []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 5.960464477539063e-08},
		{0x03ff, 6.097555160522461e-05}, {0x0400, 6.103515625e-05}, {0x8000, float32(math.Copysign(0, -1))},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))}, {0x3555, 0.333251953125},
	}
	for _, c := range cases {
		got := F16ToFloat32(c.h)
		if got != c.want || math.Signbit(float64(got)) != math.Signbit(float64(c.want)) {
			t.Errorf("F16ToFloat32(%#04x) = %g, want %g", c.h, got, c.want)
		}
	}
	if g := F16ToFloat32(0x7e00); !math.IsNaN(float64(g)) {
		t.Errorf("F16ToFloat32(NaN) = %g", g)
	}
}

func TestRealCheckpoint(t *testing.T) {
	path := "../../shared/data/tiny-random-gpt2/model.safetensors"
	if _, err := os.Stat(path); err != nil {
		path = "/work/shared/data/tiny-random-gpt2/model.safetensors"
		if _, err := os.Stat(path); err != nil {
			t.Skip("tiny-random-gpt2 checkpoint not present")
		}
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Names()) == 0 {
		t.Fatal("no tensors")
	}
	for _, n := range f.Names() {
		info, _ := f.Info(n)
		if info.DType != DTypeF32 {
			continue
		}
		v, shape, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(v)) != info.NumElements() || len(shape) != len(info.Shape) {
			t.Errorf("%s: %d values for shape %v", n, len(v), shape)
		}
	}
}

func TestSharded(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "model-00001-of-00002.safetensors"), []Tensor{F32("a", []int{2}, []float32{1, 2})}, nil); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(dir, "model-00002-of-00002.safetensors"), []Tensor{F32("b", []int{1}, []float32{3}), I64("c", []int{1}, []int64{4})}, nil); err != nil {
		t.Fatal(err)
	}
	index := `{"metadata":{"total_size":20},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}`
	if err := os.WriteFile(filepath.Join(dir, IndexFile), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSharded(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Names(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("Names = %v", got)
	}
	if v, _, err := s.Float32("b"); err != nil || !reflect.DeepEqual(v, []float32{3}) {
		t.Errorf("Float32(b) = %v %v", v, err)
	}
	if v, _, err := s.Int64("c"); err != nil || !reflect.DeepEqual(v, []int64{4}) {
		t.Errorf("Int64(c) = %v %v", v, err)
	}
	if _, _, err := s.Float32("zz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if md := s.Metadata(); md["total_size"] != "20" {
		t.Errorf("Metadata = %v", md)
	}

	bad := []struct{ name, index, want string }{
		{"missing tensor", `{"weight_map":{"a":"model-00001-of-00002.safetensors","x":"model-00001-of-00002.safetensors"}}`, `"x": not in shard`},
		{"unmapped tensor", `{"weight_map":{"b":"model-00002-of-00002.safetensors"}}`, `"c" in shard model-00002-of-00002.safetensors is not mapped`},
		{"path escape", `{"weight_map":{"a":"../x.safetensors"}}`, `shard "../x.safetensors" is not a file name`},
		{"missing shard", `{"weight_map":{"a":"nope.safetensors"}}`, "nope.safetensors"},
		{"empty", `{}`, "empty or missing weight_map"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name+".json")
			if err := os.WriteFile(p, []byte(c.index), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := OpenSharded(p)
			if err == nil {
				s.Close()
				t.Fatal("OpenSharded succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}

	single := t.TempDir()
	if err := Write(filepath.Join(single, "model.safetensors"), []Tensor{F32("a", nil, []float32{1})}, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{single, filepath.Join(single, "model.safetensors")} {
		s1, err := OpenSharded(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s1.(*File); !ok {
			t.Errorf("OpenSharded(%s) = %T, want *File", p, s1)
		}
		s1.Close()
	}
}

// TestZeroCopy checks aligned F32 and I64 tensors are views of the mapping:
// two reads share their first element.
func TestZeroCopy(t *testing.T) {
	if !littleEndian {
		t.Skip("big-endian host converts")
	}
	path := filepath.Join(t.TempDir(), "z.safetensors")
	if err := Write(path, []Tensor{F32("w", []int{3}, []float32{1, 2, 3}), I64("i", []int{2}, []int64{4, 5})}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, _, _ := f.Float32("w")
	b, _, _ := f.Float32("w")
	if &a[0] != &b[0] {
		t.Error("Float32 of an aligned F32 tensor copied")
	}
	x, _, _ := f.Int64("i")
	y, _, _ := f.Int64("i")
	if &x[0] != &y[0] {
		t.Error("Int64 of an aligned I64 tensor copied")
	}
}

func FuzzOpen(f *testing.F) {
	for _, c := range adversarial {
		f.Add(c.file)
	}
	good, err := Encode([]Tensor{F32("a", []int{2}, []float32{1, 2}), I64("b", nil, []int64{3})}, map[string]string{"k": "v"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.safetensors")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Open(path)
		if err != nil {
			return
		}
		defer file.Close()
		for _, n := range file.Names() {
			info, _ := file.Info(n)
			if v, _, err := file.Float32(n); err == nil && int64(len(v)) != info.NumElements() {
				t.Fatalf("%s: %d values for %d elements", n, len(v), info.NumElements())
			}
			if v, _, err := file.Int64(n); err == nil && int64(len(v)) != info.NumElements() {
				t.Fatalf("%s: %d values for %d elements", n, len(v), info.NumElements())
			}
		}
	})
}

// TestModelFixtures reads every tensor of the committed model goldens
// (written by tools/golden/models.py, a separate implementation of the
// format) and checks the layouts the model loaders rely on.
func TestModelFixtures(t *testing.T) {
	paths, err := filepath.Glob("../testdata/models/*/*.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.Glob("../testdata/models/real/*/*.safetensors")
	paths = append(paths, real...)
	if len(paths) == 0 {
		t.Skip("no model fixtures")
	}
	for _, p := range paths {
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range f.Names() {
			info, _ := f.Info(n)
			var got int
			switch info.DType {
			case DTypeF32:
				v, _, err := f.Float32(n)
				if err != nil {
					t.Fatal(err)
				}
				got = len(v)
			case DTypeI64:
				v, _, err := f.Int64(n)
				if err != nil {
					t.Fatal(err)
				}
				got = len(v)
			default:
				t.Errorf("%s: %s: unexpected dtype %s", p, n, info.DType)
			}
			if int64(got) != info.NumElements() {
				t.Errorf("%s: %s: %d values for shape %v", p, n, got, info.Shape)
			}
		}
		if strings.Contains(p, "gpt2-hub-layout") {
			if info, ok := f.Info("h.0.attn.masked_bias"); !ok || len(info.Shape) != 0 {
				t.Errorf("%s: masked_bias = %+v, want a 0-d tensor", p, info)
			}
		}
		if md := f.Metadata(); md["format"] != "pt" {
			t.Errorf("%s: metadata %v, want format=pt", p, md)
		}
		f.Close()
	}
}

// TestFill checks that tensors given by Fill write the same file, through
// Write and Encode, as the same tensors given by Data, and that a Fill
// error fails the write without leaving a file.
func TestFill(t *testing.T) {
	data := []Tensor{
		F32("a", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		I64("b", []int{2}, []int64{-1, 1 << 40}),
		{Name: "empty", DType: DTypeF16, Shape: []int{0, 4}, Data: []byte{}},
	}
	lazy := make([]Tensor, len(data))
	for i, x := range data {
		lazy[i] = Tensor{Name: x.Name, DType: x.DType, Shape: x.Shape, Fill: func(dst []byte) error {
			if len(dst) != len(x.Data) {
				return fmt.Errorf("dst of %d bytes, want %d", len(dst), len(x.Data))
			}
			copy(dst, x.Data)
			return nil
		}}
	}
	dir := t.TempDir()
	var files [2][]byte
	for i, ts := range [][]Tensor{data, lazy} {
		path := filepath.Join(dir, fmt.Sprint(i))
		if err := Write(path, ts, map[string]string{"k": "v"}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := Encode(ts, map[string]string{"k": "v"})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(img, b) {
			t.Errorf("Encode and Write differ for tensors %d", i)
		}
		files[i] = b
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("Fill wrote a different file than Data")
	}
	boom := errors.New("boom")
	bad := append(lazy[:1:1], Tensor{Name: "c", DType: DTypeF32, Shape: []int{1}, Fill: func([]byte) error { return boom }})
	path := filepath.Join(dir, "bad.safetensors")
	if err := Write(path, bad, nil); !errors.Is(err, boom) || !strings.Contains(err.Error(), `tensor "c"`) {
		t.Errorf("error %v, want boom naming tensor c", err)
	}
	if _, err := Encode(bad, nil); !errors.Is(err, boom) {
		t.Errorf("Encode error %v, want boom", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("a failed write left files behind: %v", ents)
	}
}
