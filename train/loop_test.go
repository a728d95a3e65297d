package train

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-dev/attn/model"
)

// tinyConfig is a run that takes milliseconds a step.
func tinyConfig(out string, maxIters int) Config {
	c := DefaultConfig()
	c.Data = filepath.Join("..", "testdata", "train", "shakespeare-30k.txt")
	c.Layers, c.Heads, c.Hidden, c.BlockSize, c.BatchSize = 1, 2, 16, 16, 4
	c.MaxIters, c.LRDecayIters, c.WarmupIters = maxIters, maxIters, 2
	c.EvalInterval, c.EvalIters, c.LogInterval, c.SampleTokens = 0, 2, 1, 0
	c.CheckpointEvery, c.KeepLast, c.Out = 0, 2, out
	return c
}

// runLosses runs tr to the end and returns the loss of every step by step.
func runLosses(t *testing.T, tr *Trainer) map[int]float64 {
	t.Helper()
	losses := map[int]float64{}
	tr.OnRecord = func(r Record) {
		if !r.Final && r.ValLoss == nil {
			losses[r.Step] = r.Loss
		}
	}
	if _, err := tr.Run(); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	return losses
}

// TestResumeBitExact: a run stopped at step 6 and resumed to 12 gives the
// losses of an uninterrupted 12-step run bit for bit (with gradient
// accumulation and clipping on, so the sampler, optimizer and schedule
// state all matter).
func TestResumeBitExact(t *testing.T) {
	dir := t.TempDir()
	cfgA := tinyConfig(filepath.Join(dir, "a"), 12)
	cfgA.GradAccum = 2
	trA, err := NewTrainer(cfgA)
	if err != nil {
		t.Fatal(err)
	}
	want := runLosses(t, trA)
	if len(want) != 12 {
		t.Fatalf("%d losses logged, want 12", len(want))
	}
	cfgB := cfgA
	cfgB.Out, cfgB.MaxIters, cfgB.CheckpointEvery = filepath.Join(dir, "b"), 6, 3
	cfgB.LRDecayIters = 12 // the schedule of the full run
	trB, err := NewTrainer(cfgB)
	if err != nil {
		t.Fatal(err)
	}
	first := runLosses(t, trB)
	trC, err := Resume(cfgB.Out, 12)
	if err != nil {
		t.Fatal(err)
	}
	if trC.Step() != 6 {
		t.Fatalf("resumed at step %d, want 6", trC.Step())
	}
	second := runLosses(t, trC)
	for s := 0; s < 12; s++ {
		got, ok := first[s]
		if s >= 6 {
			got, ok = second[s]
		}
		if !ok || got != want[s] {
			t.Errorf("step %d: loss %v (logged %v), uninterrupted %v", s, got, ok, want[s])
		}
	}
	if !(want[11] < want[0]) {
		t.Errorf("loss did not fall: %v → %v", want[0], want[11])
	}
}

// TestCheckpointWriteError: a write that fails (as on a full disk) stops
// the run with a message naming the file and the last good checkpoint,
// which still loads and resumes; no staging directory is left behind.
func TestCheckpointWriteError(t *testing.T) {
	out := t.TempDir()
	cfg := tinyConfig(out, 6)
	cfg.CheckpointEvery = 2
	tr, err := NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	beforeWrite = func(path string) error {
		if strings.Contains(path, "ckpt-0000004") && filepath.Base(path) == optimizerFile {
			return errors.New("no space left on device (injected)")
		}
		return nil
	}
	defer func() { beforeWrite = nil }()
	_, err = tr.Run()
	tr.Close()
	if err == nil || !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), "ckpt-0000002") || !strings.Contains(err.Error(), "step 4") {
		t.Fatalf("error %v: want the injected failure at step 4 naming ckpt-0000002", err)
	}
	cs, err := Checkpoints(out)
	if err != nil || len(cs) != 1 || filepath.Base(cs[0]) != "ckpt-0000002" {
		t.Fatalf("checkpoints %v (%v), want only ckpt-0000002", cs, err)
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), stagingSuffix) {
			t.Errorf("staging directory %s left behind", e.Name())
		}
	}
	beforeWrite = nil
	m, err := model.Load(cs[0])
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	tr2, err := Resume(out, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runLosses(t, tr2)) != 4 {
		t.Error("resume after the failed write did not run steps 2..5")
	}
}

// TestNaNLossStops: a poisoned weight makes the loss NaN; the run stops
// naming the step and the last good checkpoint, which is left intact.
func TestNaNLossStops(t *testing.T) {
	out := t.TempDir()
	cfg := tinyConfig(out, 4)
	cfg.CheckpointEvery = 2
	tr, err := NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runLosses(t, tr)
	tr2, err := Resume(out, 8)
	if err != nil {
		t.Fatal(err)
	}
	tr2.Model().NamedParameters("", nil)[0].Var.Value.Data()[0] = float32(math.NaN())
	_, err = tr2.Run()
	tr2.Close()
	if err == nil || !strings.Contains(err.Error(), "step 4") || !strings.Contains(err.Error(), "NaN") || !strings.Contains(err.Error(), "ckpt-0000004") {
		t.Fatalf("error %v: want a NaN loss at step 4 naming ckpt-0000004", err)
	}
	cs, _ := Checkpoints(out)
	if filepath.Base(cs[len(cs)-1]) != "ckpt-0000004" {
		t.Fatalf("checkpoints %v", cs)
	}
	tr3, err := Resume(out, 6)
	if err != nil {
		t.Fatal(err)
	}
	for s, l := range runLosses(t, tr3) {
		if math.IsNaN(l) {
			t.Errorf("step %d: NaN after resuming the intact checkpoint", s)
		}
	}
}

// TestConfigKeys: unknown keys are errors, flags reach their fields,
// presets exist.
func TestConfigKeys(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		key, value string
		ok         bool
	}{
		{"max_iters", "7", true}, {"lr", "0.5", true}, {"data", "x.txt", true}, {"seed", "9", true},
		{"max_iter", "7", false}, {"max_iters", "seven", false}, {"lr", "", false},
	} {
		err := c.Set(tc.key, tc.value)
		if (err == nil) != tc.ok {
			t.Errorf("Set(%q, %q): %v", tc.key, tc.value, err)
		}
	}
	if c.MaxIters != 7 || c.LR != 0.5 || c.Data != "x.txt" || c.Seed != 9 {
		t.Errorf("config after Set: %+v", c)
	}
	if err := DecodeConfig(&c, []byte(`{"n_layer": 2, "bogus": 1}`), "test"); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown key: %v", err)
	}
	p, err := PresetConfig("shakespeare-char")
	if err != nil || p.Layers != 4 || p.Heads != 4 || p.Hidden != 128 || p.BlockSize != 64 || p.BatchSize != 12 ||
		p.MaxIters != 2000 || p.LR != 1e-3 || p.MinLR != 1e-4 || p.WarmupIters != 100 || p.Beta2 != 0.99 ||
		p.WeightDecay != 0.1 || p.GradClip != 1 {
		t.Errorf("shakespeare-char = %+v, %v", p, err)
	}
	if _, err := PresetConfig("nope"); err == nil {
		t.Error("unknown preset accepted")
	}
}
