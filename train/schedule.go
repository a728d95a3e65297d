package train

import (
	"fmt"
	"math"
)

// WarmupCosine is a learning-rate multiplier: a linear warm-up from 0 to 1
// over the first Warmup steps, then a half cosine from 1 down to MinRatio
// at step Total, and MinRatio after that. With MinRatio 0 it equals
// Hugging Face's get_cosine_schedule_with_warmup; with MinRatio r, its
// cosine-with-min-lr variant (min_lr_rate r).
//
//	f(s) = s / Warmup                                   s < Warmup
//	f(s) = r + (1−r)·½·(1 + cos(π·(s−Warmup)/(Total−Warmup)))   Warmup ≤ s < Total
//	f(s) = r                                            s ≥ Total
//
// Steps count from 0 (the first optimizer step uses f(0)).
type WarmupCosine struct {
	Warmup   int
	Total    int
	MinRatio float64
}

// Validate reports a schedule that cannot be evaluated.
func (w WarmupCosine) Validate() error {
	switch {
	case w.Warmup < 0:
		return fmt.Errorf("train: schedule: warm-up %d steps is negative", w.Warmup)
	case w.Total < w.Warmup:
		return fmt.Errorf("train: schedule: total %d steps is less than warm-up %d", w.Total, w.Warmup)
	case !(w.MinRatio >= 0 && w.MinRatio <= 1):
		return fmt.Errorf("train: schedule: min ratio %g must be in [0, 1]", w.MinRatio)
	}
	return nil
}

// Factor returns f(step), the multiplier of the base learning rate; pass it
// to AdamW.Step. Call Validate once first: Factor does not check.
func (w WarmupCosine) Factor(step int) float64 {
	switch {
	case step < 0:
		return 0
	case step < w.Warmup:
		return float64(step) / float64(w.Warmup)
	case step >= w.Total:
		return w.MinRatio
	}
	progress := float64(step-w.Warmup) / float64(w.Total-w.Warmup)
	return w.MinRatio + (1-w.MinRatio)*0.5*(1+math.Cos(math.Pi*progress))
}
