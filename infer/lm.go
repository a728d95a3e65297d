package infer

import (
	"errors"
	"fmt"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/model"
)

// cached is a model that decodes incrementally (GPT-2, the Marian/BART
// decoders).
type cached interface {
	model.Model
	NewCache(b, maxT int) (*model.Cache, error)
}

// decoderLM adapts a decoder-only model.Model with a KV cache to
// generate.Model: the model's own forward in an inference graph, reset per
// call, the LM head on the last position only, left padding turned into an
// attention mask and position ids counted from each row's first real token
// (transformers' prepare_inputs_for_generation).
type decoderLM struct {
	m     cached
	g     *autograd.Graph
	cache *model.Cache
	rows  int
	maxT  int
	v     int
	mask  []int // [rows, past+T] scratch
	chunk []int // [rows, PrefillChunk] prompt scratch
	pos   []int // [rows, T] scratch
	in    model.Inputs
	out   model.Outputs
}

// NewLM wraps a decoder-only model (GPT-2, BartForCausalLM) for package
// generate. A model loaded with model.WithDType(model.BF16) decodes with
// its bfloat16 weights.
func NewLM(m model.Model) (generate.Model, error) {
	c, ok := m.(cached)
	if !ok || m.Info().Vocab == 0 || IsEncoderDecoder(m) {
		return nil, fmt.Errorf("infer: %s (%s) cannot generate: not a decoder-only language model", m.Info().ModelType, m.Info().Architecture)
	}
	return &decoderLM{m: c, g: autograd.NewGraph(false), v: m.Info().Vocab}, nil
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
	// The mask grows with the cache: room for all of it, once.
	d.mask, d.pos = make([]int, 0, rows*maxLen), make([]int, 0, rows*maxLen)
	return nil
}

// PrefillChunk is the most prompt tokens per row one forward pass takes:
// a longer prompt goes through the cache in chunks, so the activations of
// a pass stay bounded (an inference forward keeps one layer's at a time:
// about 50 KB a token for GPT-2-small, 24 MB for 512 tokens) while each
// chunk is long enough for the GEMMs to run at full speed.
var PrefillChunk = 512

func (d *decoderLM) Forward(ids, pad []int, logits []float32) error {
	if d.cache == nil {
		return errors.New("infer: Forward before Begin")
	}
	t := len(ids) / d.rows
	if t <= PrefillChunk {
		return d.run(ids, t, pad, logits)
	}
	for lo := 0; lo < t; lo += PrefillChunk {
		hi := min(lo+PrefillChunk, t)
		d.chunk = d.chunk[:0]
		for r := range d.rows {
			d.chunk = append(d.chunk, ids[r*t+lo:r*t+hi]...)
		}
		if err := d.run(d.chunk, hi-lo, pad, logits); err != nil {
			return err
		}
	}
	return nil
}

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
	for _, p := range pad {
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
	}
	return d.mask, d.pos
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// run executes one cached forward of ids [rows, t] and copies the
// last-position logits.
func (d *decoderLM) run(ids []int, t int, pad []int, logits []float32) error {
	d.in = model.Inputs{B: d.rows, T: t, InputIDs: ids}
	d.in.AttentionMask, d.in.PositionIDs = d.padMask(pad, t)
	d.g.Reset()
	out, err := d.m.Forward(d.g, &d.in, model.Options{Cache: d.cache, LastLogits: true, Out: &d.out})
	if err != nil {
		return err
	}
	return copyLogits(out, logits)
}

// logitsData is a forward's logits, contiguous.
func logitsData(out *model.Outputs) ([]float32, error) {
	l := out.Get("logits")
	if l == nil {
		return nil, errors.New("infer: the model returned no logits")
	}
	return l.Contiguous().Data(), nil
}

// copyLogits copies the last-position logits [rows, 1, V] into logits.
func copyLogits(out *model.Outputs, logits []float32) error {
	src, err := logitsData(out)
	if err != nil {
		return err
	}
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
	return d.cache.Reorder(src)
}
