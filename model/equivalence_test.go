package model_test

// The equivalence suite pins the modes of the one forward path to each
// other, for every architecture, on random models (model.Init, weights
// perturbed so that nothing is near zero) and on the committed
// checkpoints (PyTorch-made fixtures and real Hub checkpoints):
//
//  1. an inference graph gives the training graph's outputs (and so does
//     inference with packed weights);
//  2. decoding through the KV cache, in any chunking, gives the full
//     forward's logits at every position;
//  3. a padded batch gives, at every real position, what each row gives
//     alone;
//  4. attention probabilities are the same in both modes (and with a
//     cache), sum to 1 over the keys a query may see and are 0 elsewhere;
//  5. reordering the cache's rows (beam search) and continuing gives what
//     the permuted rows give from scratch;
//  6. bfloat16 weights stay within a stated tolerance of float32
//     (checkBF16).
//
// The training graphs have no dropout: the model package builds its
// layers with dropout 0 whatever the config's *_pdrop / *dropout keys say
// (TestEquivTrainInference checks two training forwards are identical).

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tensor"
)

// Tolerances, |got − want| ≤ tol·(1 + |want|), float32.
const (
	tolModes = 1e-5 // inference vs training graph, packed weights, attention kernels
	tolCache = 1e-5 // cached decode vs full forward; padded batch vs rows alone
)

// kind is what a model's inputs and outputs look like.
type kind int

const (
	decoderOnly kind = iota // GPT-2, BartForCausalLM
	encoderOnly             // BERT, ViT
	encDec                  // Marian, BART
)

func kindOf(m model.Model) kind {
	switch {
	case m.Info().ModelType == "bert" || m.Info().ModelType == "vit":
		return encoderOnly
	case infer.IsEncoderDecoder(m):
		return encDec
	}
	return decoderOnly
}

// cachedModel is a model that decodes through a KV cache.
type cachedModel interface {
	model.Model
	NewCache(b, maxT int) (*model.Cache, error)
}

type equivCase struct {
	name string
	load func(t testing.TB) model.Model
}

// randomCase initialises a model and adds N(0, 0.1) to every parameter:
// Init's N(0, 0.02) weights, zero biases and unit LayerNorms make nearly
// uniform attention and tiny logits, which would hide mistakes.
func randomCase(name string, o model.InitOptions) equivCase {
	return equivCase{name: "random " + name, load: func(t testing.TB) model.Model {
		m, err := model.Init(o)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(o.Seed, 7))
		for _, p := range m.NamedParameters("", nil) {
			d := p.Var.Value.Data()
			for i := range d {
				d[i] += float32(0.1 * rng.NormFloat64())
			}
		}
		return m
	}}
}

func dirCase(name, dir string) equivCase {
	return equivCase{name: name, load: func(t testing.TB) model.Model {
		m, err := model.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}}
}

const testdata = "../testdata/models"

// equivCases: every architecture random (2 layers, hidden 32–64, vocab
// ≤ 512) and every committed checkpoint.
var equivCases = []equivCase{
	randomCase("gpt2", model.InitOptions{Arch: "gpt2", Hidden: 64, Heads: 4, Vocab: 512, Context: 64, Seed: 1}),
	randomCase("bert-mlm", model.InitOptions{Arch: "bert", Head: "BertForMaskedLM", Hidden: 32, Heads: 4, Vocab: 256, Context: 64, Seed: 2}),
	randomCase("bert-cls", model.InitOptions{Arch: "bert", Head: "BertForSequenceClassification", Hidden: 32, Heads: 2, Vocab: 256, Context: 64, Labels: 5, Seed: 3}),
	randomCase("vit", model.InitOptions{Arch: "vit", Head: "ViTForImageClassification", Hidden: 32, Heads: 4, ImageSize: 16, PatchSize: 4, Labels: 7, Seed: 4}),
	randomCase("marian", model.InitOptions{Arch: "marian", Hidden: 32, Heads: 4, DecoderHeads: 2, Vocab: 256, Context: 64, Seed: 5}),
	randomCase("bart", model.InitOptions{Arch: "bart", Hidden: 64, Heads: 4, FFN: 96, DecoderLayers: 1, Vocab: 256, Context: 64, Seed: 6}),
	randomCase("bart-causal-lm", model.InitOptions{Arch: "bart", Head: "BartForCausalLM", Hidden: 32, Heads: 4, Vocab: 256, Context: 64, Seed: 7}),
	dirCase("gpt2", filepath.Join(testdata, "gpt2")),
	dirCase("bert-mlm", filepath.Join(testdata, "bert-mlm")),
	dirCase("bert-cls", filepath.Join(testdata, "bert-cls")),
	dirCase("vit", filepath.Join(testdata, "vit")),
	dirCase("marian", filepath.Join(testdata, "marian")),
	dirCase("bart", filepath.Join(testdata, "bart")),
	dirCase("tiny-random-gpt2", filepath.Join(testdata, "real", "tiny-random-gpt2")),
	dirCase("tiny-random-BartForCausalLM", filepath.Join(testdata, "real", "tiny-random-BartForCausalLM")),
	dirCase("bert-tiniest-lmbuddy", filepath.Join(testdata, "real", "bert-tiniest-lmbuddy")),
}

// cfgInt reads an integer key of m's config.json.
func cfgInt(m model.Model, key string, def int) int {
	if v, ok := m.Config().Int(key); ok {
		return v
	}
	return def
}

func cfgBool(m model.Model, key string) bool {
	v, ok := m.Config().Raw(key)
	b, _ := v.(bool)
	return ok && b
}

// padID is the id padded positions hold (their value never matters: they
// are masked).
func padID(m model.Model) int {
	if p := cfgInt(m, "pad_token_id", 0); p >= 0 && p < max(1, m.Info().Vocab) {
		return p
	}
	return 0
}

// sample is a batch kept as rows, so that any row can run alone: src are
// the input_ids rows (the encoder's for encoder-decoders), dec the
// decoder_input_ids rows, px the images (ViT). Decoder-only rows are
// left-padded when left is set (as generate pads prompts, with its
// position ids), every other side is right-padded; width pads to at least
// that many positions.
type sample struct {
	src, dec [][]int
	px       *tensor.Tensor
	left     bool
	width    int
}

// newSample draws random rows of the given lengths (images for ViT: one
// per entry of srcLens).
func newSample(m model.Model, rng *rand.Rand, srcLens, decLens []int) sample {
	var s sample
	if m.Info().ModelType == "vit" {
		ch, side := cfgInt(m, "num_channels", 3), cfgInt(m, "image_size", 0)
		s.px = tensor.New(len(srcLens), ch, side, side)
		d := s.px.Data()
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
		return s
	}
	ids := func(lens []int) [][]int {
		var rows [][]int
		for _, n := range lens {
			r := make([]int, n)
			for i := range r {
				r[i] = rng.IntN(m.Info().Vocab)
			}
			rows = append(rows, r)
		}
		return rows
	}
	s.src = ids(srcLens)
	if kindOf(m) == encDec {
		s.dec = ids(decLens)
	}
	return s
}

// rows is the batch size.
func (s sample) rows() int {
	if s.px != nil {
		return s.px.Shape[0]
	}
	return len(s.src)
}

// row is row i alone, unpadded (padded as in the batch when keepPad).
func (s sample) row(i int, keepPad bool) sample {
	r := sample{left: s.left}
	if s.px != nil {
		r.px = s.px.Slice(0, i, i+1).Clone()
		return r
	}
	r.src = s.src[i : i+1]
	if s.dec != nil {
		r.dec = s.dec[i : i+1]
	}
	if keepPad {
		r.width = s.padded(s.src)
	}
	return r
}

func (s sample) padded(rows [][]int) int {
	w := s.width
	for _, r := range rows {
		w = max(w, len(r))
	}
	return w
}

// pad lays rows out as [B, W] with their mask (nil when nothing is
// padded) and, for left padding, generate's position ids: cumsum(mask) − 1,
// 1 on padding.
func (s sample) pad(rows [][]int, left bool, fill int) (ids, mask, pos []int, w int) {
	w = s.padded(rows)
	padded := false
	for _, r := range rows {
		padded = padded || len(r) < w
	}
	for _, r := range rows {
		p := w - len(r)
		for j := range w {
			real := j < len(r)
			if left {
				real = j >= p
			}
			switch {
			case real && left:
				ids = append(ids, r[j-p])
			case real:
				ids = append(ids, r[j])
			default:
				ids = append(ids, fill)
			}
			if padded {
				mask = append(mask, b2i(real))
			}
			if left && padded {
				pos = append(pos, max(j-p, 0)+b2i(j < p))
			}
		}
	}
	return ids, mask, pos, w
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// inputs is the batch as m's Forward takes it.
func (s sample) inputs(m model.Model) *model.Inputs {
	if s.px != nil {
		return &model.Inputs{B: s.rows(), PixelValues: s.px}
	}
	in := &model.Inputs{B: len(s.src)}
	switch kindOf(m) {
	case decoderOnly:
		in.InputIDs, in.AttentionMask, in.PositionIDs, in.T = s.pad(s.src, s.left, padID(m))
	case encoderOnly: // BERT: a second segment from the middle of each row when there are token types
		in.InputIDs, in.AttentionMask, _, in.T = s.pad(s.src, false, padID(m))
		if cfgInt(m, "type_vocab_size", 2) > 1 {
			for _, r := range s.src {
				for j := range in.T {
					in.TokenTypeIDs = append(in.TokenTypeIDs, b2i(j >= len(r)/2))
				}
			}
		}
	case encDec:
		in.InputIDs, in.AttentionMask, _, in.T = s.pad(s.src, false, padID(m))
		in.DecoderInputIDs, in.DecoderAttentionMask, _, in.TDec = s.pad(s.dec, false, padID(m))
	}
	return in
}

func forward(t testing.TB, m model.Model, train bool, in *model.Inputs, opt model.Options) *model.Outputs {
	t.Helper()
	out, err := m.Forward(autograd.NewGraph(train), in, opt)
	if err != nil {
		t.Fatalf("%s forward (train=%v): %v", m.Info().Architecture, train, err)
	}
	return out
}

// within checks |got − want| ≤ tol·(1 + |want|) elementwise (NaN fails)
// and returns the largest |got − want|/(1 + |want|).
func within(t testing.TB, what string, got, want []float32, tol float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, at := 0.0, -1
	for i := range got {
		d := math.Abs(float64(got[i])-float64(want[i])) / (1 + math.Abs(float64(want[i])))
		if d > worst || (d != d && worst == worst) { // the first NaN is the worst
			worst, at = d, i
		}
	}
	if !(worst <= tol) {
		t.Errorf("%s: element %d = %g, want %g (error %.3g > %g)", what, at, got[at], want[at], worst, tol)
	}
	return worst
}

// sameOutputs checks got and want hold the same names and shapes and
// values within tol (0: identical); skip leaves names out.
func sameOutputs(t testing.TB, what string, got, want *model.Outputs, tol float64, skip func(string) bool) float64 {
	t.Helper()
	names := func(o *model.Outputs) []string {
		var n []string
		for _, k := range o.Names {
			if skip == nil || !skip(k) {
				n = append(n, k)
			}
		}
		sort.Strings(n)
		return n
	}
	gn, wn := names(got), names(want)
	if !slices.Equal(gn, wn) {
		t.Fatalf("%s: outputs %v, want %v", what, gn, wn)
	}
	worst := 0.0
	for _, n := range wn {
		g, w := got.Get(n), want.Get(n)
		if !slices.Equal(g.Shape, w.Shape) {
			t.Fatalf("%s %s: shape %v, want %v", what, n, g.Shape, w.Shape)
		}
		worst = max(worst, within(t, what+" "+n, g.Contiguous().Data(), w.Contiguous().Data(), tol))
	}
	return worst
}

// part returns x[b, lo:lo+n] (all of x[b] for rank 2), contiguous.
func part(x *tensor.Tensor, b, lo, n int) []float32 {
	d := x.Contiguous().Data()
	row := len(d) / x.Shape[0]
	if x.Rank() < 3 {
		return d[b*row : (b+1)*row]
	}
	inner := row / x.Shape[1]
	return d[b*row+lo*inner : b*row+(lo+n)*inner]
}

func isAttention(name string) bool { return strings.Contains(name, "attentions.") }

// TestEquivTrainInference: the inference graph's outputs (logits, hidden
// states, encoder outputs) equal the training graph's, with and without
// packed weights, and LastLogits is the full logits' last position.
func TestEquivTrainInference(t *testing.T) {
	eachCase(t, 1, func(t *testing.T, m model.Model, rng *rand.Rand) {
		// 21 real rows of the batch: packed weights serve forwards
		// of at least kernels.PackMinRows (16) rows.
		s := newSample(m, rng, []int{12, 9}, []int{11, 6})
		in := s.inputs(m)
		opt := model.Options{HiddenStates: true}
		train := forward(t, m, true, in, opt)
		sameOutputs(t, "training graph twice (dropout must be off)", forward(t, m, true, in, opt), train, 0, nil)
		inf := forward(t, m, false, in, opt)
		e1 := sameOutputs(t, "inference vs training", inf, train, tolModes, nil)
		model.PackLinearWeights(m, true)
		packed := forward(t, m, false, in, opt)
		model.PackLinearWeights(m, false)
		e2 := sameOutputs(t, "packed inference vs training", packed, train, tolModes, nil)
		t.Logf("inference %.2g, packed %.2g", e1, e2)
		logits := train.Get("logits")
		if logits == nil || logits.Rank() != 3 {
			return
		}
		last := forward(t, m, false, in, model.Options{LastLogits: true}).Get("logits")
		tl := logits.Shape[1]
		for b := range in.B {
			within(t, fmt.Sprintf("LastLogits row %d", b), part(last, b, 0, 1), part(logits, b, tl-1, 1), tolModes)
		}
	})
}

// schedule is how a cached decode splits the sequence into calls.
type schedule struct {
	name     string
	chunks   []int // tokens per call, summing to the sequence length
	slack    int   // cache positions beyond the sequence
	last     bool  // LastLogits on every call
	reencode bool  // encoder-decoders: no Options.Encoder, the encoder runs in every call
	packed   bool  // model.PackLinearWeights on (a call of ≥ 16 rows uses the packed copies)
}

var schedules = []schedule{
	{name: "prefill 4 then one by one", chunks: []int{4, 1, 1, 1, 1, 1, 1}, slack: 3},
	{name: "chunks 3 2 4 1", chunks: []int{3, 2, 4, 1}, slack: 1},
	{name: "one by one, cache exactly full", chunks: []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
	{name: "all at once", chunks: []int{10}, slack: 5},
	{name: "prefill 5 then one by one, last logits", chunks: []int{5, 1, 1, 1, 1, 1}, slack: 2, last: true},
	{name: "chunks 2 1 3 4, encoder in every call", chunks: []int{2, 1, 3, 4}, reencode: true},
	{name: "prefill 8 then one by one, packed weights", chunks: []int{8, 1, 1}, packed: true},
}

// decoderCases are the cases that decode through a cache.
func decoderCases(t *testing.T, stream uint64, fn func(t *testing.T, m cachedModel, rng *rand.Rand)) {
	eachCase(t, stream, func(t *testing.T, m model.Model, rng *rand.Rand) {
		d, ok := m.(cachedModel)
		if !ok || m.Info().Vocab == 0 || kindOf(m) == encoderOnly {
			t.Skip("not a decoder")
		}
		fn(t, d, rng)
	})
}

// eachCase runs fn on a fresh copy of every case's model, with random
// numbers of its own per case and test (stream).
func eachCase(t *testing.T, stream uint64, fn func(t *testing.T, m model.Model, rng *rand.Rand)) {
	for i, c := range equivCases {
		t.Run(c.name, func(t *testing.T) {
			fn(t, c.load(t), rand.New(rand.NewPCG(uint64(i), stream)))
		})
	}
}

// decodeInputs is the call of a cached decode over positions [lo, hi) of
// the decoder rows of s (the encoder's inputs too when enc is nil).
func decodeInputs(m model.Model, s sample, full *model.Inputs, lo, hi int, enc *model.Encoded) *model.Inputs {
	rows := s.src
	if kindOf(m) == encDec {
		rows = s.dec
	}
	var ids []int
	for _, r := range rows {
		ids = append(ids, r[lo:hi]...)
	}
	if kindOf(m) == decoderOnly {
		return &model.Inputs{B: len(rows), T: hi - lo, InputIDs: ids}
	}
	in := &model.Inputs{B: len(rows), TDec: hi - lo, DecoderInputIDs: ids}
	if enc == nil {
		in.T, in.InputIDs, in.AttentionMask = full.T, full.InputIDs, full.AttentionMask
	}
	return in
}

// TestEquivCachedDecode: decoding N tokens through the cache, chunked in
// several ways, gives at every position the logits and last hidden state
// of one full forward over the N tokens (batch of 2; the encoder's input
// right-padded).
func TestEquivCachedDecode(t *testing.T) {
	const n = 10
	decoderCases(t, 2, func(t *testing.T, m cachedModel, rng *rand.Rand) {
		s := newSample(m, rng, []int{n, n}, []int{n, n})
		if kindOf(m) == encDec {
			s.src = [][]int{s.src[0], s.src[1][:6]}
		}
		fullIn := s.inputs(m)
		full := forward(t, m, false, fullIn, model.Options{HiddenStates: true})
		for _, sc := range schedules {
			if sc.reencode && kindOf(m) != encDec {
				continue
			}
			t.Run(sc.name, func(t *testing.T) {
				cache, err := m.NewCache(2, n+sc.slack)
				if err != nil {
					t.Fatal(err)
				}
				if sc.packed {
					model.PackLinearWeights(m, true)
					defer model.PackLinearWeights(m, false)
				}
				g := autograd.NewGraph(false)
				var enc *model.Encoded
				if kindOf(m) == encDec && !sc.reencode {
					if enc, _, err = m.(*model.Seq2Seq).Encode(g, fullIn, model.Options{}); err != nil {
						t.Fatal(err)
					}
				}
				worst, lo := 0.0, 0
				for call, c := range sc.chunks {
					g.Reset()
					out, err := m.Forward(g, decodeInputs(m, s, fullIn, lo, lo+c, enc), model.Options{Cache: cache, Encoder: enc, LastLogits: sc.last, HiddenStates: true})
					if err != nil {
						t.Fatalf("call %d: %v", call, err)
					}
					if cache.Len() != lo+c {
						t.Fatalf("call %d: cache holds %d positions, want %d", call, cache.Len(), lo+c)
					}
					// Logits, last_hidden_state and the decoder's hidden
					// states, at the positions of this call.
					for _, name := range out.Names {
						if strings.HasPrefix(name, "encoder_") {
							continue // the encoder's outputs, when it runs, are the full forward's
						}
						want := full.Get(name)
						if want == nil {
							t.Fatalf("call %d: %s, which the full forward lacks", call, name)
						}
						for b := range 2 {
							what := fmt.Sprintf("call %d (positions %d..%d) row %d %s", call, lo, lo+c-1, b, name)
							if name == "logits" && sc.last {
								worst = max(worst, within(t, what, part(out.Get(name), b, 0, 1), part(want, b, lo+c-1, 1), tolCache))
							} else {
								worst = max(worst, within(t, what, part(out.Get(name), b, 0, c), part(want, b, lo, c), tolCache))
							}
						}
					}
					lo += c
				}
				t.Logf("largest error %.2g", worst)
			})
		}
	})
}

// checkRowsAlone runs every row of s alone and checks its outputs
// (attention probabilities aside) at its real positions against the
// batch's; keepPad runs the row padded as in the batch.
func checkRowsAlone(t *testing.T, m model.Model, s sample, batch *model.Outputs, keepPad bool) float64 {
	t.Helper()
	worst := 0.0
	for b := range s.rows() {
		alone := forward(t, m, false, s.row(b, keepPad).inputs(m), model.Options{HiddenStates: true})
		for _, name := range batch.Names {
			if isAttention(name) {
				continue
			}
			x, y := batch.Get(name), alone.Get(name)
			if y == nil {
				t.Fatalf("row %d alone has no %s", b, name)
			}
			// Real positions: the batch holds row b at [blo, blo+n),
			// alone at [alo, alo+n).
			blo, alo, n := 0, 0, 0
			if x.Rank() >= 3 {
				switch {
				case s.px != nil:
					n = y.Shape[1]
				case kindOf(m) == encDec && !strings.HasPrefix(name, "encoder_"):
					n = len(s.dec[b])
				default:
					n = len(s.src[b])
				}
				if s.left && kindOf(m) == decoderOnly {
					blo = x.Shape[1] - n
					if keepPad {
						alo = blo
					}
				}
			}
			worst = max(worst, within(t, fmt.Sprintf("row %d %s", b, name), part(y, 0, alo, n), part(x, b, blo, n), tolCache))
		}
	}
	return worst
}

// TestEquivPaddedBatch: a padded batch gives each row's outputs at its
// real positions as the row alone does. Encoders (BERT, the Marian/BART
// encoder and decoder) are right-padded; decoder-only models both ways,
// left with generate's position ids. BART's learned positions ignore
// position ids (as transformers' do), so a left-padded
// BartForCausalLM row is compared with itself alone, padded alike.
func TestEquivPaddedBatch(t *testing.T) {
	eachCase(t, 3, func(t *testing.T, m model.Model, rng *rand.Rand) {
		s := newSample(m, rng, []int{9, 5, 2}, []int{7, 3, 7})
		for _, left := range []bool{false, true} {
			if left && kindOf(m) != decoderOnly {
				continue
			}
			s.left = left
			batch := forward(t, m, false, s.inputs(m), model.Options{HiddenStates: true})
			keepPad := left && m.Info().ModelType == "bart"
			t.Logf("left=%v: largest error %.2g", left, checkRowsAlone(t, m, s, batch, keepPad))
		}
	})
}

// TestEquivPaddedCachedDecode: a left-padded batch of prompts prefilled
// into the cache and decoded one token per row per call, with the
// attention mask and position ids generate builds, gives at every step
// each row's logits of a full forward over that row alone (BART: alone
// but padded alike).
func TestEquivPaddedCachedDecode(t *testing.T) {
	decoderCases(t, 4, func(t *testing.T, m cachedModel, rng *rand.Rand) {
		if kindOf(m) != decoderOnly {
			t.Skip("encoder-decoders decode unpadded")
		}
		// BART's positions ignore left padding: its rows alone are padded alike.
		keepPad := m.Info().ModelType == "bart"
		s := newSample(m, rng, []int{6, 3, 1}, nil)
		s.left = true
		const steps = 4
		cache, err := m.NewCache(3, 6+steps)
		if err != nil {
			t.Fatal(err)
		}
		g := autograd.NewGraph(false)
		in := s.inputs(m)
		pads := []int{0, 3, 5}
		worst := 0.0
		for step := range steps + 1 {
			g.Reset()
			out, err := m.Forward(g, in, model.Options{Cache: cache, LastLogits: true})
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			for b := range 3 {
				alone := forward(t, m, false, s.row(b, keepPad).inputs(m), model.Options{LastLogits: true})
				worst = max(worst, within(t, fmt.Sprintf("step %d row %d", step, b), part(out.Get("logits"), b, 0, 1), part(alone.Get("logits"), 0, 0, 1), tolCache))
			}
			// Next call: one new token per row; the mask spans past and
			// new positions, the position counts from the first real token.
			past := cache.Len()
			in = &model.Inputs{B: 3, T: 1}
			for b := range 3 {
				id := rng.IntN(m.Info().Vocab)
				s.src[b] = append(s.src[b], id)
				in.InputIDs = append(in.InputIDs, id)
				in.PositionIDs = append(in.PositionIDs, past-pads[b])
				for j := range past + 1 {
					in.AttentionMask = append(in.AttentionMask, b2i(j >= pads[b]))
				}
			}
		}
		t.Logf("largest error %.2g", worst)
	})
}

// attnSpec says which keys a query of one attention output may see.
type attnSpec struct {
	causal bool
	keyLen []int // real keys per row (right padding); nil: all
}

func attnSpecFor(m model.Model, s sample, name string) attnSpec {
	lens := func(rows [][]int) []int {
		var l []int
		for _, r := range rows {
			l = append(l, len(r))
		}
		return l
	}
	switch {
	case s.px != nil:
		return attnSpec{}
	case strings.HasPrefix(name, "encoder_"), strings.HasPrefix(name, "cross_"):
		return attnSpec{keyLen: lens(s.src)}
	case strings.HasPrefix(name, "decoder_"):
		return attnSpec{causal: true, keyLen: lens(s.dec)}
	}
	causal := kindOf(m) == decoderOnly || cfgBool(m, "is_decoder")
	return attnSpec{causal: causal, keyLen: lens(s.src)}
}

// checkProbs checks p [B, NH, Tq, Tk] (queries at positions q0 …) sums
// to 1 over the keys each query may see and is 0 on the others.
func checkProbs(t *testing.T, what string, p *tensor.Tensor, spec attnSpec, q0 int) {
	t.Helper()
	d := p.Contiguous().Data()
	b, nh, tq, tk := p.Shape[0], p.Shape[1], p.Shape[2], p.Shape[3]
	for bi := range b {
		for h := range nh {
			for q := range tq {
				row := d[((bi*nh+h)*tq+q)*tk:][:tk]
				sum := 0.0
				for k, v := range row {
					visible := (!spec.causal || k <= q0+q) && (spec.keyLen == nil || k < spec.keyLen[bi])
					if visible {
						sum += float64(v)
					} else if v != 0 {
						t.Fatalf("%s [%d,%d,%d,%d] = %g on a masked key, want 0", what, bi, h, q, k, v)
					}
				}
				if !(math.Abs(sum-1) <= 1e-5) {
					t.Fatalf("%s [%d,%d,%d,:] sums to %.7f over the visible keys", what, bi, h, q, sum)
				}
			}
		}
	}
}

// TestEquivAttentions: Options.Attentions gives the same probabilities in
// an inference graph as in a training graph, and the same other outputs
// as a forward that does not ask for them (another attention kernel); the
// probabilities sum to 1 over the visible keys and are 0 on masked ones;
// a cached decode returns the rows of the full forward's.
func TestEquivAttentions(t *testing.T) {
	eachCase(t, 5, func(t *testing.T, m model.Model, rng *rand.Rand) {
		s := newSample(m, rng, []int{8, 5}, []int{7, 4})
		in := s.inputs(m)
		opt := model.Options{HiddenStates: true, Attentions: true}
		inf := forward(t, m, false, in, opt)
		e1 := sameOutputs(t, "inference vs training", inf, forward(t, m, true, in, opt), tolModes, nil)
		e2 := sameOutputs(t, "with vs without attentions", inf, forward(t, m, false, in, model.Options{HiddenStates: true}), tolModes, isAttention)
		t.Logf("inference vs training %.2g; outputs with vs without attentions %.2g", e1, e2)
		n := 0
		for _, name := range inf.Names {
			if isAttention(name) {
				checkProbs(t, name, inf.Get(name), attnSpecFor(m, s, name), 0)
				n++
			}
		}
		if n == 0 {
			t.Fatal("no attentions returned")
		}
	})
	t.Run("cached", func(t *testing.T) {
		decoderCases(t, 6, func(t *testing.T, m cachedModel, rng *rand.Rand) {
			s := newSample(m, rng, []int{7, 7}, []int{7, 7})
			if kindOf(m) == encDec {
				s.src = [][]int{s.src[0][:4], s.src[1]}
			}
			fullIn := s.inputs(m)
			full := forward(t, m, false, fullIn, model.Options{Attentions: true})
			cache, err := m.NewCache(2, 7)
			if err != nil {
				t.Fatal(err)
			}
			g := autograd.NewGraph(false)
			worst, lo := 0.0, 0
			for _, c := range []int{4, 1, 2} {
				g.Reset()
				out, err := m.Forward(g, decodeInputs(m, s, fullIn, lo, lo+c, nil), model.Options{Cache: cache, Attentions: true})
				if err != nil {
					t.Fatal(err)
				}
				for _, name := range full.Names {
					if !isAttention(name) || strings.HasPrefix(name, "encoder_") {
						continue
					}
					got, want := out.Get(name), full.Get(name)
					if got == nil {
						t.Fatalf("positions %d..: no %s", lo, name)
					}
					tk := got.Shape[3]
					if !strings.HasPrefix(name, "cross_") && tk != lo+c {
						t.Fatalf("positions %d..: %s %v, want %d keys", lo, name, got.Shape, lo+c)
					}
					checkProbs(t, name, got, attnSpecFor(m, s, name), lo)
					wd, gd := want.Contiguous().Data(), got.Contiguous().Data()
					wtk := want.Shape[3]
					for bh := range want.Shape[0] * want.Shape[1] {
						for q := range c {
							what := fmt.Sprintf("%s [%d,%d] query %d", name, bh/want.Shape[1], bh%want.Shape[1], lo+q)
							w := wd[(bh*want.Shape[2]+lo+q)*wtk:][:tk]
							worst = max(worst, within(t, what, gd[(bh*c+q)*tk:][:tk], w, tolCache))
						}
					}
				}
				lo += c
			}
			t.Logf("largest error %.2g", worst)
		})
	})
}

// beamSetup is a generation of 4 rows: their sources (encoder-decoders)
// and prompts, left-padded by pad.
type beamSetup struct {
	src     [][]int // encoder-decoders: one source per row
	prompts [][]int // decoder prompts, left-padded by pad
	pad     []int
}

func newLM(t *testing.T, m model.Model) generate.Model {
	t.Helper()
	if kindOf(m) == encDec {
		lm, err := infer.NewSeq2Seq(m)
		if err != nil {
			t.Fatal(err)
		}
		return lm
	}
	lm, err := infer.NewLM(m)
	if err != nil {
		t.Fatal(err)
	}
	return lm
}

// sample is rows (prompts as bs pads them, then more tokens) as a batch
// for Forward.
func (bs beamSetup) sample(rows [][]int) sample {
	if bs.src != nil {
		return sample{src: bs.src, dec: rows}
	}
	s := sample{left: true}
	for r, row := range rows {
		p := 0
		if bs.pad != nil {
			p = bs.pad[r]
		}
		s.src = append(s.src, row[p:])
	}
	return s
}

// start begins a generation of prompts (a row each, padded by bs.pad),
// encoding bs.src first.
func (bs beamSetup) start(t *testing.T, lm generate.Model, prompts [][]int, maxLen int, logits []float32) {
	t.Helper()
	if err := lm.Begin(len(prompts), maxLen); err != nil {
		t.Fatal(err)
	}
	if s2s, ok := lm.(generate.Seq2Seq); ok {
		if err := s2s.Encode(bs.src); err != nil {
			t.Fatal(err)
		}
	}
	var ids []int
	for _, p := range prompts {
		ids = append(ids, p...)
	}
	if err := lm.Forward(ids, bs.pad, logits); err != nil {
		t.Fatal(err)
	}
}

// TestEquivReorder: through infer's generate.Model (the path generation
// takes), reordering the cache rows as beam search does and continuing
// gives the logits of the permuted rows decoded from scratch. Rows that
// share a source (encoder-decoders) or a padding are permuted among
// themselves, as beams of one input are.
func TestEquivReorder(t *testing.T) {
	decoderCases(t, 7, func(t *testing.T, m cachedModel, rng *rand.Rand) {
		v := m.Info().Vocab
		tok := func() int { return rng.IntN(v) }
		cases := []struct {
			name string
			perm []int
			pad  []int // left padding per row (decoder-only), beams of one prompt alike
		}{
			{"duplicates", []int{2, 0, 0, 3}, nil},
			{"within groups (decoder-only: padded)", []int{1, 1, 3, 2}, []int{2, 2, 0, 0}},
		}
		for _, c := range cases {
			if c.pad != nil && kindOf(m) == encDec {
				c.pad = nil
			} else if c.pad == nil && kindOf(m) == encDec {
				continue // every row permutes among the rows of its own source
			}
			t.Run(c.name, func(t *testing.T) {
				bs := beamSetup{pad: c.pad}
				if kindOf(m) == encDec {
					a := newSample(m, rng, []int{6, 3}, nil).src
					bs.src = [][]int{a[0], a[0], a[1], a[1]}
					start := cfgInt(m, "decoder_start_token_id", 0)
					bs.prompts = [][]int{{start}, {start}, {start}, {start}}
				} else {
					prompt := func(n int) []int {
						p := make([]int, n)
						for i := range p {
							p[i] = tok()
						}
						return p
					}
					if c.pad == nil {
						bs.prompts = [][]int{prompt(5), prompt(5), prompt(5), prompt(5)}
					} else {
						// Two prompts, each twice (beams), the first
						// left-padded by 2.
						p0, p1 := append([]int{9, 9}, prompt(3)...), prompt(5)
						bs.prompts = [][]int{p0, slices.Clone(p0), p1, slices.Clone(p1)}
					}
				}
				const maxLen = 12
				logits, ref := make([]float32, 4*v), make([]float32, 4*v)
				lm := newLM(t, m)
				bs.start(t, lm, bs.prompts, maxLen, logits)
				hist := make([][]int, 4)
				for r := range 4 {
					hist[r] = slices.Clone(bs.prompts[r])
				}
				step := func(lm generate.Model, out []float32) []int {
					ids := make([]int, 4)
					for r := range ids {
						ids[r] = tok()
					}
					if err := lm.Forward(ids, bs.pad, out); err != nil {
						t.Fatal(err)
					}
					return ids
				}
				for range 2 {
					for r, id := range step(lm, logits) {
						hist[r] = append(hist[r], id)
					}
				}
				if err := lm.Reorder(c.perm); err != nil {
					t.Fatal(err)
				}
				permuted := make([][]int, 4)
				for r, from := range c.perm {
					permuted[r] = slices.Clone(hist[from])
				}
				// Continue the reordered cache by one token, then decode
				// the permuted histories plus that token from scratch.
				next := step(lm, logits)
				for r := range permuted {
					permuted[r] = append(permuted[r], next[r])
				}
				fresh := newLM(t, m)
				bs.start(t, fresh, permuted, maxLen, ref)
				e1 := within(t, "first step after reorder", logits, ref, tolCache)
				// The from-scratch prefill is the model's own full forward.
				full := forward(t, m, false, bs.sample(permuted).inputs(m), model.Options{LastLogits: true})
				within(t, "prefill vs full forward", ref, full.Get("logits").Contiguous().Data(), tolCache)
				// And one more token on both.
				ids := step(lm, logits)
				if err := fresh.Forward(ids, bs.pad, ref); err != nil {
					t.Fatal(err)
				}
				e2 := within(t, "second step after reorder", logits, ref, tolCache)
				t.Logf("largest errors %.2g, %.2g", e1, e2)
				// Begin again on the reordered model reuses its cache.
				bs.start(t, lm, permuted, maxLen, logits)
				if err := lm.Forward(ids, bs.pad, logits); err != nil {
					t.Fatal(err)
				}
				within(t, "after Begin on a used cache", logits, ref, tolCache)
			})
		}
	})
}

// bf16Tolerance is how far logits from bfloat16 weights may be from
// float32's: the largest |Δ| at most bf16RelTol of the largest |logit|
// of the float32 forward, and the top logit the same at no less than
// bf16ArgmaxAgree of the positions (rows of the last dimension).
const (
	bf16RelTol      = 2e-2
	bf16ArgmaxAgree = 0.95
)

// bf16Compare measures got (bf16 weights) against want (float32) for
// logits whose last dimension is v: the largest error relative to
// want's scale and the share of positions whose argmax agrees.
func bf16Compare(got, want []float32, v int) (rel, agree float64, err error) {
	if len(got) != len(want) || v <= 0 || len(want)%v != 0 || len(want) == 0 {
		return 0, 0, fmt.Errorf("bf16Compare: %d and %d logits in rows of %d", len(got), len(want), v)
	}
	scale, diff := 0.0, 0.0
	for i := range want {
		scale = max(scale, math.Abs(float64(want[i])))
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if d > diff || (d != d && diff == diff) { // a NaN stays
			diff = d
		}
	}
	if scale == 0 {
		return 0, 0, fmt.Errorf("bf16Compare: the float32 logits are all zero")
	}
	same := 0
	for p := 0; p < len(want); p += v {
		if topIndex(got[p:p+v]) == topIndex(want[p:p+v]) {
			same++
		}
	}
	return diff / scale, float64(same) / float64(len(want)/v), nil
}

// topIndex is the index of x's largest value (−1 when x holds a NaN).
func topIndex(x []float32) int { return slices.Index(x, slices.Max(x)) }

// checkBF16 fails t when got is not within the bfloat16 tolerance of want.
func checkBF16(t testing.TB, what string, got, want []float32, v int) {
	t.Helper()
	rel, agree, err := bf16Compare(got, want, v)
	switch {
	case err != nil:
		t.Errorf("%s: %v", what, err)
	case !(rel <= bf16RelTol) || agree < bf16ArgmaxAgree:
		t.Errorf("%s: bf16 logits off by %.3g of their scale (at most %g), argmax agrees at %.1f%% of positions (at least %g%%)",
			what, rel, bf16RelTol, 100*agree, 100*bf16ArgmaxAgree)
	default:
		t.Logf("%s: error %.2g of the scale, argmax agrees at %.1f%%", what, rel, 100*agree)
	}
}

// toBF16 rounds f to the nearest bfloat16 (ties to even), as a float32.
func toBF16(f float32) float32 {
	b := math.Float32bits(f)
	if f != f {
		return f
	}
	b += 0x7fff + (b>>16)&1
	return math.Float32frombits(b &^ 0xffff)
}

// roundToBF16 rounds every parameter of m to bfloat16 in place.
func roundToBF16(m model.Model) {
	for _, p := range m.NamedParameters("", nil) {
		d := p.Var.Value.Data()
		for i, x := range d {
			d[i] = toBF16(x)
		}
	}
}

// TestBF16RoundedWeights: a model whose weights are rounded to bfloat16
// (in place, arithmetic float32) stays within the bf16 tolerance of the
// float32 model, on 4 rows of up to 16 tokens. This is the reference a
// bfloat16 weight option must meet: checkBF16(t, name, bf16Logits,
// f32Logits, V).
func TestBF16RoundedWeights(t *testing.T) {
	eachCase(t, 8, func(t *testing.T, m model.Model, rng *rand.Rand) {
		s := newSample(m, rng, []int{16, 16, 12, 9, 16, 16, 16, 16}, []int{16, 12, 16, 10, 16, 16, 16, 16})
		in := s.inputs(m)
		want := forward(t, m, false, in, model.Options{}).Get("logits")
		if want == nil {
			t.Skip("no logits")
		}
		wd := slices.Clone(want.Contiguous().Data())
		roundToBF16(m)
		got := forward(t, m, false, in, model.Options{}).Get("logits")
		checkBF16(t, "rounded weights", got.Contiguous().Data(), wd, want.Shape[want.Rank()-1])
	})
}

// TestBF16Compare pins the bf16 check itself: it accepts what rounding
// does and rejects logits off in scale or in their argmax.
func TestBF16Compare(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 9))
	want := make([]float32, 40*50)
	for i := range want {
		want[i] = float32(3 * rng.NormFloat64())
	}
	edit := func(f func(i int, x float32) float32) []float32 {
		g := slices.Clone(want)
		for i, x := range g {
			g[i] = f(i, x)
		}
		return g
	}
	// Near ties at the first 4 positions: the second logit 1e-3 below
	// the top one; flip(k) swaps them at the first k positions, so the
	// error stays far inside the scale tolerance.
	for p := range 4 {
		row := want[p*50 : (p+1)*50]
		a := topIndex(row)
		row[(a+1)%50] = row[a] - 1e-3
	}
	flip := func(k int) []float32 {
		g := slices.Clone(want)
		for p := range k {
			row := g[p*50 : (p+1)*50]
			a := topIndex(row)
			row[a], row[(a+1)%50] = row[(a+1)%50], row[a]
		}
		return g
	}
	cases := []struct {
		name string
		got  []float32
		ok   bool
	}{
		{"equal", want, true},
		{"rounded to bf16", edit(func(_ int, x float32) float32 { return toBF16(x) }), true},
		{"1% noise away from the near ties", edit(func(i int, x float32) float32 {
			if i < 4*50 {
				return x
			}
			return x * (1 + 0.01*float32(rng.NormFloat64()))
		}), true},
		{"one logit off by 5% of the scale", edit(func(i int, x float32) float32 {
			if i == 7 {
				return x + 0.05*slices.Max(want)
			}
			return x
		}), false},
		{"argmax moved at 1 of 40 positions", flip(1), true},
		{"argmax moved at 3 of 40 positions", flip(3), false},
		{"NaN", edit(func(i int, x float32) float32 {
			if i == 3 {
				return float32(math.NaN())
			}
			return x
		}), false},
	}
	for _, c := range cases {
		rel, agree, err := bf16Compare(c.got, want, 50)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ok := rel <= bf16RelTol && agree >= bf16ArgmaxAgree; ok != c.ok {
			t.Errorf("%s: error %.3g, argmax agreement %.3f: accepted %v, want %v", c.name, rel, agree, ok, c.ok)
		}
	}
	if _, _, err := bf16Compare(want[:10], want, 50); err == nil {
		t.Error("bf16Compare accepted logits of different lengths")
	}
}

// TestBF16Weights: every architecture with bfloat16 weights
// (model.ToBF16: a bfloat16 copy of every Linear weight and LM head,
// arithmetic float32) stays within the bf16 tolerance of its float32
// forward, on 4 rows of up to 16 tokens; a training graph refuses it.
func TestBF16Weights(t *testing.T) {
	eachCase(t, 11, func(t *testing.T, m model.Model, rng *rand.Rand) {
		s := newSample(m, rng, []int{16, 16, 12, 9, 16, 16, 16, 16}, []int{16, 12, 16, 10, 16, 16, 16, 16})
		in := s.inputs(m)
		want := forward(t, m, false, in, model.Options{}).Get("logits")
		if want == nil {
			want = forward(t, m, false, in, model.Options{}).Get("last_hidden_state")
		}
		wd := slices.Clone(want.Contiguous().Data())
		if err := model.ToBF16(m); err != nil {
			t.Fatal(err)
		}
		if model.DTypeOf(m) != model.BF16 {
			t.Fatalf("DTypeOf = %s after ToBF16", model.DTypeOf(m))
		}
		out := forward(t, m, false, in, model.Options{})
		got := out.Get("logits")
		if got == nil {
			got = out.Get("last_hidden_state")
		}
		checkBF16(t, "bf16 weights", got.Contiguous().Data(), wd, want.Shape[want.Rank()-1])
		if _, err := m.Forward(autograd.NewGraph(true), in, model.Options{}); err == nil || !strings.Contains(err.Error(), "bfloat16") {
			t.Errorf("a training forward of a bfloat16 model gave %v, want an error naming bfloat16", err)
		}
	})
}

// TestBF16Decode: the decoders' bfloat16 decode through the cache stays
// within the bf16 tolerance of the float32 decode, over a prefill and 6
// steps of 4 rows fed the same tokens.
func TestBF16Decode(t *testing.T) {
	for i, c := range equivCases {
		t.Run(c.name, func(t *testing.T) {
			m32, m16 := c.load(t), c.load(t)
			if kindOf(m32) != decoderOnly {
				t.Skip("not a decoder-only model")
			}
			if err := model.ToBF16(m16); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(i), 10))
			f32, err := infer.NewLM(m32)
			if err != nil {
				t.Fatal(err)
			}
			bf16, err := infer.NewLM(m16)
			if err != nil {
				t.Fatal(err)
			}
			v, rows, steps := m32.Info().Vocab, 4, 6
			ids := newSample(m32, rng, []int{8, 8, 8, 8}, nil).src
			in := slices.Concat(ids...)
			var want, got []float32
			for _, lm := range []generate.Model{f32, bf16} {
				if err := lm.Begin(rows, 8+steps); err != nil {
					t.Fatal(err)
				}
			}
			for range steps + 1 {
				w, g := make([]float32, rows*v), make([]float32, rows*v)
				if err := f32.Forward(in, nil, w); err != nil {
					t.Fatal(err)
				}
				if err := bf16.Forward(in, nil, g); err != nil {
					t.Fatal(err)
				}
				want, got = append(want, w...), append(got, g...)
				in = make([]int, rows)
				for r := range in {
					in[r] = topIndex(w[r*v : (r+1)*v])
				}
			}
			checkBF16(t, "bf16 decode", got, want, v)
		})
	}
}

// TestEquivLongDecode runs the cached decode past the kernels' tile and
// split sizes (flash tiles of 128, decode key chunks of 256, a core per
// 512 keys): 1100 positions, prefilled in chunks of up to 300 then one
// token at a time, against one full forward, through the model and
// through infer's generate.Model (GPT-2: its fused prefill and step). One
// row and two heads, so that the decode kernel splits the key axis. At
// that length the reference attention kernel must agree with the flash
// one, and a left-padded batch with its rows alone.
func TestEquivLongDecode(t *testing.T) {
	const n = 1100
	for _, o := range []model.InitOptions{
		{Arch: "gpt2", Hidden: 32, Heads: 2, Vocab: 128, Context: n, Seed: 11},
		{Arch: "bart", Head: "BartForCausalLM", Hidden: 32, Heads: 2, Vocab: 128, Context: n, Seed: 12},
		{Arch: "marian", Hidden: 32, Heads: 2, Vocab: 128, Context: n, Seed: 13},
	} {
		c := randomCase(cmp.Or(o.Head, o.Arch), o)
		t.Run(c.name, func(t *testing.T) {
			m := c.load(t).(cachedModel)
			rng := rand.New(rand.NewPCG(o.Seed, 12))
			s := newSample(m, rng, []int{n}, []int{n})
			if kindOf(m) == encDec {
				s.src[0] = s.src[0][:20]
			}
			fullIn := s.inputs(m)
			full := forward(t, m, false, fullIn, model.Options{}).Get("logits")
			chunks := []int{300, 300, 250, 129, 100, 1, 1, 4, 3} // 1088, then one by one
			for range n - 1088 {
				chunks = append(chunks, 1)
			}
			cache, err := m.NewCache(1, n)
			if err != nil {
				t.Fatal(err)
			}
			g := autograd.NewGraph(false)
			worst, lo := 0.0, 0
			for _, c := range chunks {
				g.Reset()
				out, err := m.Forward(g, decodeInputs(m, s, fullIn, lo, lo+c, nil), model.Options{Cache: cache})
				if err != nil {
					t.Fatal(err)
				}
				what := fmt.Sprintf("model, positions %d..%d", lo, lo+c-1)
				worst = max(worst, within(t, what, part(out.Get("logits"), 0, 0, c), part(full, 0, lo, c), tolCache))
				lo += c
			}
			// The same through generate.Model: a 1080-token prompt, then
			// 20 steps.
			lm := newLM(t, m)
			bs := beamSetup{}
			rows := s.src
			if kindOf(m) == encDec {
				bs.src, rows = s.src, s.dec
			}
			v, p := m.Info().Vocab, n-20
			logits := make([]float32, v)
			bs.start(t, lm, [][]int{rows[0][:p]}, n, logits)
			for i := p; ; i++ {
				worst = max(worst, within(t, fmt.Sprintf("generate.Model, position %d", i-1), logits, part(full, 0, i-1, 1), tolCache))
				if i == n {
					break
				}
				if err := lm.Forward(rows[0][i:i+1], nil, logits); err != nil {
					t.Fatal(err)
				}
			}
			if m.Info().ModelType == "gpt2" {
				worst = max(worst, longPaddedGenerate(t, m, s.src[0], full, p))
			}
			// The reference kernel (Attentions) at this length, and a
			// left-padded long batch against its rows alone.
			withProbs := forward(t, m, false, fullIn, model.Options{Attentions: true}).Get("logits")
			worst = max(worst, within(t, "with attentions", withProbs.Contiguous().Data(), full.Contiguous().Data(), tolModes))
			if kindOf(m) == decoderOnly {
				padded := sample{src: [][]int{s.src[0], s.src[0][400:]}, left: true}
				batch := forward(t, m, false, padded.inputs(m), model.Options{HiddenStates: true})
				worst = max(worst, checkRowsAlone(t, m, padded, batch, m.Info().ModelType == "bart"))
			}
			t.Logf("largest error %.2g", worst)
		})
	}
}

// longPaddedGenerate decodes two rows through generate.Model: row 0 is
// ids, row 1 its tail from position 400, left-padded by 400 (as generate
// pads prompts); both are prompted up to position p, then fed ids one
// token at a time. Row 0's logits must be full's (ids' full forward), row
// 1's those of its tail's full forward.
func longPaddedGenerate(t *testing.T, m model.Model, ids []int, full *tensor.Tensor, p int) float64 {
	t.Helper()
	const pad = 400
	n, v := len(ids), m.Info().Vocab
	tail := forward(t, m, false, &model.Inputs{B: 1, T: n - pad, InputIDs: ids[pad:]}, model.Options{}).Get("logits")
	lm := newLM(t, m)
	bs := beamSetup{pad: []int{0, pad}}
	logits := make([]float32, 2*v)
	bs.start(t, lm, [][]int{ids[:p], append(make([]int, pad), ids[pad:p]...)}, n, logits)
	worst := 0.0
	for i := p; ; i++ {
		worst = max(worst, within(t, fmt.Sprintf("padded generate.Model row 0, position %d", i-1), logits[:v], part(full, 0, i-1, 1), tolCache))
		worst = max(worst, within(t, fmt.Sprintf("padded generate.Model row 1, position %d", i-1), logits[v:], part(tail, 0, i-1-pad, 1), tolCache))
		if i == n {
			return worst
		}
		if err := lm.Forward([]int{ids[i], ids[i]}, bs.pad, logits); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCaptureMatchesTrainingProbs: an inference forward with a Capture of
// two layers (in reverse order) and two heads returns, for each stack
// (encoder or decoder-only self-attention, decoder self-attention,
// cross-attention), exactly the probabilities the training-mode graph
// reports as attentions.N for those heads, and its other outputs are
// those of a forward without a Capture.
func TestCaptureMatchesTrainingProbs(t *testing.T) {
	eachCase(t, 12, func(t *testing.T, m model.Model, rng *rand.Rand) {
		s := newSample(m, rng, []int{9, 12, 7, 12, 12, 12, 12, 12}, []int{8, 5, 8, 6, 8, 8, 8, 8})
		in := s.inputs(m)
		ref := forward(t, m, true, in, model.Options{Attentions: true})
		info := m.Info()
		layers, heads := info.Layers, info.Heads
		type stack struct {
			name string
			got  func(c *model.Capture) [][]*tensor.Tensor
		}
		stacks := []stack{{"attentions", func(c *model.Capture) [][]*tensor.Tensor { return c.Self }}}
		if kindOf(m) == encDec {
			stacks = []stack{
				{"encoder_attentions", func(c *model.Capture) [][]*tensor.Tensor { return c.Self }},
				{"decoder_attentions", func(c *model.Capture) [][]*tensor.Tensor { return c.Decoder }},
				{"cross_attentions", func(c *model.Capture) [][]*tensor.Tensor { return c.Cross }},
			}
			if info.DecoderLayers < layers {
				layers = info.DecoderLayers
			}
			heads = min(heads, info.DecoderHeads)
		}
		c := &model.Capture{Layers: []int{layers - 1, 0}, Heads: []int{heads - 1, 0}}
		if layers == 1 {
			c.Layers = []int{0}
		}
		if heads == 1 {
			c.Heads = []int{0}
		}
		out := forward(t, m, false, in, model.Options{Capture: c})
		plain := forward(t, m, false, in, model.Options{})
		// The captured layers run the reference kernel: the same up to
		// float32 rounding.
		sameOutputs(t, "with a Capture", out, plain, 1e-5, nil)
		for _, st := range stacks {
			got := st.got(c)
			if len(got) != len(c.Layers) {
				t.Fatalf("%s: %d layers captured, want %d", st.name, len(got), len(c.Layers))
			}
			for li, l := range c.Layers {
				want := ref.Get(fmt.Sprintf("%s.%d", st.name, l))
				b, nh, tq, tk := want.Shape[0], want.Shape[1], want.Shape[2], want.Shape[3]
				wd := want.Contiguous().Data()
				for hi, h := range c.Heads {
					g := got[li][hi]
					if !tensor.EqualShape(g.Shape, []int{b, tq, tk}) {
						t.Fatalf("%s layer %d head %d: shape %v, want [%d %d %d]", st.name, l, h, g.Shape, b, tq, tk)
					}
					for bi := range b {
						w := wd[(bi*nh+h)*tq*tk : (bi*nh+h+1)*tq*tk]
						within(t, fmt.Sprintf("%s layer %d head %d row %d", st.name, l, h, bi), g.Data()[bi*tq*tk:(bi+1)*tq*tk], w, 1e-6)
					}
				}
				w := model.Weights(got, 0)
				if len(w) != len(c.Layers) || len(w[li]) != len(c.Heads) || len(w[li][0]) != tq || len(w[li][0][0]) != tk {
					t.Errorf("%s: Weights is not [layer][head][query][key]", st.name)
				}
			}
		}
		bad := &model.Capture{Layers: []int{layers + 3}}
		if _, err := m.Forward(autograd.NewGraph(false), in, model.Options{Capture: bad}); err == nil || !strings.Contains(err.Error(), "layer") {
			t.Errorf("capture of layer %d of %d: %v, want an error naming the layer", layers+3, layers, err)
		}
	})
}
