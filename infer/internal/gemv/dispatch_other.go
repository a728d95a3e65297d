//go:build !amd64 || purego

package gemv

var hasAsm = false

func dot1F32AVX2(x []float32, w []float32) float32 { panic("gemv: no assembly") }

func dot1BF16AVX2(x []float32, w []uint16) float32 { panic("gemv: no assembly") }
