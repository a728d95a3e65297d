package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-dev/attn/safetensors"
)

// TestForwardContract drives `attn forward` as other tools do and checks
// the file it writes against the PyTorch references: same tensor names,
// shapes and values (|a − b| ≤ 1e-4 + 1e-4·|b|).
func TestForwardContract(t *testing.T) {
	for _, name := range []string{"gpt2", "bert-cls", "vit", "marian"} {
		t.Run(name, func(t *testing.T) {
			got, want := forwardFixture(t, name)
			if g, w := strings.Join(got.Names(), " "), strings.Join(want.Names(), " "); g != w {
				t.Fatalf("tensors\n%s\nwant\n%s", g, w)
			}
			for _, n := range want.Names() {
				w, ws, _ := want.Float32(n)
				g, gs, err := got.Float32(n)
				if err != nil || len(gs) != len(ws) || len(g) != len(w) {
					t.Fatalf("%s: shape %v (%v), want %v", n, gs, err, ws)
				}
				for i := range w {
					if d := math.Abs(float64(g[i] - w[i])); !(d <= 1e-4+1e-4*math.Abs(float64(w[i]))) {
						t.Fatalf("%s[%d] = %g, want %g", n, i, g[i], w[i])
					}
				}
			}
		})
	}
}

func TestShowAndInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bart")
	if out := runAttn(t, "", "init", "--arch", "bart", "--layers", "1", "--decoder-layers", "2", "--hidden", "16", "--heads", "2", "--vocab", "30", "--context", "8", "--out", dir); !strings.Contains(out, "BartForConditionalGeneration") {
		t.Errorf("init printed %q", out)
	}
	out := runAttn(t, "", "show", "--model", dir)
	for _, want := range []string{"BartForConditionalGeneration (bart)", "encoder 1, decoder 2", "hidden size   16", "vocabulary    30", "F32"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
}

// TestForwardBF16 runs `attn forward --dtype bf16` on every architecture:
// each output stays within bfloat16's tolerance of the PyTorch float32
// reference (|a − b| ≤ 2e-2·max|b| per tensor: the weights are rounded to
// 8 significant bits), and a bad --dtype is refused naming the flag.
func TestForwardBF16(t *testing.T) {
	for _, name := range []string{"gpt2", "bert-cls", "bert-mlm", "vit", "marian", "bart"} {
		t.Run(name, func(t *testing.T) {
			got, want := forwardFixture(t, name, "--dtype", "bf16", "--hidden-states=false", "--attentions=false")
			for _, n := range got.Names() {
				g, _, _ := got.Float32(n)
				w, _, err := want.Float32(n)
				if err != nil || len(g) != len(w) {
					t.Fatalf("%s: %d values, want %d (%v)", n, len(g), len(w), err)
				}
				scale, worst := 0.0, 0.0
				for i := range w {
					scale = max(scale, math.Abs(float64(w[i])))
					worst = max(worst, math.Abs(float64(g[i]-w[i])))
				}
				if !(worst <= 2e-2*scale) {
					t.Errorf("%s: differs by %g, more than 2e-2 of its scale %g", n, worst, scale)
				} else {
					t.Logf("%s: largest difference %.3g of scale %.3g", n, worst, scale)
				}
			}
		})
	}
	dir := filepath.Join("..", "..", "testdata", "models", "gpt2")
	if _, err := runVerb(t, "", "forward", "--dtype", "f16", "--model", dir, "--inputs", filepath.Join(dir, "inputs.safetensors"), "--out", filepath.Join(t.TempDir(), "o")); err == nil || !strings.Contains(err.Error(), "--dtype") {
		t.Errorf("--dtype f16: %v, want an error naming --dtype", err)
	}
}

// forwardFixture runs `attn forward` (with extra flags) on the fixture
// model testdata/models/NAME and opens what it wrote and the PyTorch
// reference outputs; both close with the test.
func forwardFixture(t *testing.T, name string, extra ...string) (got, want *safetensors.File) {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "models", name)
	out := filepath.Join(t.TempDir(), "out.safetensors")
	args := append([]string{"forward", "--model", dir, "--inputs", filepath.Join(dir, "inputs.safetensors"), "--out", out}, extra...)
	runAttn(t, "", args...)
	return openPair(t, out, filepath.Join(dir, "outputs.safetensors"))
}
