package infer

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/nn"
	"github.com/attn-dev/attn/tensor"
)

// DefaultBatchWindow is the longest a decode step waits for the
// generations that have not yet asked for it once one has; it waits at
// most half as long as a step takes (waiting longer than that costs more
// than decoding the latecomers in the next step).
const DefaultBatchWindow = 2 * time.Millisecond

// Batcher lets concurrent generations with one decoder-only model share
// their decode steps (continuous batching): each generation prefills its
// prompt alone, then its rows join one shared KV cache, and a single
// forward pass decodes the next token of every row that asked for one. A
// step reads the weights once for all rows, so a batch of n rows costs
// far less than n steps of one.
//
// The shared cache is a timeline of positions that every step extends by
// one for all rows; a row attends only to its own positions (an attention
// mask), and its position ids count its own tokens, so rows that joined
// at different times, or sat out a step, decode exactly as they would
// alone. A joining row's prompt is copied to the end of the timeline
// (everything before it masked); when the timeline is full, or mostly
// holes, every row's positions are packed to the right. Rows in use stay
// packed at the front of the cache: a step's batch is exactly the rows in
// use.
//
// This holds for GPT-2, which adds its positions by id before the keys are
// computed: a cached key does not depend on where on the timeline it sits.
// BartForCausalLM places positions by cache length, as transformers'
// BART does, so it is not batched (nor would rotary positions, rotated by
// timeline position, allow it). Beam search, which reorders rows, decodes
// alone (see Generator.Share).
type Batcher struct {
	m      cached
	v      int
	rows   int // capacity
	maxT   int
	padID  int
	window time.Duration
	fixed  bool // window set by SetWindow, not capped by the step time

	mu       sync.Mutex
	cache    *model.Cache // [capRows, capT]: the shared timeline
	capRows  int          // rows and positions allocated: they grow to
	capT     int          // what the joined slots need, up to rows, maxT
	views    *model.Cache // the first viewRows rows of cache
	viewRows int          // rows the views cover (0: to be built)
	g        *autograd.Graph
	out      model.Outputs
	in       model.Inputs
	length   int        // L, positions on the timeline
	n        int        // rows in use, [0, n)
	valid    [][]bool   // [rows][capT]: position j is row r's own
	real     []int      // per row: own positions, its next position id
	owner    []*slotRow // per row
	reserved int        // rows promised to slots by Begin
	slots    []*Slot    // slots that joined
	pending  int        // slots that asked for a step
	first    time.Time  // when the first of them asked
	wake     chan struct{}
	running  bool      // the step loop is alive
	tmp      []float32 // scratch for moving a row's positions
	ids      []int     // step scratch
	mask     []int
	pos      []int
	stats    BatchStats
	stepTime time.Duration // moving average of a step's duration
}

// slotRow is one batch row's owner: a slot and the row's index in it.
type slotRow struct {
	s *Slot
	i int
}

// BatchStats counts a Batcher's work: Steps forward passes decoded Rows
// tokens (Rows/Steps is the mean batch); Compactions packed the timeline;
// Grown counts the times the shared cache grew while rows were in use.
type BatchStats struct {
	Steps, Rows, Compactions, Grown int64
}

// Batchable reports why m's decode steps cannot be shared (nil: they
// can): only decoder-only models that take position ids (GPT-2) can.
func Batchable(m model.Model) error {
	info := m.Info()
	if _, ok := m.(cached); !ok || info.Vocab == 0 || IsEncoderDecoder(m) {
		return fmt.Errorf("infer: %s (%s) cannot batch decode steps: not a decoder-only language model", info.ModelType, info.Architecture)
	}
	if _, gpt2 := m.(*model.GPT2); !gpt2 {
		// BartForCausalLM, as transformers' BART, places its positions by
		// cache length and takes no position ids.
		return fmt.Errorf("infer: %s (%s) takes no position ids: its decode steps cannot share a timeline", info.ModelType, info.Architecture)
	}
	return nil
}

// NewBatcher returns a Batcher for up to rows concurrent sequences of up
// to maxT positions each (0: the model's context) of the decoder-only
// model m; padID is the token fed to rows that sit out a step (any valid
// id: its position is masked). The shared cache grows to the rows and
// positions the generations in flight need and is released when none is.
func NewBatcher(m model.Model, rows, maxT, padID int) (*Batcher, error) {
	if err := Batchable(m); err != nil {
		return nil, err
	}
	c, info := m.(cached), m.Info()
	if maxT <= 0 {
		maxT = info.Context
	}
	switch {
	case rows <= 0:
		return nil, fmt.Errorf("infer: batch of %d rows", rows)
	case maxT <= 0 || maxT > info.Context:
		return nil, fmt.Errorf("infer: batch timeline of %d positions, the model's context is %d", maxT, info.Context)
	case padID < 0 || padID >= info.Vocab:
		return nil, fmt.Errorf("infer: batch pad id %d outside the vocabulary [0, %d)", padID, info.Vocab)
	}
	b := &Batcher{m: c, v: info.Vocab, rows: rows, maxT: maxT, padID: padID, window: DefaultBatchWindow,
		g: autograd.NewGraph(false), wake: make(chan struct{}, 1)}
	b.valid = make([][]bool, rows)
	b.real = make([]int, rows)
	b.owner = make([]*slotRow, rows)
	return b, nil
}

// SetWindow fixes how long a step waits for the rows that have not asked
// for it yet (0: it runs at once). By default the wait is
// DefaultBatchWindow or half a step's time, whichever is shorter.
func (b *Batcher) SetWindow(d time.Duration) {
	b.mu.Lock()
	b.window, b.fixed = max(d, 0), true
	b.mu.Unlock()
}

// Stats returns the work done so far.
func (b *Batcher) Stats() BatchStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// Slot is one generation's view of a Batcher, a generate.Model: Begin
// reserves rows in the batch (or, when the batch is full or the
// generation longer than its timeline, decodes alone on its own cache),
// the first Forward prefills alone and joins, later ones wait for a shared
// step. End gives the rows back. A slot runs one generation at a time.
type Slot struct {
	b     *Batcher
	alone *decoderLM // prefill, and whole generations that do not fit

	k      int   // rows reserved (0: decoding alone)
	maxLen int   // positions a row may reach
	joined bool  // rows in the batch
	rows   []int // batch row of each of the slot's rows
	asked  bool  // waiting for a step
	next   []int // the tokens asked for
	logits []float32
	done   chan error
}

// NewSlot returns a slot over lm, which must be NewLM of the Batcher's
// model: it prefills and decodes whatever the batch does not take.
func (b *Batcher) NewSlot(lm generate.Model) (*Slot, error) {
	d, ok := lm.(*decoderLM)
	if !ok || d.m != b.m {
		return nil, errors.New("infer: a batch slot needs NewLM of the batch's own model")
	}
	return &Slot{b: b, alone: d, done: make(chan error, 1)}, nil
}

// VocabSize is the model's vocabulary.
func (s *Slot) VocabSize() int { return s.b.v }

// Begin reserves rows in the batch when they fit, and prepares the
// slot's own cache for the prefill.
func (s *Slot) Begin(rows, maxLen int) error {
	s.End()
	if err := s.alone.Begin(rows, maxLen); err != nil {
		return err
	}
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if maxLen <= b.maxT && b.reserved+rows <= b.rows {
		b.reserved += rows
		s.k, s.maxLen = rows, maxLen
	}
	return nil
}

// Forward prefills on the slot's own cache and joins the batch (the first
// call), then decodes one token per row in a shared step.
func (s *Slot) Forward(ids, pad []int, logits []float32) error {
	switch {
	case s.k == 0:
		return s.alone.Forward(ids, pad, logits)
	case !s.joined:
		if err := s.alone.Forward(ids, pad, logits); err != nil {
			return err
		}
		return s.b.join(s, pad)
	case len(ids) != s.k:
		return fmt.Errorf("infer: a batched step takes one token per row (%d rows), got %d", s.k, len(ids))
	}
	return s.b.step(s, ids, logits)
}

// Reorder moves rows of a generation decoding alone; batched rows are
// never reordered (beam search decodes alone: see Generator.Share).
func (s *Slot) Reorder(src []int) error {
	if s.k > 0 {
		return errors.New("infer: batched rows cannot be reordered (beam search decodes alone)")
	}
	return s.alone.Reorder(src)
}

// End gives the slot's rows back to the batch; generate calls it when a
// generation ends, however it ends. It is idempotent.
func (s *Slot) End() {
	if s.k == 0 {
		return
	}
	b := s.b
	b.mu.Lock()
	if s.joined {
		b.retire(s)
	}
	b.reserved -= s.k
	s.k, s.joined = 0, false
	b.mu.Unlock()
	b.poke() // a step may wait for nobody else now, or the loop may end
}

// poke wakes the step loop.
func (b *Batcher) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// batchMinPositions is the fewest positions the shared cache allocates.
var batchMinPositions = 64

// ensure grows the shared cache to hold rows rows of t positions,
// keeping what the rows in use hold.
func (b *Batcher) ensure(rows, t int) error {
	if b.cache != nil && rows <= b.capRows && t <= b.capT {
		return nil
	}
	nr, nt := max(rows, min(2*b.capRows, b.rows)), min(max(t, 2*b.capT, batchMinPositions), b.maxT)
	c, err := b.m.NewCache(nr, nt)
	if err != nil {
		return err
	}
	if b.cache != nil {
		b.stats.Grown++
		for r := range b.n {
			copyKV(c, r, 0, b.cache, r, 0, b.length)
		}
	}
	b.cache, b.capRows, b.capT = c, nr, nt
	b.views, b.viewRows = &model.Cache{Self: make([]*nn.KVCache, len(c.Self))}, 0
	// A new graph: the old one's arena holds views of the old cache.
	b.g, b.out = autograd.NewGraph(false), model.Outputs{}
	for r := range b.valid {
		v := make([]bool, nt)
		copy(v, b.valid[r])
		b.valid[r] = v
	}
	return nil
}

// copyKV copies n positions of row sr of cache src, from position sa, to
// row dr of cache dst at position da, in every layer, keys and values
// (caches of the same model; their rows and positions may differ).
func copyKV(dst *model.Cache, dr, da int, src *model.Cache, sr, sa, n int) {
	for l, d := range dst.Self {
		s := src.Self[l]
		nkv, dT, sT, hs := d.K.Shape[1], d.K.Shape[2], s.K.Shape[2], d.K.Shape[3]
		for _, buf := range [2][2][]float32{{d.K.Data(), s.K.Data()}, {d.V.Data(), s.V.Data()}} {
			for h := range nkv {
				do, so := ((dr*nkv+h)*dT+da)*hs, ((sr*nkv+h)*sT+sa)*hs
				copy(buf[0][do:do+n*hs], buf[1][so:so+n*hs])
			}
		}
	}
}

// join copies the slot's prefilled rows to the end of the timeline.
func (b *Batcher) join(s *Slot, pad []int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.ensure(b.n+s.k, s.maxLen); err != nil {
		b.reserved -= s.k
		s.k = 0 // decode alone
		return nil
	}
	own := s.alone.cache
	p := own.Len()
	if b.length < p {
		b.realign(p)
	}
	at := b.length - p
	s.rows = s.rows[:0]
	for i := range s.k {
		r := b.n
		b.n++
		s.rows = append(s.rows, r)
		b.owner[r] = &slotRow{s, i}
		lead := 0
		if pad != nil {
			lead = pad[i]
		}
		for j := range b.length {
			b.valid[r][j] = j >= at+lead
		}
		b.real[r] = p - lead
		copyKV(b.cache, r, at, own, i, 0, p)
	}
	s.joined = true
	b.slots = append(b.slots, s)
	if !b.running {
		b.running = true
		go b.loop()
	}
	return nil
}

// retire removes the slot's rows, moving the last rows into their places
// so that the rows in use stay packed.
func (b *Batcher) retire(s *Slot) {
	for i := len(s.rows) - 1; i >= 0; i-- {
		r := s.rows[i]
		last := b.n - 1
		if r != last {
			b.moveRow(r, last)
			o := b.owner[last]
			b.owner[r] = o
			o.s.rows[o.i] = r
		}
		b.owner[last] = nil
		b.n--
	}
	for i, x := range b.slots {
		if x == s {
			b.slots = append(b.slots[:i], b.slots[i+1:]...)
			break
		}
	}
	if s.asked {
		s.asked = false
		b.pending--
	}
	if b.n == 0 {
		// Idle: the cache goes (a burst of requests grew it; the next
		// allocates what it needs).
		b.length, b.cache, b.views, b.viewRows, b.capRows, b.capT = 0, nil, nil, 0, 0, 0
		b.g, b.out = autograd.NewGraph(false), model.Outputs{}
	}
}

// moveRow copies row src's timeline (positions, mask, count) to row dst.
func (b *Batcher) moveRow(dst, src int) {
	copyKV(b.cache, dst, 0, b.cache, src, 0, b.length)
	copy(b.valid[dst][:b.length], b.valid[src][:b.length])
	b.real[dst] = b.real[src]
}

// realign packs every row's own positions to the right of a timeline of
// newL positions (newL ≥ every row's count): the holes go, the order and
// the cached keys and values stay.
func (b *Batcher) realign(newL int) {
	for r := range b.n {
		own := b.valid[r][:b.length]
		start := newL - b.real[r]
		for _, c := range b.cache.Self {
			nkv, hs := c.K.Shape[1], c.K.Shape[3]
			if cap(b.tmp) < b.real[r]*hs {
				b.tmp = make([]float32, b.real[r]*hs)
			}
			for h := range nkv {
				base := (r*nkv + h) * b.capT * hs
				for _, buf := range [2][]float32{c.K.Data(), c.V.Data()} {
					t := b.tmp[:0]
					for j, ok := range own {
						if ok {
							t = append(t, buf[base+j*hs:base+(j+1)*hs]...)
						}
					}
					copy(buf[base+start*hs:], t)
				}
			}
		}
		for j := range newL {
			b.valid[r][j] = j >= start
		}
	}
	b.length = newL
}

// step asks for a decode step of the slot's rows and waits for it.
func (b *Batcher) step(s *Slot, ids []int, logits []float32) error {
	b.mu.Lock()
	s.next, s.logits, s.asked = ids, logits, true
	if b.pending == 0 {
		b.first = time.Now()
	}
	b.pending++
	b.mu.Unlock()
	b.poke()
	return <-s.done
}

// loop runs steps while any slot is in the batch: at once when every
// joined slot has asked, else once the window has passed since the first
// asked.
func (b *Batcher) loop() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		b.mu.Lock()
		if len(b.slots) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		var wait time.Duration
		if b.pending > 0 && b.pending < len(b.slots) {
			w := b.window
			if !b.fixed {
				w = min(w, b.stepTime/2)
			}
			wait = w - time.Since(b.first)
		}
		if b.pending > 0 && wait <= 0 {
			b.run()
			b.mu.Unlock()
			continue
		}
		pending := b.pending
		b.mu.Unlock()
		if pending == 0 {
			<-b.wake
			continue
		}
		timer.Reset(wait)
		select {
		case <-b.wake:
			if !timer.Stop() {
				<-timer.C
			}
		case <-timer.C:
		}
	}
}

// run decodes one step for the rows in use (b.mu held): the rows whose
// slots asked get their token, the others sit it out (the new position
// masked for them), and the asking slots get their logits.
func (b *Batcher) run() {
	if b.length == b.capT || (b.length >= 64 && b.length > 2*b.maxReal()) {
		b.realign(b.maxReal())
		b.stats.Compactions++
	}
	n, past := b.n, b.length
	b.ids, b.mask, b.pos = b.ids[:0], b.mask[:0], b.pos[:0]
	asked := 0
	for r := range n {
		o := b.owner[r]
		id, in := b.padID, o.s.asked
		if in {
			id = o.s.next[o.i]
			asked++
		}
		b.ids = append(b.ids, id)
		for j := range past {
			b.mask = append(b.mask, b2i(b.valid[r][j]))
		}
		b.mask = append(b.mask, b2i(in))
		b.pos = append(b.pos, b.real[r])
	}
	if b.viewRows != n {
		for l, c := range b.cache.Self {
			s := c.K.Shape
			size := s[1] * s[2] * s[3]
			b.views.Self[l] = &nn.KVCache{
				K: tensor.FromSlice(c.K.Data()[:n*size], n, s[1], s[2], s[3]),
				V: tensor.FromSlice(c.V.Data()[:n*size], n, s[1], s[2], s[3]),
			}
		}
		b.viewRows = n
	}
	for _, kv := range b.views.Self {
		kv.Len = past
	}
	b.in = model.Inputs{B: n, T: 1, InputIDs: b.ids, AttentionMask: b.mask, PositionIDs: b.pos}
	b.g.Reset()
	start := time.Now()
	out, err := b.m.Forward(b.g, &b.in, model.Options{Cache: b.views, LastLogits: true, Out: &b.out})
	if b.stepTime == 0 {
		b.stepTime = time.Since(start)
	} else {
		b.stepTime += (time.Since(start) - b.stepTime) / 8
	}
	var lg []float32
	if err == nil {
		lg, err = logitsData(out)
	}
	if err == nil {
		b.length = past + 1
		b.stats.Steps++
		b.stats.Rows += int64(asked)
		for r := range n {
			o := b.owner[r]
			b.valid[r][past] = o.s.asked
			if o.s.asked {
				b.real[r]++
				copy(o.s.logits[o.i*b.v:(o.i+1)*b.v], lg[r*b.v:(r+1)*b.v])
			}
		}
	}
	for _, s := range b.slots {
		if s.asked {
			s.asked = false
			s.done <- err
		}
	}
	b.pending = 0
}

// maxReal is the most positions any row in use owns.
func (b *Batcher) maxReal() int {
	m := 0
	for r := range b.n {
		m = max(m, b.real[r])
	}
	return m
}
