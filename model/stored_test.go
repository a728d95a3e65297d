package model

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attn-dev/attn/autograd"
)

// TestStoredParameters: a freshly loaded GPT-2 hands out its Conv1D
// weights as the file stores them ([in, out], InOut) without transposing
// them; after ReleaseStored the values are still the file's, the first
// use lays them out as [out, in] (the forward still matches the
// reference), and from then on they are [out, in] and not released.
func TestStoredParameters(t *testing.T) {
	m, err := Load(gpt2Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	src := baseOf(m).src
	stored := StoredParameters(m)
	var names []string
	conv := 0
	for _, sp := range stored {
		names = append(names, sp.Name)
		file, shape, err := src.Float32(sp.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sp.Data, file) {
			t.Errorf("%s differs from the file", sp.Name)
		}
		wantInOut := strings.HasSuffix(sp.Name, "attn.weight") || strings.HasSuffix(sp.Name, "proj.weight") || strings.HasSuffix(sp.Name, "c_fc.weight")
		if sp.InOut != wantInOut {
			t.Errorf("%s: InOut %v, want %v", sp.Name, sp.InOut, wantInOut)
		}
		if sp.InOut {
			conv++
			if len(shape) != 2 || !slices.Equal(sp.Shape, []int{shape[1], shape[0]}) {
				t.Errorf("%s: shape %v, file %v", sp.Name, sp.Shape, shape)
			}
		}
	}
	if conv == 0 {
		t.Fatal("no Conv1D weight among the stored parameters")
	}
	before := map[string][]float32{}
	for _, sp := range stored {
		before[sp.Name] = slices.Clone(sp.Data)
	}
	if ok, err := ReleaseStored(m, names...); err != nil || !ok {
		t.Fatalf("ReleaseStored of a fresh model: %v, %v", ok, err)
	}
	for _, sp := range stored {
		if !slices.Equal(sp.Data, before[sp.Name]) {
			t.Errorf("%s changed by ReleaseStored", sp.Name)
		}
	}
	if _, err := ReleaseStored(m, "no.such.tensor"); err == nil {
		t.Error("ReleaseStored of a missing tensor succeeded")
	}
	out, err := m.Forward(autograd.NewGraph(false), openInputs(t, filepath.Join(gpt2Dir, "inputs.safetensors")), allOutputs)
	if err != nil {
		t.Fatal(err)
	}
	compareOutputs(t, filepath.Join(gpt2Dir, "outputs.safetensors"), out, true)
	for _, sp := range StoredParameters(m) {
		if sp.InOut {
			t.Errorf("%s still [in, out] after Forward", sp.Name)
		}
	}
	if ok, err := ReleaseStored(m, names...); ok || err != nil {
		t.Errorf("ReleaseStored after use: %v, %v (want false, nil)", ok, err)
	}
}
