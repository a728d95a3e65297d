package train

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
)

// Tasks `attn train` runs (config key "task").
const (
	TaskCausalLM = "causal-lm" // next-token prediction on a text (GPT-2)
	TaskMaskedLM = "masked-lm" // BERT's masked LM on a text: 15% of positions, 80/10/10
	TaskClassify = "classify"  // sequence classification of labelled lines (TSV, CSV, JSONL)
)

// task is what the loop needs from an objective: batches whose targets
// line up with the rows of the model's logits.
type task interface {
	// head is the model head a fresh model gets.
	head() (arch, head string, labels int)
	// vocab is the model's vocabulary: the tokenizer's plus the task's
	// special tokens.
	vocab() int
	// trainBatch draws a training batch with rng.
	trainBatch(rng *rand.Rand) (*model.Inputs, []int)
	// valBatches is the number of validation batches; valBatch(rng, i)
	// returns the i-th (rng is seeded per evaluation).
	valBatches() int
	valBatch(rng *rand.Rand, i int) (*model.Inputs, []int)
	// tokens is the number of input tokens in a training batch.
	tokens() int
	// accuracy reports whether accuracy means something for the task.
	accuracy() bool
}

// namedLabels is a classification task that knows its classes' names
// (written to the model's id2label; nil leaves LABEL_i).
type namedLabels interface{ labelNames() []string }

// specials are the ids of [PAD], [CLS], [SEP] and [MASK]: the
// tokenizer's own when it has all four (a BERT WordPiece), else four ids
// appended after its vocabulary (a char or BPE vocabulary, also when it
// comes from a checkpoint this package wrote); n is the model's
// vocabulary.
type specials struct{ pad, cls, sep, mask, n int }

func bertSpecials(tok tokenizer.Tokenizer) specials {
	n := tok.VocabSize()
	var s specials
	ok := true
	for _, f := range []struct {
		name string
		dst  *int
	}{{"[PAD]", &s.pad}, {"[CLS]", &s.cls}, {"[SEP]", &s.sep}, {"[MASK]", &s.mask}} {
		id, has := tok.TokenToID(f.name)
		ok = ok && has
		*f.dst = id
	}
	if ok {
		s.n = n
		return s
	}
	return specials{pad: n, cls: n + 1, sep: n + 2, mask: n + 3, n: n + 4}
}

// withSpecials is the tokenizer a checkpoint of an encoder keeps: tok
// itself when it has sp's tokens, else (a BPE) tok with them added, so that
// fill-mask, embeddings and classification of the checkpoint find [MASK],
// [CLS] and [SEP] where training put them. A char vocabulary stays as it is.
// It reports whether it added tokens.
func withSpecials(tok tokenizer.Tokenizer, sp specials) (tokenizer.Tokenizer, bool, error) {
	b, ok := tok.(*tokenizer.BPE)
	if !ok || sp.n == tok.VocabSize() {
		return tok, false, nil
	}
	c, err := b.WithBERTSpecials()
	if err != nil {
		return nil, false, fmt.Errorf("train: tokenizer: %w", err)
	}
	return c, true, nil
}

// causalTask: nanoGPT's random windows of a token stream.
type causalTask struct {
	cfg  *Config
	data *TextData
	ids  []int
	tg   []int
}

func (c *causalTask) head() (string, string, int) { return "gpt2", "GPT2LMHeadModel", 0 }
func (c *causalTask) vocab() int                  { return c.data.Tok.VocabSize() }
func (c *causalTask) tokens() int                 { return c.cfg.BatchSize * c.cfg.BlockSize }
func (c *causalTask) accuracy() bool              { return false }
func (c *causalTask) valBatches() int             { return c.cfg.EvalIters }

func (c *causalTask) batch(rng *rand.Rand, data []int32) (*model.Inputs, []int) {
	b, t := c.cfg.BatchSize, c.cfg.BlockSize
	if c.ids == nil {
		c.ids, c.tg = make([]int, b*t), make([]int, b*t)
	}
	Batch(rng, data, b, t, c.ids, c.tg)
	return &model.Inputs{B: b, T: t, InputIDs: c.ids}, c.tg
}

func (c *causalTask) trainBatch(rng *rand.Rand) (*model.Inputs, []int) {
	return c.batch(rng, c.data.Train)
}
func (c *causalTask) valBatch(rng *rand.Rand, _ int) (*model.Inputs, []int) {
	return c.batch(rng, c.data.Val)
}

// maskedTask: BERT's masked LM on random windows of a token stream,
// [CLS] window [SEP]; each window token is chosen with probability
// MLMProbability and then replaced by [MASK] (80%), a random token (10%)
// or kept (10%); only chosen positions are scored.
type maskedTask struct {
	cfg  *Config
	data *TextData
	sp   specials
	ids  []int
	tg   []int
}

func (m *maskedTask) head() (string, string, int) { return "bert", "BertForMaskedLM", 0 }
func (m *maskedTask) vocab() int                  { return m.sp.n }
func (m *maskedTask) tokens() int                 { return m.cfg.BatchSize * m.cfg.BlockSize }
func (m *maskedTask) accuracy() bool              { return true }
func (m *maskedTask) valBatches() int             { return m.cfg.EvalIters }

func (m *maskedTask) batch(rng *rand.Rand, data []int32) (*model.Inputs, []int) {
	b, t := m.cfg.BatchSize, m.cfg.BlockSize
	if m.ids == nil {
		m.ids, m.tg = make([]int, b*t), make([]int, b*t)
	}
	w := t - 2
	for r := 0; r < b; r++ {
		row, tg := m.ids[r*t:(r+1)*t], m.tg[r*t:(r+1)*t]
		start := rng.IntN(len(data) - w)
		row[0], row[t-1], tg[0], tg[t-1] = m.sp.cls, m.sp.sep, IgnoreIndex, IgnoreIndex
		chosen := 0
		for j := 0; j < w; j++ {
			id := int(data[start+j])
			row[j+1], tg[j+1] = id, IgnoreIndex
			if rng.Float64() >= m.cfg.MLMProbability {
				continue
			}
			chosen++
			tg[j+1] = id
			switch u := rng.Float64(); {
			case u < 0.8:
				row[j+1] = m.sp.mask
			case u < 0.9:
				row[j+1] = int(data[rng.IntN(len(data))]) // a random token of the text
			}
		}
		if chosen == 0 { // every row scores something
			j := 1 + rng.IntN(w)
			tg[j], row[j] = row[j], m.sp.mask
		}
	}
	return &model.Inputs{B: b, T: t, InputIDs: m.ids}, m.tg
}

func (m *maskedTask) trainBatch(rng *rand.Rand) (*model.Inputs, []int) {
	return m.batch(rng, m.data.Train)
}
func (m *maskedTask) valBatch(rng *rand.Rand, _ int) (*model.Inputs, []int) {
	return m.batch(rng, m.data.Val)
}

// Example is one labelled text.
type Example struct {
	Text  string
	Label string
}

// ReadExamples reads labelled lines from the files matching pattern:
// .tsv and .txt as text<TAB>label, .csv as text,label (the last column is
// the label; a header line "text,label" is skipped), .jsonl as
// {"text": ..., "label": ...}.
func ReadExamples(pattern string) ([]Example, error) {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("train: data %q matches no file", pattern)
	}
	sort.Strings(files)
	var out []Example
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		ex, err := parseExamples(f, data)
		if err != nil {
			return nil, err
		}
		out = append(out, ex...)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("train: %s holds %d labelled examples; need at least 2", pattern, len(out))
	}
	return out, nil
}

func parseExamples(path string, data []byte) ([]Example, error) {
	var out []Example
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".tsv", ".txt":
		for i, line := range strings.Split(string(data), "\n") {
			line = strings.TrimRight(line, "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
			k := strings.LastIndexByte(line, '\t')
			if k < 0 {
				return nil, fmt.Errorf("train: %s line %d: no tab before the label", path, i+1)
			}
			out = append(out, Example{Text: strings.TrimSpace(line[:k]), Label: strings.TrimSpace(line[k+1:])})
		}
	case ".csv":
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = -1
		for i := 1; ; i++ {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("train: %s: %w", path, err)
			}
			if len(rec) < 2 {
				return nil, fmt.Errorf("train: %s record %d: want text,label", path, i)
			}
			if i == 1 && strings.EqualFold(rec[0], "text") && strings.EqualFold(rec[len(rec)-1], "label") {
				continue
			}
			out = append(out, Example{Text: strings.Join(rec[:len(rec)-1], ","), Label: strings.TrimSpace(rec[len(rec)-1])})
		}
	case ".jsonl", ".json":
		dec := json.NewDecoder(bytes.NewReader(data))
		for i := 1; ; i++ {
			var e struct {
				Text  *string `json:"text"`
				Label any     `json:"label"`
			}
			if err := dec.Decode(&e); err == io.EOF {
				break
			} else if err != nil {
				return nil, fmt.Errorf("train: %s object %d: %w", path, i, err)
			}
			if e.Text == nil || e.Label == nil {
				return nil, fmt.Errorf("train: %s object %d: want {\"text\": ..., \"label\": ...}", path, i)
			}
			out = append(out, Example{Text: *e.Text, Label: fmt.Sprint(e.Label)})
		}
	default:
		return nil, fmt.Errorf("train: %s: unknown format %q (want .tsv, .txt, .csv or .jsonl)", path, ext)
	}
	return out, nil
}

// classifyTask: [CLS] text [SEP] padded to the longest row (at most
// block_size), the label of each example as the target of its row.
type classifyTask struct {
	cfg        *Config
	sp         specials
	labels     []string
	train, val [][]int // token ids without specials
	trainY     []int
	valY       []int
}

func (c *classifyTask) head() (string, string, int) {
	return "bert", "BertForSequenceClassification", len(c.labels)
}
func (c *classifyTask) vocab() int           { return c.sp.n }
func (c *classifyTask) labelNames() []string { return c.labels }
func (c *classifyTask) tokens() int          { return c.cfg.BatchSize * c.cfg.BlockSize }
func (c *classifyTask) accuracy() bool       { return true }
func (c *classifyTask) valBatches() int {
	return (len(c.val) + c.cfg.BatchSize - 1) / c.cfg.BatchSize
}

func (c *classifyTask) batch(rows [][]int, ys []int) (*model.Inputs, []int) {
	t := 2
	for _, r := range rows {
		t = max(t, min(len(r)+2, c.cfg.BlockSize))
	}
	b := len(rows)
	in := &model.Inputs{B: b, T: t, InputIDs: make([]int, b*t), AttentionMask: make([]int, b*t)}
	for i, r := range rows {
		row, mask := in.InputIDs[i*t:(i+1)*t], in.AttentionMask[i*t:(i+1)*t]
		r = r[:min(len(r), t-2)]
		row[0] = c.sp.cls
		copy(row[1:], r)
		row[len(r)+1] = c.sp.sep
		for j := range row {
			if j < len(r)+2 {
				mask[j] = 1
			} else {
				row[j] = c.sp.pad
			}
		}
	}
	return in, ys
}

func (c *classifyTask) trainBatch(rng *rand.Rand) (*model.Inputs, []int) {
	rows, ys := make([][]int, c.cfg.BatchSize), make([]int, c.cfg.BatchSize)
	for i := range rows {
		k := rng.IntN(len(c.train))
		rows[i], ys[i] = c.train[k], c.trainY[k]
		if p := c.cfg.MaskTokens; p > 0 {
			r := slices.Clone(rows[i])
			for j := range r {
				if rng.Float64() < p {
					r[j] = c.sp.mask
				}
			}
			rows[i] = r
		}
	}
	return c.batch(rows, ys)
}

func (c *classifyTask) valBatch(_ *rand.Rand, i int) (*model.Inputs, []int) {
	lo := i * c.cfg.BatchSize
	hi := min(lo+c.cfg.BatchSize, len(c.val))
	return c.batch(c.val[lo:hi], c.valY[lo:hi])
}

// labelIndex returns the sorted label names and their ids.
func labelIndex(ex []Example) ([]string, map[string]int) {
	index := map[string]int{}
	var names []string
	for _, e := range ex {
		if _, ok := index[e.Label]; !ok {
			index[e.Label] = 0
			names = append(names, e.Label)
		}
	}
	sort.Strings(names)
	for i, n := range names {
		index[n] = i
	}
	return names, index
}

// SplitExamples shuffles ex with a generator seeded by seed and returns
// the first 1 − valFraction as training examples, the rest (at least
// one) for validation: the split of a classify run.
func SplitExamples(ex []Example, seed uint64, valFraction float64) (train, val []Example) {
	return shuffleSplit(ex, rand.NewPCG(seed, 0x73706c6974), max(1, int(float64(len(ex))*valFraction)))
}

// shuffleSplit shuffles xs with src and returns all but the last nVal,
// and those.
func shuffleSplit[T any](xs []T, src rand.Source, nVal int) (train, val []T) {
	order := rand.New(src).Perm(len(xs))
	for k, i := range order {
		if k < len(xs)-nVal {
			train = append(train, xs[i])
		} else {
			val = append(val, xs[i])
		}
	}
	return train, val
}

// newClassifyTask reads, shuffles (seeded) and splits the examples, and
// tokenizes them with tok.
func newClassifyTask(cfg *Config, ex []Example, tok tokenizer.Tokenizer) (*classifyTask, error) {
	c := &classifyTask{cfg: cfg, sp: bertSpecials(tok)}
	var index map[string]int
	c.labels, index = labelIndex(ex)
	trainEx, valEx := SplitExamples(ex, cfg.Seed, cfg.ValFraction)
	for _, part := range []struct {
		ex  []Example
		ids *[][]int
		ys  *[]int
	}{{trainEx, &c.train, &c.trainY}, {valEx, &c.val, &c.valY}} {
		for _, e := range part.ex {
			ids, err := tok.Encode(e.Text, false)
			if err != nil {
				return nil, fmt.Errorf("train: example %q: %w", e.Text, err)
			}
			*part.ids, *part.ys = append(*part.ids, ids), append(*part.ys, index[e.Label])
		}
	}
	return c, nil
}
