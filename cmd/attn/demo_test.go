package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestMain keeps the tests' embedded-model unpacking and pulled-model
// cache out of the user's home, and off the network.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "attn-cmd-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("ATTN_HOME", dir)
	os.Setenv("ATTN_OFFLINE", "1")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestDemo(t *testing.T) {
	out := runAttn(t, "", "demo", "--color", "never", "--max-new-tokens", "20")
	for _, want := range []string{
		"1. tiny-shakespeare-gpt", "tokens at", "tokens/s",
		"2. what each token", "attends most to:", "qu → ", // "question" is three tokens
		"3. tiny-shakespeare-bert", "[MASK] → ", "cosine of its vectors",
		"attn serve",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runVerb(t, "", "demo", "--sentence", "a"); err == nil {
		t.Error("a one-token sentence was accepted")
	}
}

// TestEmbeddedDefault: a verb that needs a model and is given none runs
// the embedded one and says so on stderr, once.
func TestEmbeddedDefault(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--prompt", "ROMEO:", "--max-new-tokens", "5", "--temperature", "0"}, "tiny-shakespeare-gpt"},
		{[]string{"fill-mask", "--text", "To be, or not to [MASK]."}, "tiny-shakespeare-bert"},
		{[]string{"embed", "--text", "my lord"}, "tiny-shakespeare-bert"},
		{[]string{"show"}, "tiny-shakespeare-gpt"},
	} {
		resetFlags(rootCmd)
		var out, errOut bytes.Buffer
		rootCmd.SetIn(strings.NewReader(""))
		rootCmd.SetOut(&out)
		rootCmd.SetErr(&errOut)
		rootCmd.SetArgs(tc.args)
		if err := rootCmd.Execute(); err != nil {
			t.Fatalf("attn %v: %v", tc.args, err)
		}
		if got := errOut.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "no --model given: using the embedded "+tc.want) {
			t.Errorf("attn %v: stderr %q, want one line naming %s", tc.args, got, tc.want)
		}
		if out.Len() == 0 {
			t.Errorf("attn %v printed nothing", tc.args)
		}
	}
}
