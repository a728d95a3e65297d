package tensor

import "testing"

// BenchmarkContiguousTranspose copies a transposed 1024×768 view into a
// contiguous arena tensor (the copy an op makes of a strided input).
func BenchmarkContiguousTranspose(b *testing.B) {
	x := seq(768, 1024).Transpose(0, 1)
	a := NewArena()
	b.SetBytes(int64(4 * x.Len()))
	b.ReportAllocs()
	for b.Loop() {
		a.Contiguous(x)
		a.Reset()
	}
}

// BenchmarkAdd is dst = a + b on contiguous 1024×768 tensors.
func BenchmarkAdd(b *testing.B) {
	x, y, dst := seq(1024, 768), seq(1024, 768), New(1024, 768)
	b.SetBytes(int64(4 * x.Len()))
	b.ReportAllocs()
	for b.Loop() {
		Add(dst, x, y)
	}
}
