package home

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	want := filepath.Join(t.TempDir(), "a", "b")
	t.Setenv(Env, want)
	got, err := Dir()
	if err != nil || got != want {
		t.Fatalf("Dir() = %q, %v; want %q", got, err, want)
	}
	if st, err := os.Stat(want); err != nil || !st.IsDir() {
		t.Errorf("not created: %v", err)
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(Env, filepath.Join(file, "x"))
	if _, err := Dir(); err == nil || !strings.Contains(err.Error(), Env) {
		t.Errorf("a path under a file: %v, want an error naming %s", err, Env)
	}
}
