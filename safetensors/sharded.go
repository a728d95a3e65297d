package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// IndexFile is the name of a sharded checkpoint's index.
const IndexFile = "model.safetensors.index.json"

// Sharded is a checkpoint split over several files, found through an index
// {"metadata": {...}, "weight_map": {"tensor name": "shard file name"}}.
type Sharded struct {
	index    string
	shards   map[string]*File // by file name
	owner    map[string]*File // by tensor name
	names    []string
	metadata map[string]string
}

var _ Source = (*Sharded)(nil)

// OpenSharded opens a checkpoint given a directory, the path of an index
// file, or the path of a single .safetensors file. A directory with model.safetensors.index.json opens every shard it
// names; a directory with only model.safetensors opens that one file. Every
// tensor the index names must be in its shard; shards may hold nothing else.
func OpenSharded(path string) (Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if st.IsDir() {
		idx := filepath.Join(path, IndexFile)
		if _, err := os.Stat(idx); err != nil {
			single := filepath.Join(path, "model.safetensors")
			if _, serr := os.Stat(single); serr == nil {
				return Open(single)
			}
			return nil, fmt.Errorf("safetensors: %s: neither %s nor model.safetensors found", path, IndexFile)
		}
		path = idx
	} else if strings.HasSuffix(path, ".safetensors") {
		return Open(path)
	}
	return openIndex(path)
}

func openIndex(path string) (*Sharded, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var idx struct {
		Metadata  map[string]json.RawMessage `json:"metadata"`
		WeightMap map[string]string          `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("safetensors: index %s: %w", path, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("safetensors: index %s: empty or missing weight_map", path)
	}
	s := &Sharded{index: path, shards: map[string]*File{}, owner: map[string]*File{}, metadata: map[string]string{}}
	for k, v := range idx.Metadata {
		var str string
		if json.Unmarshal(v, &str) == nil {
			s.metadata[k] = str
		} else {
			s.metadata[k] = string(v) // e.g. total_size, a number
		}
	}
	dir := filepath.Dir(path)
	for name, shard := range idx.WeightMap {
		if shard == "" || shard != filepath.Base(shard) || shard == "." || shard == ".." || strings.ContainsAny(shard, `/\`) {
			s.Close()
			return nil, fmt.Errorf("safetensors: index %s: tensor %q: shard %q is not a file name in the index's directory", path, name, shard)
		}
		f, ok := s.shards[shard]
		if !ok {
			f, err = Open(filepath.Join(dir, shard))
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("safetensors: index %s: %w", path, err)
			}
			s.shards[shard] = f
		}
		if _, ok := f.Info(name); !ok {
			s.Close()
			return nil, fmt.Errorf("safetensors: index %s: tensor %q: not in shard %s", path, name, shard)
		}
		s.owner[name] = f
		s.names = append(s.names, name)
	}
	for shard, f := range s.shards {
		for _, n := range f.Names() {
			if s.owner[n] != f {
				s.Close()
				return nil, fmt.Errorf("safetensors: index %s: tensor %q in shard %s is not mapped to it by the index", path, n, shard)
			}
		}
	}
	sort.Strings(s.names)
	return s, nil
}

// Names lists the tensor names of all shards, sorted.
func (s *Sharded) Names() []string { return append([]string(nil), s.names...) }

// Info describes the named tensor (Offset is within its shard).
func (s *Sharded) Info(name string) (TensorInfo, bool) {
	f, ok := s.owner[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// Float32 is File.Float32 on the shard holding name.
func (s *Sharded) Float32(name string) ([]float32, []int, error) {
	f, ok := s.owner[name]
	if !ok {
		return nil, nil, fmt.Errorf("safetensors: %s: tensor %q: %w", s.index, name, ErrNotFound)
	}
	return f.Float32(name)
}

// Int64 is File.Int64 on the shard holding name.
func (s *Sharded) Int64(name string) ([]int64, []int, error) {
	f, ok := s.owner[name]
	if !ok {
		return nil, nil, fmt.Errorf("safetensors: %s: tensor %q: %w", s.index, name, ErrNotFound)
	}
	return f.Int64(name)
}

// Bytes is File.Bytes on the shard holding name.
func (s *Sharded) Bytes(name string) ([]byte, TensorInfo, error) {
	f, ok := s.owner[name]
	if !ok {
		return nil, TensorInfo{}, fmt.Errorf("safetensors: %s: tensor %q: %w", s.index, name, ErrNotFound)
	}
	return f.Bytes(name)
}

// Evict is File.Evict on the shard holding name.
func (s *Sharded) Evict(name string) error {
	f, ok := s.owner[name]
	if !ok {
		return fmt.Errorf("safetensors: %s: tensor %q: %w", s.index, name, ErrNotFound)
	}
	return f.Evict(name)
}

// Metadata returns the index's "metadata" (non-string values as JSON text).
func (s *Sharded) Metadata() map[string]string {
	m := make(map[string]string, len(s.metadata))
	for k, v := range s.metadata {
		m[k] = v
	}
	return m
}

// Close closes every shard.
func (s *Sharded) Close() error {
	var errs []error
	for _, f := range s.shards {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
