//go:build !amd64 || purego

package gemv

var hasAsm = false

func dot1BF16AVX2(x []float32, w []uint16) float32 { panic("gemv: no assembly") }
