package model

import (
	"fmt"
	"strings"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/internal/gemv"
)

// DType is the storage type of a model's matrix weights for inference.
type DType string

const (
	// F32 multiplies by the float32 weights, in place in the checkpoint
	// mapping (the default).
	F32 DType = "f32"
	// BF16 multiplies by a bfloat16 copy of every Linear weight (and the
	// LM head): half the bytes per decoded token; activations and
	// accumulation stay float32. Outputs differ from F32 by bfloat16's
	// rounding of the weights (relative 2⁻⁸ per weight): tested to within
	// 2% of the logits' scale, with the same argmax almost everywhere
	// (see TestBF16Tolerance). Inference only.
	BF16 DType = "bf16"
)

// ParseDType maps a flag value (f32, float32, bf16, bfloat16) to a DType.
func ParseDType(s string) (DType, error) {
	switch strings.ToLower(s) {
	case "f32", "float32", "fp32", "":
		return F32, nil
	case "bf16", "bfloat16":
		return BF16, nil
	}
	return "", fmt.Errorf("dtype %q is not supported (want f32 or bf16)", s)
}

// Option changes how Load prepares a model.
type Option func(*loadOptions)

type loadOptions struct{ dtype DType }

// WithDType stores the matrix weights as d for inference (see DType).
func WithDType(d DType) Option { return func(o *loadOptions) { o.dtype = d } }

// linearWeight is a weight the model multiplies by (an nn.Linear's, or a
// tied embedding used as the LM head), which ToBF16 converts.
type linearWeight struct {
	name string // the checkpoint's name, for releasing its pages
	v    *autograd.Var
}

// ToBF16 gives every matrix weight of m a bfloat16 copy that inference
// graphs multiply by (autograd.Var.SetBF16); see BF16. A model loaded from
// a checkpoint and not used yet converts straight from the file's layout
// (GPT-2's Conv1D weights are transposed while converting, never in
// place) and releases each float32 matrix's pages as soon as its copy
// exists, so the float32 weights never all sit in memory. Training graphs
// refuse a converted model. Converting twice does nothing.
func ToBF16(m Model) error {
	b := baseOf(m)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dtype == BF16 {
		return nil
	}
	inOut := map[*autograd.Var]bool{}
	for _, p := range b.pending {
		inOut[p.w] = true
	}
	ev, canEvict := b.src.(interface{ Evict(name string) error })
	canEvict = canEvict && b.pristine.Load()
	done := map[*autograd.Var]bool{}
	for _, lw := range b.linears {
		if done[lw.v] {
			continue // a tied weight listed twice
		}
		done[lw.v] = true
		s := lw.v.Value.Shape
		if len(s) != 2 {
			return fmt.Errorf("model: bf16: %s has shape %v, want a matrix", lw.name, s)
		}
		d := lw.v.Value.Contiguous().Data()
		if inOut[lw.v] {
			lw.v.SetBF16(gemv.NewBF16T(s[0], s[1], d))
		} else {
			lw.v.SetBF16(gemv.NewBF16(s[0], s[1], d))
		}
		if !canEvict {
			continue
		}
		if _, stored := b.src.Info(lw.name); stored {
			if err := ev.Evict(lw.name); err != nil {
				return fmt.Errorf("model: bf16: release %s: %w", lw.name, err)
			}
		}
	}
	b.dtype = BF16
	return nil
}

// DTypeOf reports how m stores its matrix weights for inference.
func DTypeOf(m Model) DType {
	b := baseOf(m)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dtype == "" {
		return F32
	}
	return b.dtype
}

// prepare readies the weights for a forward in g: GPT-2's Conv1D weights
// are laid out as [out, in] unless a bfloat16 model runs inference (its
// copies were converted from the file's layout, and writing the float32
// pages would bring them back into memory). A training graph refuses a
// bfloat16 model.
func (m *base) prepare(g *autograd.Graph) error {
	m.mu.Lock()
	bf16 := m.dtype == BF16
	m.mu.Unlock()
	if bf16 {
		if g.Train() {
			return fmt.Errorf("%s: the model holds bfloat16 weights for inference only; load it in float32 to train", m.info.ModelType)
		}
		return nil
	}
	m.ready()
	return nil
}

// useDropout turns g's dropout on for a forward only when opt asks for it
// and the graph allows it (a training graph not switched off with
// SetDropout(false)), and returns the setting to restore.
func useDropout(g *autograd.Graph, on bool) (restore bool) {
	restore = g.SetDropout(false)
	g.SetDropout(on && restore)
	return restore
}
