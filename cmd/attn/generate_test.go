package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/model"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// resetFlags sets every flag of cmd's subcommands, theirs included, back
// to its default, slices included: flags keep their values between
// Execute calls in one process.
func resetFlags(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				_ = sv.Replace(nil)
			} else {
				_ = f.Value.Set(f.DefValue)
			}
			f.Changed = false
		})
		resetFlags(c)
	}
}

// runVerb runs the CLI in-process and returns stdout and the error; it
// resets every flag first.
func runVerb(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	resetFlags(rootCmd)
	var out bytes.Buffer
	rootCmd.SetIn(strings.NewReader(stdin))
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&bytes.Buffer{})
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
	return out.String(), err
}

type genJSON struct {
	IDs     []int    `json:"ids"`
	Text    string   `json:"text"`
	Prefill *float64 `json:"prefill_tokens_per_second"`
	Decode  *float64 `json:"tokens_per_second"`
}

// TestGenerateVerbContract checks the `attn generate --json` contract:
// the new ids only, greedy with --temperature 0, on the real
// tiny-random-gpt2 (upstream ids) and on the Marian/BART references (the
// prompt is the encoder input), with the speed fields present.
func TestGenerateVerbContract(t *testing.T) {
	const data = "../../testdata"
	cases := []struct {
		name  string
		args  []string
		want  []int
		dtype string
	}{
		{"tiny-random-gpt2", []string{"--model", data + "/generate/tiny-random-gpt2", "--prompt-ids", "0,0,0,52", "--max-new-tokens", "6"},
			[]int{204, 204, 204, 204, 204, 204}, ""},
		{"tiny-random-gpt2 bf16", []string{"--model", data + "/generate/tiny-random-gpt2", "--prompt-ids", "0,0,195,731", "--max-new-tokens", "6"},
			[]int{731, 114, 114, 114, 114, 114}, "bf16"},
		{"gpt2", []string{"--model", data + "/models/gpt2", "--prompt-ids", "26,41,21,43", "--max-new-tokens", "10"},
			[]int{42, 52, 25, 12, 61, 54, 54, 42, 42, 45}, ""},
		{"marian", []string{"--model", data + "/models/marian", "--prompt-ids", "56,18,11,4,17,33,0", "--max-new-tokens", "8"},
			[]int{2, 2, 2, 10, 10, 10, 10, 10}, ""},
		{"bart", []string{"--model", data + "/models/bart", "--prompt-ids", "14,30,62,42,24,46,2", "--max-new-tokens", "8"},
			[]int{33, 10, 10, 30, 30, 30, 30, 30}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"generate", "--temperature", "0", "--json"}, c.args...)
			if c.dtype != "" {
				args = append(args, "--dtype", c.dtype)
			}
			out, err := runVerb(t, "", args...)
			if err != nil {
				t.Fatal(err)
			}
			var g genJSON
			if err := json.Unmarshal([]byte(out), &g); err != nil {
				t.Fatalf("%v: %q", err, out)
			}
			if !slices.Equal(g.IDs, c.want) || g.Prefill == nil || g.Decode == nil {
				t.Errorf("got %s, want ids %v and both speeds", out, c.want)
			}
		})
	}
	out, err := runVerb(t, "", "generate", "--model", data+"/generate/tiny-random-gpt2", "--prompt", "Hello there", "--max-new-tokens", "5", "--temperature", "0.7", "--seed", "3")
	if err != nil || !strings.HasSuffix(out, "\n") || len(out) < 2 {
		t.Errorf("streamed text %q, %v", out, err)
	}
	for _, bad := range [][]string{
		{"generate", "--model", data + "/models/gpt2"},
		{"generate", "--model", data + "/models/gpt2", "--prompt-ids", "1,2", "--dtype", "f16"},
		{"generate", "--model", data + "/models/gpt2", "--prompt-ids", "1,999"},
		{"generate", "--model", data + "/models/gpt2", "--prompt", "no tokenizer here"},
		{"generate", "--model", data + "/models/bert-mlm", "--prompt-ids", "1,2"},
	} {
		if _, err := runVerb(t, "", bad...); err == nil {
			t.Errorf("attn %v: no error", bad)
		}
	}
}

// TestTranslateVerb builds a Marian model over the committed SentencePiece
// tokenizer with a beam search generation config and checks that
// `attn translate` follows it: the same ids as GenerateSeq2Seq, the pad id
// never generated, EOS forced at max_length.
func TestTranslateVerb(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "marian")
	m, err := model.Init(model.InitOptions{Arch: "marian", Layers: 1, Heads: 2, Hidden: 16, Vocab: 344, Context: 64, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := model.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"source.spm", "target.spm", "vocab.json"} {
		data, err := os.ReadFile(filepath.Join("../../testdata/tokenizer/spm/marian", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := m.Config().Raw("pad_token_id")
	pad := raw.(json.Number).String()
	gc := `{"num_beams": 3, "max_length": 9, "bad_words_ids": [[` + pad + `]], "decoder_start_token_id": ` + pad +
		`, "pad_token_id": ` + pad + `, "eos_token_id": 0, "forced_eos_token_id": 0}`
	if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(gc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runVerb(t, "", "translate", "--model", dir, "--text", "Tom ne sait pas nager.", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		IDs  []int  `json:"ids"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	g, err := infer.LoadGenerator(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	src, err := g.Tokenizer.Encode("Tom ne sait pas nager.", true)
	if err != nil {
		t.Fatal(err)
	}
	if g.Config.NumBeams != 3 {
		t.Fatalf("num_beams %d from generation_config.json", g.Config.NumBeams)
	}
	s2s, err := infer.NewSeq2Seq(g.Model)
	if err != nil {
		t.Fatal(err)
	}
	res, err := generate.GenerateSeq2Seq(s2s, [][]int{src}, g.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	if text, err := g.Translate("Tom ne sait pas nager."); err != nil || text != got.Text {
		t.Errorf("Generator.Translate: %q, %v; the verb printed %q", text, err, got.Text)
	}
	p, _ := json.Number(pad).Int64()
	if !slices.Equal(got.IDs, res.IDs[0]) || slices.Contains(got.IDs, int(p)) || len(got.IDs) > 8 || got.IDs[len(got.IDs)-1] != 0 {
		t.Errorf("translate ids %v (text %q), GenerateSeq2Seq %v; pad %d must not appear, EOS must end", got.IDs, got.Text, res.IDs[0], p)
	}

	// --num-return-sequences 3: the three beams, best first, the first
	// being the single translation above.
	out, err = runVerb(t, "", "translate", "--model", dir, "--text", "Tom ne sait pas nager.", "--json", "--num-return-sequences", "3")
	if err != nil {
		t.Fatal(err)
	}
	var many struct {
		IDs       []int `json:"ids"`
		Sequences []struct {
			IDs  []int  `json:"ids"`
			Text string `json:"text"`
		} `json:"sequences"`
	}
	if err := json.Unmarshal([]byte(out), &many); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if len(many.Sequences) != 3 || !slices.Equal(many.Sequences[0].IDs, got.IDs) || !slices.Equal(many.IDs, got.IDs) {
		t.Errorf("--num-return-sequences 3 gave %+v; want 3 beams, the first %v", many, got.IDs)
	}
	for i := 1; i < len(many.Sequences); i++ {
		if slices.Equal(many.Sequences[i].IDs, many.Sequences[i-1].IDs) {
			t.Errorf("beams %d and %d are the same sequence %v", i-1, i, many.Sequences[i].IDs)
		}
	}
	out, err = runVerb(t, "", "translate", "--model", dir, "--text", "Tom ne sait pas nager.", "--num-return-sequences", "2")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "1\t") || !strings.HasPrefix(lines[1], "2\t") {
		t.Errorf("text output with 2 sequences: %q", out)
	}
	if _, err := runVerb(t, "", "translate", "--model", dir, "--text", "x", "--num-return-sequences", "4"); err == nil {
		t.Error("--num-return-sequences 4 > num_beams 3: no error")
	}

	// stdin: one output line per input line, a blank one for a blank one.
	out, err = runVerb(t, "Tom ne sait pas nager.\n\n  \nTom ne sait pas nager.\n", "translate", "--model", dir)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(out, "\n"); len(lines) != 5 || lines[0] != got.Text || lines[1] != "" || lines[2] != "" || lines[3] != got.Text || lines[4] != "" {
		t.Errorf("4 lines in (2 blank) gave %q, want the translation %q, 2 blank lines, it again", out, got.Text)
	}
}

// TestGenerateVerbBatch: several --prompt-ids run as one left-padded batch
// (a JSON line per prompt, each as the prompt alone gives it), and
// --num-return-sequences prints a list per prompt: samples, or the best
// beams (greedy refuses it).
func TestGenerateVerbBatch(t *testing.T) {
	const dir = "../../testdata/models/gpt2"
	single := func(ids string) genJSON {
		out, err := runVerb(t, "", "generate", "--model", dir, "--prompt-ids", ids, "--max-new-tokens", "6", "--temperature", "0", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var g genJSON
		if err := json.Unmarshal([]byte(out), &g); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		return g
	}
	prompts := []string{"26,41,21,43", "7", "1,2,3"}
	args := []string{"generate", "--model", dir, "--max-new-tokens", "6", "--temperature", "0", "--json"}
	for _, p := range prompts {
		args = append(args, "--prompt-ids", p)
	}
	out, err := runVerb(t, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(prompts) {
		t.Fatalf("%d lines for %d prompts: %q", len(lines), len(prompts), out)
	}
	for i, p := range prompts {
		var g genJSON
		if err := json.Unmarshal([]byte(lines[i]), &g); err != nil {
			t.Fatalf("line %d: %v: %q", i, err, lines[i])
		}
		if want := single(p); !slices.Equal(g.IDs, want.IDs) || g.Prefill == nil || g.Decode == nil {
			t.Errorf("prompt %s in a batch: %s, alone %v", p, lines[i], want.IDs)
		}
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"samples", []string{"--temperature", "0.8", "--seed", "4", "--ignore-eos"}},
		{"beams", []string{"--num-beams", "3"}},
	} {
		args := append([]string{"generate", "--model", dir, "--max-new-tokens", "6", "--json", "--num-return-sequences", "2",
			"--prompt-ids", "26,41,21,43", "--prompt-ids", "7"}, c.args...)
		out, err := runVerb(t, "", args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: %d lines for 2 prompts: %q", c.name, len(lines), out)
		}
		for _, l := range lines {
			var list []genJSON
			if err := json.Unmarshal([]byte(l), &list); err != nil || len(list) != 2 {
				t.Fatalf("%s: %q: want a list of 2 sequences (%v)", c.name, l, err)
			}
			for _, g := range list {
				if len(g.IDs) == 0 || len(g.IDs) > 6 || g.Prefill == nil {
					t.Errorf("%s: sequence %+v", c.name, g)
				}
			}
			if slices.Equal(list[0].IDs, list[1].IDs) {
				t.Errorf("%s: the two sequences are equal: %v", c.name, list[0].IDs)
			}
		}
	}
	if _, err := runVerb(t, "", "generate", "--model", dir, "--prompt-ids", "1,2", "--temperature", "0", "--num-return-sequences", "2"); err == nil {
		t.Error("greedy with --num-return-sequences 2: no error")
	}
	out, err = runVerb(t, "", "generate", "--model", dir, "--prompt-ids", "1,2", "--prompt-ids", "3", "--max-new-tokens", "3", "--temperature", "0")
	if err != nil || len(strings.Split(strings.TrimSpace(out), "\n")) != 2 {
		t.Errorf("two prompts without --json: %q, %v (want a line each)", out, err)
	}
}
