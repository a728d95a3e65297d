package gemv

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMulVec measures the GPT-2-small LM head (50257×768), the
// largest product of a decode step; bytes/s is the weights read.
func BenchmarkMulVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, bf := range []bool{false, true} {
		name := "f32"
		if bf {
			name = "bf16"
		}
		b.Run(name, func(b *testing.B) {
			w := randMatrix(rng, 50257, 768, bf)
			x := make([]float32, 768)
			y := make([]float32, 50257)
			b.SetBytes(w.Bytes())
			for b.Loop() {
				MulVec(y, w, x, nil)
			}
		})
	}
}
