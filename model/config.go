package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Config is a Hugging Face config.json: the raw keys, read through typed
// getters that know null means absent.
type Config struct {
	Path string
	raw  map[string]any
}

// ReadConfig reads dir/config.json.
func ReadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig parses the JSON of a config.json; path names it in errors.
func ParseConfig(path string, data []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("model: %s: %w", path, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("model: %s: not a JSON object", path)
	}
	if v, ok := raw["model_type"]; ok && v != nil {
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("model: %s: \"model_type\" is %s, not a string", path, jsonKind(v))
		}
	}
	if v, ok := raw["architectures"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("model: %s: \"architectures\" is %s, not a list of strings", path, jsonKind(v))
		}
		for i, a := range list {
			if _, ok := a.(string); !ok {
				return nil, fmt.Errorf("model: %s: \"architectures\"[%d] is %s, not a string", path, i, jsonKind(a))
			}
		}
	}
	return &Config{Path: path, raw: raw}, nil
}

// jsonKind names the kind of a decoded JSON value for messages.
func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case json.Number:
		return "a number (" + v.String() + ")"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "a list"
	}
	return "an object"
}

// ModelType is the "model_type" key.
func (c *Config) ModelType() string { s, _ := c.raw["model_type"].(string); return s }

// Architecture is the first entry of "architectures", or "" when absent.
func (c *Config) Architecture() string {
	if a, ok := c.raw["architectures"].([]any); ok && len(a) > 0 {
		s, _ := a[0].(string)
		return s
	}
	return ""
}

// Raw returns the value of key as decoded JSON (numbers as json.Number).
func (c *Config) Raw(key string) (any, bool) {
	v, ok := c.raw[key]
	return v, ok && v != nil
}

// Int returns the value of key when it is present and an integer.
func (c *Config) Int(key string) (int, bool) {
	v, ok := c.Raw(key)
	if !ok {
		return 0, false
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	if err != nil || int64(int(i)) != i {
		return 0, false
	}
	return int(i), true
}

// reader reads typed keys and keeps the first error, so a loader can read
// all it needs and check once.
type reader struct {
	c   *Config
	err error
}

func (r *reader) fail(key, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("model: %s: %q %s", r.c.Path, key, fmt.Sprintf(format, args...))
	}
}

// lookup returns the first of keys present and not null.
func (r *reader) lookup(keys []string) (string, any, bool) {
	for _, k := range keys {
		if v, ok := r.c.Raw(k); ok {
			return k, v, true
		}
	}
	return strings.Join(keys, "|"), nil, false
}

// int reads a required positive integer, the first of keys present.
func (r *reader) int(keys ...string) int {
	k, v, ok := r.lookup(keys)
	if !ok {
		r.fail(k, "is missing")
		return 0
	}
	n := r.toInt(k, v)
	if n <= 0 && r.err == nil {
		r.fail(k, "must be positive, got %d", n)
	}
	return n
}

// intOr reads an integer, def when absent.
func (r *reader) intOr(def int, keys ...string) int {
	k, v, ok := r.lookup(keys)
	if !ok {
		return def
	}
	return r.toInt(k, v)
}

func (r *reader) toInt(k string, v any) int {
	num, ok := v.(json.Number)
	if !ok {
		r.fail(k, "is %T, want an integer", v)
		return 0
	}
	n, err := num.Int64()
	if err != nil || n > math.MaxInt32 || n < math.MinInt32 {
		r.fail(k, "= %s is not an integer in range", num)
		return 0
	}
	return int(n)
}

// float reads a number, def when absent.
func (r *reader) float(def float64, keys ...string) float64 {
	k, v, ok := r.lookup(keys)
	if !ok {
		return def
	}
	num, ok := v.(json.Number)
	if !ok {
		r.fail(k, "is %T, want a number", v)
		return def
	}
	f, err := num.Float64()
	if err != nil {
		r.fail(k, "= %s: %v", num, err)
	}
	return f
}

// str reads a string, def when absent.
func (r *reader) str(def string, keys ...string) string {
	k, v, ok := r.lookup(keys)
	if !ok {
		return def
	}
	s, ok := v.(string)
	if !ok {
		r.fail(k, "is %T, want a string", v)
	}
	return s
}

// bool reads a boolean, def when absent.
func (r *reader) bool(def bool, keys ...string) bool {
	k, v, ok := r.lookup(keys)
	if !ok {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		r.fail(k, "is %T, want true or false", v)
	}
	return b
}

// labels is the number of classes of a classification head: num_labels,
// else the size of id2label, else 2 (transformers' default).
func (r *reader) labels() int {
	if n := r.intOr(0, "num_labels"); n > 0 {
		return n
	}
	if m, ok := r.c.raw["id2label"].(map[string]any); ok && len(m) > 0 {
		return len(m)
	}
	return 2
}
