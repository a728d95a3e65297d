package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLoadCharVocab: Load reads a checkpoint's char_vocab.json (as attn
// train writes it) into the same tokenizer, and names the file when it is
// corrupt.
func TestLoadCharVocab(t *testing.T) {
	c, err := NewChar("hello, world")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CharVocabFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.Encode("world, hello", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tok.Encode("world, hello", false); err != nil || !slices.Equal(got, want) {
		t.Errorf("loaded tokenizer encodes %v (%v), want %v", got, err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, CharVocabFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), CharVocabFile) {
		t.Errorf("corrupt %s: %v, want an error naming it", CharVocabFile, err)
	}
}
