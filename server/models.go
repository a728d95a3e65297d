package server

import (
	"errors"
	"fmt"
	"sync"

	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
)

// loaded is one model as the server holds it: the weights, loaded once
// and read by every request (inference graphs only read them; the one
// lazy write, the Conv1D transposition, is behind the model's mutex),
// the tokenizer (BPE keeps its per-call scratch in a sync.Pool; the
// others are read-only after loading), and a pool of generators, each
// with its own KV cache and decode scratch, so that requests never share
// decoding state.
type loaded struct {
	name    string
	dir     string
	created int64
	task    *infer.Task
	gen     bool // decoder-only or encoder-decoder: can generate
	s2s     bool
	bos     int // the generation config's BOS id (−1: none)
	// decoderStart is an encoder-decoder's decoder_start_token_id.
	decoderStart int
	images       *infer.ImageProcessor // image classifiers (ViT)

	// batch shares decode steps among a decoder-only model's concurrent
	// generations (nil for other models).
	batch *infer.Batcher

	mu   sync.Mutex
	free []*infer.Generator
}

// loadModel reads a checkpoint directory; the generations of a
// decoder-only model of batchMinParams parameters or more share decode
// steps in batches of up to batchRows rows (0: each decodes alone).
func loadModel(name, dir string, created int64, batchRows int, opts ...model.Option) (*loaded, error) {
	m, err := model.Load(dir, opts...)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	l := &loaded{name: name, dir: dir, created: created, task: &infer.Task{Model: m, Dir: dir}}
	if m.Info().Vocab > 0 {
		switch tok, err := tokenizer.Load(dir); {
		case err == nil:
			l.task.Tokenizer = tok
		case !errors.Is(err, tokenizer.ErrNoTokenizer):
			m.Close()
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
	}
	if m.Info().Vocab == 0 {
		if l.images, err = infer.LoadImageProcessor(dir, m); err != nil {
			m.Close()
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
	}
	l.s2s = infer.IsEncoderDecoder(m)
	if _, err := infer.NewLM(m); err == nil || l.s2s {
		g, err := infer.NewGenerator(m, dir)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
		l.gen, l.bos, l.decoderStart = true, g.Config.BOSTokenID, g.Config.DecoderStartTokenID
		if batchRows > 0 && m.Info().Params >= batchMinParams && infer.Batchable(m) == nil {
			if l.batch, err = infer.NewBatcher(m, batchRows, 0, g.Config.PadToken()); err != nil {
				m.Close()
				return nil, fmt.Errorf("model %s: %w", name, err)
			}
			if err := g.Share(l.batch); err != nil {
				m.Close()
				return nil, fmt.Errorf("model %s: %w", name, err)
			}
		}
		l.free = append(l.free, g)
	}
	return l, nil
}

// generator takes a generator from the pool (or makes one: the pool
// grows to the number of concurrent requests); put returns it.
func (l *loaded) generator() (*infer.Generator, error) {
	l.mu.Lock()
	if n := len(l.free); n > 0 {
		g := l.free[n-1]
		l.free = l.free[:n-1]
		l.mu.Unlock()
		return g, nil
	}
	l.mu.Unlock()
	g, err := infer.NewGenerator(l.task.Model, l.dir)
	if err == nil && l.batch != nil {
		err = g.Share(l.batch)
	}
	return g, err
}

// batchMinParams is BatchMinParams (tests lower it to batch their tiny
// models).
var batchMinParams int64 = BatchMinParams

func (l *loaded) put(g *infer.Generator) {
	l.mu.Lock()
	l.free = append(l.free, g)
	l.mu.Unlock()
}

// emptyPrompt is what an empty text prompt becomes: the BOS token of a
// decoder-only model that has one (nil: an empty prompt is an error).
func (l *loaded) emptyPrompt() []int {
	if !l.gen || l.s2s || l.bos < 0 {
		return nil
	}
	return []int{l.bos}
}

// tokenizer returns the model's tokenizer or a 400 naming its absence.
func (l *loaded) tokenizer() (tokenizer.Tokenizer, *apiError) {
	if l.task.Tokenizer == nil {
		return nil, badRequest("model %s has no tokenizer: it cannot take text", l.name)
	}
	return l.task.Tokenizer, nil
}

func (l *loaded) close() error { return l.task.Model.Close() }
