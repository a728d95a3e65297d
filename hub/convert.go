package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/attn-dev/attn/torchfile"
)

// A repository with PyTorch pickles only is converted to safetensors in
// the cache right after the download, so that the snapshot is a
// checkpoint model.Load opens. torchfile reads the pickles without
// running anything in them (it refuses any global a state dict does not
// need); the pickles are removed once converted.

// safetensorsName is the name transformers gives the safetensors twin of
// a pickle weights file: pytorch_model.bin → model.safetensors,
// pytorch_model-00001-of-00002.bin → model-00001-of-00002.safetensors,
// pytorch_model.bin.index.json → model.safetensors.index.json.
func safetensorsName(pickle string) string {
	s := "model" + strings.TrimPrefix(pickle, "pytorch_model")
	if t, ok := strings.CutSuffix(s, ".bin.index.json"); ok {
		return t + ".safetensors.index.json"
	}
	return strings.TrimSuffix(s, ".bin") + ".safetensors"
}

func isPickle(name string) bool {
	return name == "pytorch_model.bin" || name == "pytorch_model.bin.index.json" || pickleShard.MatchString(name)
}

// converted drops from files the pickles a previous pull already turned
// into safetensors in dir (their twin is there, the pickle is not).
func converted(dir string, files []File) []File {
	var out []File
	for _, f := range files {
		if isPickle(f.Name) && !exists(filepath.Join(dir, f.Name)) && exists(filepath.Join(dir, safetensorsName(f.Name))) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// convertPickles turns the pickles of files in dir into safetensors and
// removes them; it returns the names it wrote.
func convertPickles(dir string, files []File) ([]string, error) {
	var wrote []string
	var index string
	for _, f := range files {
		if !isPickle(f.Name) {
			continue
		}
		in := filepath.Join(dir, f.Name)
		if !exists(in) {
			continue // converted by an earlier pull
		}
		if f.Name == "pytorch_model.bin.index.json" {
			index = in // written last: it names the shards
			continue
		}
		out := safetensorsName(f.Name)
		if err := torchfile.Convert(in, filepath.Join(dir, out)); err != nil {
			if errors.Is(err, torchfile.ErrRefused) {
				// Never executed, but not to be left for another
				// reader that might be less careful.
				_ = os.Remove(in)
			}
			return wrote, fmt.Errorf("converting %s to safetensors: %w", f.Name, err)
		}
		wrote = append(wrote, out)
	}
	if index != "" {
		if err := convertIndex(index, filepath.Join(dir, "model.safetensors.index.json")); err != nil {
			return wrote, err
		}
		wrote = append(wrote, "model.safetensors.index.json")
	}
	// The pickles go only once every twin is in place: a failure above
	// leaves them for the next pull to convert.
	for _, f := range files {
		if isPickle(f.Name) {
			if err := os.Remove(filepath.Join(dir, f.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return wrote, err
			}
		}
	}
	return wrote, nil
}

// convertIndex rewrites a pickle shard index for the safetensors shards.
func convertIndex(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var idx map[string]json.RawMessage
	var wm map[string]string
	if err := json.Unmarshal(b, &idx); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(in), err)
	}
	if err := json.Unmarshal(idx["weight_map"], &wm); err != nil || len(wm) == 0 {
		return fmt.Errorf("%s: no weight_map naming the shards", filepath.Base(in))
	}
	for k, shard := range wm {
		if !pickleShard.MatchString(shard) {
			return fmt.Errorf("%s: tensor %q lies in %q, not a pytorch_model-NNNNN-of-NNNNN.bin shard", filepath.Base(in), k, shard)
		}
		wm[k] = safetensorsName(shard)
	}
	if idx["weight_map"], err = json.Marshal(wm); err != nil {
		return err
	}
	b, err = json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return diskError(err, tmp)
	}
	return os.Rename(tmp, out)
}
