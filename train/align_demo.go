package train

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
)

// DemoConfig sizes `attn align demo`: the whole preference-learning
// pipeline, offline, on labelled sentences (the UCI sentiment sentences,
// label 1 positive).
type DemoConfig struct {
	Data     string // glob of text<TAB>label files
	Out      string
	Positive string // the label the policies are aligned toward
	Seed     uint64

	// The policy: a GPT trained on every sentence (SFT) with a byte-level
	// BPE of SFTVocab tokens, so that its samples are words the judge
	// (a bag of words) can read; 0 makes it a character GPT.
	SFTLayers, SFTHeads, SFTHidden, SFTIters, SFTVocab int
	// The encoder: a BPE BERT pretrained with masked LM on the
	// sentences, then fine-tuned as a classifier on half of the labels.
	EncLayers, EncHeads, EncHidden, MLMIters, ClassifierIters int
	EncVocab                                                  int // the encoder's BPE vocabulary
	Block                                                     int // both models' context

	PromptChars    int // prompts are the whole words within the first PromptChars characters of a sentence
	ResponseTokens int
	Pairs          int     // prompts whose two SFT samples the classifier labels
	MinMargin      float64 // pairs whose classifier log-odds differ by less are dropped
	RewardSteps    int
	PPO            PPOConfig
	DPO            DPOConfig
	EvalPrompts    int // held-out sentences whose prompts the table samples from

	// Resume keeps the stages whose output (a model directory, the
	// pairs) Out already holds and runs the rest: an interrupted run
	// continues.
	Resume bool
}

// DefaultDemoConfig is the recipe `attn align demo` runs (about six
// minutes on two cores, four of CPU).
func DefaultDemoConfig() DemoConfig {
	ppo := DefaultPPOConfig()
	ppo.Steps, ppo.BatchSize, ppo.MiniBatchSize, ppo.LR = 60, 64, 16, 1.5e-4
	// TRL's controller with a tenth of its horizon: a 40-step run is too
	// short for the default to move the coefficient at all.
	ppo.TargetKL, ppo.InitKLCoef, ppo.Horizon = 6, 0.2, 1000
	return DemoConfig{
		Data: "data/sentiment-labelled-sentences-uci/*_labelled.txt", Out: "out-align", Positive: "1", Seed: 1337,
		SFTLayers: 2, SFTHeads: 4, SFTHidden: 128, SFTIters: 1200, SFTVocab: 1000,
		EncLayers: 2, EncHeads: 4, EncHidden: 64, MLMIters: 400, ClassifierIters: 300, EncVocab: 1000, Block: 64,
		PromptChars: 8, ResponseTokens: 12, Pairs: 4096, MinMargin: 1, RewardSteps: 300, PPO: ppo,
		DPO: DPOConfig{AlignConfig: AlignConfig{Steps: 250, BatchSize: 32, LR: 2e-4, WarmupSteps: 15, GradClip: 1,
			ValFraction: 0.1, LogInterval: 25}, Beta: 0.1, Loss: DPOSigmoid},
		EvalPrompts: 256,
	}
}

// TinyDemoConfig is the pipeline at test size (well under a minute).
func TinyDemoConfig() DemoConfig {
	c := DefaultDemoConfig()
	c.SFTLayers, c.SFTHeads, c.SFTHidden, c.SFTIters = 1, 2, 48, 250
	c.EncLayers, c.EncHeads, c.EncHidden, c.MLMIters, c.ClassifierIters = 1, 2, 48, 100, 150
	c.SFTVocab, c.Block, c.ResponseTokens, c.Pairs, c.MinMargin, c.RewardSteps = 500, 48, 10, 384, 0.5, 100
	c.PPO.Steps, c.PPO.BatchSize, c.PPO.MiniBatchSize, c.PPO.PPOEpochs, c.PPO.LR = 12, 32, 16, 2, 5e-4
	c.DPO.Steps, c.DPO.BatchSize = 60, 16
	c.EvalPrompts = 200
	return c
}

// PolicyStats is one row of the demo's table: samples of a policy on the
// held-out prompts, judged by the independent scorer.
type PolicyStats struct {
	Name            string  `json:"policy"`
	Samples         int     `json:"samples"`
	Positivity      float64 `json:"positivity"` // mean P(positive) of the independent scorer
	PositivityStd   float64 `json:"positivity_std"`
	Reward          float64 `json:"reward"` // mean reward-model score
	KL              float64 `json:"kl"`     // mean Σ_t log π − log π_ref over the sampled responses
	DistinctBigrams float64 `json:"distinct_bigrams"`
	DistinctRatio   float64 `json:"distinct_vs_reference"`
}

// DemoReport is what the demo measured.
type DemoReport struct {
	ClassifierAccuracy  float64       `json:"classifier_accuracy"`                    // on half B, which it never saw
	ScorerAccuracy      float64       `json:"independent_scorer_accuracy"`            // on the classifier's half, which it never saw
	RewardPairAccuracy  *float64      `json:"reward_heldout_pair_accuracy,omitempty"` // nil when a resumed run kept the reward model
	DPOHeldOutAccuracy  *float64      `json:"dpo_heldout_accuracy,omitempty"`
	Pairs               int           `json:"pairs"`
	Policies            []PolicyStats `json:"policies"`
	Seconds             float64       `json:"seconds"`
	Dirs                []string      `json:"dirs"`
	IndependentScorerOn string        `json:"independent_scorer"`
}

// Table is the before/after table.
func (r *DemoReport) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s %8s %22s %9s %9s %10s %8s\n", "policy", "samples", "positivity (mean±std)", "reward", "KL(ref)", "distinct-2", "vs ref")
	for _, p := range r.Policies {
		fmt.Fprintf(&b, "%-10s %8d %14.3f ± %.3f %9.3f %9.3f %10.3f %8.2f\n", p.Name, p.Samples, p.Positivity, p.PositivityStd,
			p.Reward, p.KL, p.DistinctBigrams, p.DistinctRatio)
	}
	fmt.Fprintf(&b, "positivity: %s; stderr of a mean ≈ std/√%d\n", r.IndependentScorerOn, r.Policies[0].Samples)
	opt := func(p *float64) string {
		if p == nil {
			return "(kept from an earlier run)"
		}
		return fmt.Sprintf("%.3f", *p)
	}
	fmt.Fprintf(&b, "classifier accuracy %.3f (on the judge's half), independent scorer accuracy %.3f (on the classifier's half), reward model held-out pair accuracy %s, DPO held-out accuracy %s (%d pairs)\n",
		r.ClassifierAccuracy, r.ScorerAccuracy, opt(r.RewardPairAccuracy), opt(r.DPOHeldOutAccuracy), r.Pairs)
	return b.String()
}

// demo carries the pipeline's state between its stages.
type demo struct {
	c                       DemoConfig
	log                     io.Writer
	work                    string
	halfA, halfB, evalSents []Example
	trainPrompts, evalPr    []string
	report                  DemoReport
}

func (d *demo) logf(format string, args ...any) {
	if d.log != nil {
		fmt.Fprintf(d.log, "[%s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

// RunDemo runs the pipeline into c.Out: sft, classifier, reward, ppo and
// dpo (each a checkpoint directory with its tokenizer), prefs.jsonl, and
// report.json; progress goes to log.
func RunDemo(c DemoConfig, log io.Writer) (*DemoReport, error) {
	start := time.Now()
	if ents, err := os.ReadDir(c.Out); err == nil && len(ents) > 0 && !c.Resume {
		return nil, fmt.Errorf("train: align demo: %s exists and is not empty", c.Out)
	}
	d := &demo{c: c, log: log, work: filepath.Join(c.Out, "work")}
	if err := os.MkdirAll(d.work, 0o755); err != nil {
		return nil, fmt.Errorf("train: align demo: %w", err)
	}
	if err := d.split(); err != nil {
		return nil, err
	}
	sents := filepath.Join(d.work, "sentences.txt")
	var all strings.Builder
	for _, part := range [][]Example{d.halfA, d.halfB, d.evalSents} {
		for _, e := range part {
			all.WriteString(e.Text + "\n")
		}
	}
	if err := os.WriteFile(sents, []byte(all.String()), 0o644); err != nil {
		return nil, fmt.Errorf("train: align demo: %w", err)
	}
	if err := d.stages(sents); err != nil {
		return nil, err
	}
	d.report.Seconds = time.Since(start).Seconds()
	return &d.report, nil
}

// split shuffles the labelled sentences into the classifier's half A, the
// independent scorer's half B, and the held-out evaluation sentences, and
// cuts the prompts.
func (d *demo) split() error {
	ex, err := ReadExamples(d.c.Data)
	if err != nil {
		return err
	}
	for i := range ex {
		ex[i].Text = strings.TrimSpace(ex[i].Text)
	}
	rest, evalS := shuffleSplit(ex, rand.NewPCG(d.c.Seed, 0x6576616c), min(d.c.EvalPrompts, len(ex)/4))
	d.halfA, d.halfB = shuffleSplit(rest, rand.NewPCG(d.c.Seed, 0x68616c66), len(rest)/2)
	d.evalSents = evalS
	cut := func(es []Example) []string {
		var out []string
		for _, e := range es {
			if p, ok := promptOf(e.Text, d.c.PromptChars); ok {
				out = append(out, p)
			}
		}
		return out
	}
	d.trainPrompts, d.evalPr = cut(rest), cut(evalS)
	if len(d.trainPrompts) < 2 || len(d.evalPr) < 2 {
		return fmt.Errorf("train: align demo: %s gives %d training and %d evaluation prompts", d.c.Data, len(d.trainPrompts), len(d.evalPr))
	}
	return nil
}

// promptOf cuts a prompt from sentence s: its first n characters, shortened
// to end at a word's end when one ends inside them (a BPE policy then
// continues with a whole next word rather than the rest of a cut one). It
// reports false when s has no more than n characters.
func promptOf(s string, n int) (string, bool) {
	r := []rune(s)
	if len(r) <= n {
		return "", false
	}
	if r[n] == ' ' {
		return string(r[:n]), true
	}
	for i := n - 1; i > 0; i-- {
		if r[i] == ' ' {
			return strings.TrimRight(string(r[:i]), " "), true
		}
	}
	return string(r[:n]), true
}

// done reports whether a resumed run already holds path.
func (d *demo) done(path string) bool {
	if !d.c.Resume {
		return false
	}
	_, err := os.Stat(path)
	if err == nil {
		d.logf("resume: keeping %s", path)
	}
	return err == nil
}

// trainStage runs one Trainer and moves its final checkpoint to dst.
func (d *demo) trainStage(name string, cfg Config, dst string) (Record, error) {
	if d.done(filepath.Join(dst, "model.safetensors")) {
		return Record{}, nil
	}
	t0 := time.Now()
	cfg.Out = filepath.Join(d.work, name+"-run")
	cfg.EvalInterval, cfg.SampleTokens, cfg.CheckpointEvery, cfg.LogInterval = 0, 0, 0, max(1, cfg.MaxIters/5)
	cfg.LRDecayIters, cfg.WarmupIters = cfg.MaxIters, min(cfg.MaxIters/10, 100)
	cfg.Seed = d.c.Seed
	tr, err := NewTrainer(cfg)
	if err != nil {
		return Record{}, fmt.Errorf("train: align demo %s: %w", name, err)
	}
	tr.OnRecord = func(r Record) {
		if r.Loss != 0 {
			d.logf("%s step %d/%d loss %.4f", name, r.Step+1, r.Total, r.Loss)
		}
	}
	final, err := tr.Run()
	tr.Close()
	if err != nil {
		return Record{}, fmt.Errorf("train: align demo %s: %w", name, err)
	}
	if err := os.Rename(final.Checkpoint, dst); err != nil {
		return Record{}, fmt.Errorf("train: align demo %s: %w", name, err)
	}
	d.logf("%s: val loss %.4f in %.0fs -> %s", name, *final.ValLoss, time.Since(t0).Seconds(), dst)
	return final, nil
}

func (d *demo) stages(sents string) error {
	c := d.c
	out := func(name string) string { return filepath.Join(c.Out, name) }
	base := DefaultConfig()
	base.Data, base.Tokenizer, base.Dropout = sents, "char", 0

	sft := base
	sft.Task, sft.Layers, sft.Heads, sft.Hidden, sft.MaxIters = TaskCausalLM, c.SFTLayers, c.SFTHeads, c.SFTHidden, c.SFTIters
	sft.BlockSize, sft.BatchSize, sft.LR, sft.MinLR = c.Block, 16, 2e-3, 2e-4
	if c.SFTVocab > 0 {
		sft.Tokenizer, sft.VocabSize = "bpe", c.SFTVocab
	}
	if _, err := d.trainStage("sft", sft, out("sft")); err != nil {
		return err
	}
	mlm := base
	mlm.Task, mlm.Layers, mlm.Heads, mlm.Hidden, mlm.MaxIters = TaskMaskedLM, c.EncLayers, c.EncHeads, c.EncHidden, c.MLMIters
	// Words are what a sentiment classifier needs: the encoder reads a
	// BPE of the sentences (the policy's samples pass between them as
	// text).
	mlm.Tokenizer, mlm.VocabSize = "bpe", c.EncVocab
	mlm.BlockSize, mlm.BatchSize, mlm.LR, mlm.MinLR = c.Block, 16, 2e-3, 2e-4
	encoder := filepath.Join(d.work, "encoder")
	if _, err := d.trainStage("encoder", mlm, encoder); err != nil {
		return err
	}
	var tsv strings.Builder
	for _, e := range d.halfA {
		fmt.Fprintf(&tsv, "%s\t%s\n", strings.ReplaceAll(e.Text, "\t", " "), e.Label)
	}
	clsData := filepath.Join(d.work, "classifier.tsv")
	if err := os.WriteFile(clsData, []byte(tsv.String()), 0o644); err != nil {
		return fmt.Errorf("train: align demo: %w", err)
	}
	cls := base
	cls.Task, cls.Model, cls.Tokenizer, cls.Data, cls.MaxIters = TaskClassify, encoder, "model", clsData, c.ClassifierIters
	cls.BlockSize, cls.BatchSize, cls.LR, cls.MinLR, cls.Dropout = c.Block, 32, 1e-3, 1e-4, 0.1
	if _, err := d.trainStage("classifier", cls, out("classifier")); err != nil {
		return err
	}

	// The independent judge: bag of words on half B, checked on half A.
	judge := TrainBagOfWords(d.halfB)
	if err := judge.Scoring(c.Positive); err != nil {
		return err
	}
	d.report.ScorerAccuracy = judgeAccuracy(judge, d.halfA, c.Positive)
	d.report.IndependentScorerOn = fmt.Sprintf("bag-of-words logistic regression trained on the other half of the labels (%d sentences)", len(d.halfB))

	if err := d.preferences(out); err != nil {
		return err
	}
	return d.align(out, judge)
}

// judgeAccuracy is the accuracy of the judge's P(positive) > ½ on ex.
func judgeAccuracy(j *BagOfWords, ex []Example, positive string) float64 {
	texts := make([]string, len(ex))
	for i, e := range ex {
		texts[i] = e.Text
	}
	p, _ := j.Score(texts)
	right := 0
	for i, e := range ex {
		if (p[i] > 0.5) == (e.Label == positive) {
			right++
		}
	}
	return float64(right) / float64(len(ex))
}

// LoadLM loads a policy checkpoint and its tokenizer.
func LoadLM(dir string) (model.Model, tokenizer.Tokenizer, error) {
	m, err := model.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	tok, err := LoadTokenizer(dir)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, tok, nil
}

// SaveModel writes m and tok as a checkpoint directory.
func SaveModel(m model.Model, tok tokenizer.Tokenizer, dir string) error {
	if err := model.Save(m, dir); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return WriteTokenizer(dir, tok)
}

// preferences samples and labels the pairs and trains the reward model.
func (d *demo) preferences(out func(string) string) error {
	c := d.c
	t0 := time.Now()
	sft, tok, err := LoadLM(out("sft"))
	if err != nil {
		return err
	}
	defer sft.Close()
	_, index := labelIndex(d.halfA) // the classify run's class order
	cls, err := LoadSeqScorer(out("classifier"), strconv.Itoa(index[c.Positive]))
	if err != nil {
		return err
	}
	defer cls.Close()
	texts := make([]string, len(d.halfB))
	for i, e := range d.halfB {
		texts[i] = e.Text
	}
	lo, err := cls.Score(texts)
	if err != nil {
		return err
	}
	right := 0
	for i, e := range d.halfB {
		if (lo[i] > 0) == (e.Label == c.Positive) {
			right++
		}
	}
	d.report.ClassifierAccuracy = float64(right) / float64(len(d.halfB))
	if d.done(out("prefs.jsonl")) {
		pairs, err := ReadPrefs(out("prefs.jsonl"))
		if err != nil {
			return err
		}
		d.report.Pairs = len(pairs)
		return d.reward(out, pairs)
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x70726566))
	prompts := make([]string, c.Pairs)
	for i := range prompts {
		prompts[i] = d.trainPrompts[rng.IntN(len(d.trainPrompts))]
	}
	pairs, err := GeneratePrefs(sft, tok, prompts, SampleOptions{MaxNewTokens: c.ResponseTokens, Seed: c.Seed}, cls, c.MinMargin)
	if err != nil {
		return err
	}
	if err := WritePrefs(out("prefs.jsonl"), pairs); err != nil {
		return err
	}
	d.report.Pairs = len(pairs)
	d.logf("prefs: %d pairs labelled by the classifier in %.0fs -> %s", len(pairs), time.Since(t0).Seconds(), out("prefs.jsonl"))
	return d.reward(out, pairs)
}

// reward trains the reward model on pairs.
func (d *demo) reward(out func(string) string, pairs []PrefPair) error {
	c := d.c
	if d.done(filepath.Join(out("reward"), "model.safetensors")) {
		return nil
	}
	t0 := time.Now()
	rm, rtok, err := NewRewardModel(filepath.Join(d.work, "encoder"), nil, 0, 0, 0, 0, c.Seed)
	if err != nil {
		return err
	}
	defer rm.Close()
	rc := AlignConfig{Steps: c.RewardSteps, BatchSize: 32, LR: 5e-4, WarmupSteps: c.RewardSteps / 10, GradClip: 1,
		Seed: c.Seed, ValFraction: 0.1, LogInterval: max(1, c.RewardSteps/5)}
	acc, err := TrainReward(rm, rtok, pairs, rc, func(r RewardRecord) { d.logf("%s", r.Line()) })
	if err != nil {
		return err
	}
	d.report.RewardPairAccuracy = &acc
	if err := SaveModel(rm, rtok, out("reward")); err != nil {
		return err
	}
	d.logf("reward: held-out pair accuracy %.3f in %.0fs -> %s", acc, time.Since(t0).Seconds(), out("reward"))
	return nil
}

// align runs PPO and DPO from the SFT policy and evaluates all three.
func (d *demo) align(out func(string) string, judge *BagOfWords) error {
	c := d.c
	ref, tok, err := LoadLM(out("sft"))
	if err != nil {
		return err
	}
	defer ref.Close()
	rm, err := LoadSeqScorer(out("reward"), "")
	if err != nil {
		return err
	}
	defer rm.Close()

	if err := d.ppo(out, ref, tok, rm); err != nil {
		return err
	}
	if err := d.dpo(out, ref, tok); err != nil {
		return err
	}
	for _, name := range []string{"sft", "ppo", "dpo"} {
		m, _, err := LoadLM(out(name))
		if err != nil {
			return err
		}
		st, err := evalPolicy(name, m, ref, tok, d.evalPr, c.ResponseTokens, c.Seed, judge, rm)
		m.Close()
		if err != nil {
			return err
		}
		if len(d.report.Policies) > 0 && d.report.Policies[0].DistinctBigrams > 0 {
			st.DistinctRatio = st.DistinctBigrams / d.report.Policies[0].DistinctBigrams
		}
		d.report.Policies = append(d.report.Policies, st)
	}
	d.report.Dirs = []string{out("sft"), out("classifier"), out("reward"), out("ppo"), out("dpo")}
	return nil
}

// ppo aligns the SFT policy with the reward model rm.
func (d *demo) ppo(out func(string) string, ref model.Model, tok tokenizer.Tokenizer, rm Scorer) error {
	if d.done(filepath.Join(out("ppo"), "model.safetensors")) {
		return nil
	}
	c := d.c
	t0 := time.Now()
	policy, _, err := LoadLM(out("sft"))
	if err != nil {
		return err
	}
	defer policy.Close()
	pc := c.PPO
	pc.ResponseTokens, pc.Seed = c.ResponseTokens, c.Seed
	pc.LogInterval = max(1, pc.Steps/10)
	head, err := TrainPPO(policy, ref, tok, d.trainPrompts, rm, pc, func(r PPORecord) { d.logf("%s", r.Line()) })
	if err != nil {
		return err
	}
	if err := SaveModel(policy, tok, out("ppo")); err != nil {
		return err
	}
	if err := SaveValueHead(head, out("ppo")); err != nil {
		return err
	}
	d.logf("ppo: %.0fs -> %s", time.Since(t0).Seconds(), out("ppo"))
	return nil
}

// dpo aligns the SFT policy on the pairs directly.
func (d *demo) dpo(out func(string) string, ref model.Model, tok tokenizer.Tokenizer) error {
	if d.done(filepath.Join(out("dpo"), "model.safetensors")) {
		return nil
	}
	t0 := time.Now()
	pairs, err := ReadPrefs(out("prefs.jsonl"))
	if err != nil {
		return err
	}
	policy, _, err := LoadLM(out("sft"))
	if err != nil {
		return err
	}
	defer policy.Close()
	dc := d.c.DPO
	dc.Seed = d.c.Seed
	acc, err := TrainDPO(policy, ref, tok, pairs, dc, func(r DPORecord) { d.logf("%s", r.Line()) })
	if err != nil {
		return err
	}
	if err := SaveModel(policy, tok, out("dpo")); err != nil {
		return err
	}
	d.report.DPOHeldOutAccuracy = &acc
	d.logf("dpo: held-out accuracy %.3f in %.0fs -> %s", acc, time.Since(t0).Seconds(), out("dpo"))
	return nil
}

// evalPolicy samples one response per prompt (the prompts repeated until
// at least 200 samples) and measures it.
func evalPolicy(name string, m, ref model.Model, tok tokenizer.Tokenizer, prompts []string, n int, seed uint64, judge, rm Scorer) (PolicyStats, error) {
	var ps []string
	for len(ps) < 200 {
		ps = append(ps, prompts...)
	}
	ids, err := encodePrompts(tok, ps, m.Info().Context-n)
	if err != nil {
		return PolicyStats{}, err
	}
	resp, err := Sample(m, ids, 1, SampleOptions{MaxNewTokens: n, Seed: seed ^ 0x6576616c})
	if err != nil {
		return PolicyStats{}, err
	}
	texts, full := make([]string, len(resp)), make([]string, len(resp))
	for i, r := range resp {
		if texts[i], err = tok.Decode(r, false); err != nil {
			return PolicyStats{}, err
		}
		full[i] = ps[i] + texts[i]
	}
	st := PolicyStats{Name: name, Samples: len(resp), DistinctRatio: 1}
	pos, err := judge.Score(full)
	if err != nil {
		return st, err
	}
	st.Positivity, st.PositivityStd = meanStd(pos)
	rs, err := rm.Score(full)
	if err != nil {
		return st, err
	}
	st.Reward = mean(rs)
	s := newSeqs(ids, resp, 0)
	g := autograd.NewGraph(false)
	var kl float64
	for lo := 0; lo < s.b; lo += 64 {
		rows := make([]int, 0, 64)
		for r := lo; r < min(lo+64, s.b); r++ {
			rows = append(rows, r)
		}
		sub := subSeqs(s, rows)
		g.Reset()
		p, err := forwardLM(g, m, sub, nil)
		if err != nil {
			return st, err
		}
		lp := p.lp
		g.Reset()
		q, err := forwardLM(g, ref, sub, nil)
		if err != nil {
			return st, err
		}
		for k := range lp {
			kl += lp[k] - q.lp[k]
		}
	}
	st.KL = kl / float64(s.b)
	st.DistinctBigrams = DistinctBigrams(texts)
	return st, nil
}

// DistinctBigrams is distinct-2 of texts: the number of distinct word
// bigrams over the number of bigrams, across all texts.
func DistinctBigrams(texts []string) float64 {
	seen := map[[2]string]bool{}
	total := 0
	for _, t := range texts {
		w := strings.Fields(t)
		for i := 0; i+1 < len(w); i++ {
			seen[[2]string{w[i], w[i+1]}] = true
			total++
		}
	}
	if total == 0 {
		return math.NaN()
	}
	return float64(len(seen)) / float64(total)
}
