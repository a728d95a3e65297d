package model

import (
	"fmt"
	"slices"

	"github.com/attn-dev/attn/safetensors"
)

// StoredParameter is one parameter of a model for a reader that makes a
// copy of its own (infer's bfloat16 decode weights) instead of using the
// model's float32 values.
type StoredParameter struct {
	Name  string
	Shape []int     // the model's shape (nn.Linear's [out, in] for a weight)
	Data  []float32 // the values: the mapped tensor, for an F32 checkpoint
	// InOut is set when Data is still the file's [in, out] layout of a
	// GPT-2 Conv1D weight (Shape reversed): the model has not been used
	// yet, so it has not transposed it in place.
	InOut bool
}

// StoredParameters lists m's parameters in NamedParameters' order without
// using them: unlike NamedParameters or Forward it leaves GPT-2's Conv1D
// weights as the file stores them if they still are (InOut), so a reader
// that converts them never writes, and never makes private, the pages of
// the mapping. The data must not be written.
func StoredParameters(m Model) []StoredParameter {
	b := baseOf(m)
	b.mu.Lock()
	defer b.mu.Unlock()
	inOut := map[*float32]bool{}
	for _, p := range b.pending {
		inOut[&p.w.Value.Data()[0]] = true
	}
	out := make([]StoredParameter, 0, len(b.params))
	for _, p := range b.params {
		t := p.Var.Value
		d := t.Data()
		sp := StoredParameter{Name: p.Name, Shape: slices.Clone(t.Shape), Data: d}
		sp.InOut = len(d) > 0 && inOut[&d[0]]
		out = append(out, sp)
	}
	return out
}

// ReleaseStored drops the pages of the named parameters from the
// process's resident memory, for a reader done with its own copy of them
// (StoredParameters). It does so only while the model is pristine —
// loaded from a checkpoint and never used (no NamedParameters, no GPT-2
// Forward), so nothing can have written the copy-on-write mapping: the
// pages are the file's bytes, and a later read maps them again unchanged.
// It reports whether it released them.
func ReleaseStored(m Model, names ...string) (bool, error) {
	b := baseOf(m)
	b.mu.Lock()
	defer b.mu.Unlock()
	ev, ok := b.src.(interface{ Evict(name string) error })
	if !b.pristine.Load() || b.src == nil || !ok {
		return false, nil
	}
	for _, n := range names {
		if _, ok := b.src.Info(n); !ok {
			return false, fmt.Errorf("model: release %s: %w", n, safetensors.ErrNotFound)
		}
		if err := ev.Evict(n); err != nil {
			return false, fmt.Errorf("model: release %s: %w", n, err)
		}
	}
	return true, nil
}
