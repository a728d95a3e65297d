package main

import (
	"regexp"
	"strings"
	"testing"
)

// flagName matches the flags an error message names.
var flagName = regexp.MustCompile(`--[a-z][a-z-]*`)

// TestHostileFlags gives each verb one bad numeric flag: the verb must
// fail, fast, with a message that names exactly that flag and the value
// typed (never a default put in its place, a panic or an allocation the
// machine cannot hold).
func TestHostileFlags(t *testing.T) {
	const gpt2 = "../../testdata/generate/tiny-random-gpt2"
	gen := []string{"generate", "--model", gpt2, "--prompt-ids", "1,2", "--max-new-tokens", "2"}
	for _, tc := range []struct {
		name string
		args []string
		flag string // the flag the message must name ("" = any message)
		want string // a further fragment the message must contain
	}{
		{"temperature nan", append(gen, "--temperature", "nan"), "--temperature", "NaN"},
		{"temperature negative", append(gen, "--temperature", "-5"), "--temperature", "-5"},
		{"repetition penalty nan", append(gen, "--repetition-penalty", "nan"), "--repetition-penalty", "NaN"},
		{"repetition penalty 0", append(gen, "--repetition-penalty", "0"), "--repetition-penalty", "0"},
		{"top-k negative", append(gen, "--top-k", "-1"), "--top-k", "-1"},
		{"top-p 0", append(gen, "--top-p", "0"), "--top-p", "0"},
		{"threads huge", append(gen, "--threads", "100000"), "--threads", "100000"},
		{"threads 0", append(gen, "--threads", "0"), "--threads", "0"},
		{"beams huge", append(gen, "--num-beams", "100000"), "--num-beams", "100000"},
		{"beams 0", append(gen, "--num-beams", "0"), "--num-beams", "0"},
		{"return sequences huge", append(gen, "--num-return-sequences", "100000"), "--num-return-sequences", "100000"},
		{"max new negative", append(gen, "--max-new-tokens", "-1"), "--max-new-tokens", "-1"},
		{"bench attention runs 0", []string{"bench", "attention", "--runs", "0"}, "--runs", "0"},
		{"bench attention batch huge", []string{"bench", "attention", "--batch", "1000000000"}, "", "memory"},
		{"bench attention head-dim huge", []string{"bench", "attention", "--head-dim", "100000000"}, "", "memory"},
		{"bench attention kv-heads 0", []string{"bench", "attention", "--kv-heads", "0"}, "--kv-heads", "0"},
		{"bench matmul runs 0", []string{"bench", "matmul", "--runs", "0"}, "--runs", "0"},
		{"bench matmul m 0", []string{"bench", "matmul", "--m", "0"}, "--m", "0"},
		{"bench matmul huge", []string{"bench", "matmul", "--m", "1000000000", "--n", "1000000000", "--k", "1000000000"}, "", "memory"},
		{"bench matmul 40 GB", []string{"bench", "matmul", "--m", "100000", "--n", "100000", "--k", "1"}, "", "memory"},
		{"forward repeat 0", []string{"forward", "--model", gpt2, "--inputs", "x", "--repeat", "0"}, "--repeat", "0"},
		{"init vocab 0", []string{"init", "--arch", "gpt2", "--vocab", "0", "--out", t.TempDir() + "/m"}, "--vocab", "0"},
		{"init labels 0", []string{"init", "--arch", "bert", "--labels", "0", "--out", t.TempDir() + "/m"}, "--labels", "0"},
		{"init huge", []string{"init", "--arch", "gpt2", "--vocab", "1000000000", "--hidden", "100000", "--out", t.TempDir() + "/m"}, "", "memory"},
		{"embed layer", []string{"embed", "--model", gpt2, "--text", "hi", "--layer", "-9"}, "", "layer -9 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runVerb(t, "", tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("%q does not say %q", msg, tc.want)
			}
			if tc.flag == "" {
				return
			}
			if names := flagName.FindAllString(msg, -1); len(names) != 1 || names[0] != tc.flag {
				t.Errorf("%q names %v, want exactly %s", msg, names, tc.flag)
			}
		})
	}
}
