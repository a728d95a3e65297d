package infer

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/model"
)

// recorder keeps a copy of every logits row a generation saw.
type recorder struct {
	generate.Model
	steps [][]float32
}

func (r *recorder) Forward(ids, pad []int, logits []float32) error {
	if err := r.Model.Forward(ids, pad, logits); err != nil {
		return err
	}
	r.steps = append(r.steps, append([]float32(nil), logits...))
	return nil
}

func (r *recorder) End() {
	if e, ok := r.Model.(generate.Ender); ok {
		e.End()
	}
}

// batchJob is one generation of TestBatcherMatchesAlone.
type batchJob struct {
	prompts [][]int
	cfg     generate.Config
	delay   time.Duration
}

func (j batchJob) run(lm generate.Model) ([][]int, [][]float32, error) {
	rec := &recorder{Model: lm}
	res, err := generate.Generate(rec, j.prompts, j.cfg, nil)
	if err != nil {
		return nil, nil, err
	}
	return res.IDs, rec.steps, nil
}

// TestBatcherMatchesAlone: generations that join a shared batch at
// different times, with different prompt lengths, padded prompts, several
// rows, sampling, and more of them than the batch holds (those decode
// alone), through a timeline short enough to be packed, produce the
// tokens and logits each produces alone.
func TestBatcherMatchesAlone(t *testing.T) {
	m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 2, Heads: 2, Hidden: 32, Vocab: 97, Context: 64, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	greedy := func(n int) generate.Config {
		c := generate.DefaultConfig()
		c.MaxNewTokens, c.EOSTokenIDs = n, nil
		return c
	}
	sampled := greedy(12)
	sampled.DoSample, sampled.Temperature, sampled.TopK, sampled.Seed, sampled.NumReturnSequences = true, 0.9, 20, 7, 2
	prompt := func(n, seed int) []int {
		p := make([]int, n)
		for i := range p {
			p[i] = (seed*31 + i*17) % 97
		}
		return p
	}
	jobs := []batchJob{
		{[][]int{prompt(5, 1)}, greedy(20), 0},
		{[][]int{prompt(1, 2)}, greedy(14), 2 * time.Millisecond},
		{[][]int{prompt(9, 3)}, greedy(11), 5 * time.Millisecond},
		{[][]int{prompt(3, 4), prompt(7, 5)}, greedy(9), 1 * time.Millisecond},
		{[][]int{prompt(4, 6)}, sampled, 3 * time.Millisecond},
		{[][]int{prompt(12, 7)}, greedy(12), 8 * time.Millisecond},
		{[][]int{prompt(2, 8)}, greedy(30), 4 * time.Millisecond},
	}
	type result struct {
		ids    [][]int
		logits [][]float32
	}
	want := make([]result, len(jobs))
	for i, j := range jobs {
		lm, err := NewLM(m)
		if err != nil {
			t.Fatal(err)
		}
		ids, lg, err := j.run(lm)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = result{ids, lg}
	}
	b, err := NewBatcher(m, 6, 36, 0)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		got := make([]result, len(jobs))
		errs := make([]error, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(j.delay)
				lm, err := NewLM(m)
				if err != nil {
					errs[i] = err
					return
				}
				s, err := b.NewSlot(lm)
				if err != nil {
					errs[i] = err
					return
				}
				got[i].ids, got[i].logits, errs[i] = j.run(s)
			}()
		}
		wg.Wait()
		for i := range jobs {
			if errs[i] != nil {
				t.Fatalf("round %d job %d: %v", round, i, errs[i])
			}
			if fmt.Sprint(got[i].ids) != fmt.Sprint(want[i].ids) {
				t.Errorf("round %d job %d: batched %v, alone %v", round, i, got[i].ids, want[i].ids)
			}
			if len(got[i].logits) != len(want[i].logits) {
				t.Fatalf("round %d job %d: %d steps, alone %d", round, i, len(got[i].logits), len(want[i].logits))
			}
			for s := range got[i].logits {
				for k, x := range got[i].logits[s] {
					if d := math.Abs(float64(x - want[i].logits[s][k])); d > 1e-4 {
						t.Fatalf("round %d job %d step %d logit %d: batched %v, alone %v", round, i, s, k, x, want[i].logits[s][k])
					}
				}
			}
		}
	}
	st := b.Stats()
	t.Logf("%+v: %.2f rows a step", st, float64(st.Rows)/float64(st.Steps))
	if st.Steps == 0 {
		t.Errorf("stats %+v: no shared step", st)
	}
	// The step loop ends once no slot is left.
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		running, n, reserved := b.running, b.n, b.reserved
		b.mu.Unlock()
		if !running && n == 0 && reserved == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the generations: loop running %v, %d rows in use, %d reserved", running, n, reserved)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBatcherErrors: what cannot be batched says why.
func TestBatcherErrors(t *testing.T) {
	gpt, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 1, Heads: 2, Hidden: 16, Vocab: 50, Context: 32, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	bert, err := model.Init(model.InitOptions{Arch: "bert", Layers: 1, Heads: 2, Hidden: 16, Vocab: 50, Context: 32, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	bart, err := model.Init(model.InitOptions{Arch: "bart", Head: "BartForCausalLM", Layers: 1, Heads: 2, Hidden: 16, Vocab: 50, Context: 32, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		m          model.Model
		rows, maxT int
		pad        int
		want       string
	}{
		{bert, 4, 0, 0, "not a decoder-only"},
		{bart, 4, 0, 0, "takes no position ids"},
		{gpt, 0, 0, 0, "batch of 0 rows"},
		{gpt, 4, 33, 0, "context is 32"},
		{gpt, 4, 0, 50, "outside the vocabulary"},
	} {
		if _, err := NewBatcher(tc.m, tc.rows, tc.maxT, tc.pad); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewBatcher(%s, %d, %d, %d): %v, want %q", tc.m.Info().ModelType, tc.rows, tc.maxT, tc.pad, err, tc.want)
		}
	}
	b, err := NewBatcher(gpt, 2, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := model.Init(model.InitOptions{Arch: "gpt2", Layers: 1, Heads: 2, Hidden: 16, Vocab: 50, Context: 32, Seed: 1})
	lm, _ := NewLM(other)
	if _, err := b.NewSlot(lm); err == nil {
		t.Error("a slot over another model's LM was accepted")
	}
}

// stepper drives a generate.Model by hand: greedy tokens, every logits
// row kept.
type stepper struct {
	lm     generate.Model
	rows   int
	pad    []int // every call's, as generate passes it
	logits []float32
	seen   [][]float32
}

func newStepper(t *testing.T, lm generate.Model, prompts [][]int, maxLen int) *stepper {
	t.Helper()
	s := &stepper{lm: lm, rows: len(prompts), logits: make([]float32, len(prompts)*lm.VocabSize())}
	long := 0
	for _, p := range prompts {
		long = max(long, len(p))
	}
	var ids, pad []int
	for _, p := range prompts {
		pad = append(pad, long-len(p))
		for range long - len(p) {
			ids = append(ids, 0)
		}
		ids = append(ids, p...)
	}
	s.pad = pad
	if err := lm.Begin(len(prompts), maxLen); err != nil {
		t.Fatal(err)
	}
	if err := lm.Forward(ids, pad, s.logits); err != nil {
		t.Fatal(err)
	}
	s.keep()
	return s
}

func (s *stepper) keep() { s.seen = append(s.seen, append([]float32(nil), s.logits...)) }

func (s *stepper) step() error {
	v := s.lm.VocabSize()
	next := make([]int, s.rows)
	for r := range next {
		next[r] = argmaxOf(s.logits[r*v : (r+1)*v])
	}
	if err := s.lm.Forward(next, s.pad, s.logits); err != nil {
		return err
	}
	s.keep()
	return nil
}

func argmaxOf(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func sameLogits(t *testing.T, what string, got, want [][]float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d steps, alone %d", what, len(got), len(want))
	}
	for s := range got {
		for k := range got[s] {
			if d := math.Abs(float64(got[s][k] - want[s][k])); d > 1e-4 {
				t.Fatalf("%s step %d logit %d: batched %v, alone %v", what, s, k, got[s][k], want[s][k])
			}
		}
	}
}

// TestBatcherSteps drives slots by hand. In lockstep (a window long
// enough that every step waits for both) every step decodes all three
// rows; taking turns (no window) every step leaves a hole in the other
// slot's rows, which fills the timeline and makes it be packed, while a
// later slot with a longer limit grows the cache under rows in use. Each
// time the logits are those of the same rows decoded alone.
func TestBatcherSteps(t *testing.T) {
	m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 2, Heads: 2, Hidden: 32, Vocab: 97, Context: 96, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer func(n int) { batchMinPositions = n }(batchMinPositions)
	batchMinPositions = 8
	newLM := func() generate.Model {
		lm, err := NewLM(m)
		if err != nil {
			t.Fatal(err)
		}
		return lm
	}
	alone := func(prompts [][]int, maxLen, steps int) [][]float32 {
		s := newStepper(t, newLM(), prompts, maxLen)
		for range steps {
			if err := s.step(); err != nil {
				t.Fatal(err)
			}
		}
		return s.seen
	}
	pa, pb := [][]int{{5, 9, 2, 7}}, [][]int{{3, 1, 4, 1, 5, 9, 2}, {6, 5}}
	b, err := NewBatcher(m, 4, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	slot := func() *Slot {
		s, err := b.NewSlot(newLM())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("lockstep", func(t *testing.T) {
		b.SetWindow(time.Hour)
		before := b.Stats()
		const n = 12
		a, c := newStepper(t, slot(), pa, 20), newStepper(t, slot(), pb, 24)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*stepper{a, c} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range n {
					if errs[i] = s.step(); errs[i] != nil {
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, s := range []*stepper{a, c} {
			s.lm.(*Slot).End()
		}
		if errs[0] != nil || errs[1] != nil {
			t.Fatal(errs)
		}
		st := b.Stats()
		if steps, rows := st.Steps-before.Steps, st.Rows-before.Rows; steps != n || rows != 3*n {
			t.Errorf("%d steps decoded %d rows, want %d and %d", steps, rows, n, 3*n)
		}
		sameLogits(t, "slot a", a.seen, alone(pa, 20, n))
		sameLogits(t, "slot b", c.seen, alone(pb, 24, n))
	})

	t.Run("turns", func(t *testing.T) {
		b.SetWindow(0)
		before := b.Stats()
		const n = 40
		a := newStepper(t, slot(), pa, 4+n+1)
		for range 3 {
			if err := a.step(); err != nil {
				t.Fatal(err)
			}
		}
		c := newStepper(t, slot(), pb, 7+n+1) // longer: the cache grows
		for range n - 3 {
			if err := a.step(); err != nil {
				t.Fatal(err)
			}
			if err := c.step(); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			if err := c.step(); err != nil {
				t.Fatal(err)
			}
		}
		a.lm.(*Slot).End()
		c.lm.(*Slot).End()
		st := b.Stats()
		if st.Compactions == before.Compactions || st.Grown == before.Grown {
			t.Errorf("stats %+v after %+v: want the timeline packed and the cache grown", st, before)
		}
		sameLogits(t, "slot a", a.seen, alone(pa, 4+n+1, n))
		sameLogits(t, "slot b", c.seen, alone(pb, 7+n+1, n))
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n != 0 || b.reserved != 0 || b.cache != nil {
		t.Errorf("after the slots ended: %d rows in use, %d reserved, cache kept %v", b.n, b.reserved, b.cache != nil)
	}
}
