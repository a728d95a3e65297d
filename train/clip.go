package train

import (
	"fmt"
	"math"

	"github.com/attn-dev/attn/autograd"
)

// GradNorm returns the global L2 norm of the gradients of params,
// √(Σ g²) over every element of every gradient, accumulated in float64.
// Parameters without a gradient contribute nothing.
func GradNorm(params []*autograd.Var) float64 {
	var sum float64
	for _, p := range params {
		if p == nil || p.Grad == nil {
			continue
		}
		for _, g := range p.Grad.Contiguous().Data() {
			sum += float64(g) * float64(g)
		}
	}
	return math.Sqrt(sum)
}

// ClipGradNorm is torch.nn.utils.clip_grad_norm_ (L2): it returns the
// global gradient norm N of params and, when maxNorm/(N + 1e-6) < 1,
// multiplies every gradient by that factor, so the clipped norm is just
// under maxNorm. A non-finite norm (a NaN or Inf gradient) is reported as
// an error and leaves the gradients untouched, so the caller can skip the
// step.
func ClipGradNorm(params []*autograd.Var, maxNorm float64) (float64, error) {
	if !(maxNorm > 0) || math.IsInf(maxNorm, 0) {
		return 0, fmt.Errorf("train: gradient clipping: max norm %g must be finite and positive", maxNorm)
	}
	total := GradNorm(params)
	if math.IsNaN(total) || math.IsInf(total, 0) {
		return total, fmt.Errorf("train: gradient clipping: gradient norm is %g", total)
	}
	coef := maxNorm / (total + 1e-6)
	if coef >= 1 {
		return total, nil
	}
	c := float32(coef)
	for _, p := range params {
		if p == nil || p.Grad == nil {
			continue
		}
		p.Grad.Scale(c)
	}
	return total, nil
}
