package safetensors

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkOpenFloat32 opens a file of 64 × 1 MiB F32 tensors and views
// every tensor: with the mapping this costs the header parse, not the data.
func BenchmarkOpenFloat32(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.safetensors")
	var ts []Tensor
	vals := make([]float32, 1<<18)
	for i := range 64 {
		ts = append(ts, F32(fmt.Sprintf("layer.%02d.weight", i), []int{512, 512}, vals))
	}
	if err := Write(path, ts, nil); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 << 20)
	b.ResetTimer()
	for range b.N {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range f.Names() {
			if _, _, err := f.Float32(n); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}

// BenchmarkWrite writes 16 MiB of F32 tensors atomically (includes fsync).
func BenchmarkWrite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "w.safetensors")
	var ts []Tensor
	vals := make([]float32, 1<<18)
	for i := range 16 {
		ts = append(ts, F32(fmt.Sprintf("t%02d", i), []int{1 << 18}, vals))
	}
	b.SetBytes(16 << 20)
	b.ResetTimer()
	for range b.N {
		if err := Write(path, ts, nil); err != nil {
			b.Fatal(err)
		}
	}
}
