package infer

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/internal/quote"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tensor"
	"github.com/attn-dev/attn/tokenizer"
)

// batch is a set of token sequences right padded to one length T, with
// their attention mask (1 real, 0 pad; nil when nothing is padded).
type batch struct {
	ids  []int
	mask []int
	b, t int
	lens []int
}

func newBatch(seqs [][]int, padID int) (*batch, error) {
	if len(seqs) == 0 {
		return nil, errors.New("infer: no input")
	}
	bt := &batch{b: len(seqs)}
	for i, s := range seqs {
		if len(s) == 0 {
			return nil, fmt.Errorf("infer: input %d has no tokens", i)
		}
		bt.t = max(bt.t, len(s))
		bt.lens = append(bt.lens, len(s))
	}
	for _, s := range seqs {
		bt.ids = append(bt.ids, s...)
		for range bt.t - len(s) {
			bt.ids = append(bt.ids, padID)
		}
		if len(s) < bt.t && bt.mask == nil {
			bt.mask = []int{}
		}
	}
	if bt.mask != nil {
		for _, s := range seqs {
			for j := range bt.t {
				bt.mask = append(bt.mask, b2i(j < len(s)))
			}
		}
	}
	return bt, nil
}

// run executes the model's forward on the batch: for an encoder-decoder,
// the encoder only (its states are named encoder_*).
func (bt *batch) run(g *autograd.Graph, m model.Model, opt model.Options) (*model.Outputs, error) {
	in := &model.Inputs{B: bt.b, T: bt.t, InputIDs: bt.ids, AttentionMask: bt.mask}
	if e, ok := m.(encoderDecoder); ok && IsEncoderDecoder(m) {
		_, out, err := e.Encode(g, in, opt)
		return out, err
	}
	return m.Forward(g, in, opt)
}

// forwardBatch right-pads seqs and runs the model on them in a fresh
// inference graph.
func forwardBatch(m model.Model, seqs [][]int, opt model.Options) (*batch, *model.Outputs, error) {
	bt, err := newBatch(seqs, 0)
	if err != nil {
		return nil, nil, err
	}
	out, err := bt.run(autograd.NewGraph(false), m, opt)
	return bt, out, err
}

// hiddenStates returns the hidden states [B, T, C] after layer n (0: the
// embeddings; L, or −1: the last layer's output), as Hugging Face's
// output_hidden_states lists them, and the number of layers L.
func hiddenStates(out *model.Outputs, n int) (*tensor.Tensor, int, error) {
	prefix := "hidden_states."
	if out.Get("encoder_hidden_states.0") != nil {
		prefix = "encoder_hidden_states."
	}
	l := 0
	for out.Get(prefix+strconv.Itoa(l+1)) != nil {
		l++
	}
	if out.Get(prefix+"0") == nil {
		return nil, 0, errors.New("infer: the model returned no hidden states")
	}
	k := n
	if k < 0 {
		k += l + 1
	}
	if k < 0 || k > l {
		return nil, l, fmt.Errorf("infer: layer %d outside [0, %d] (or −1 … −%d counting from the last)", n, l, l+1)
	}
	return out.Get(prefix + strconv.Itoa(k)).Contiguous(), l, nil
}

// Pooling says how Embed turns token vectors into one per text.
type Pooling string

const (
	PoolMean Pooling = "mean" // average over the real tokens
	PoolCLS  Pooling = "cls"  // the first token ([CLS] for BERT)
	PoolNone Pooling = "none" // every token's vector
)

// ParsePooling checks a --pool value.
func ParsePooling(s string) (Pooling, error) {
	switch p := Pooling(s); p {
	case PoolMean, PoolCLS, PoolNone:
		return p, nil
	}
	return "", fmt.Errorf("infer: pooling %q: want mean, cls or none", s)
}

// Embedding is one text's contextual representation.
type Embedding struct {
	Text    string      `json:"text,omitempty"`
	IDs     []int       `json:"ids"`
	Tokens  []string    `json:"tokens,omitempty"`
	Vector  []float32   `json:"vector,omitempty"`  // mean or cls pooling, [C]
	Vectors [][]float32 `json:"vectors,omitempty"` // no pooling, [T, C]
}

// Embed returns the contextual embeddings of token sequences at hidden
// layer n (see hiddenStates), pooled as asked; padding never contributes.
func Embed(m model.Model, seqs [][]int, layer int, pool Pooling) ([]Embedding, error) {
	bt, out, err := forwardBatch(m, seqs, model.Options{HiddenStates: true})
	if err != nil {
		return nil, err
	}
	h, _, err := hiddenStates(out, layer)
	if err != nil {
		return nil, err
	}
	c := h.Shape[2]
	data := h.Data()
	res := make([]Embedding, bt.b)
	for i := range bt.b {
		res[i].IDs = seqs[i]
		row := data[i*bt.t*c : (i+1)*bt.t*c]
		switch pool {
		case PoolCLS:
			res[i].Vector = slices.Clone(row[:c])
		case PoolNone:
			for j := range bt.lens[i] {
				res[i].Vectors = append(res[i].Vectors, slices.Clone(row[j*c:(j+1)*c]))
			}
		default:
			res[i].Vector = meanRows(row, c, 0, bt.lens[i])
		}
	}
	return res, nil
}

// meanRows averages rows lo … hi−1 of x [*, C] (in float64).
func meanRows(x []float32, c, lo, hi int) []float32 {
	acc := make([]float64, c)
	for j := lo; j < hi; j++ {
		for k, v := range x[j*c : (j+1)*c] {
			acc[k] += float64(v)
		}
	}
	out := make([]float32, c)
	for k, v := range acc {
		out[k] = float32(v / float64(hi-lo))
	}
	return out
}

// Cosine is the cosine similarity a·b / (|a||b|) (0 if either is zero).
func Cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// LayerSimilarity is the cosine similarity of one word's vectors in two
// sentences after one layer (0: the embeddings).
type LayerSimilarity struct {
	Layer  int     `json:"layer"`
	Cosine float64 `json:"cosine"`
}

// Similarity compares the contextual vectors of word (the mean of its
// sub-word tokens, at its first occurrence) in sentences a and b, layer by
// layer: the "bank" of a river and of an investment start identical (the
// embedding layer) and drift apart as attention mixes in context.
func Similarity(m model.Model, tok tokenizer.Tokenizer, word, a, b string) ([]LayerSimilarity, error) {
	w, err := tok.Encode(word, false)
	if err != nil {
		return nil, fmt.Errorf("infer: tokenizing %s: %w", quote.Short(word), err)
	}
	if len(w) == 0 {
		return nil, fmt.Errorf("infer: %s has no tokens", quote.Short(word))
	}
	seqs := make([][]int, 2)
	spans := make([][2]int, 2)
	for i, s := range []string{a, b} {
		if seqs[i], err = tok.Encode(s, true); err != nil {
			return nil, fmt.Errorf("infer: tokenizing %s: %w", quote.Short(s), err)
		}
		at := findSub(seqs[i], w)
		if at < 0 {
			// A byte-level BPE spells a word differently after a space.
			if alt, err := tok.Encode(" "+word, false); err == nil && len(alt) > 0 {
				if at = findSub(seqs[i], alt); at >= 0 {
					spans[i] = [2]int{at, at + len(alt)}
					continue
				}
			}
			return nil, fmt.Errorf("infer: %s (tokens %v) does not occur in %s (%d tokens)", quote.Short(word), w, quote.Short(s), len(seqs[i]))
		}
		spans[i] = [2]int{at, at + len(w)}
	}
	bt, out, err := forwardBatch(m, seqs, model.Options{HiddenStates: true})
	if err != nil {
		return nil, err
	}
	_, l, err := hiddenStates(out, 0)
	if err != nil {
		return nil, err
	}
	res := make([]LayerSimilarity, 0, l+1)
	for n := 0; n <= l; n++ {
		h, _, err := hiddenStates(out, n)
		if err != nil {
			return nil, err
		}
		c := h.Shape[2]
		var v [2][]float32
		for i := range 2 {
			row := h.Data()[i*bt.t*c : (i+1)*bt.t*c]
			v[i] = meanRows(row, c, spans[i][0], spans[i][1])
		}
		res = append(res, LayerSimilarity{Layer: n, Cosine: Cosine(v[0], v[1])})
	}
	return res, nil
}

// findSub returns the index of the first occurrence of sub in s, or −1.
func findSub(s, sub []int) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if slices.Equal(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// Candidate is one predicted token.
type Candidate struct {
	ID    int     `json:"id"`
	Token string  `json:"token,omitempty"` // the vocabulary's spelling ("Ġbe")
	Text  string  `json:"text,omitempty"`  // the text it decodes to (" be")
	Prob  float64 `json:"prob"`
}

// MaskPrediction lists the top candidates for one masked position.
type MaskPrediction struct {
	Position   int         `json:"position"`
	Candidates []Candidate `json:"candidates"`
}

// ErrNoMask is FillMask's error for an input without the mask token.
var ErrNoMask = errors.New("no mask token in the input")

// FillMask predicts the k most likely tokens for every position of ids
// holding maskID, from a masked language model's logits [1, T, V].
func FillMask(m model.Model, ids []int, maskID, k int) ([]MaskPrediction, error) {
	if k <= 0 {
		return nil, fmt.Errorf("infer: top-k %d must be positive", k)
	}
	var at []int
	for i, id := range ids {
		if id == maskID {
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return nil, fmt.Errorf("infer: %w (id %d)", ErrNoMask, maskID)
	}
	_, out, err := forwardBatch(m, [][]int{ids}, model.Options{})
	if err != nil {
		return nil, err
	}
	logits := out.Get("logits")
	if logits == nil || logits.Rank() != 3 {
		return nil, fmt.Errorf("infer: %s gives no token logits: not a masked language model", m.Info().Architecture)
	}
	v := logits.Shape[2]
	data := logits.Contiguous().Data()
	res := make([]MaskPrediction, len(at))
	for i, p := range at {
		probs := softmax64(data[p*v : (p+1)*v])
		res[i] = MaskPrediction{Position: p, Candidates: topCandidates(probs, k)}
	}
	return res, nil
}

func softmax64(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	out := make([]float64, len(x))
	var sum float64
	for i, v := range x {
		out[i] = math.Exp(float64(v) - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// topCandidates returns the k largest probabilities (ties: lower id first).
func topCandidates(p []float64, k int) []Candidate {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	k = min(k, len(p))
	out := make([]Candidate, k)
	for i := range k {
		out[i] = Candidate{ID: idx[i], Prob: p[idx[i]]}
	}
	return out
}

// Label is one class with its probability.
type Label struct {
	ID    int     `json:"id"`
	Label string  `json:"label"`
	Prob  float64 `json:"prob"`
}

// Labels reads id2label from the model's config ("LABEL_i" when absent).
func Labels(m model.Model, n int) []string {
	names := make([]string, n)
	raw, _ := m.Config().Raw("id2label")
	table, _ := raw.(map[string]any)
	for i := range names {
		if s, ok := table[strconv.Itoa(i)].(string); ok {
			names[i] = s
		} else {
			names[i] = "LABEL_" + strconv.Itoa(i)
		}
	}
	return names
}

// classify turns classification logits [B, labels] into sorted labels.
func classify(m model.Model, out *model.Outputs) ([][]Label, error) {
	logits := out.Get("logits")
	if logits == nil || logits.Rank() != 2 {
		return nil, fmt.Errorf("infer: %s has no classification head", m.Info().Architecture)
	}
	b, n := logits.Shape[0], logits.Shape[1]
	names := Labels(m, n)
	data := logits.Contiguous().Data()
	res := make([][]Label, b)
	for i := range b {
		p := softmax64(data[i*n : (i+1)*n])
		for _, c := range topCandidates(p, n) {
			res[i] = append(res[i], Label{ID: c.ID, Label: names[c.ID], Prob: c.Prob})
		}
	}
	return res, nil
}

// ClassifyText classifies token sequences with a sequence-classification
// model (BERT with a pooler and classifier): softmax over its logits, the
// labels from id2label, most likely first.
func ClassifyText(m model.Model, seqs [][]int) ([][]Label, error) {
	_, out, err := forwardBatch(m, seqs, model.Options{})
	if err != nil {
		return nil, err
	}
	return classify(m, out)
}
