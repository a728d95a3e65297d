package tokenizer

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestWithBERTSpecials(t *testing.T) {
	b, err := TrainBPE(strings.NewReader(strings.Repeat("to be or not to be, that is the question\n", 50)), TrainOptions{VocabSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	n := b.VocabSize()
	c, err := b.WithBERTSpecials()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.TokenToID("[MASK]"); ok {
		t.Fatal("WithBERTSpecials changed its receiver")
	}
	for i, s := range []string{"[PAD]", "[CLS]", "[SEP]", "[MASK]"} {
		if id, ok := c.TokenToID(s); !ok || id != n+i {
			t.Errorf("%s: id %d (%v), want %d", s, id, ok, n+i)
		}
	}
	plain, _ := b.Encode("to be", false)
	ids, _ := c.Encode("to [MASK]", true)
	want := append(append([]int{n + 1}, plain[:len(plain)-1]...), n+3, n+2)
	if !slices.Equal(ids, want) {
		t.Errorf("Encode = %v, want %v", ids, want)
	}
	if got, _ := c.Decode(ids, true); got != "to" {
		t.Errorf("Decode skipping specials = %q", got)
	}
	// The file keeps them.
	var buf bytes.Buffer
	if err := c.WriteHFJSON(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := parseHFJSON(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	r.(*BPE).AllowSpecial = true
	if again, _ := r.Encode("to [MASK]", true); !slices.Equal(again, want) {
		t.Errorf("after a round trip through tokenizer.json: %v, want %v", again, want)
	}
	if d, err := c.WithBERTSpecials(); err != nil || d != c {
		t.Errorf("a BPE with the specials is returned as is: %p %v", d, err)
	}
}
