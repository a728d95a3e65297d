package main

import (
	"testing"
)

// runAttn runs the CLI in-process with stdin and returns stdout.
func runAttn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := runVerb(t, stdin, args...)
	if err != nil {
		t.Fatalf("attn %v: %v", args, err)
	}
	return out
}

func TestTokenizeVerbs(t *testing.T) {
	const gpt2 = "../../testdata/tokenizer/gpt2"
	const bert = "../../testdata/tokenizer/bert"
	const marian = "../../testdata/tokenizer/spm/marian"
	tests := []struct {
		name string
		in   string
		args []string
		want string
	}{
		{"gpt2 keeps trailing spaces", "hello world \n", []string{"tokenize", "--model", gpt2}, "31373 995 220 198\n"},
		{"gpt2 json", "hello <|endoftext|>", []string{"tokenize", "--model", gpt2, "--json"},
			`{"ids":[31373,220,50256],"tokens":["hello","Ġ","<|endoftext|>"]}` + "\n"},
		{"empty text json", "", []string{"tokenize", "--model", bert, "--json", "--no-special-tokens"}, `{"ids":[],"tokens":[]}` + "\n"},
		{"blank text json", " \n ", []string{"tokenize", "--model", bert, "--json", "--no-special-tokens"}, `{"ids":[],"tokens":[]}` + "\n"},
		{"bert adds CLS SEP", "Hello World", []string{"tokenize", "--model", bert}, "101 7592 2088 102\n"},
		{"bert no special", "Hello World", []string{"tokenize", "--model", bert, "--no-special-tokens"}, "7592 2088\n"},
		{"detokenize json", `{"ids":[31373,220,50256]}`, []string{"detokenize", "--model", gpt2}, "hello <|endoftext|>"},
		{"detokenize list", "31373, 995 220\n198", []string{"detokenize", "--model", gpt2}, "hello world \n"},
		{"detokenize skip", "101 7592 2088 102", []string{"detokenize", "--model", bert, "--skip-special-tokens"}, "hello world"},
		{"marian appends eos", "Tom ne sait pas nager.", []string{"tokenize", "--model", marian}, "167 53 106 38 68 1 8 147 1 6 0\n"},
		// Ids and text as python3-sentencepiece gives them (testdata/tokenizer/spm/cases.json).
		{"marian decode", "167 53 106 38 68 1 8 147 1 6 0", []string{"detokenize", "--model", marian, "--skip-special-tokens"}, "Tom ne sait pasnag."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := runAttn(t, tc.in, tc.args...); got != tc.want {
				t.Errorf("got %q want %q", got, tc.want)
			}
		})
	}
}
