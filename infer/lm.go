package infer

import (
	"errors"
	"fmt"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/nn"
)

// cached is a model that decodes incrementally (GPT-2, the Marian/BART
// decoders).
type cached interface {
	model.Model
	NewCache(b, maxT int) (*model.Cache, error)
}

// decoderLM adapts a decoder-only model.Model with a KV cache to
// generate.Model: one inference graph reset per call, the LM head on the
// last position only, left padding turned into an attention mask and
// position ids counted from each row's first real token (transformers'
// prepare_inputs_for_generation).
type decoderLM struct {
	m     cached
	fast  *gpt2Step // fused single-token steps; nil: every step through Forward
	g     *autograd.Graph
	cache *model.Cache
	rows  int
	maxT  int
	v     int
	mask  []int // [rows, past+T] scratch
	chunk []int // [rows, prefillChunk] prompt scratch
	pos   []int // [rows, T] scratch
	tmp   []float32
}

// LMOptions tune NewLMWith.
type LMOptions struct {
	// BF16 stores the weights as bfloat16 (a converted copy, half the
	// bytes read per token; the arithmetic stays float32). The prompt
	// goes through the same copy, widened per chunk, so the float32
	// matrices are read once, for the conversion, and released.
	BF16 bool
	// Reference runs every step through the model's Forward, without the
	// fused decode step (for tests and models it does not cover).
	Reference bool
}

// NewLM wraps a decoder-only model (GPT-2) for package generate, with the
// fused float32 decode step when the architecture has one.
func NewLM(m model.Model) (generate.Model, error) { return NewLMWith(m, LMOptions{}) }

// NewLMWith is NewLM with options.
func NewLMWith(m model.Model, o LMOptions) (generate.Model, error) {
	c, ok := m.(cached)
	if !ok || m.Info().Vocab == 0 || IsEncoderDecoder(m) {
		return nil, fmt.Errorf("infer: %s (%s) cannot generate: not a decoder-only language model", m.Info().ModelType, m.Info().Architecture)
	}
	d := &decoderLM{m: c, g: autograd.NewGraph(false), v: m.Info().Vocab}
	if !o.Reference {
		var err error
		if d.fast, err = newGPT2Step(m, o.BF16); err != nil {
			return nil, err
		}
	}
	if o.BF16 && d.fast == nil {
		return nil, fmt.Errorf("infer: bfloat16 decoding is implemented for GPT2LMHeadModel only, not %s", m.Info().Architecture)
	}
	return d, nil
}

func (d *decoderLM) VocabSize() int { return d.v }

func (d *decoderLM) Begin(rows, maxLen int) error {
	if d.cache != nil && d.rows == rows && d.maxT >= maxLen {
		d.cache.Reset()
		return nil
	}
	c, err := d.m.NewCache(rows, maxLen)
	if err != nil {
		return err
	}
	d.cache, d.rows, d.maxT = c, rows, maxLen
	return nil
}

func (d *decoderLM) Forward(ids, pad []int, logits []float32) error {
	if d.cache == nil {
		return errors.New("infer: Forward before Begin")
	}
	if d.fast != nil {
		if len(ids) == d.rows && d.cache.Len() > 0 {
			return d.fast.step(d.cache, ids, pad, logits)
		}
		return d.fast.prefill(d.cache, ids, d.rows, pad, logits)
	}
	t := len(ids) / d.rows
	if t <= prefillChunk {
		in := &model.Inputs{B: d.rows, T: t, InputIDs: ids}
		in.AttentionMask, in.PositionIDs = d.padMask(pad, in.T)
		return d.run(in, logits)
	}
	// A long prompt goes through the cache in chunks: an inference graph
	// keeps every layer's activations until it is reset, so one pass over
	// T tokens would hold O(T·layers) of them. Each chunk gets a fresh
	// graph: an arena keeps its buffers by exact length, and the keys grow
	// with every chunk, so one arena would keep them all.
	for lo := 0; lo < t; lo += prefillChunk {
		d.g = autograd.NewGraph(false)
		hi := min(lo+prefillChunk, t)
		if cap(d.chunk) < d.rows*prefillChunk {
			d.chunk = make([]int, 0, d.rows*prefillChunk)
		}
		d.chunk = d.chunk[:0]
		for r := range d.rows {
			d.chunk = append(d.chunk, ids[r*t+lo:r*t+hi]...)
		}
		in := &model.Inputs{B: d.rows, T: hi - lo, InputIDs: d.chunk}
		in.AttentionMask, in.PositionIDs = d.padMask(pad, in.T)
		if err := d.run(in, logits); err != nil {
			return err
		}
	}
	return nil
}

// prefillChunk is the most prompt tokens per row one forward pass takes.
var prefillChunk = 128

// padMask builds the attention mask [rows, past+T] and position ids
// [rows, T] of left-padded rows (nil, nil without padding).
func (d *decoderLM) padMask(pad []int, t int) (mask, pos []int) {
	padded := false
	for _, p := range pad {
		padded = padded || p > 0
	}
	if !padded {
		return nil, nil
	}
	past := d.cache.Len()
	tk := past + t
	d.mask, d.pos = d.mask[:0], d.pos[:0]
	for r, p := range pad {
		for j := range tk {
			d.mask = append(d.mask, b2i(j >= p))
		}
		for i := range t {
			q := past + i - p
			if q < 0 {
				q = 1 // transformers' masked_fill(attention_mask == 0, 1)
			}
			d.pos = append(d.pos, q)
		}
		_ = r
	}
	return d.mask, d.pos
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// run executes one cached forward and copies the last-position logits.
func (d *decoderLM) run(in *model.Inputs, logits []float32) error {
	d.g.Reset()
	out, err := d.m.Forward(d.g, in, model.Options{Cache: d.cache, LastLogits: true})
	if err != nil {
		return err
	}
	return copyLogits(out, logits)
}

// copyLogits copies the last-position logits [rows, 1, V] into logits.
func copyLogits(out *model.Outputs, logits []float32) error {
	l := out.Get("logits")
	if l == nil {
		return errors.New("infer: the model returned no logits")
	}
	src := l.Contiguous().Data()
	if len(src) != len(logits) {
		return fmt.Errorf("infer: logits of %d values, want rows·V = %d", len(src), len(logits))
	}
	copy(logits, src)
	return nil
}

func (d *decoderLM) Reorder(src []int) error {
	if d.cache == nil {
		return errors.New("infer: Reorder before Begin")
	}
	if len(src) != d.rows {
		return fmt.Errorf("infer: reorder of %d rows, the cache holds %d", len(src), d.rows)
	}
	for _, s := range src {
		if s < 0 || s >= d.rows {
			return fmt.Errorf("infer: reorder source row %d outside [0, %d)", s, d.rows)
		}
	}
	for _, kv := range d.cache.Self {
		var err error
		if d.tmp, err = reorderRows(kv, src, d.tmp); err != nil {
			return err
		}
	}
	return nil
}

// reorderRows makes batch row i of a self-attention cache a copy of row
// src[i], copying the filled positions only; tmp is reusable scratch.
func reorderRows(kv *nn.KVCache, src []int, tmp []float32) ([]float32, error) {
	s := kv.K.Shape // [B, NKV, maxT, HS]
	if len(s) != 4 || s[0] != len(src) {
		return tmp, fmt.Errorf("infer: cache %v does not hold %d rows", s, len(src))
	}
	row, head, used := s[1]*s[2]*s[3], s[2]*s[3], kv.Len*s[3]
	for _, t := range []struct{ data []float32 }{{kv.K.Data()}, {kv.V.Data()}} {
		if cap(tmp) < len(t.data) {
			tmp = make([]float32, len(t.data))
		}
		tmp = tmp[:len(t.data)]
		for i, from := range src {
			for h := range s[1] {
				o := i*row + h*head
				copy(tmp[o:o+used], t.data[from*row+h*head:])
			}
		}
		for i := range src {
			for h := range s[1] {
				o := i*row + h*head
				copy(t.data[o:o+used], tmp[o:o+used])
			}
		}
	}
	return tmp, nil
}
