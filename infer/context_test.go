package infer

import (
	"errors"
	"slices"
	"testing"

	"github.com/attn-dev/attn/generate"
)

func TestFitPrompts(t *testing.T) {
	p := []int{1, 2, 3, 4, 5, 6}
	for _, tc := range []struct {
		name    string
		cfg     generate.Config
		seq2seq bool
		t       Truncation
		want    []int // nil: a *ContextError
	}{
		{"fits", generate.Config{MaxNewTokens: 2}, false, TruncateNone, p},
		{"fits exactly", generate.Config{MaxNewTokens: 4}, false, TruncateNone, p},
		{"refused", generate.Config{MaxNewTokens: 5}, false, TruncateNone, nil},
		{"keep the end", generate.Config{MaxNewTokens: 7}, false, TruncateLeft, []int{4, 5, 6}},
		{"keep the start", generate.Config{MaxNewTokens: 7}, false, TruncateRight, []int{1, 2, 3}},
		{"max length counts the prompt", generate.Config{MaxLength: 10}, false, TruncateNone, p},
		{"max length beyond the context", generate.Config{MaxLength: 12}, false, TruncateNone, nil},
		{"nothing left to keep", generate.Config{MaxNewTokens: 10}, false, TruncateLeft, nil},
		{"source fits", generate.Config{MaxNewTokens: 9}, true, TruncateNone, p},
		{"decoder too long", generate.Config{MaxNewTokens: 10}, true, TruncateRight, nil},
		{"decoder max length fits", generate.Config{MaxLength: 10}, true, TruncateNone, p},
		{"decoder max length too long", generate.Config{MaxLength: 11}, true, TruncateNone, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fitPrompts([][]int{p}, tc.cfg, 10, tc.seq2seq, tc.t)
			var ce *ContextError
			switch {
			case tc.want == nil && !errors.As(err, &ce):
				t.Fatalf("got %v, %v; want a *ContextError", got, err)
			case tc.want != nil && (err != nil || !slices.Equal(got[0], tc.want)):
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	long := make([]int, 20)
	if _, err := fitPrompts([][]int{long}, generate.Config{}, 10, true, TruncateNone); err == nil || err.Error() != "infer: the source (20 tokens) exceeds the model's context of 10 tokens" {
		t.Errorf("source of 20: %v", err)
	}
}
