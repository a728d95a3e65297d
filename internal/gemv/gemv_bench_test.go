package gemv

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkMulVec measures the GPT-2-small LM head (50257×768), the
// largest product of a decode step, and the attention projection and FFN
// products (768×768, 3072×768) of about 0.1 ms each, whose speed depends on
// how fast the workers join a loop; bytes/s is the weights read.
func BenchmarkMulVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rows := range []int{50257, 768, 3072} {
		for _, bf := range []bool{false, true} {
			name := fmt.Sprintf("%dx768/f32", rows)
			if bf {
				name = fmt.Sprintf("%dx768/bf16", rows)
			}
			b.Run(name, func(b *testing.B) {
				w := randMatrix(rng, rows, 768, bf)
				x := make([]float32, 768)
				y := make([]float32, rows)
				b.SetBytes(w.Bytes())
				for b.Loop() {
					MulVec(y, w, x, nil)
				}
			})
		}
	}
}
