package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
	"github.com/attn-dev/attn/train"
)

// TestTrainObjectives drives attn train --objective reward, dpo and ppo
// on a tiny policy and a handful of pairs: each prints its records as
// JSON lines with the fields the issue names, writes a model directory,
// and the aligned policy generates.
func TestTrainObjectives(t *testing.T) {
	dir := t.TempDir()
	const chars = "abcdefghijklmnopqrstuvwxyz !."
	tok, err := tokenizer.NewChar(chars)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 1, Heads: 2, Hidden: 16, Vocab: tok.VocabSize(), Context: 48, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	sft := filepath.Join(dir, "sft")
	if err := train.SaveModel(m, tok, sft); err != nil {
		t.Fatal(err)
	}
	var pairs []train.PrefPair
	var prompts strings.Builder
	for i := 0; i < 12; i++ {
		p := fmt.Sprintf("item %c is ", 'a'+i)
		pairs = append(pairs, train.PrefPair{Prompt: p, Chosen: "great!", Rejected: "bad."})
		prompts.WriteString(p + "\n")
	}
	// A fresh reward model's character vocabulary is its pairs': all of
	// the policy's.
	pairs = append(pairs, train.PrefPair{Prompt: chars, Chosen: "great!", Rejected: "bad."})
	prefs, promptFile := filepath.Join(dir, "prefs.jsonl"), filepath.Join(dir, "prompts.txt")
	if err := train.WritePrefs(prefs, pairs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(promptFile, []byte(prompts.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	rm, dpo, ppo := filepath.Join(dir, "rm"), filepath.Join(dir, "dpo"), filepath.Join(dir, "ppo")
	for _, c := range []struct {
		name string
		args []string
		keys []string
	}{
		{"reward", []string{"--objective", "reward", "--data", prefs, "--out", rm, "--max-iters", "4", "--batch-size", "4",
			"--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "48"}, []string{"loss", "accuracy", "lr"}},
		{"dpo", []string{"--objective", "dpo", "--model", sft, "--data", prefs, "--out", dpo, "--max-iters", "3", "--batch-size", "4",
			"--dpo-loss", "ipo"}, []string{"loss", "rewards_chosen", "rewards_rejected", "margin"}},
		{"ppo", []string{"--objective", "ppo", "--model", sft, "--reward-model", rm, "--data", promptFile, "--out", ppo,
			"--max-iters", "2", "--batch-size", "4", "--mini-batch-size", "2", "--response-tokens", "5"},
			[]string{"reward", "kl", "kl_coef", "entropy", "clipfrac", "value_loss", "policy_loss"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := runAttn(t, "", append([]string{"train", "--json"}, c.args...)...)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			for _, l := range lines {
				var rec map[string]any
				if err := json.Unmarshal([]byte(l), &rec); err != nil {
					t.Fatalf("%q: %v", l, err)
				}
				if rec["objective"] != c.name {
					t.Errorf("objective %v in %s", rec["objective"], l)
				}
				for _, k := range c.keys {
					if _, ok := rec[k]; !ok {
						t.Errorf("no %q in %s", k, l)
					}
				}
			}
		})
	}
	for _, p := range []string{dpo, ppo} {
		var g genJSON
		out := runAttn(t, "", "generate", "--model", p, "--prompt", "item a is ", "--max-new-tokens", "4", "--temperature", "0", "--json")
		if err := json.Unmarshal([]byte(out), &g); err != nil || len(g.IDs) != 4 {
			t.Errorf("generate --model %s: %q (%v)", p, out, err)
		}
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown objective", []string{"--objective", "kto", "--data", prefs, "--out", filepath.Join(dir, "x")}, "want reward, ppo or dpo"},
		{"dpo without a model", []string{"--objective", "dpo", "--data", prefs, "--out", filepath.Join(dir, "x")}, "set --model"},
		{"ppo without a reward model", []string{"--objective", "ppo", "--model", sft, "--data", promptFile, "--out", filepath.Join(dir, "x")}, "--reward-model"},
		{"bad pairs", []string{"--objective", "reward", "--data", promptFile, "--out", filepath.Join(dir, "x")}, "object 1"},
		{"no out", []string{"--objective", "reward", "--data", prefs}, "set --out"},
		{"bad beta", []string{"--objective", "dpo", "--model", sft, "--data", prefs, "--out", filepath.Join(dir, "x"), "--beta", "0"}, "beta"},
	} {
		if _, err := runVerb(t, "", append([]string{"train"}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}
}
