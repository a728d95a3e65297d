package train

import (
	"math"

	"github.com/attn-dev/attn/internal/kernels"
)

// adamwMoments holds the optimizer state of one parameter: the running
// first moment m, the running second moment v and the number of steps
// taken (torch keeps the step per parameter too).
type adamwMoments struct {
	m, v []float32
	step int
}

// adamwUpdate applies one AdamW step to p in place, in torch's
// _single_tensor_adamw order and float32 arithmetic:
//
//	t  += 1
//	p  *= 1 − lr·wd                      (decoupled weight decay)
//	m   = β1·m + (1−β1)·g
//	v   = β2·v + (1−β2)·g²
//	p  −= lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε)
//
// The scalars are computed in float64 and rounded once to float32, as torch
// does with Python floats applied to float32 tensors; the loop is
// kernels.AdamW (vectorised, equal to its scalar reference bit for bit).
func adamwUpdate(p, g []float32, st *adamwMoments, lr, wd, beta1, beta2, eps float64) {
	st.step++
	bc1 := 1 - math.Pow(beta1, float64(st.step))
	bc2 := 1 - math.Pow(beta2, float64(st.step))
	kernels.AdamW(p, g, st.m, st.v, kernels.AdamWConsts{
		Beta1: float32(beta1), OneMinusBeta1: float32(1 - beta1),
		Beta2: float32(beta2), OneMinusBeta2: float32(1 - beta2),
		BC2Sqrt: float32(math.Sqrt(bc2)), NegStep: float32(-lr / bc1),
		Eps: float32(eps), Decay: float32(1 - lr*wd),
	})
}
