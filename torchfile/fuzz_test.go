package torchfile_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-dev/attn/torchfile"
)

// fixtures returns every checkpoint in testdata/torchfile.
func fixtures(f *testing.F) [][]byte {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	paths = append(paths, filepath.Join(dir, "gpt2", "pytorch_model.bin"))
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkDecoded fails t if a checkpoint that decoded breaks the
// invariants every caller relies on.
func checkDecoded(t *testing.T, sd *torchfile.StateDict, size int) {
	var total int
	for _, x := range sd.Tensors {
		n := x.DType.Size()
		for _, d := range x.Shape {
			n *= d
		}
		if n != len(x.Data) || n < 0 {
			t.Fatalf("tensor %q: shape %v of %s with %d bytes", x.Name, x.Shape, x.DType, len(x.Data))
		}
		total += n
	}
	if total > 8*size+16<<20 {
		t.Fatalf("%d bytes of tensors from a %d-byte file", total, size)
	}
}

// FuzzRead feeds whole files (zip and legacy layouts) to Decode: it must
// return an error or tensors whose bytes match their shapes, never panic,
// hang or allocate without bound.
func FuzzRead(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := torchfile.Decode(bytes.NewReader(data), int64(len(data)))
		if err == nil {
			checkDecoded(t, sd, len(data))
		}
	})
}

// FuzzPickle mutates the pickle alone (a zip's checksums would otherwise
// make most mutations of a zip checkpoint dead ends), with one 16-byte
// storage "0" beside it.
func FuzzPickle(f *testing.F) {
	for _, b := range fixtures(f) {
		if z, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
			for _, e := range z.File {
				if strings.HasSuffix(e.Name, "/data.pkl") {
					if rc, err := e.Open(); err == nil {
						p, _ := io.ReadAll(rc)
						f.Add(p)
					}
				}
			}
		}
	}
	f.Add([]byte(pOrderedDict + "X\x01\x00\x00\x00w" + pRebuild + "(" + pStorage + "K\x00K\x02\x85K\x01\x85\x89)tRs."))
	storage := make([]byte, 16)
	f.Fuzz(func(t *testing.T, pkl []byte) {
		b := zipWith(t, pkl, map[string][]byte{"0": storage})
		sd, err := torchfile.Decode(bytes.NewReader(b), int64(len(b)))
		if err == nil {
			checkDecoded(t, sd, len(b))
		}
	})
}
