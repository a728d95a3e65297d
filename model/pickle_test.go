package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/torchfile"
)

// pickleGPT2 is testdata/models/gpt2 as torch.save(model.state_dict())
// writes it (lm_head.weight sharing wte's storage), with its config.
var pickleGPT2 = filepath.Join("..", "testdata", "torchfile", "gpt2")

// TestLoadPickle loads the pickle checkpoint, alone, through a shard
// index, and in bfloat16, and checks the logits equal those of the
// safetensors checkpoint it was made from, bit for bit (same weights),
// and PyTorch's.
func TestLoadPickle(t *testing.T) {
	ref := filepath.Join("..", "testdata", "models", "gpt2")
	in := openInputs(t, filepath.Join(ref, "inputs.safetensors"))
	logits := func(t *testing.T, dir string, opts ...Option) []float32 {
		t.Helper()
		m, err := Load(dir, opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		out, err := m.Forward(autograd.NewGraph(false), in, allOutputs)
		if err != nil {
			t.Fatal(err)
		}
		if dir == pickleGPT2 && len(opts) == 0 {
			compareOutputs(t, filepath.Join(ref, "outputs.safetensors"), out, true)
			st, _ := os.Stat(filepath.Join(pickleGPT2, "pytorch_model.bin"))
			if got := m.Info().FileBytes; got != st.Size() {
				t.Errorf("FileBytes %d, want the pickle's %d", got, st.Size())
			}
		}
		return slices.Clone(out.Get("logits").Data())
	}

	sharded := t.TempDir()
	for _, f := range []string{"config.json", "pytorch_model.bin"} {
		b, err := os.ReadFile(filepath.Join(pickleGPT2, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "pytorch_model.bin" {
			f = "pytorch_model-00001-of-00001.bin"
		}
		if err := os.WriteFile(filepath.Join(sharded, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sd, err := torchfile.Read(filepath.Join(pickleGPT2, "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	wm := map[string]string{}
	for _, n := range sd.Names() {
		wm[n] = "pytorch_model-00001-of-00001.bin"
	}
	idx, _ := json.Marshal(map[string]any{"weight_map": wm})
	if err := os.WriteFile(filepath.Join(sharded, "pytorch_model.bin.index.json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}

	want := logits(t, ref)
	for _, c := range []struct {
		name string
		dir  string
		opts []Option
	}{
		{"pytorch_model.bin", pickleGPT2, nil},
		{"sharded", sharded, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := logits(t, c.dir, c.opts...); !slices.Equal(got, want) {
				t.Errorf("logits differ from the safetensors checkpoint's")
			}
		})
	}
	t.Run("bf16", func(t *testing.T) {
		if got, want := logits(t, pickleGPT2, WithDType(BF16)), logits(t, ref, WithDType(BF16)); !slices.Equal(got, want) {
			t.Errorf("bf16 logits differ from the safetensors checkpoint's")
		}
	})
}
