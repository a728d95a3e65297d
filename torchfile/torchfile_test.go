package torchfile_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/torchfile"
)

const dir = "../testdata/torchfile"

// expected reads name.json: the tensors torch.load sees in name.bin.
func expected(t *testing.T, name string) []safetensors.Tensor {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tensors []struct {
			Name  string
			DType safetensors.DType
			Shape []int
			Data  string
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []safetensors.Tensor
	for _, e := range doc.Tensors {
		b, err := base64.StdEncoding.DecodeString(e.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, safetensors.Tensor{Name: e.Name, DType: e.DType, Shape: e.Shape, Data: b})
	}
	return out
}

// sameTensors fails t unless got holds exactly want, in order, bit for bit.
func sameTensors(t *testing.T, got, want []safetensors.Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d tensors, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) {
			t.Errorf("tensor %d: %s %s %v, want %s %s %v", i, g.Name, g.DType, g.Shape, w.Name, w.DType, w.Shape)
			continue
		}
		if !bytes.Equal(g.Data, w.Data) {
			t.Errorf("tensor %s: data % x, want % x", w.Name, g.Data, w.Data)
		}
	}
}

func TestReadMatchesTorch(t *testing.T) {
	for _, name := range []string{
		"mixed",        // every dtype, views, transposes, stride 0, tied, empty, scalar
		"mixed_legacy", // the same, _use_new_zipfile_serialization=False
		"mixed_proto4", // the same, pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL)
		"module",       // a Module's state_dict (_metadata, buffers)
		"nested",       // dicts of dicts: names joined with "."
	} {
		t.Run(name, func(t *testing.T) {
			sd, err := torchfile.Read(filepath.Join(dir, name+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			sameTensors(t, sd.Tensors, expected(t, name))
		})
	}
}

func TestRefused(t *testing.T) {
	for _, c := range []struct {
		file, want string
		refused    bool // wraps ErrRefused: a global outside the allowed few
	}{
		{"evil_system.bin", "global posix.system is refused", true},
		{"evil_eval.bin", "global __builtin__.eval is refused", true},
		{"evil_system_legacy.bin", "global posix.system is refused", true},
		{"evil_eval_proto4.bin", "global builtins.eval is refused", true},
		{"list.bin", "holds a list, not a state dict", false},
		{"not_tensor.bin", `entry "step" is an int, not a tensor`, false},
		{"truncated.bin", "truncated or corrupt", false},
		{"truncated_legacy.bin", "runs past the end of the data", false},
		{"view_past_end.bin", "a view with offset 2, size [2 2] and stride [2 1] reaches past its 4 elements", false},
		{"storage_short.bin", "holds 16 bytes, the pickle declares 8 elements of F32 (32 bytes)", false},
		{"storage_huge.bin", "larger than the file", false},
		{"storage_missing.bin", `storage "0": no entry archive/data/0`, false},
		{"storage_compressed.bin", "is compressed", false},
		{"storage_two_types.bin", `storage "0" is referred to as 4×F32 and as 4×I32`, false},
		{"stride_zero_bomb.bin", `tensor "w": its 4398046511104 bytes`, false},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join(dir, c.file)
			_, err := torchfile.Read(path)
			if err == nil {
				t.Fatal("read without error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s and say %q", err, path, c.want)
			}
			if errors.Is(err, torchfile.ErrRefused) != c.refused {
				t.Errorf("errors.Is(err, ErrRefused) = %v, want %v", !c.refused, c.refused)
			}
		})
	}
}

// zipWith lays pkl out as torch.save's zip with the given storages.
func zipWith(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err == nil {
			_, err = w.Write(b)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	add("archive/data.pkl", pkl)
	for k, b := range storages {
		add("archive/data/"+k, b)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Pickle snippets for hand-made cases.
const (
	pOrderedDict = "\x80\x02ccollections\nOrderedDict\n)R"
	pRebuild     = "ctorch._utils\n_rebuild_tensor_v2\n"
	pStorage     = "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ"
)

func TestHostilePickles(t *testing.T) {
	four := make([]byte, 16)
	for _, c := range []struct {
		name, pkl, want string
	}{
		{"empty", "", "unexpected end of data"},
		{"no stop", pOrderedDict, "unexpected end of data"},
		{"underflow", "\x80\x02.", "stack underflow"},
		{"pop through mark", "\x80\x02N(0.", "stack underflow"},
		{"unknown opcode", "\x80\x02I42\n.", `(opcode 0x49): 'I' is not an opcode a state dict needs`},
		{"protocol 1", "\x80\x01}.", "pickle protocol 1 is not supported"},
		{"memo miss", "\x80\x02h\x07.", "memo entry 7 was never stored"},
		{"string past end", "\x80\x02X\xff\xff\xff\x7f", "length 2147483647 runs past the end"},
		{"long string8", "\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\xff", "runs past the end"},
		{"invalid utf8", "\x80\x02X\x01\x00\x00\x00\xff.", "not valid UTF-8"},
		{"long global", "\x80\x02c" + strings.Repeat("a", 300) + "\nb\n.", "longer than 256"},
		{"exec", "\x80\x02cbuiltins\nexec\n.", "global builtins.exec is refused"},
		{"binary global", "\x80\x02cos\x00\nsystem\n.", `global "os\x00.system" is refused`},
		{"stack global not strings", "\x80\x02NN\x93.", "STACK_GLOBAL of None and None"},
		{"stack global subprocess", "\x80\x02X\x0a\x00\x00\x00subprocessX\x05\x00\x00\x00Popen\x93.", "global subprocess.Popen is refused"},
		{"reduce non-global", "\x80\x02N)R.", "REDUCE calls a None"},
		{"storage called", "\x80\x02ctorch\nFloatStorage\n)R.", "is not callable"},
		{"ordered dict args", "\x80\x02ccollections\nOrderedDict\nN\x85R.", "only OrderedDict() is supported"},
		{"setitem on list", "\x80\x02]NNs.", "SETITEM on a list"},
		{"tuple key", "\x80\x02}))N\x86N\x86s.", "dict key of type tuple"},
		{"odd setitems", "\x80\x02}(Nu.", "odd number of items"},
		{"build on tuple", "\x80\x02)}b.", "BUILD of a tuple"},
		{"persid not storage", "\x80\x02X\x01\x00\x00\x00xQ.", `persistent id "x" is not a storage reference`},
		{"persid deep tuple", "\x80\x02N" + strings.Repeat("\x85", 1<<16) + "Q.", "persistent id ((((...))))"},
		{"persid module", "\x80\x02(X\x06\x00\x00\x00moduleNNNNtQ.", "is not a storage reference"},
		{"negative numel", "\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuJ\xff\xff\xff\xfftQ.", "element count -1"},
		{"negative stride", pOrderedDict + "X\x01\x00\x00\x00w" + pRebuild + "(" + pStorage + "K\x00K\x02\x85J\xff\xff\xff\xff\x85\x89)tRs.", "stride has element -1"},
		{"rank mismatch", pOrderedDict + "X\x01\x00\x00\x00w" + pRebuild + "(" + pStorage + "K\x00K\x02\x85)\x89)tRs.", "differ in length"},
		{"offset past end", pOrderedDict + "X\x01\x00\x00\x00w" + pRebuild + "(" + pStorage + "K\x04)))\x89)tRs.", "reaches past its 4 elements"},
		{"huge dims", pOrderedDict + "X\x01\x00\x00\x00w" + pRebuild + "(" + pStorage + "K\x00\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40\x86K\x01K\x01\x86\x89)tRs.", "overflows"},
		{"int key", "\x80\x02}K\x01Ns.", "key 1 in \"\" is not a string"},
		{"self nesting", "\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.", `the dict at "a." appears twice`},
		{"dict lattice", lattice(60), "appears twice"},
		{"deep nesting", "\x80\x02" + strings.Repeat("}X\x01\x00\x00\x00a", 70) + "}" + strings.Repeat("s", 70) + ".", "nested deeper than 64"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := zipWith(t, []byte(c.pkl), map[string][]byte{"0": four})
			_, err := torchfile.Decode(bytes.NewReader(b), int64(len(b)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

// lattice is a pickle of n dicts, each holding the previous one under
// two keys: 2^n paths through n dicts.
func lattice(n int) string {
	var b strings.Builder
	b.WriteString("\x80\x02}q\x00")
	for i := 1; i <= n; i++ {
		prev := string(rune(i - 1))
		b.WriteString("}q" + string(rune(i)) + "X\x01\x00\x00\x00ah" + prev + "sX\x01\x00\x00\x00bh" + prev + "s")
	}
	b.WriteString(".")
	return b.String()
}

func TestNotACheckpoint(t *testing.T) {
	tar := make([]byte, 1024)
	copy(tar[257:], "ustar")
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"text", []byte("hello world"), "not a PyTorch checkpoint"},
		{"tar", tar, "tar checkpoint (PyTorch before 0.4)"},
		{"zip without pickle", func() []byte {
			var buf bytes.Buffer
			z := zip.NewWriter(&buf)
			z.Create("x/other")
			z.Close()
			return buf.Bytes()
		}(), "without a data.pkl"},
		{"legacy wrong magic", []byte("\x80\x02K\x01."), "magic number 1 is not torch.save's"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := torchfile.Decode(bytes.NewReader(c.data), int64(len(c.data)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

func TestConvert(t *testing.T) {
	for _, name := range []string{"mixed", "mixed_legacy", "module"} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "model.safetensors")
			if err := torchfile.Convert(filepath.Join(dir, name+".bin"), out); err != nil {
				t.Fatal(err)
			}
			f, err := safetensors.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if md := f.Metadata(); md["format"] != "pt" {
				t.Errorf("metadata %v, want format pt", md)
			}
			want := expected(t, name)
			if got := f.Names(); len(got) != len(want) {
				t.Errorf("%d tensors, want %d", len(got), len(want))
			}
			for _, w := range want {
				b, info, err := f.Bytes(w.Name)
				if err != nil {
					t.Fatal(err)
				}
				if info.DType != w.DType || !slices.Equal(info.Shape, w.Shape) || !bytes.Equal(b, w.Data) {
					t.Errorf("%s: %s %v % x, want %s %v % x", w.Name, info.DType, info.Shape, b, w.DType, w.Shape, w.Data)
				}
			}
		})
	}
}

func TestConvertRefusedWritesNothing(t *testing.T) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "model.safetensors")
	err := torchfile.Convert(filepath.Join(dir, "evil_system.bin"), out)
	if !errors.Is(err, torchfile.ErrRefused) {
		t.Fatalf("error %v, want a refusal", err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("left %v behind", ents)
	}
	if err := torchfile.Convert(filepath.Join(dir, "mixed.bin"), filepath.Join(tmp, "no", "such", "dir.safetensors")); err == nil {
		t.Error("converted into a directory that does not exist")
	}
}

func TestOpen(t *testing.T) {
	src, err := torchfile.Open(filepath.Join(dir, "mixed.bin"), filepath.Join(dir, "nested.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, shape, err := src.Float32("f32.t")
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := src.Float32("f32")
	if !slices.Equal(shape, []int{4, 3}) || got[1] != a[4] || got[3] != a[1] {
		t.Errorf("f32.t = %v %v, want the transpose of %v", shape, got, a)
	}
	if err := src.Evict("f32"); err != nil {
		t.Fatal(err)
	}
	if again, _, _ := src.Float32("f32"); !slices.Equal(again, a) {
		t.Error("Evict of an in-memory source changed its data")
	}
	if _, err := torchfile.Open(filepath.Join(dir, "mixed.bin"), filepath.Join(dir, "mixed_legacy.bin")); err == nil || !strings.Contains(err.Error(), `tensor "f32" is in both`) {
		t.Errorf("error %v for two files with the same names", err)
	}
}
