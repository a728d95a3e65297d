package hub_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attn-dev/attn/hub"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		in, repo, rev, err string
	}{
		{in: "gpt2", repo: "gpt2", rev: "main"},
		{in: "openai-community/gpt2", repo: "openai-community/gpt2", rev: "main"},
		{in: "org/m.v1_x@refs/pr/1", repo: "org/m.v1_x", rev: "refs/pr/1"},
		{in: "org/m@0123abc", repo: "org/m", rev: "0123abc"},
		{in: "", err: "not a repository name"},
		{in: "a/b/c", err: "not a repository name"},
		{in: "org--x/m", err: "not a repository name"},
		{in: "../m", err: "not a repository name"},
		{in: "/abs/dir", err: "not a repository name"},
		{in: "org/m@", err: "not a revision"},
		{in: "org/m@a/../../b", err: "not a revision"},
		{in: "org/m@x y", err: "not a revision"},
	} {
		n, err := hub.ParseName(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseName(%q) = %v, %v; want an error with %q", tc.in, n, err, tc.err)
			}
			continue
		}
		if err != nil || n.Repo != tc.repo || n.Revision != tc.rev {
			t.Errorf("ParseName(%q) = %+v, %v; want %s @ %s", tc.in, n, err, tc.repo, tc.rev)
		}
	}
}

func TestWanted(t *testing.T) {
	files := func(names ...string) []hub.File {
		var fs []hub.File
		for _, n := range names {
			fs = append(fs, hub.File{Name: n})
		}
		return fs
	}
	for _, tc := range []struct {
		name       string
		have, want []string
	}{
		{"safetensors beats pickle",
			[]string{"config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5", "README.md", "vocab.json", "merges.txt", "tokenizer.json", "generation_config.json"},
			[]string{"config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer.json", "generation_config.json"}},
		{"shards",
			[]string{"config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin"},
			[]string{"config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}},
		{"pickle only",
			[]string{"config.json", "pytorch_model.bin", "source.spm", "target.spm", "vocab.json", "preprocessor_config.json", "flax_model.msgpack"},
			[]string{"config.json", "source.spm", "target.spm", "vocab.json", "preprocessor_config.json", "pytorch_model.bin"}},
		{"subdirectories and variants left out",
			[]string{"config.json", "onnx/config.json", "model.safetensors", "model.fp16.safetensors", "../config.json", "sub/model.safetensors"},
			[]string{"config.json", "model.safetensors"}},
	} {
		var got []string
		for _, f := range hub.Wanted(files(tc.have...)) {
			got = append(got, f.Name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: Wanted = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCacheResolveListRemove(t *testing.T) {
	s, c, _ := newHub(t)
	ctx := context.Background()
	if _, err := c.Cache.Resolve("org/tiny-gpt2"); !errors.Is(err, hub.ErrNotCached) || !strings.Contains(err.Error(), "attn pull org/tiny-gpt2") {
		t.Errorf("Resolve before a pull: %v", err)
	}
	if l, err := c.Cache.List(); err != nil || len(l) != 0 {
		t.Errorf("List of an empty cache: %v, %v", l, err)
	}
	p, err := c.Pull(ctx, "org/tiny-gpt2@v1")
	if err != nil {
		t.Fatal(err)
	}
	// Only v1 was pulled: main is not there, and the message says which is.
	if _, err := c.Cache.Resolve("org/tiny-gpt2"); !errors.Is(err, hub.ErrNotCached) || !strings.Contains(err.Error(), "at revision v1 only") {
		t.Errorf("Resolve of an unpulled revision: %v", err)
	}
	for _, name := range []string{"org/tiny-gpt2@v1", "org/tiny-gpt2@" + p.Commit, "org/tiny-gpt2@" + p.Commit[:7]} {
		if dir, err := c.Cache.Resolve(name); err != nil || dir != p.Dir {
			t.Errorf("Resolve(%s) = %s, %v; want %s", name, dir, err, p.Dir)
		}
	}
	if _, err := c.Pull(ctx, "org/tiny-gpt2"); err != nil {
		t.Fatal(err)
	}
	s.Add("gpt2", map[string][]byte{"config.json": []byte("{}"), "model.safetensors": []byte("x")})
	if _, err := c.Pull(ctx, "gpt2"); err != nil {
		t.Fatal(err)
	}
	// An unfinished pull shows as incomplete.
	if err := os.MkdirAll(filepath.Join(c.Cache.Dir, "models", "org--other", "snapshots", strings.Repeat("a", 40)), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := c.Cache.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range l {
		got = append(got, e.Name+"@"+e.Revision)
		if e.Complete && (e.Files == 0 || e.Bytes == 0) {
			t.Errorf("entry %+v: no files counted", e)
		}
	}
	if want := []string{"gpt2@main", "org/other@", "org/tiny-gpt2@main", "org/tiny-gpt2@v1"}; !slices.Equal(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	// Removing v1 keeps the snapshot main shares; removing the name
	// removes the rest.
	if gone, err := c.Cache.Remove("org/tiny-gpt2@v1"); err != nil || len(gone) != 0 {
		t.Errorf("Remove @v1: %v, %v", gone, err)
	}
	if dir, err := c.Cache.Resolve("org/tiny-gpt2"); err != nil || dir != p.Dir {
		t.Errorf("main after removing v1: %v, %v", dir, err)
	}
	if _, err := c.Cache.Remove("org/tiny-gpt2"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("snapshot still there after rm: %v", err)
	}
	if _, err := c.Cache.Remove("org/tiny-gpt2"); !errors.Is(err, hub.ErrNotCached) {
		t.Errorf("second Remove: %v", err)
	}
	if dir, err := c.Cache.Resolve("gpt2"); err != nil || !strings.HasSuffix(dir, filepath.Join("models", "gpt2", "snapshots", filepath.Base(dir))) {
		t.Errorf("legacy name: %s, %v", dir, err)
	}
}
