package torchfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/attn-dev/attn/torchfile"
)

// BenchmarkRead reads the tiny GPT-2 checkpoint (122 KB, 29 tensors):
// the fixed cost per file (zip directory, pickle, materialising).
func BenchmarkRead(b *testing.B) {
	path := filepath.Join(dir, "gpt2", "pytorch_model.bin")
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	for b.Loop() {
		if _, err := torchfile.Read(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConvert adds writing the safetensors file (fsync included).
func BenchmarkConvert(b *testing.B) {
	path := filepath.Join(dir, "mixed.bin")
	out := filepath.Join(b.TempDir(), "out.safetensors")
	for b.Loop() {
		if err := torchfile.Convert(path, out); err != nil {
			b.Fatal(err)
		}
	}
}
