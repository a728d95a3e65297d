package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attn-dev/attn/hub/hubtest"
)

// TestPullListRm pulls the real tiny-random-gpt2 from a local imitation
// of the hub, runs it by name, lists and removes it.
func TestPullListRm(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "models", "real", "tiny-random-gpt2")
	s := hubtest.New()
	defer s.Close()
	if _, err := s.AddDir("org/tiny-gpt2", src); err != nil {
		t.Skip(err)
	}
	t.Setenv("HF_ENDPOINT", s.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("ATTN_OFFLINE", "")
	home := t.TempDir()
	t.Setenv("ATTN_HOME", home)
	defer func() { offline = false }() // a root flag: runVerb does not reset it

	if _, err := runVerb(t, "", "generate", "--model", "org/tiny-gpt2", "--prompt-ids", "0,0,195,731"); err == nil || !strings.Contains(err.Error(), "attn pull org/tiny-gpt2") {
		t.Errorf("--model of a name not pulled: %v, want a hint to attn pull", err)
	}
	if _, err := runVerb(t, "", "serve", "--model", "org/tiny-gpt2", "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "attn pull org/tiny-gpt2") {
		t.Errorf("serve --model of a name not pulled: %v, want a hint to attn pull", err)
	}
	if _, err := runVerb(t, "", "pull", "--offline", "org/tiny-gpt2"); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("pull --offline: %v", err)
	}
	offline = false

	var p struct {
		Name, Dir string
		Files     int
		Fetched   int64 `json:"fetched_bytes"`
	}
	if err := json.Unmarshal([]byte(runAttn(t, "", "pull", "org/tiny-gpt2", "--json")), &p); err != nil {
		t.Fatal(err)
	}
	if p.Name != "org/tiny-gpt2" || p.Fetched == 0 || !strings.HasPrefix(p.Dir, home) {
		t.Errorf("pull --json: %+v", p)
	}
	// The upstream greedy ids of tiny-random-gpt2 (as in model's tests).
	var g genJSON
	out := runAttn(t, "", "generate", "--model", "org/tiny-gpt2", "--prompt-ids", "0,0,195,731", "--max-new-tokens", "6", "--temperature", "0", "--json")
	if err := json.Unmarshal([]byte(out), &g); err != nil || !slices.Equal(g.IDs, []int{731, 114, 114, 114, 114, 114}) {
		t.Errorf("generate --model NAME: %s (%v)", out, err)
	}
	if out := runAttn(t, "", "list"); !strings.Contains(out, "org/tiny-gpt2") || !strings.Contains(out, p.Dir) {
		t.Errorf("list:\n%s", out)
	}
	if out := runAttn(t, "", "rm", "org/tiny-gpt2"); !strings.Contains(out, "removed") {
		t.Errorf("rm: %s", out)
	}
	if out := runAttn(t, "", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("list --json after rm: %s", out)
	}
	if _, err := runVerb(t, "", "rm", "org/tiny-gpt2"); err == nil || !strings.Contains(err.Error(), "not in the cache") {
		t.Errorf("rm of a name not pulled: %v", err)
	}
	if _, err := runVerb(t, "", "show", "--model", "no/such/dir"); err == nil || !strings.Contains(err.Error(), "no such directory") {
		t.Errorf("--model of a missing path: %v", err)
	}
}
