// Package home finds attn's own directory: the cache of pulled models and
// unpacked embedded ones.
package home

import (
	"fmt"
	"os"
	"path/filepath"
)

// Env names the variable that overrides the directory.
const Env = "ATTN_HOME"

// Dir returns $ATTN_HOME, else the user's cache directory's "attn"
// (~/.cache/attn on Linux), else a per-user directory under the system's
// temporary directory (a container without a home), creating it.
func Dir() (string, error) {
	dir := os.Getenv(Env)
	if dir == "" {
		if c, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(c, "attn")
		} else {
			dir = filepath.Join(os.TempDir(), fmt.Sprintf("attn-%d", os.Getuid()))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("attn's directory (set %s to choose another): %w", Env, err)
	}
	return dir, nil
}
