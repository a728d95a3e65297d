package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-dev/attn/safetensors"
)

// TestTrainReproContract drives `attn train --dump` as other tools do:
// the file holds loss.0..loss.S-1, loss, grad.* and after_step.* under the
// reference's names, with the reference's losses (the values are checked
// in full by package train's golden test).
func TestTrainReproContract(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "train", "gpt2")
	out := filepath.Join(t.TempDir(), "dump.safetensors")
	runAttn(t, "", "train", "--model", dir, "--inputs", filepath.Join(dir, "inputs.safetensors"),
		"--lr", "3e-3", "--beta1", "0.9", "--beta2", "0.95", "--eps", "1e-8", "--weight-decay", "0.1", "--dump", out)
	got, want := openSameNames(t, out, filepath.Join(dir, "expected.safetensors"))
	for _, n := range want.Names() {
		if !strings.HasPrefix(n, "loss") {
			continue
		}
		g, _, _ := got.Float32(n)
		w, _, _ := want.Float32(n)
		if math.Abs(float64(g[0]-w[0])) > 1e-5*math.Abs(float64(w[0])) {
			t.Errorf("%s = %g, want %g", n, g[0], w[0])
		}
	}
}

// openSameNames opens the safetensors files got and want (closed when
// the test ends) and checks they hold the same tensor names.
func openSameNames(t *testing.T, gotPath, wantPath string) (got, want *safetensors.File) {
	t.Helper()
	got, want = openPair(t, gotPath, wantPath)
	if g, w := strings.Join(got.Names(), " "), strings.Join(want.Names(), " "); g != w {
		t.Fatalf("tensors\n%s\nwant\n%s", g, w)
	}
	return got, want
}

// openPair opens the safetensors files got and want, closed when the test
// ends.
func openPair(t *testing.T, gotPath, wantPath string) (got, want *safetensors.File) {
	t.Helper()
	got, err := safetensors.Open(gotPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { got.Close() })
	if want, err = safetensors.Open(wantPath); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { want.Close() })
	return got, want
}

// TestTrainLoopCLI runs a tiny causal-LM training with --json, checks the
// records' fields, resumes it, and plots the log.
func TestTrainLoopCLI(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	data := filepath.Join("..", "..", "testdata", "train", "shakespeare-30k.txt")
	args := []string{"train", "--preset", "tiny-char", "--data", data, "--out", out, "--n-layer", "1", "--n-embd", "16",
		"--n-head", "2", "--block-size", "16", "--batch-size", "4", "--eval-iters", "2", "--sample-tokens", "8", "--json"}
	text := runAttn(t, "", append(args, "--max-iters", "6", "--lr-decay-iters", "10", "--warmup-iters", "2",
		"--eval-interval", "3", "--checkpoint-every", "3", "--log-interval", "1")...)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	var recs []map[string]any
	for _, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		recs = append(recs, r)
	}
	for _, k := range []string{"step", "loss", "lr", "tokens_per_second", "ms_per_step"} {
		if _, ok := recs[0][k]; !ok {
			t.Errorf("first record %v lacks %q", recs[0], k)
		}
	}
	last := recs[len(recs)-1]
	if last["final"] != true || last["val_loss"] == nil || last["ms_per_step"] == nil {
		t.Errorf("last record %v: want final, val_loss and ms_per_step", last)
	}
	evals := 0
	for _, r := range recs {
		if r["val_loss"] != nil {
			evals++
		}
	}
	if evals != 2 { // step 3 and the final one
		t.Errorf("%d records with val_loss, want 2", evals)
	}
	log, err := os.ReadFile(filepath.Join(out, "log.jsonl"))
	if err != nil || strings.Count(string(log), "\n") != len(lines) {
		t.Errorf("log.jsonl has %d lines (%v), stdout %d", strings.Count(string(log), "\n"), err, len(lines))
	}
	more := runAttn(t, "", "train", "--resume", out, "--max-iters", "8", "--json")
	if !strings.Contains(more, `"step":7`) {
		t.Errorf("resume to 8 steps printed\n%s", more)
	}
	if _, err := runVerb(t, "", "train", "--resume", out, "--lr", "1"); err == nil {
		t.Error("--resume with a changed lr accepted")
	}
	runAttn(t, "", "plot", out)
	for _, f := range []string{"loss.png", "loss.svg"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() < 500 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"max_iters": 3, "learning_rate": 1}`), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown config key", []string{"train", "--config", bad}, `unknown field "learning_rate"`},
		{"unknown preset", []string{"train", "--preset", "nope"}, "unknown preset"},
		{"bad value", []string{"train", "--max-iters", "many"}, "--max-iters"},
		{"no data", []string{"train", "--data", ""}, "no data"},
		{"repro without model", []string{"train", "--inputs", "x.safetensors", "--dump", "y"}, "needs --model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runVerb(t, "", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	help := runAttn(t, "", "train", "--help")
	if !strings.Contains(help, "shakespeare-char") {
		t.Error("--help does not list the presets")
	}
}
