package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/safetensors"
)

// attendOut is the `attn attend --json` contract.
type attendOut struct {
	Attention   string          `json:"attention"`
	Tokens      []string        `json:"tokens"`
	QueryTokens []string        `json:"query_tokens"`
	Layers      []int           `json:"layers"`
	Heads       []int           `json:"heads"`
	Reduce      string          `json:"reduce"`
	Weights     [][][][]float64 `json:"weights"`
}

// attendModels saves small random BERT (context 16) and Marian models
// beside the committed tokenizers, once per test binary.
func attendModels(t *testing.T) (bert, marian string) {
	t.Helper()
	root := t.TempDir()
	for _, m := range []struct {
		dir   string
		opt   model.InitOptions
		src   string
		files []string
	}{
		{"bert", model.InitOptions{Arch: "bert", Layers: 2, Heads: 2, Hidden: 8, Vocab: 30522, Context: 16, Seed: 3}, "../../testdata/tokenizer/bert", []string{"vocab.txt"}},
		{"marian", model.InitOptions{Arch: "marian", Layers: 2, Heads: 2, DecoderLayers: 3, DecoderHeads: 4, Hidden: 16, Vocab: 344, Context: 64, Seed: 5}, "../../testdata/tokenizer/spm/marian", []string{"source.spm", "target.spm", "vocab.json"}},
	} {
		mm, err := model.Init(m.opt)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, m.dir)
		if err := model.Save(mm, dir); err != nil {
			t.Fatal(err)
		}
		for _, f := range m.files {
			data, err := os.ReadFile(filepath.Join(m.src, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return filepath.Join(root, "bert"), filepath.Join(root, "marian")
}

// TestAttendJSON checks the JSON contract on a decoder-only, an encoder,
// an encoder-decoder and a vision model: shapes [layer][head][query][key]
// matching the tokens, rows summing to 1, causal models zero above the
// diagonal.
func TestAttendJSON(t *testing.T) {
	const gpt2, vit = "../../testdata/generate/tiny-random-gpt2", "../../testdata/models/vit"
	bert, marian := attendModels(t)
	const text = "The dog chased the ball because it was excited"
	for _, tc := range []struct {
		name           string
		args           []string
		layers, heads  int
		causal, square bool
		tokens         int // key tokens (0: don't check)
		reduce         string
	}{
		{"gpt2 all", []string{"--model", gpt2, "--text", text}, 5, 4, true, true, 0, ""},
		{"gpt2 one head", []string{"--model", gpt2, "--text", text, "--layer", "3", "--head", "2"}, 1, 1, true, true, 0, ""},
		{"gpt2 mean", []string{"--model", gpt2, "--text", text, "--average"}, 5, 1, true, true, 0, "mean"},
		{"gpt2 rollout", []string{"--model", gpt2, "--text", text, "--rollout"}, 1, 1, true, true, 0, "rollout"},
		{"bert", []string{"--model", bert, "--text", "the dog chased it"}, 2, 2, false, true, 6, ""},
		{"bert layer 1", []string{"--model", bert, "--text", "the dog chased it", "--layer", "1"}, 1, 2, false, true, 6, ""},
		{"marian cross", []string{"--model", marian, "--text", "Tom ne sait pas nager.", "--target", "Tom can't swim."}, 3, 4, false, false, 0, ""},
		{"marian cross layer 2 head 3", []string{"--model", marian, "--text", "Tom ne sait pas nager.", "--target", "Tom can't swim.", "--layer", "2", "--head", "3"}, 1, 1, false, false, 0, ""},
		{"marian generated", []string{"--model", marian, "--text", "Tom ne sait pas nager.", "--max-new-tokens", "5"}, 3, 4, false, false, 0, ""},
		{"marian decoder", []string{"--model", marian, "--text", "Tom ne sait pas nager.", "--target", "Tom can't swim.", "--attention", "decoder"}, 3, 4, true, true, 0, ""},
		{"marian encoder layer 1", []string{"--model", marian, "--text", "Tom ne sait pas nager.", "--attention", "self", "--layer", "1", "--target", "x"}, 1, 2, false, true, 0, ""},
		{"vit", []string{"--model", vit, "--image", "../../testdata/infer/up.png"}, 2, 3, false, true, 17, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runVerb(t, "", append([]string{"attend", "--json"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			var a attendOut
			if err := json.Unmarshal([]byte(out), &a); err != nil {
				t.Fatalf("%v: %.300q", err, out)
			}
			if len(a.Weights) != tc.layers || len(a.Weights[0]) != tc.heads || a.Reduce != tc.reduce {
				t.Fatalf("%d layers × %d heads (reduce %q), want %d × %d (%q)", len(a.Weights), len(a.Weights[0]), a.Reduce, tc.layers, tc.heads, tc.reduce)
			}
			if tc.tokens > 0 && len(a.Tokens) != tc.tokens {
				t.Errorf("%d tokens %q, want %d", len(a.Tokens), a.Tokens, tc.tokens)
			}
			queries := a.Tokens
			if !tc.square {
				if len(a.QueryTokens) < 2 {
					t.Fatalf("cross-attention with query tokens %q", a.QueryTokens)
				}
				queries = a.QueryTokens
			} else if a.QueryTokens != nil {
				t.Errorf("self-attention with query_tokens %q", a.QueryTokens)
			}
			for l, heads := range a.Weights {
				for h, w := range heads {
					if len(w) != len(queries) {
						t.Fatalf("[%d][%d]: %d rows for %d queries", l, h, len(w), len(queries))
					}
					for q, row := range w {
						if len(row) != len(a.Tokens) {
							t.Fatalf("[%d][%d][%d]: %d keys for %d tokens", l, h, q, len(row), len(a.Tokens))
						}
						var s, above float64
						for k, v := range row {
							s += v
							if k > q {
								above += math.Abs(v)
							}
						}
						if math.Abs(s-1) > 1e-4 {
							t.Errorf("[%d][%d][%d] sums to %v", l, h, q, s)
						}
						if tc.causal && above != 0 {
							t.Errorf("[%d][%d][%d] causal model gives %v above the diagonal", l, h, q, above)
						}
						if !tc.causal && tc.square && q == 0 && above == 0 && len(row) > 1 {
							t.Errorf("[%d][%d][0] bidirectional model gives nothing to later keys: %v", l, h, row)
						}
					}
				}
			}
		})
	}
}

// TestAttendPick: a chosen layer and head of an encoder-decoder (whose
// decoder has more layers and heads than its encoder) are those of the
// full capture.
func TestAttendPick(t *testing.T) {
	_, marian := attendModels(t)
	run := func(extra ...string) attendOut {
		args := append([]string{"attend", "--json", "--model", marian, "--text", "Tom ne sait pas nager.", "--target", "Tom can't swim."}, extra...)
		out, err := runVerb(t, "", args...)
		if err != nil {
			t.Fatal(err)
		}
		var a attendOut
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	all, one := run(), run("--layer", "2", "--head", "3")
	if one.Layers[0] != 2 || one.Heads[0] != 3 {
		t.Fatalf("layers %v heads %v", one.Layers, one.Heads)
	}
	got, want := one.Weights[0][0], all.Weights[2][3]
	for q := range want {
		for k := range want[q] {
			if got[q][k] != want[q][k] {
				t.Fatalf("--layer 2 --head 3 gave %v, the full capture's [2][3] is %v", got, want)
			}
		}
	}
}

// TestAttendPictures: the terminal heatmap (plain when not a terminal),
// a head and a model view as SVG and PNG, and the ViT overlay.
func TestAttendPictures(t *testing.T) {
	const gpt2, vit = "../../testdata/generate/tiny-random-gpt2", "../../testdata/models/vit"
	dir := t.TempDir()
	out, err := runVerb(t, "", "attend", "--model", gpt2, "--text", "The dog chased it")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"self attention, layer 4, mean over heads", "attends most to:", "it → "} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("escape codes written to a buffer:\n%q", out)
	}
	if out, err := runVerb(t, "", "attend", "--model", gpt2, "--text", "The dog", "--color", "truecolor", "--layer", "0", "--head", "0"); err != nil || !strings.Contains(out, "\x1b[48;2;") {
		t.Errorf("--color truecolor: %v\n%q", err, out)
	}
	long := strings.Repeat("dog ", 60)
	if out, err := runVerb(t, "", "attend", "--model", gpt2, "--text", long, "--width", "80"); err != nil || !strings.Contains(out, "(tokens 0 … 32 of ") {
		t.Errorf("a long text in 80 columns: %v\n%s", err, out)
	}
	if out, err := runVerb(t, "", "attend", "--model", gpt2, "--text", long, "--window", "10:20"); err != nil || !strings.Contains(out, "(tokens 10 … 19 of ") {
		t.Errorf("--window 10:20: %v\n%s", err, out)
	}
	if out, err := runVerb(t, "", "attend", "--model", gpt2, "--text", "The dog", "--absolute", "--layer", "1", "--head", "0"); err != nil || !strings.Contains(out, "@  = 1.000") {
		t.Errorf("--absolute: %v, want the scale to end at 1\n%s", err, out)
	}
	for _, tc := range []struct {
		name string
		args []string
		minW int
	}{
		{"head", []string{"--model", gpt2, "--text", "The dog chased it", "--layer", "1", "--head", "0"}, 100},
		{"model view", []string{"--model", gpt2, "--text", "The dog chased it"}, 4 * 32},
		{"vit overlay", []string{"--model", vit, "--image", "../../testdata/infer/up.png"}, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svgPath, pngPath := filepath.Join(dir, tc.name+".svg"), filepath.Join(dir, tc.name+".png")
			out, err := runVerb(t, "", append([]string{"attend", "--svg", svgPath, "--png", pngPath}, tc.args...)...)
			if err != nil || out != "" {
				t.Fatalf("%v, printed %q", err, out)
			}
			data, err := os.ReadFile(svgPath)
			if err != nil {
				t.Fatal(err)
			}
			d := xml.NewDecoder(bytes.NewReader(data))
			for {
				if _, err := d.Token(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("SVG not well-formed: %v", err)
				}
			}
			f, err := os.Open(pngPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds().Dx() < tc.minW {
				t.Errorf("PNG %v, want at least %d wide", img.Bounds(), tc.minW)
			}
		})
	}
}

// TestAttendBadInput: every misuse is an error naming the problem.
func TestAttendBadInput(t *testing.T) {
	const gpt2, vit = "../../testdata/generate/tiny-random-gpt2", "../../testdata/models/vit"
	bert, marian := attendModels(t)
	long := strings.Repeat("word ", 40)
	for _, tc := range []struct {
		name string
		args []string
		want string // error fragment; "" for success
	}{
		{"layer out of range", []string{"--model", gpt2, "--text", "hi", "--layer", "5"}, "--layer 5: want 0 to 4 (the model's self attention has 5 layers)"},
		{"negative head", []string{"--model", gpt2, "--text", "hi", "--head", "-1"}, "--head -1: want 0 to 3"},
		{"empty text", []string{"--model", gpt2, "--text", ""}, "--text is empty"},
		{"no input", []string{"--model", gpt2}, "exactly one of --text, --ids and --image"},
		{"text and ids", []string{"--model", gpt2, "--text", "hi", "--ids", "1"}, "exactly one of --text, --ids and --image"},
		{"bad ids", []string{"--model", gpt2, "--ids", "1,x"}, "--ids"},
		{"id outside the vocabulary", []string{"--model", gpt2, "--ids", "1,1000"}, "--ids: id 1000 outside the model's vocabulary of 1000"},
		{"ids too long", []string{"--model", "../../testdata/models/gpt2", "--ids", strings.Repeat("1,", 40) + "1"}, "the text (41 tokens) exceeds the model's context of 32 tokens"},
		{"target and target ids", []string{"--model", marian, "--text", "Tom", "--target", "x", "--target-ids", "1"}, "exclude each other"},
		{"target text without a tokenizer", []string{"--model", "../../testdata/models/marian", "--ids", "1,2", "--target", "x"}, "no tokenizer"},
		{"text without a tokenizer", []string{"--model", "../../testdata/models/gpt2", "--text", "x"}, "no usable tokenizer (give token ids with --ids)"},
		{"blank text", []string{"--model", gpt2, "--text", "   "}, ""},
		{"too long", []string{"--model", bert, "--text", long}, "the text (42 tokens) exceeds the model's context of 16 tokens"},
		{"truncated", []string{"--model", bert, "--text", long, "--truncate", "right", "--json"}, ""},
		{"average and head", []string{"--model", gpt2, "--text", "hi", "--average", "--head", "1"}, "excludes --average"},
		{"average and rollout", []string{"--model", gpt2, "--text", "hi", "--average", "--rollout"}, "exclude each other"},
		{"rollout cross", []string{"--model", marian, "--text", "Tom", "--target", "Tom", "--rollout"}, "cross-attention is not square"},
		{"cross on gpt2", []string{"--model", gpt2, "--text", "hi", "--attention", "cross"}, "has no cross attention"},
		{"bad attention", []string{"--model", gpt2, "--text", "hi", "--attention", "sideways"}, `--attention "sideways"`},
		{"image on gpt2", []string{"--model", gpt2, "--image", "../../testdata/infer/up.png"}, "needs a vision model"},
		{"text on vit", []string{"--model", vit, "--text", "hi"}, "has no tokenizer"},
		{"missing image", []string{"--model", vit, "--image", "nope.png"}, "nope.png"},
		{"overlay of many heads", []string{"--model", vit, "--image", "../../testdata/infer/up.png", "--layer", "0", "--png", filepath.Join(t.TempDir(), "x.png")}, "one map"},
		{"bad color", []string{"--model", gpt2, "--text", "hi", "--color", "pink"}, `--color "pink"`},
		{"bad window", []string{"--model", gpt2, "--text", "hi", "--window", "4"}, `--window "4"`},
		{"window past the end", []string{"--model", gpt2, "--text", "hi", "--window", "50:60"}, "--window 50:60 starts past the"},
		{"window beyond the end", []string{"--model", gpt2, "--text", "hi", "--window", "0:60"}, ""},
		{"narrow", []string{"--model", gpt2, "--text", "hi", "--width", "3"}, "--width 3"},
		{"unwritable picture", []string{"--model", gpt2, "--text", "hi", "--png", filepath.Join(t.TempDir(), "no", "x.png")}, "writing the picture"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runVerb(t, "", append([]string{"attend"}, tc.args...)...)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("%v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestAttendMatchesPyTorch: `attn attend --ids … --json` gives, for the
// first (unpadded) row of each fixture, the attention probabilities
// transformers returned (output_attentions=True) for every stack, layer
// and head, and the chosen layer and head alone.
func TestAttendMatchesPyTorch(t *testing.T) {
	for _, tc := range []struct {
		model, stack, output string
		extra                []string
	}{
		{"gpt2", "self", "attentions", nil},
		{"gpt2", "self", "attentions", []string{"--layer", "1", "--head", "3"}},
		{"marian", "self", "encoder_attentions", nil},
		{"marian", "decoder", "decoder_attentions", nil},
		{"marian", "cross", "cross_attentions", nil},
		{"bart", "self", "encoder_attentions", []string{"--layer", "0", "--head", "3"}},
		{"bart", "cross", "cross_attentions", []string{"--layer", "1", "--head", "1"}},
		{"bart", "decoder", "decoder_attentions", nil},
		{"real/tiny-random-gpt2", "self", "attentions", nil},
		{"real/tiny-random-BartForCausalLM", "self", "attentions", []string{"--layer", "1"}},
	} {
		t.Run(tc.model+" "+tc.stack+" "+strings.Join(tc.extra, " "), func(t *testing.T) {
			dir := filepath.Join("..", "..", "testdata", "models", tc.model)
			in, err := safetensors.Open(filepath.Join(dir, "inputs.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			want, err := safetensors.Open(filepath.Join(dir, "outputs.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer want.Close()
			row0 := func(name string) string {
				ids, shape, err := in.Int64(name)
				if err != nil {
					t.Fatal(err)
				}
				s := make([]string, shape[1])
				for i := range s {
					s[i] = strconv.FormatInt(ids[i], 10)
				}
				return strings.Join(s, ",")
			}
			args := []string{"attend", "--json", "--model", dir, "--ids", row0("input_ids"), "--attention", tc.stack}
			if tc.model == "marian" || tc.model == "bart" {
				args = append(args, "--target-ids", row0("decoder_input_ids"))
			}
			out, err := runVerb(t, "", append(args, tc.extra...)...)
			if err != nil {
				t.Fatal(err)
			}
			var a attendOut
			if err := json.Unmarshal([]byte(out), &a); err != nil {
				t.Fatal(err)
			}
			checked := 0
			for li, l := range a.Layers {
				ref, shape, err := want.Float32(fmt.Sprintf("%s.%d", tc.output, l))
				if err != nil {
					t.Fatal(err)
				}
				nh, tq, tk := shape[1], shape[2], shape[3]
				if tc.extra == nil && (len(a.Layers) != len(a.Weights) || len(a.Heads) != nh) {
					t.Fatalf("layers %v heads %v, PyTorch has %d heads", a.Layers, a.Heads, nh)
				}
				for hi, h := range a.Heads {
					w := a.Weights[li][hi]
					if len(w) != tq || len(w[0]) != tk {
						t.Fatalf("layer %d head %d: %d×%d, PyTorch %d×%d", l, h, len(w), len(w[0]), tq, tk)
					}
					for q := range tq {
						for k := range tk {
							if d := math.Abs(w[q][k] - float64(ref[(h*tq+q)*tk+k])); d > 1e-5 {
								t.Fatalf("layer %d head %d [%d][%d]: %v, PyTorch %v", l, h, q, k, w[q][k], ref[(h*tq+q)*tk+k])
							}
						}
					}
					checked++
				}
			}
			if checked == 0 {
				t.Fatal("nothing compared")
			}
		})
	}
}
