package infer

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/internal/alloctest"
	"github.com/attn-dev/attn/internal/gemv"
	"github.com/attn-dev/attn/model"
)

const modelsDir = "../testdata/models"

type genCase struct {
	Name         string                     `json:"name"`
	Model        string                     `json:"model"`
	NumBeams     int                        `json:"num_beams"`
	Prompts      [][]int                    `json:"prompts"`
	MaxNewTokens int                        `json:"max_new_tokens"`
	MaxLength    int                        `json:"max_length"`
	Settings     map[string]json.RawMessage `json:"settings"`
	IDs          [][]int                    `json:"ids"`
	Scores       []float64                  `json:"scores"`
}

// config builds the case's generate.Config: the model's
// generation_config.json with the case's overrides.
func (c *genCase) config(t *testing.T) generate.Config {
	t.Helper()
	cfg, err := generate.LoadConfig(filepath.Join(modelsDir, c.Model))
	if err != nil {
		t.Fatal(err)
	}
	cfg.NumBeams, cfg.MaxNewTokens = c.NumBeams, c.MaxNewTokens
	if c.MaxLength > 0 {
		cfg.MaxLength = c.MaxLength
	}
	for k, raw := range c.Settings {
		var dst any
		switch k {
		case "eos":
			dst = &cfg.EOSTokenIDs
		case "pad":
			dst = &cfg.PadTokenID
		case "forced_bos":
			dst = &cfg.ForcedBOSTokenID
		case "forced_eos":
			dst = &cfg.ForcedEOSTokenID
		case "repetition_penalty":
			dst = &cfg.RepetitionPenalty
		case "no_repeat_ngram_size":
			dst = &cfg.NoRepeatNGramSize
		case "bad_words_ids":
			dst = &cfg.BadWordsIDs
		case "min_length":
			dst = &cfg.MinLength
		case "length_penalty":
			dst = &cfg.LengthPenalty
		case "early_stopping":
			switch string(raw) {
			case "true":
				cfg.EarlyStopping = generate.StopEarly
			case `"never"`:
				cfg.EarlyStopping = generate.StopNever
			}
			continue
		default:
			t.Fatalf("case %q: unknown setting %q", c.Name, k)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("case %q setting %s: %v", c.Name, k, err)
		}
	}
	return cfg
}

func readCases(t *testing.T) []genCase {
	t.Helper()
	data, err := os.ReadFile("../testdata/generate/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []genCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func loadModel(t testing.TB, dir string) model.Model {
	t.Helper()
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestGenerateGolden decodes every case of testdata/generate with the KV
// cache and compares the ids (and beam scores) with the uncached PyTorch
// mirror of transformers' generate.
func TestGenerateGolden(t *testing.T) {
	for _, c := range readCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			m := loadModel(t, filepath.Join(modelsDir, c.Model))
			cfg := c.config(t)
			var res *generate.Result
			var err error
			if IsEncoderDecoder(m) {
				lm, err2 := NewSeq2Seq(m)
				if err2 != nil {
					t.Fatal(err2)
				}
				res, err = generate.GenerateSeq2Seq(lm, c.Prompts, cfg, nil)
			} else {
				lm, err2 := NewLM(m)
				if err2 != nil {
					t.Fatal(err2)
				}
				res, err = generate.Generate(lm, c.Prompts, cfg, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			for b := range c.IDs {
				if !slices.Equal(res.IDs[b], c.IDs[b]) {
					t.Errorf("entry %d: got %v, want %v", b, res.IDs[b], c.IDs[b])
				}
				if c.Scores != nil && math.Abs(res.Scores[b]-c.Scores[b]) > 1e-4 {
					t.Errorf("entry %d: score %.6f, want %.6f", b, res.Scores[b], c.Scores[b])
				}
			}
		})
	}
}

// TestTinyRandomGPT2Upstream reproduces the greedy continuations known
// upstream (onnxruntime-genai's tests, transformers generate with
// max_length 10) for the real hf-internal-testing/tiny-random-gpt2.
func TestTinyRandomGPT2Upstream(t *testing.T) {
	dir := "../testdata/generate/tiny-random-gpt2"
	lm, err := NewLM(loadModel(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := generate.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxLength = 10
	prompts := [][]int{{0, 0, 0, 52}, {0, 0, 195, 731}}
	want := [][]int{{204, 204, 204, 204, 204, 204}, {731, 114, 114, 114, 114, 114}}
	for i, p := range prompts {
		res, err := generate.Generate(lm, [][]int{p}, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.IDs[0], want[i]) {
			t.Errorf("prompt %v: got %v, want %v", p, res.IDs[0], want[i])
		}
	}
	res, err := generate.Generate(lm, prompts, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range prompts {
		if !slices.Equal(res.IDs[i], want[i]) {
			t.Errorf("batched prompt %v: got %v, want %v", prompts[i], res.IDs[i], want[i])
		}
	}
}

// TestCachedLogitsMatchUncached runs greedy decoding through the KV cache
// and, at every step, the model's full forward over the whole sequence
// (mask and positions as transformers derives them): the logits agree to
// 1e-4, for unpadded and left-padded batches.
func TestCachedLogitsMatchUncached(t *testing.T) {
	cases := []struct {
		name    string
		dir     string
		prompts [][]int
	}{
		{"gpt2", modelsDir + "/gpt2", [][]int{{26, 41, 21, 43}}},
		{"gpt2 left padded", modelsDir + "/gpt2", [][]int{{26, 41, 21, 43, 5, 6}, {7}, {1, 2, 3}}},
		{"tiny-random-gpt2 left padded", "../testdata/generate/tiny-random-gpt2", [][]int{{0, 0, 195, 731}, {52}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := loadModel(t, c.dir)
			lm, err := NewLM(m)
			if err != nil {
				t.Fatal(err)
			}
			checkCachedAgainstFull(t, m, lm, c.prompts, 10)
		})
	}
}

func checkCachedAgainstFull(t *testing.T, m model.Model, lm generate.Model, prompts [][]int, steps int) {
	t.Helper()
	v := lm.VocabSize()
	rows := len(prompts)
	tp := 0
	for _, p := range prompts {
		tp = max(tp, len(p))
	}
	seqs := make([][]int, rows)
	pad := make([]int, rows)
	for r, p := range prompts {
		pad[r] = tp - len(p)
		seqs[r] = append(make([]int, pad[r]), p...)
	}
	if err := lm.Begin(rows, tp+steps); err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, rows*v)
	next := make([]int, rows)
	in := flatten(seqs)
	g := autograd.NewGraph(false)
	for s := range steps {
		if err := lm.Forward(in, pad, logits); err != nil {
			t.Fatal(err)
		}
		full := fullLastLogits(t, g, m, seqs, pad)
		for i := range logits {
			if d := math.Abs(float64(logits[i] - full[i])); d > 1e-4+1e-4*math.Abs(float64(full[i])) {
				t.Fatalf("step %d row %d token %d: cached %g, uncached %g", s, i/v, i%v, logits[i], full[i])
			}
		}
		for r := range rows {
			row := logits[r*v : (r+1)*v]
			next[r] = slices.Index(row, slices.Max(row))
			seqs[r] = append(seqs[r], next[r])
		}
		in = next
	}
}

func flatten(seqs [][]int) []int {
	var out []int
	for _, s := range seqs {
		out = append(out, s...)
	}
	return out
}

// fullLastLogits is the uncached forward of the whole batch: attention
// mask from the padding, position ids cumsum(mask) − 1 (1 on padding).
func fullLastLogits(t *testing.T, g *autograd.Graph, m model.Model, seqs [][]int, pad []int) []float32 {
	t.Helper()
	rows, tt := len(seqs), len(seqs[0])
	in := &model.Inputs{B: rows, T: tt, InputIDs: flatten(seqs), AttentionMask: make([]int, rows*tt), PositionIDs: make([]int, rows*tt)}
	for r := range rows {
		for j := range tt {
			if j >= pad[r] {
				in.AttentionMask[r*tt+j] = 1
				in.PositionIDs[r*tt+j] = j - pad[r]
			} else {
				in.PositionIDs[r*tt+j] = 1
			}
		}
	}
	g.Reset()
	out, err := m.Forward(g, in, model.Options{LastLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(out.Get("logits").Contiguous().Data())
}

// TestBF16MatchesRoundedModel rounds every weight of a GPT-2 to bfloat16
// precision in place; the same model converted to bfloat16 weights must
// then give the float32 model's uncached logits (1e-4) through the cached
// prefill (matrix-vector products for a few rows, the widened GEMM for
// many) and decode steps, and the same greedy ids.
func TestBF16MatchesRoundedModel(t *testing.T) {
	for _, dir := range []string{modelsDir + "/gpt2", "../testdata/generate/tiny-random-gpt2"} {
		rounded := func() model.Model {
			m := loadModel(t, dir)
			for _, p := range m.NamedParameters("", nil) {
				d := p.Var.Value.Data()
				for i, v := range d {
					d[i] = gemv.FromBF16(gemv.ToBF16(v))
				}
			}
			return m
		}
		m32, m16 := rounded(), rounded()
		toBF16(t, m16)
		lm, err := NewLM(m16)
		if err != nil {
			t.Fatal(err)
		}
		checkCachedAgainstFull(t, m32, lm, [][]int{{5, 6, 7, 8}, {9, 10}}, 12)
		// 60 prompt rows: the prefill widens the matrices for the GEMM
		// instead of the matrix-vector products.
		long := make([]int, 20)
		for i := range long {
			long[i] = 3 + i
		}
		checkCachedAgainstFull(t, m32, lm, [][]int{long, long[:7], long[5:]}, 3)
		var ids [][]int
		for _, m := range []model.Model{m16, m32} {
			lm, err := NewLM(m)
			if err != nil {
				t.Fatal(err)
			}
			res, err := generate.Generate(lm, [][]int{{5, 6, 7, 8}, {9, 10}}, generate.Greedy(12, nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, slices.Concat(res.IDs...))
		}
		if !slices.Equal(ids[0], ids[1]) {
			t.Errorf("%s: bf16 %v, f32 %v", dir, ids[0], ids[1])
		}
	}
}

func TestNewLMErrors(t *testing.T) {
	if _, err := NewLM(loadModel(t, modelsDir+"/bert-mlm")); err == nil {
		t.Error("BERT accepted as a decoder-only LM")
	}
	if _, err := NewLM(loadModel(t, modelsDir+"/marian")); err == nil {
		t.Error("Marian accepted as a decoder-only LM")
	}
}

// TestDecodeStepAllocatesNothing: after a first generation, a prefill and
// its decode steps (float32 and bfloat16 weights) allocate nothing.
func TestDecodeStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	for _, dt := range []model.DType{model.F32, model.BF16} {
		m := loadModel(t, modelsDir+"/gpt2")
		if dt == model.BF16 {
			toBF16(t, m)
		}
		lm, err := NewLM(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := lm.Begin(2, 30); err != nil {
			t.Fatal(err)
		}
		logits := make([]float32, 2*lm.VocabSize())
		pad, prompt := []int{0, 2}, []int{1, 2, 3, 4, 5, 6}
		if err := lm.Forward(prompt, pad, logits); err != nil {
			t.Fatal(err)
		}
		ids := []int{7, 8}
		for range 3 {
			if err := lm.Forward(ids, pad, logits); err != nil {
				t.Fatal(err)
			}
		}
		// A generation per call (the cache holds 30 positions): Begin
		// on the same shape, a 3-token prefill and 20 decode steps.
		if n := alloctest.PerCall(func() {
			if err := lm.Begin(2, 30); err != nil {
				t.Fatal(err)
			}
			if err := lm.Forward(prompt, pad, logits); err != nil {
				t.Fatal(err)
			}
			for range 20 {
				if err := lm.Forward(ids, pad, logits); err != nil {
					t.Fatal(err)
				}
			}
		}); n > 0 {
			t.Errorf("%s: %g allocations per generation of 20 steps", dt, n)
		}
	}
}

// TestLMReuse runs one adapter through generations of growing and
// shrinking length and batch size (the cache and scratch are resized or
// reused); each must equal a fresh adapter's result.
func TestLMReuse(t *testing.T) {
	for _, dt := range []model.DType{model.F32, model.BF16} {
		m := loadModel(t, modelsDir+"/gpt2")
		if dt == model.BF16 {
			toBF16(t, m)
		}
		lm, err := NewLM(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			prompts [][]int
			n       int
		}{{[][]int{{1, 2}}, 10}, {[][]int{{1, 2, 3}}, 20}, {[][]int{{4}, {5, 6, 7}}, 12}, {[][]int{{8, 9}}, 5}} {
			got, err := generate.Generate(lm, c.prompts, generate.Greedy(c.n, nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := NewLM(m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := generate.Generate(fresh, c.prompts, generate.Greedy(c.n, nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(slices.Concat(got.IDs...), slices.Concat(want.IDs...)) {
				t.Errorf("%s %v: reused %v, fresh %v", dt, c.prompts, got.IDs, want.IDs)
			}
		}
	}
}

// TestChunkedPrefill: a prompt longer than PrefillChunk goes through the
// cache in chunks (left padding spanning a chunk boundary included) and
// gives the same logits as the uncached forward.
func TestChunkedPrefill(t *testing.T) {
	saved := PrefillChunk
	PrefillChunk = 3
	defer func() { PrefillChunk = saved }()
	m := loadModel(t, modelsDir+"/gpt2")
	lm, err := NewLM(m)
	if err != nil {
		t.Fatal(err)
	}
	checkCachedAgainstFull(t, m, lm, [][]int{{1, 2, 3, 4, 5, 6, 7, 8}, {9, 10, 11}, {12}}, 5)
}

// TestSeq2SeqCachedLogitsMatchUncached decodes Marian and BART through the
// encoder-once + cached decoder path and compares each step's logits with
// the full forward (encoder and decoder over the whole prefix) to 1e-4, for
// a right-padded batch of sources.
func TestSeq2SeqCachedLogitsMatchUncached(t *testing.T) {
	for _, name := range []string{"marian", "bart"} {
		t.Run(name, func(t *testing.T) {
			m := loadModel(t, modelsDir+"/"+name)
			s2s, err := NewSeq2Seq(m)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := generate.LoadConfig(modelsDir + "/" + name)
			if err != nil {
				t.Fatal(err)
			}
			src := [][]int{{5, 6, 7, 8, 9, 2}, {10, 11, 2}}
			const steps = 6
			v := s2s.VocabSize()
			if err := s2s.Begin(2, steps+1); err != nil {
				t.Fatal(err)
			}
			if err := s2s.Encode(src); err != nil {
				t.Fatal(err)
			}
			dec := [][]int{{cfg.DecoderStartTokenID}, {cfg.DecoderStartTokenID}}
			in := []int{dec[0][0], dec[1][0]}
			logits := make([]float32, 2*v)
			g := autograd.NewGraph(false)
			const ts = 6
			ids := []int{5, 6, 7, 8, 9, 2, 10, 11, 2, cfg.PadTokenID, cfg.PadTokenID, cfg.PadTokenID}
			mask := []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}
			for s := range steps {
				if err := s2s.Forward(in, nil, logits); err != nil {
					t.Fatal(err)
				}
				td := len(dec[0])
				g.Reset()
				out, err := m.Forward(g, &model.Inputs{B: 2, T: ts, InputIDs: ids, AttentionMask: mask, TDec: td, DecoderInputIDs: flatten(dec)}, model.Options{LastLogits: true})
				if err != nil {
					t.Fatal(err)
				}
				full := out.Get("logits").Contiguous().Data()
				for i := range logits {
					if d := math.Abs(float64(logits[i] - full[i])); d > 1e-4+1e-4*math.Abs(float64(full[i])) {
						t.Fatalf("step %d row %d token %d: cached %g, full %g", s, i/v, i%v, logits[i], full[i])
					}
				}
				for r := range 2 {
					row := logits[r*v : (r+1)*v]
					in[r] = slices.Index(row, slices.Max(row))
					dec[r] = append(dec[r], in[r])
				}
			}
		})
	}
}

// TestGenerateBatch: text prompts generated as one left-padded batch give
// what each gives alone (greedy), and NumReturnSequences fills Sequences
// (IDs and Text are the first).
func TestGenerateBatch(t *testing.T) {
	g, err := LoadGenerator("../testdata/generate/tiny-random-gpt2")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	prompts := []string{"Hello there", "A longer prompt, with more tokens in it", "Hi"}
	cfg := generate.Greedy(5, nil)
	cfg.IgnoreEOS = true
	batch, err := g.GenerateBatch(BatchRequest{Prompts: prompts, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != len(prompts) {
		t.Fatalf("%d generations for %d prompts", len(batch), len(prompts))
	}
	for i, p := range prompts {
		alone, err := g.Generate(Request{Prompt: p, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(batch[i].IDs, alone.IDs) || batch[i].Text != alone.Text || len(batch[i].Sequences) != 1 {
			t.Errorf("%q: batch %v %q, alone %v %q", p, batch[i].IDs, batch[i].Text, alone.IDs, alone.Text)
		}
	}
	cfg.DoSample, cfg.Temperature, cfg.NumReturnSequences, cfg.Seed = true, 1, 3, 9
	res, err := g.Generate(Request{Prompt: "Hello there", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sequences) != 3 || !slices.Equal(res.IDs, res.Sequences[0].IDs) || res.Text != res.Sequences[0].Text {
		t.Errorf("3 sequences: %+v", res)
	}
	if _, err := g.GenerateBatch(BatchRequest{Config: cfg}); err == nil {
		t.Error("an empty batch was accepted")
	}
}

// toBF16 converts m's weights to bfloat16 (model.ToBF16).
func toBF16(t *testing.T, m model.Model) {
	t.Helper()
	if err := model.ToBF16(m); err != nil {
		t.Fatal(err)
	}
}
