//go:build !amd64 || purego

package gemv

var hasAsm = false

func dot4F32AVX2(x []float32, w []float32, ldw int, out *[4]float32) { panic("gemv: no assembly") }

func dot4BF16AVX2(x []float32, w []uint16, ldw int, out *[4]float32) { panic("gemv: no assembly") }
