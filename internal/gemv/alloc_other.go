//go:build !linux

package gemv

// allocBF16 has no huge-page allocation off Linux: NewBF16 uses the heap.
func allocBF16(owner *Matrix, n int) []BF16 { return nil }
