package train

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/safetensors"
)

// TestReproduceGolden trains the tiny models of testdata/train (made by
// tools/golden/train_gpt2.py) with Reproduce and compares the loss, every
// step-0 gradient, the parameters after one AdamW step and 20 steps of
// losses with PyTorch's.
func TestReproduceGolden(t *testing.T) {
	for _, name := range []string{"gpt2", "bert-mlm", "marian"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "train", name)
			m, err := model.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			src, err := safetensors.Open(filepath.Join(dir, "inputs.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			batches, err := ReadReproBatches(src)
			if err != nil {
				t.Fatal(err)
			}
			want, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer want.Close()
			meta := want.Metadata()
			hp := func(k string) float64 {
				v, err := strconv.ParseFloat(meta[k], 64)
				if err != nil {
					t.Fatalf("metadata %s: %v", k, err)
				}
				return v
			}
			got, err := Reproduce(m, batches, ReproOptions{LR: hp("lr"), Beta1: hp("beta1"), Beta2: hp("beta2"), Eps: hp("eps"), WeightDecay: hp("weight_decay")})
			if err != nil {
				t.Fatal(err)
			}
			compareDump(t, got, want, hp("lr"))
		})
	}
}

// compareDump checks every tensor of want against got: losses to 1e-5
// relative, gradients and parameters to 1e-4 + 1e-4·|want|. One
// exception: a parameter whose reference gradient is rounding noise
// (|g| < 1e-7, e.g. the attention's key bias, which softmax cancels)
// moves by ±lr in AdamW's first step whatever the noise's sign, so after
// the step it may differ by up to 2·lr.
func compareDump(t *testing.T, got []safetensors.Tensor, want *safetensors.File, lr float64) {
	t.Helper()
	byName := map[string][]float32{}
	for _, g := range got {
		f := make([]float32, len(g.Data)/4)
		for i := range f {
			f[i] = math.Float32frombits(binary.LittleEndian.Uint32(g.Data[4*i:]))
		}
		byName[g.Name] = f
	}
	for _, n := range want.Names() {
		w, _, err := want.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		g, ok := byName[n]
		if !ok {
			t.Errorf("%s: missing from the dump", n)
			continue
		}
		if len(g) != len(w) {
			t.Errorf("%s: %d values, want %d", n, len(g), len(w))
			continue
		}
		var noise []float32
		if strings.HasPrefix(n, "after_step.") {
			noise, _, _ = want.Float32("grad." + strings.TrimPrefix(n, "after_step."))
		}
		worst, at := 0.0, -1
		for i := range w {
			d := math.Abs(float64(g[i]) - float64(w[i]))
			var tol float64
			if n == "loss" || len(n) > 5 && n[:5] == "loss." {
				tol = 1e-5 * math.Abs(float64(w[i]))
			} else {
				tol = 1e-4 + 1e-4*math.Abs(float64(w[i]))
			}
			if noise != nil && math.Abs(float64(noise[i])) < 1e-7 {
				tol += 2 * lr
			}
			if d > tol && d/tol > worst {
				worst, at = d/tol, i
			}
		}
		if at >= 0 {
			t.Errorf("%s[%d] = %g, want %g (%.1f× the tolerance)", n, at, g[at], w[at], worst)
		}
	}
	if len(byName) != len(want.Names()) {
		t.Errorf("dump holds %d tensors, the reference %d", len(byName), len(want.Names()))
	}
}
