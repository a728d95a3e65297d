package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/attn-dev/attn/internal/memlimit"
	"github.com/attn-dev/attn/model"
)

var (
	flagName = regexp.MustCompile(`--[a-z][a-z-]*`)
	quoted   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
)

// namedFlags lists the flags an error message names outside the quoted
// values it echoes.
func namedFlags(msg string) []string {
	return flagName.FindAllString(quoted.ReplaceAllString(msg, `""`), -1)
}

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
		{"bench generate runs 0", []string{"bench", "generate", "--model", gpt2, "--runs", "0"}, "--runs", "0"},
		{"bench generate new 1", []string{"bench", "generate", "--model", gpt2, "--new", "1"}, "--new", "1"},
		{"bench generate prompt-len 0", []string{"bench", "generate", "--model", gpt2, "--prompt-len", "0"}, "--prompt-len", "0"},
		{"bench generate threads", []string{"bench", "generate", "--model", gpt2, "--threads", "100000"}, "--threads", "100000"},
		{"bench generate dtype", []string{"bench", "generate", "--model", gpt2, "--dtype", "f16"}, "--dtype", "f16"},
		{"bench generate context", []string{"bench", "generate", "--model", gpt2, "--prompt-len", "500", "--new", "20"}, "", "context of 512 tokens"},
		{"bench generate bert", []string{"bench", "generate", "--model", "../../testdata/models/bert-mlm"}, "", "cannot generate"},
		{"init out a file", []string{"init", "--arch", "gpt2", "--out", "hostile_test.go"}, "", "is not a directory"},
		{"forward out a directory", []string{"forward", "--model", "../../testdata/models/gpt2", "--inputs", "../../testdata/models/gpt2/inputs.safetensors", "--out", t.TempDir()}, "", "is a directory"},
		{"prompt ids 50 KB", append(gen, "--prompt-ids", strings.Repeat("x", 50000)), "", "… (50000 bytes)"},
		{"embed layer", []string{"embed", "--model", gpt2, "--text", "hi", "--layer", "-9"}, "", "layer -9 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "bench matmul 40 GB" && memlimit.Available() > 37<<30 {
				t.Skip("this machine could hold the 37 GiB")
			}
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
			if names := namedFlags(msg); len(names) != 1 || names[0] != tc.flag {
				t.Errorf("%q names %v, want exactly %s", msg, names, tc.flag)
			}
		})
	}
}

// TestGenerateContext: a prompt that does not fit the context with
// --max-new-tokens is refused before generating, in the user's terms,
// unless --truncate says which end to keep.
func TestGenerateContext(t *testing.T) {
	const gpt2, marian = "../../testdata/models/gpt2", "../../testdata/models/marian" // 32 positions
	ids := make([]string, 30)
	for i := range ids {
		ids[i] = strconv.Itoa(i + 1)
	}
	long := strings.Join(ids, ",")
	base := []string{"generate", "--max-new-tokens", "4", "--temperature", "0", "--json"}
	for _, tc := range []struct {
		name string
		args []string
		want string // error fragment, "" for success
	}{
		{"fits", []string{"--prompt-ids", "1,2,3"}, ""},
		{"refused", nil, "the prompt (30 tokens) plus --max-new-tokens 4 exceeds the model's context of 32 tokens"},
		{"keep the end", []string{"--truncate", "left"}, ""},
		{"keep the start", []string{"--truncate", "right"}, ""},
		{"bad truncate", []string{"--truncate", "middle"}, `--truncate "middle"`},
		{"more new tokens than context", []string{"--max-new-tokens", "40", "--truncate", "left"}, "--max-new-tokens 40 leaves no room for the prompt in the model's context of 32 tokens"},
		{"encoder-decoder source", []string{"--model", marian, "--prompt-ids", long + "," + long}, "the source (60 tokens) exceeds the model's context of 32 tokens"},
		{"encoder-decoder keep the start", []string{"--model", marian, "--prompt-ids", long + "," + long, "--truncate", "right"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(slices.Clone(base), tc.args...)
			if !slices.Contains(args, "--model") {
				args = append(args, "--model", gpt2)
			}
			if !slices.Contains(args, "--prompt-ids") {
				args = append(args, "--prompt-ids", long)
			}
			out, err := runVerb(t, "", args...)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("%v, want an error saying %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var g genJSON
			if err := json.Unmarshal([]byte(out), &g); err != nil || len(g.IDs) == 0 {
				t.Errorf("%q: %v", out, err)
			}
		})
	}
}

// TestTextTaskContext: embed, classify and fill-mask refuse a text longer
// than the context in the user's terms, or cut it with --truncate.
func TestTextTaskContext(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bert")
	m, err := model.Init(model.InitOptions{Arch: "bert", Head: "BertForMaskedLM", Layers: 1, Heads: 2, Hidden: 8, Vocab: 30522, Context: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := model.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	vocab, err := os.ReadFile("../../testdata/tokenizer/bert/vocab.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), vocab, 0o644); err != nil {
		t.Fatal(err)
	}
	long := "[MASK]" + strings.Repeat(" word", 40) // 43 tokens with [CLS] and [SEP]
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"embed refused", []string{"embed", "--text", long}, "the text (43 tokens) exceeds the model's context of 16 tokens"},
		{"embed keep the start", []string{"embed", "--text", long, "--truncate", "right"}, ""},
		{"embed keep the end", []string{"embed", "--text", long, "--truncate", "left"}, ""},
		{"fill-mask refused", []string{"fill-mask", "--text", long}, "the text (43 tokens)"},
		{"fill-mask keep the start", []string{"fill-mask", "--text", long, "--truncate", "right"}, ""},
		{"fill-mask top-k 0", []string{"fill-mask", "--text", "[MASK]", "--top-k", "0"}, "--top-k 0"},
		{"bad truncate", []string{"embed", "--text", "x", "--truncate", strings.Repeat("y", 50000)}, "… (50000 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runVerb(t, "", append(tc.args, "--model", dir)...)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("%v, want an error saying %q", err, tc.want)
			}
		})
	}
}
