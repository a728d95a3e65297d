package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/safetensors"
)

// TestLoadMapsWeights checks that Load aliases the checkpoint's mapping
// instead of copying: every parameter's data is the slice the safetensors
// reader returns for it (GPT-2's Conv1D weights too, transposed in place).
func TestLoadMapsWeights(t *testing.T) {
	for _, name := range []string{"gpt2", "bert-cls", "bart"} {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join("..", "testdata", "models", name))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			src := baseOf(m).src
			for _, p := range m.NamedParameters("", nil) {
				data, _, err := src.Float32(p.Name)
				if err != nil {
					t.Fatal(err)
				}
				if got := p.Var.Value.Data(); unsafe.SliceData(got) != unsafe.SliceData(data) {
					t.Errorf("%s is a copy, not the mapped tensor", p.Name)
				}
			}
		})
	}
}

// TestLoadSharded splits the gpt2 checkpoint into two shards with a
// model.safetensors.index.json, as save_pretrained does for large models,
// and checks the forward still matches the reference.
func TestLoadSharded(t *testing.T) {
	dir := t.TempDir()
	writeConfig(t, dir, nil)
	shards := [2][]safetensors.Tensor{}
	index := map[string]any{"metadata": map[string]any{"total_size": 0}, "weight_map": map[string]string{}}
	for i, ts := range gpt2Tensors(t) {
		shards[i%2] = append(shards[i%2], ts)
		index["weight_map"].(map[string]string)[ts.Name] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i%2]
	}
	for i, ts := range shards {
		name := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]
		if err := safetensors.Write(filepath.Join(dir, name), ts, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
	}
	js, _ := json.Marshal(index)
	if err := os.WriteFile(filepath.Join(dir, safetensors.IndexFile), js, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out, err := m.Forward(autograd.NewGraph(false), openInputs(t, filepath.Join(gpt2Dir, "inputs.safetensors")), allOutputs)
	if err != nil {
		t.Fatal(err)
	}
	compareOutputs(t, filepath.Join(gpt2Dir, "outputs.safetensors"), out, true)
}
