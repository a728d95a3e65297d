package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/nn"
	"github.com/attn-dev/attn/tensor"
	"github.com/attn-dev/attn/tokenizer"
)

// SeqScorer scores texts with a sequence classifier (a
// BertForSequenceClassification): the logit of a one-label head (a reward
// model), else the log-odds of class Positive, logit_pos − logsumexp(rest).
type SeqScorer struct {
	M         model.Model
	Tok       tokenizer.Tokenizer
	Positive  int
	BlockSize int // longest input, [CLS] and [SEP] included
	g         *autograd.Graph
}

// LoadSeqScorer loads a classifier checkpoint; positive names the class
// whose log-odds are the score, by its id2label name or its index
// (ignored for a one-label reward model).
func LoadSeqScorer(dir, positive string) (*SeqScorer, error) {
	m, err := model.Load(dir)
	if err != nil {
		return nil, err
	}
	tok, err := LoadTokenizer(dir)
	if err != nil {
		m.Close()
		return nil, err
	}
	s := &SeqScorer{M: m, Tok: tok, BlockSize: m.Info().Context}
	if n := labelCount(m); n > 1 {
		s.Positive = -1
		if v, ok := m.Config().Raw("id2label"); ok {
			if mm, ok := v.(map[string]any); ok {
				for k, name := range mm {
					if fmt.Sprint(name) == positive {
						fmt.Sscan(k, &s.Positive)
					}
				}
			}
		}
		if i, err := strconv.Atoi(positive); s.Positive < 0 && err == nil {
			s.Positive = i // a class index (a classify run names its classes LABEL_i, i in sorted label order)
		}
		if s.Positive < 0 || s.Positive >= n {
			m.Close()
			return nil, fmt.Errorf("train: %s has no class named %q", dir, positive)
		}
	}
	return s, nil
}

// Close releases the model.
func (s *SeqScorer) Close() error { return s.M.Close() }

// encodeRows tokenizes texts for a classifier with tok.
func encodeRows(tok tokenizer.Tokenizer, texts []string) ([][]int, error) {
	rows := make([][]int, len(texts))
	for i, t := range texts {
		ids, err := tok.Encode(t, false)
		if err != nil {
			return nil, fmt.Errorf("train: scoring %q: %w", t, err)
		}
		rows[i] = ids
	}
	return rows, nil
}

// classifierBatch is a classify run's batch layout ([CLS] ids [SEP],
// padded) for rows.
func classifierBatch(tok tokenizer.Tokenizer, blockSize int, rows [][]int) *model.Inputs {
	c := &classifyTask{cfg: &Config{BlockSize: blockSize}, sp: bertSpecials(tok)}
	in, _ := c.batch(rows, nil)
	return in
}

// Score implements Scorer.
func (s *SeqScorer) Score(texts []string) ([]float64, error) {
	rows, err := encodeRows(s.Tok, texts)
	if err != nil {
		return nil, err
	}
	if s.g == nil {
		s.g = autograd.NewGraph(false)
	}
	const chunk = 64
	out := make([]float64, 0, len(texts))
	for lo := 0; lo < len(rows); lo += chunk {
		s.g.Reset()
		part := rows[lo:min(lo+chunk, len(rows))]
		res, err := s.M.Forward(s.g, classifierBatch(s.Tok, s.BlockSize, part), model.Options{})
		if err != nil {
			return nil, err
		}
		out = append(out, headScores(res.Get("logits").Contiguous().Data(), len(part), s.Positive)...)
	}
	return out, nil
}

// headScores turns logits [N, K] into scores: the logit when K = 1, else
// the log-odds of class pos.
func headScores(logits []float32, n, pos int) []float64 {
	k := len(logits) / n
	out := make([]float64, n)
	for i := range out {
		row := logits[i*k : (i+1)*k]
		if k == 1 {
			out[i] = float64(row[0])
			continue
		}
		mx := math.Inf(-1)
		for j, x := range row {
			if j != pos {
				mx = math.Max(mx, float64(x))
			}
		}
		var z float64
		for j, x := range row {
			if j != pos {
				z += math.Exp(float64(x) - mx)
			}
		}
		out[i] = float64(row[pos]) - mx - math.Log(z)
	}
	return out
}

// AlignConfig is one preference-learning run (`attn train --objective`).
type AlignConfig struct {
	Steps       int
	BatchSize   int // pairs (reward, dpo) or prompts (ppo) per step
	LR          float64
	WarmupSteps int
	GradClip    float64
	WeightDecay float64
	Seed        uint64
	ValFraction float64 // reward, dpo: held-out pairs
	LogInterval int
}

func (c *AlignConfig) validate() error {
	switch {
	case c.Steps < 1 || c.BatchSize < 1:
		return fmt.Errorf("train: steps %d and batch size %d must be at least 1", c.Steps, c.BatchSize)
	case !(c.LR > 0):
		return fmt.Errorf("train: lr %g must be positive", c.LR)
	case c.WarmupSteps < 0 || c.WarmupSteps > c.Steps:
		return fmt.Errorf("train: warm-up %d outside [0, steps %d]", c.WarmupSteps, c.Steps)
	case !(c.ValFraction >= 0 && c.ValFraction < 1):
		return fmt.Errorf("train: val_fraction %g outside [0, 1)", c.ValFraction)
	}
	if c.LogInterval < 1 {
		c.LogInterval = 1
	}
	return nil
}

// optimizer returns the trainable parameters of named, AdamW over them
// with decay on matrices, and the warm-up + cosine factor of each step
// (to 10% of lr).
func (c *AlignConfig) optimizer(named []nn.NamedParam) ([]*autograd.Var, *AdamW, func(step int) float64, error) {
	named = Trainable(named)
	ps := make([]*autograd.Var, len(named))
	for i, p := range named {
		ps[i] = p.Var
	}
	opt, err := NewAdamW(0.9, 0.999, 1e-8, DecayGroups(ps, c.LR, c.WeightDecay)...)
	if err != nil {
		return nil, nil, nil, err
	}
	sched := WarmupCosine{Warmup: c.WarmupSteps, Total: c.Steps, MinRatio: 0.1}
	if err := sched.Validate(); err != nil {
		return nil, nil, nil, err
	}
	return ps, opt, func(step int) float64 {
		if step < c.WarmupSteps {
			return float64(step+1) / float64(c.WarmupSteps+1)
		}
		return sched.Factor(step)
	}, nil
}

// stepInfo is a record's common part.
func (c *AlignConfig) stepInfo(objective string, step int, lrFactor float64, t0 time.Time) alignStep {
	return alignStep{Objective: objective, Step: step, Total: c.Steps, LR: lrFactor * c.LR,
		MSPerStep: float64(time.Since(t0).Microseconds()) / 1000}
}

// stepUpdate clips the gradients of ps and takes one AdamW step.
func (c *AlignConfig) stepUpdate(opt *AdamW, ps []*autograd.Var, lr float64) error {
	if c.GradClip > 0 {
		if _, err := ClipGradNorm(ps, c.GradClip); err != nil {
			return err
		}
	}
	return opt.Step(lr)
}

// splitPairs shuffles pairs (seeded) and holds out a fraction (at least
// one pair when frac > 0).
func splitPairs(pairs []PrefPair, seed uint64, frac float64) (train, val []PrefPair) {
	nVal := int(float64(len(pairs)) * frac)
	if frac > 0 {
		nVal = max(1, nVal)
	}
	return shuffleSplit(pairs, rand.NewPCG(seed, 0x70616972), nVal)
}

// alignStep is what every preference-learning record starts with.
type alignStep struct {
	Objective string  `json:"objective"`
	Step      int     `json:"step"`
	Total     int     `json:"total"`
	LR        float64 `json:"lr"`
	MSPerStep float64 `json:"ms_per_step"`
}

// heldOut is the evaluation on held-out pairs a final record carries.
type heldOut struct {
	ValLoss     *float64 `json:"val_loss,omitempty"`
	ValAccuracy *float64 `json:"val_accuracy,omitempty"`
	Final       bool     `json:"final,omitempty"`
}

func (h heldOut) line() string {
	if h.ValLoss == nil {
		return ""
	}
	return fmt.Sprintf("  held-out loss %.4f acc %.3f", *h.ValLoss, *h.ValAccuracy)
}

// RewardRecord is one logged step of reward-model training.
type RewardRecord struct {
	alignStep
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	heldOut
}

// Line is the record as a human reads it.
func (r RewardRecord) Line() string {
	return fmt.Sprintf("reward step %d/%d  loss %.4f  pair acc %.3f  lr %.2e  %.0f ms/step", r.Step+1, r.Total, r.Loss, r.Accuracy, r.LR, r.MSPerStep) + r.line()
}

// TrainReward trains m, a one-label BertForSequenceClassification, as a
// Bradley–Terry reward model on pairs (prompt + response scored whole):
// it returns the held-out pair accuracy (of the last ValFraction of the
// shuffled pairs; NaN when none are held out).
func TrainReward(m model.Model, tok tokenizer.Tokenizer, pairs []PrefPair, c AlignConfig, onRecord func(RewardRecord)) (float64, error) {
	if err := c.validate(); err != nil {
		return 0, err
	}
	if a := m.Info().Architecture; a != "BertForSequenceClassification" || labelCount(m) != 1 {
		return 0, fmt.Errorf("train: a reward model is a one-label BertForSequenceClassification; got %s with %d labels", a, labelCount(m))
	}
	trainP, valP := splitPairs(pairs, c.Seed, c.ValFraction)
	// Each pair as [chosen ids, rejected ids], tokenized once.
	encode := func(ps []PrefPair) ([][2][]int, error) {
		out := make([][2][]int, len(ps))
		for i, p := range ps {
			rows, err := encodeRows(tok, []string{p.Prompt + p.Chosen, p.Prompt + p.Rejected})
			if err != nil {
				return nil, err
			}
			out[i] = [2][]int{rows[0], rows[1]}
		}
		return out, nil
	}
	// rowsOf lays out the chosen rows of ps, then the rejected ones.
	rowsOf := func(ps [][2][]int) [][]int {
		rows := make([][]int, 2*len(ps))
		for i, p := range ps {
			rows[i], rows[len(ps)+i] = p[0], p[1]
		}
		return rows
	}
	trainE, err := encode(trainP)
	if err != nil {
		return 0, err
	}
	valE, err := encode(valP)
	if err != nil {
		return 0, err
	}
	ps, opt, lrAt, err := c.optimizer(m.NamedParameters("", nil))
	if err != nil {
		return 0, err
	}
	bs := m.Info().Context
	g := autograd.NewGraph(true)
	rng := rand.New(rand.NewPCG(c.Seed, 0x726d))
	// eval returns the loss and accuracy over ps without a tape.
	eval := func(ps [][2][]int) (float64, float64, error) {
		ev := autograd.NewGraph(false)
		var loss, acc float64
		for lo := 0; lo < len(ps); lo += 32 {
			part := ps[lo:min(lo+32, len(ps))]
			rows := rowsOf(part)
			ev.Reset()
			out, err := m.Forward(ev, classifierBatch(tok, bs, rows), model.Options{})
			if err != nil {
				return 0, 0, err
			}
			r := headScores(out.Get("logits").Contiguous().Data(), len(rows), 0)
			l, _, _, a := BradleyTerry(r[:len(part)], r[len(part):])
			loss += l * float64(len(part))
			acc += a * float64(len(part))
		}
		return loss / float64(len(ps)), acc / float64(len(ps)), nil
	}
	for step := 0; step < c.Steps; step++ {
		t0 := time.Now()
		batch := make([][2][]int, c.BatchSize)
		for i := range batch {
			batch[i] = trainE[rng.IntN(len(trainE))]
		}
		rows := rowsOf(batch)
		g.Reset()
		opt.ZeroGrad()
		out, err := m.Forward(g, classifierBatch(tok, bs, rows), model.Options{Dropout: true})
		if err != nil {
			return 0, fmt.Errorf("train: reward step %d: %w", step, err)
		}
		logits := out.Var("logits")
		r := headScores(logits.Value.Contiguous().Data(), len(rows), 0)
		loss, dc, dr, acc := BradleyTerry(r[:c.BatchSize], r[c.BatchSize:])
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return 0, fmt.Errorf("train: reward step %d: the loss is %g", step, loss)
		}
		w := tensor.New(logits.Value.Shape...)
		for i, d := range append(dc, dr...) {
			w.Data()[i] = float32(d)
		}
		if err := g.Backward(g.Sum(g.Mul(logits, g.Input(w, false)))); err != nil {
			return 0, fmt.Errorf("train: reward step %d: %w", step, err)
		}
		lr := lrAt(step)
		if err := c.stepUpdate(opt, ps, lr); err != nil {
			return 0, fmt.Errorf("train: reward step %d: %w", step, err)
		}
		rec := RewardRecord{alignStep: c.stepInfo("reward", step, lr, t0), Loss: loss, Accuracy: acc}
		last := step == c.Steps-1
		if last && len(valE) > 0 {
			vl, va, err := eval(valE)
			if err != nil {
				return 0, err
			}
			rec.ValLoss, rec.ValAccuracy, rec.Final = ptr(vl), ptr(va), true
		}
		if onRecord != nil && (step%c.LogInterval == 0 || last) {
			onRecord(rec)
		}
		if last {
			if rec.ValAccuracy == nil {
				return math.NaN(), nil
			}
			return *rec.ValAccuracy, nil
		}
	}
	return math.NaN(), nil
}

// NewRewardModel returns the reward model to train: a one-label
// BertForSequenceClassification on base's encoder (a BERT checkpoint
// directory), or a fresh one of the given sizes with a character
// vocabulary of corpus when base is "".
func NewRewardModel(base string, corpus []string, layers, heads, hidden, context int, seed uint64) (model.Model, tokenizer.Tokenizer, error) {
	zero := 0.0
	if base == "" {
		tok, err := tokenizer.NewChar(strings.Join(corpus, "\n"))
		if err != nil {
			return nil, nil, err
		}
		m, err := model.Init(model.InitOptions{Arch: "bert", Head: "BertForSequenceClassification", Labels: 1, Layers: layers,
			Heads: heads, Hidden: hidden, Vocab: bertSpecials(tok).n, Context: context, Seed: seed, Dropout: &zero})
		return m, tok, err
	}
	src, err := model.Load(base)
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	tok, err := LoadTokenizer(base)
	if err != nil {
		return nil, nil, err
	}
	if src.Info().ModelType != "bert" {
		return nil, nil, fmt.Errorf("train: a reward model starts from a BERT checkpoint; %s is a %s", base, src.Info().ModelType)
	}
	m, err := withHead(src, "BertForSequenceClassification", 1, nil, seed, &zero)
	return m, tok, err
}
