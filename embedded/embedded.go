// Package embedded holds the models attn carries inside its binary, so that
// a first run needs no download: a small GPT that writes Shakespeare-like
// text and a small BERT-style encoder for embeddings and fill-mask, both
// trained by `attn train` from the recipes in embedded/recipes on
// data/tinyshakespeare, stored in bfloat16.
//
// A model is unpacked once into the cache ($ATTN_HOME/embedded, default
// ~/.cache/attn/embedded) under a name that includes a hash of its files, so
// a newer binary never reads an older copy; Dir returns that directory,
// which model.Load and every other loader read like any checkpoint.
package embedded

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"

	"github.com/attn-dev/attn/internal/home"
)

//go:embed all:tiny-shakespeare-gpt all:tiny-shakespeare-bert
var files embed.FS

// The embedded models' names.
const (
	GPT     = "tiny-shakespeare-gpt"  // causal LM: generate, attend, serve
	Encoder = "tiny-shakespeare-bert" // masked LM: embed, fill-mask, similarity
)

// Info describes an embedded model (its about.json).
type Info struct {
	Name  string `json:"name"`
	About string `json:"about"`
	// Recipe is the training config in the repository, Command the
	// commands that reproduce the model from it.
	Recipe  string   `json:"recipe"`
	Command []string `json:"command"`
	// ValLoss is the mean cross-entropy (nats per token; for the encoder,
	// per masked token) over the held-out tenth of the corpus, of the
	// bfloat16 weights as stored here, measured by train.Validate with the
	// recipe.
	ValLoss float64 `json:"val_loss"`
	Steps   int     `json:"steps"`
	Params  int     `json:"params"`
}

// Names lists the embedded models.
func Names() []string { return []string{GPT, Encoder} }

// About returns the description of the named model.
func About(name string) (Info, error) {
	if !slices.Contains(Names(), name) {
		return Info{}, fmt.Errorf("no embedded model %q (there are %v)", name, Names())
	}
	data, err := files.ReadFile(path.Join(name, "about.json"))
	if err != nil {
		return Info{}, fmt.Errorf("embedded model %s: %w", name, err)
	}
	var in Info
	if err := json.Unmarshal(data, &in); err != nil {
		return Info{}, fmt.Errorf("embedded model %s: about.json: %w", name, err)
	}
	return in, nil
}

var unpacked sync.Map // name -> directory

// Dir unpacks the named model into the cache, once, and returns its
// directory.
func Dir(name string) (string, error) {
	if d, ok := unpacked.Load(name); ok {
		return d.(string), nil
	}
	if !slices.Contains(Names(), name) {
		return "", fmt.Errorf("no embedded model %q (there are %v)", name, Names())
	}
	sum, err := digest(name)
	if err != nil {
		return "", err
	}
	root, err := home.Dir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "embedded", name+"-"+sum[:12])
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		if err := unpack(name, dir); err != nil {
			return "", fmt.Errorf("embedded model %s: %w", name, err)
		}
	}
	unpacked.Store(name, dir)
	return dir, nil
}

// digest hashes the model's file names and contents.
func digest(name string) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(files, name, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", p, len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("embedded model %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// unpack writes the model's files under a temporary name beside dir and
// renames it into place, so a directory that exists is complete; a
// concurrent unpacker that loses the race keeps the winner's copy.
func unpack(name, dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ents, err := files.ReadDir(name)
	if err != nil {
		return err
	}
	for _, e := range ents {
		data, err := files.ReadFile(path.Join(name, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "config.json")); serr == nil {
			return nil // another process unpacked it first
		}
		return errors.Join(fmt.Errorf("unpack into %s", dir), err)
	}
	return nil
}
