package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/nn"
	"github.com/attn-dev/attn/tokenizer"
)

// Record is one logged step, as `attn train --json` prints it and
// OUT/log.jsonl keeps it. The last record of a run has Final set, the
// final validation loss and the median ms per step.
type Record struct {
	Step            int      `json:"step"`
	Loss            float64  `json:"loss"`
	LR              float64  `json:"lr"`
	TokensPerSecond float64  `json:"tokens_per_second"`
	MSPerStep       float64  `json:"ms_per_step"`
	ValLoss         *float64 `json:"val_loss,omitempty"`
	ValAccuracy     *float64 `json:"val_accuracy,omitempty"`
	ValExactMatch   *float64 `json:"val_exact_match,omitempty"`
	Total           int      `json:"total"`
	ETASeconds      float64  `json:"eta_seconds,omitempty"`
	Sample          string   `json:"sample,omitempty"`
	Checkpoint      string   `json:"checkpoint,omitempty"`
	Final           bool     `json:"final,omitempty"`
}

// MarshalJSON leaves the per-step fields out of evaluation and final
// records.
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record
	if r.Loss == 0 && r.TokensPerSecond == 0 {
		type eval struct {
			Step       int      `json:"step"`
			MSPerStep  float64  `json:"ms_per_step,omitempty"`
			ValLoss    *float64 `json:"val_loss,omitempty"`
			ValAcc     *float64 `json:"val_accuracy,omitempty"`
			ValExact   *float64 `json:"val_exact_match,omitempty"`
			Total      int      `json:"total"`
			Sample     string   `json:"sample,omitempty"`
			Checkpoint string   `json:"checkpoint,omitempty"`
			Final      bool     `json:"final,omitempty"`
		}
		return json.Marshal(eval{r.Step, r.MSPerStep, r.ValLoss, r.ValAccuracy, r.ValExactMatch, r.Total, r.Sample, r.Checkpoint, r.Final})
	}
	return json.Marshal(plain(r))
}

// lrFactor is nanoGPT's get_lr as a multiple of lr: a warm-up
// (it+1)/(warmup+1) that never starts at zero, then tr.sched's cosine to
// min_lr.
func (tr *Trainer) lrFactor(it int) float64 {
	if w := tr.cfg.WarmupIters; it < w {
		return float64(it+1) / float64(w+1)
	}
	return tr.sched.Factor(it)
}

// Trainer runs the causal-LM loop on a text: nanoGPT's recipe (random
// windows, AdamW with decay on matrices, warm-up + cosine, clipping,
// gradient accumulation, periodic validation and samples, checkpoints).
type Trainer struct {
	cfg  Config
	m    model.Model
	data *TextData // language-model tasks
	tok  tokenizer.Tokenizer
	// tokFiles are the tokenizer files of the directory tok was read
	// from, unchanged (tokenizer "model" or a directory), read when the
	// run starts: checkpoints write them (that directory may be a
	// checkpoint that rotation deletes). tokChanged: the run added
	// special tokens to the tokenizer it read, and writes it itself.
	tokFiles   []namedFile
	tokChanged bool
	task       task
	sha        string // of the data, to refuse a resume on changed data
	named      []nn.NamedParam
	ps         []*autograd.Var
	opt        *AdamW
	sched      WarmupCosine
	rng        *rand.Rand
	pcg        *rand.PCG
	step       int

	bestVal    float64
	bestStep   int
	lastVal    float64
	lastAcc    *float64
	lastExact  *float64
	lastCkpt   string
	ckptStep   int             // step of lastCkpt
	evalGraph  *autograd.Graph // reused by every evaluation
	trainGraph *autograd.Graph // Run's, whose buffers a checkpoint may release

	// OnRecord receives every record (the CLI prints them).
	OnRecord func(Record)
	log      *os.File
}

// keepTokenizerFiles reads the tokenizer files of dir, where tr.tok was
// read from, into tr.tokFiles for the checkpoints to write, unless the run
// makes its tokenizer (char, bpe) or changed it (tokChanged), in which
// case checkpoints write tr.tok itself.
func (tr *Trainer) keepTokenizerFiles(dir string) error {
	if tr.tokChanged || tr.cfg.Tokenizer == "char" || tr.cfg.Tokenizer == "bpe" {
		return nil
	}
	for _, f := range tokenizer.Files(dir) {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("train: tokenizer: %w", err)
		}
		tr.tokFiles = append(tr.tokFiles, namedFile{filepath.Base(f), data})
	}
	return nil
}

// namedFile is a file's base name and contents.
type namedFile struct {
	name string
	data []byte
}

// NewTrainer prepares a run: the data (tokenized, cached in OUT/data), a
// fresh model (or cfg.Model's checkpoint) and the optimizer.
func NewTrainer(cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	tr := &Trainer{cfg: cfg, bestVal: math.Inf(1), bestStep: -1, ckptStep: -1}
	var modelTok tokenizer.Tokenizer
	if cfg.Model != "" {
		m, err := model.Load(cfg.Model)
		if err != nil {
			return nil, err
		}
		tr.m = m
		t, err := LoadTokenizer(cfg.Model)
		switch {
		case err == nil:
			modelTok = t
		case cfg.Tokenizer == "model":
			return nil, fmt.Errorf("train: the tokenizer of %s: %w", cfg.Model, err)
		}
	}
	if err := tr.prepare(modelTok); err != nil {
		return nil, err
	}
	tokDir := cfg.Tokenizer
	if cfg.Tokenizer == "model" {
		tokDir = cfg.Model
	}
	if err := tr.keepTokenizerFiles(tokDir); err != nil {
		return nil, err
	}
	if tr.m != nil {
		if err := tr.adaptHead(); err != nil {
			return nil, err
		}
	}
	if tr.m == nil {
		arch, head, labels := tr.task.head()
		o := model.InitOptions{Arch: arch, Head: head, Labels: labels, Layers: cfg.Layers, Heads: cfg.Heads,
			Hidden: cfg.Hidden, Vocab: tr.task.vocab(), Context: cfg.BlockSize, Seed: cfg.Seed, Dropout: &cfg.Dropout}
		if it, ok := tr.task.(*imageTask); ok {
			o.ImageSize, o.PatchSize, o.Channels = it.im.H, cfg.PatchSize, it.im.C
		}
		if n, ok := tr.task.(namedLabels); ok {
			o.LabelNames = n.labelNames()
		}
		m, err := model.Init(o)
		if err != nil {
			return nil, err
		}
		tr.m = m
		if cfg.InitFrom != "" {
			if err := warmStart(m, cfg.InitFrom); err != nil {
				return nil, err
			}
		}
		if cfg.InitEmbeddings != "" {
			n, err := initEmbeddings(m, tr.tok, cfg.InitEmbeddings)
			if err != nil {
				return nil, err
			}
			slog.Info("train: token embeddings from word vectors", "file", cfg.InitEmbeddings, "tokens", n, "vocabulary", tr.tok.VocabSize())
		}
	} else if cfg.InitFrom != "" || cfg.InitEmbeddings != "" {
		return nil, fmt.Errorf("train: init_from and init_embeddings seed a fresh model; model %s is a checkpoint already", cfg.Model)
	}
	if err := tr.setup(); err != nil {
		return nil, err
	}
	tr.pcg = rand.NewPCG(cfg.Seed, 0x7261696e)
	tr.rng = rand.New(tr.pcg)
	return tr, nil
}

// adaptHead turns a pretrained checkpoint with another head of the
// task's architecture (a BertForMaskedLM for classification) into the
// task's model: a fresh model of the same sizes whose parameters take
// the checkpoint's values wherever name and shape agree (the encoder),
// the rest (pooler, classifier) initialised.
func (tr *Trainer) adaptHead() error {
	arch, head, labels := tr.task.head()
	info := tr.m.Info()
	if info.Architecture == head || info.ModelType != arch {
		return nil // setup reports a different architecture
	}
	var names []string
	if n, ok := tr.task.(namedLabels); ok {
		names = n.labelNames()
	}
	fresh, err := withHead(tr.m, head, labels, names, tr.cfg.Seed, &tr.cfg.Dropout)
	if err != nil {
		return err
	}
	tr.m.Close()
	tr.m = fresh
	return nil
}

// withHead returns a fresh model of m's type and sizes with the given head
// whose parameters take m's values wherever name and shape agree.
func withHead(m model.Model, head string, labels int, labelNames []string, seed uint64, dropout *float64) (model.Model, error) {
	info := m.Info()
	act := "gelu"
	if v, ok := m.Config().Raw("hidden_act"); ok {
		act = fmt.Sprint(v)
	}
	fresh, err := model.Init(model.InitOptions{Arch: info.ModelType, Head: head, Labels: labels, Layers: info.Layers, Heads: info.Heads,
		Hidden: info.Hidden, FFN: info.FFN, Vocab: info.Vocab, Context: info.Context, Activation: act, Seed: seed,
		Dropout: dropout, LabelNames: labelNames})
	if err != nil {
		return nil, err
	}
	src := map[string]*autograd.Var{}
	for _, p := range m.NamedParameters("", nil) {
		src[p.Name] = p.Var
	}
	copied := 0
	for _, p := range fresh.NamedParameters("", nil) {
		if s, ok := src[p.Name]; ok && slices.Equal(s.Value.Shape, p.Var.Value.Shape) {
			copy(p.Var.Value.Data(), s.Value.Contiguous().Data())
			copied++
		}
	}
	slog.Info("train: new head on a pretrained encoder", "from", info.Architecture, "to", head, "parameters_copied", copied)
	return fresh, nil
}

// prepare reads and tokenizes the data and makes the task. tok is the
// tokenizer of the checkpoint the run starts or resumes from, if any.
func (tr *Trainer) prepare(tok tokenizer.Tokenizer) error {
	cfg := &tr.cfg
	switch cfg.Task {
	case TaskCausalLM, TaskMaskedLM:
		data, err := LoadText(cfg, filepath.Join(cfg.Out, "data"), tok)
		if err != nil {
			return err
		}
		tr.data, tr.tok, tr.sha = data, data.Tok, data.SHA256
		if cfg.Task == TaskCausalLM {
			tr.task = &causalTask{cfg: cfg, data: data}
			return nil
		}
		sp := bertSpecials(data.Tok)
		tr.task = &maskedTask{cfg: cfg, data: data, sp: sp}
		tr.tok, tr.tokChanged, err = withSpecials(data.Tok, sp)
		return err
	}
	if cfg.Task == TaskImage {
		im, err := ReadImages(cfg.Data, cfg.ImageSize)
		if err != nil {
			return err
		}
		tr.sha = im.SHA256
		tr.task, err = newImageTask(cfg, im)
		return err
	}
	ex, err := ReadExamples(cfg.Data)
	if err != nil {
		return err
	}
	h := sha256.New()
	var corpus strings.Builder
	for _, e := range ex {
		fmt.Fprintf(h, "%s\t%s\n", e.Text, e.Label)
		corpus.WriteString(e.Text)
		corpus.WriteByte('\n')
		if cfg.Task == TaskSeq2Seq { // the targets share the vocabulary
			corpus.WriteString(e.Label)
			corpus.WriteByte('\n')
		}
	}
	tr.sha = hex.EncodeToString(h.Sum(nil))
	if resuming := tr.lastCkpt != ""; !resuming || tok == nil {
		// A resumed run keeps its checkpoint's vocabulary; a new one
		// builds it from the examples (or takes the model's).
		if tok, err = makeTokenizer(cfg, []byte(corpus.String()), tok); err != nil {
			return err
		}
	}
	tr.tok = tok
	if cfg.Task == TaskSeq2Seq {
		tr.task, err = newSeq2SeqTask(cfg, ex, tok)
		return err
	}
	c, err := newClassifyTask(cfg, ex, tok)
	if err != nil {
		return err
	}
	tr.task = c
	tr.tok, tr.tokChanged, err = withSpecials(tok, c.sp)
	return err
}

// setup makes the optimizer and schedule for tr.m.
func (tr *Trainer) setup() error {
	arch, head, labels := tr.task.head()
	info := tr.m.Info()
	if info.ModelType != arch || info.Architecture != head {
		return fmt.Errorf("train: task %s trains a %s %s; %s is a %s %s", tr.cfg.Task, arch, head, orNone(tr.cfg.Model), info.ModelType, info.Architecture)
	}
	if n := labelCount(tr.m); labels > 0 && n != labels {
		return fmt.Errorf("train: the data has %d labels, the model's head %d", labels, n)
	}
	if v := info.Vocab; v < tr.task.vocab() {
		return fmt.Errorf("train: the model's vocabulary (%d) is smaller than the task's (%d: tokenizer and special tokens)", v, tr.task.vocab())
	}
	if c := tr.m.Info().Context; c < tr.cfg.BlockSize && tr.cfg.Task != TaskImage {
		return fmt.Errorf("train: block_size %d exceeds the model's context %d", tr.cfg.BlockSize, c)
	}
	tr.named = Trainable(tr.m.NamedParameters("", nil))
	tr.ps = make([]*autograd.Var, len(tr.named))
	for i, p := range tr.named {
		tr.ps[i] = p.Var
	}
	opt, err := NewAdamW(tr.cfg.Beta1, tr.cfg.Beta2, tr.cfg.Eps, DecayGroups(tr.ps, tr.cfg.LR, tr.cfg.WeightDecay)...)
	if err != nil {
		return err
	}
	tr.opt = opt
	tr.sched = WarmupCosine{Warmup: tr.cfg.WarmupIters, Total: tr.cfg.LRDecayIters, MinRatio: tr.cfg.MinLR / tr.cfg.LR}
	return tr.sched.Validate()
}

// Resume continues the run whose checkpoint is dir (or the newest in
// dir): the model, optimizer, sampler and step as they were, so the
// losses that follow are those of an uninterrupted run bit for bit.
// maxIters > 0 replaces the run's max_iters.
func Resume(dir string, maxIters int) (*Trainer, error) {
	ck, err := ResolveResume(dir)
	if err != nil {
		return nil, err
	}
	st, opt, err := readCheckpointState(ck)
	if err != nil {
		return nil, err
	}
	defer opt.Close()
	cfg := st.Config
	if maxIters > 0 {
		cfg.MaxIters = maxIters
	}
	m, err := model.Load(ck)
	if err != nil {
		return nil, err
	}
	tok, err := LoadTokenizer(ck)
	if err != nil {
		return nil, err
	}
	tr := &Trainer{cfg: cfg, m: m, step: st.Step, bestVal: st.BestVal, bestStep: st.BestStep, lastCkpt: ck, ckptStep: st.Step}
	if err := tr.prepare(tok); err != nil {
		return nil, err
	}
	if err := tr.keepTokenizerFiles(ck); err != nil { // read now: rotation may delete ck
		return nil, err
	}
	if tr.sha != st.DataSHA {
		return nil, fmt.Errorf("train: resume: %s changed since the checkpoint (sha256 %s, was %s)", cfg.Data, tr.sha, st.DataSHA)
	}
	if err := tr.setup(); err != nil {
		return nil, err
	}
	for _, p := range tr.named {
		m1, _, err1 := opt.Float32("exp_avg." + p.Name)
		m2, _, err2 := opt.Float32("exp_avg_sq." + p.Name)
		if err1 != nil || err2 != nil {
			continue // no step taken yet
		}
		if err := tr.opt.SetState(p.Var, ParamState{Step: st.Step, ExpAvg: m1, ExpAvgSq: m2}); err != nil {
			return nil, fmt.Errorf("train: resume %s: %w", p.Name, err)
		}
	}
	tr.pcg = &rand.PCG{}
	if err := tr.pcg.UnmarshalBinary(st.RNG); err != nil {
		return nil, fmt.Errorf("train: resume: RNG state: %w", err)
	}
	tr.rng = rand.New(tr.pcg)
	return tr, nil
}

// Model is the model being trained.
func (tr *Trainer) Model() model.Model { return tr.m }

// Step is the number of optimizer steps taken.
func (tr *Trainer) Step() int { return tr.step }

// Config is the run's configuration.
func (tr *Trainer) Config() Config { return tr.cfg }

// Close releases the model and the log.
func (tr *Trainer) Close() error {
	if tr.log != nil {
		tr.log.Close()
	}
	return tr.m.Close()
}

func (tr *Trainer) emit(r Record) {
	r.Total = tr.cfg.MaxIters
	if tr.log != nil {
		b, err := json.Marshal(r)
		if err == nil {
			_, err = tr.log.Write(append(b, '\n'))
		}
		if err != nil { // the run goes on: the log is a record, not the state
			slog.Warn("train: writing log.jsonl", "err", err)
		}
	}
	if tr.OnRecord != nil {
		tr.OnRecord(r)
	}
}

// Run trains until max_iters steps, then evaluates and checkpoints, and
// returns the final record. A non-finite loss stops it with an error
// naming the step; the checkpoints already written stay as they were.
func (tr *Trainer) Run() (Record, error) {
	cfg := tr.cfg
	lf, err := os.OpenFile(filepath.Join(cfg.Out, "log.jsonl"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return Record{}, fmt.Errorf("train: %w", err)
	}
	tr.log = lf
	g := autograd.NewGraph(true)
	tr.trainGraph = g
	var ms []float64
	start := time.Now()
	startStep := tr.step
	for tr.step < cfg.MaxIters {
		it := tr.step
		t0 := time.Now()
		lr := tr.lrFactor(it)
		tr.opt.ZeroGrad()
		var loss float64
		for a := 0; a < cfg.GradAccum; a++ {
			in, targets := tr.task.trainBatch(tr.rng)
			g.Reset()
			g.SetSeed(cfg.Seed ^ uint64(it*cfg.GradAccum+a+1))
			l, _, err := LogitsLoss(g, tr.m, in, targets)
			if err != nil {
				return Record{}, fmt.Errorf("train: step %d: %w", it, err)
			}
			if cfg.GradAccum > 1 {
				l = g.Scale(l, 1/float32(cfg.GradAccum))
			}
			if err := g.Backward(l); err != nil {
				return Record{}, fmt.Errorf("train: step %d: %w", it, err)
			}
			loss += float64(l.Value.Item())
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return Record{}, fmt.Errorf("train: step %d: the loss is %g; stopping (last good checkpoint: %s)", it, loss, orNone(tr.lastCkpt))
		}
		if cfg.GradClip > 0 {
			if _, err := ClipGradNorm(tr.ps, cfg.GradClip); err != nil {
				return Record{}, fmt.Errorf("train: step %d: %w (last good checkpoint: %s)", it, err, orNone(tr.lastCkpt))
			}
		}
		if err := tr.opt.Step(lr); err != nil {
			return Record{}, fmt.Errorf("train: step %d: %w", it, err)
		}
		if tr.step == startStep {
			defer capHeap()()
		}
		tr.step++
		d := time.Since(t0)
		ms = append(ms, float64(d.Microseconds())/1000)
		if it%cfg.LogInterval == 0 || tr.step == cfg.MaxIters {
			sec := d.Seconds()
			done := tr.step - startStep
			eta := time.Since(start).Seconds() / float64(done) * float64(cfg.MaxIters-tr.step)
			tr.emit(Record{Step: it, Loss: loss, LR: lr * cfg.LR, TokensPerSecond: float64(tr.task.tokens()*cfg.GradAccum) / sec,
				MSPerStep: sec * 1000, ETASeconds: eta})
		}
		if cfg.EvalInterval > 0 && tr.step%cfg.EvalInterval == 0 && tr.step < cfg.MaxIters {
			if err := tr.evaluate(Record{Step: tr.step}); err != nil {
				return Record{}, err
			}
		}
		if cfg.CheckpointEvery > 0 && tr.step%cfg.CheckpointEvery == 0 && tr.step < cfg.MaxIters && tr.ckptStep != tr.step {
			if err := tr.checkpoint(); err != nil {
				return Record{}, err
			}
		}
	}
	final := Record{Step: tr.step, Final: true}
	if len(ms) > 0 {
		s := slices.Clone(ms)
		slices.Sort(s)
		final.MSPerStep = s[len(s)/2]
	}
	if err := tr.evaluate(final); err != nil {
		return Record{}, err
	}
	final.ValLoss, final.ValAccuracy, final.ValExactMatch = ptr(tr.lastVal), tr.lastAcc, tr.lastExact
	final.Checkpoint = tr.lastCkpt
	return final, nil
}

func ptr(v float64) *float64 { return &v }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// evaluate computes the validation loss, generates a sample, checkpoints
// when r is the final record, and emits r.
func (tr *Trainer) evaluate(r Record) error {
	releaseLarge(tr.trainGraph)
	v, acc, err := tr.Evaluate()
	if err != nil {
		return err
	}
	tr.lastVal = v
	r.ValLoss = ptr(v)
	if tr.task.accuracy() {
		r.ValAccuracy = ptr(acc)
		tr.lastAcc = r.ValAccuracy
	}
	if s2s, ok := tr.task.(*seq2seqTask); ok {
		em, err := s2s.exactMatch(tr.m)
		if err != nil {
			return err
		}
		r.ValExactMatch = ptr(em)
		tr.lastExact = r.ValExactMatch
	}
	if _, lm := tr.task.(*causalTask); lm && tr.cfg.SampleTokens > 0 {
		r.Sample = tr.sample()
	}
	best := v < tr.bestVal
	if best {
		tr.bestVal, tr.bestStep = v, tr.step
	}
	// The best model so far is kept as a checkpoint (as nanoGPT does)
	// when checkpoints are on; the last one always.
	if r.Final || best && tr.cfg.CheckpointEvery > 0 {
		if err := tr.checkpoint(); err != nil {
			return err
		}
		r.Checkpoint = tr.lastCkpt
	}
	tr.emit(r)
	return nil
}

// capHeap sets the Go runtime's soft memory limit to the heap that the
// first step of a run needed, plus a twentieth (at least 64 MB), unless a
// limit is already set (GOMEMLIMIT, debug.SetMemoryLimit); it returns the
// function that puts the previous limit back. A step's activations are
// what a run holds most of, and evaluations, samples and checkpoints
// allocate besides them: without the cap the collector lets the heap grow
// to twice the live data before collecting, so a GPT-2-small run at 1,024
// positions peaked at 3.7 GB resident with 2.5 GB live (the weights, used
// in place from the mapped file, are outside the Go heap and its limit).
// The limit is soft:
// a run that truly needs more gets it, at the cost of more frequent
// collections.
func capHeap() (restore func()) {
	prev := debug.SetMemoryLimit(-1)
	if prev != math.MaxInt64 || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	limit := int64(st.HeapAlloc) + max(int64(st.HeapAlloc)/20, 64<<20)
	debug.SetMemoryLimit(limit)
	slog.Debug("train: heap capped at the first step's need", "limit_mb", limit>>20)
	return func() { debug.SetMemoryLimit(prev) }
}

// releaseAbove is the size of a graph's buffers (floats) from
// which evaluations and checkpoints release them first: 256 MB.
const releaseAbove = 1 << 26

// releaseLarge lets go of g's buffers when they hold more than
// releaseAbove floats: a large model's training activations, kept between
// steps, would otherwise sit beside the evaluation graph's and the
// checkpoint's buffers and raise the peak. The next step allocates them
// again.
func releaseLarge(g *autograd.Graph) {
	if g != nil && g.Arena().Allocated() >= releaseAbove {
		g.Reset()
		g.Arena().Release()
		runtime.GC()
	}
}

// checkpoint writes one and prunes old ones.
func (tr *Trainer) checkpoint() error {
	releaseLarge(tr.trainGraph)
	releaseLarge(tr.evalGraph)
	rngState, err := tr.pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	st := trainerState{Step: tr.step, RNG: rngState, HasBest: tr.bestStep >= 0, BestStep: tr.bestStep,
		DataSHA: tr.sha, Config: tr.cfg}
	if st.HasBest {
		st.BestVal = tr.bestVal
	}
	path, err := tr.writeCheckpoint(st)
	if err != nil {
		return fmt.Errorf("%w (last good checkpoint: %s)", err, orNone(tr.lastCkpt))
	}
	tr.lastCkpt, tr.ckptStep = path, tr.step
	best := ""
	if tr.bestStep >= 0 {
		best = filepath.Join(tr.cfg.Out, fmt.Sprintf(checkpointName, tr.bestStep))
	}
	tr.prune(tr.cfg.KeepLast, best)
	slog.Debug("checkpoint", "path", path, "step", tr.step)
	return nil
}

// Evaluate returns the validation loss and, for tasks where it applies,
// accuracy (of argmax over the scored rows): over eval_iters random
// batches drawn from a generator seeded by the step (so that evaluating
// never changes the training batches), or over the whole validation set
// for classification. Loss and accuracy are means over scored rows.
func (tr *Trainer) Evaluate() (loss, accuracy float64, err error) {
	cfg := tr.cfg
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(tr.step)+0x76616c))
	if tr.evalGraph == nil { // kept: its buffers serve every evaluation
		tr.evalGraph = autograd.NewGraph(false)
	}
	g := tr.evalGraph
	var sum float64
	var rows, right int
	for i := 0; i < tr.task.valBatches(); i++ {
		in, targets := tr.task.valBatch(rng, i)
		g.Reset()
		l, n, out, targets, err := logitsLoss(g, tr.m, in, targets)
		if err != nil {
			return 0, 0, fmt.Errorf("train: validation at step %d: %w", tr.step, err)
		}
		sum += float64(l.Value.Item()) * float64(n)
		rows += n
		if tr.task.accuracy() { // a fused LM head (no logits) has none
			right += argmaxHits(out.Get("logits").Contiguous().Data(), targets)
		}
	}
	return sum / float64(rows), float64(right) / float64(rows), nil
}

// argmaxHits counts the rows of logits whose largest entry is the target
// (rows with IgnoreIndex skipped).
func argmaxHits(logits []float32, targets []int) int {
	v := len(logits) / len(targets)
	hits := 0
	for r, t := range targets {
		if t == IgnoreIndex {
			continue
		}
		row := logits[r*v : (r+1)*v]
		best := 0
		for j, x := range row {
			if x > row[best] {
				best = j
			}
		}
		if best == t {
			hits++
		}
	}
	return hits
}

// labelCount is the number of classes of a classification head.
func labelCount(m model.Model) int {
	if v, ok := m.Config().Raw("id2label"); ok {
		if mm, ok := v.(map[string]any); ok {
			return len(mm)
		}
	}
	return configInt(m, "num_labels", 2)
}

// sample generates SampleTokens tokens from the first validation token
// (temperature 0.8, top-k 200, seeded by the step); errors are logged,
// not fatal.
func (tr *Trainer) sample() string {
	lm, err := infer.NewLM(tr.m)
	if err != nil {
		slog.Warn("sample", "err", err)
		return ""
	}
	gc := generate.DefaultConfig()
	n := min(tr.cfg.SampleTokens, tr.cfg.BlockSize-1)
	gc.MaxNewTokens, gc.DoSample, gc.Temperature, gc.TopK = n, true, 0.8, 200
	gc.Seed, gc.IgnoreEOS = tr.cfg.Seed+uint64(tr.step), true
	gc.EOSTokenIDs = nil
	prompt := []int{int(tr.data.Val[0])}
	res, err := generate.Generate(lm, [][]int{prompt}, gc, nil)
	if err != nil {
		slog.Warn("sample", "err", err)
		return ""
	}
	text, err := tr.tok.Decode(append(prompt, res.IDs[0]...), false)
	if err != nil {
		return ""
	}
	return text
}

// Validate returns the validation loss of the checkpoint dir under cfg's
// task, data and split, as Evaluate computes it before the first step
// (the same batches for the same seed): the number a recipe's trained
// model is known by. The data is tokenized by the checkpoint's own
// tokenizer and cached in cfg.Out/data.
func Validate(cfg Config, dir string) (float64, error) {
	cfg.Model, cfg.Tokenizer, cfg.InitFrom, cfg.InitEmbeddings = dir, "model", "", ""
	tr, err := NewTrainer(cfg)
	if err != nil {
		return 0, err
	}
	defer tr.Close()
	loss, _, err := tr.Evaluate()
	return loss, err
}
