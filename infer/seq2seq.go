package infer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/model"
)

// encoderDecoder is a model with an encoder whose output a cached decoder
// attends to (Marian, BART).
type encoderDecoder interface {
	cached
	Encode(g *autograd.Graph, in *model.Inputs, opt model.Options) (*model.Encoded, *model.Outputs, error)
}

// IsEncoderDecoder reports whether m generates from an encoder's output
// (use NewSeq2Seq) rather than from a prompt (NewLM).
func IsEncoderDecoder(m model.Model) bool {
	_, ok := m.(encoderDecoder)
	return ok && !strings.HasSuffix(m.Info().Architecture, "ForCausalLM")
}

// seq2seqLM adapts an encoder-decoder to generate.Seq2Seq: Encode keeps the
// encoder output; the cache's cross-attention K/V are computed from it by
// the first decoder call after Begin and reused by every later one.
type seq2seqLM struct {
	decoderLM
	e     encoderDecoder
	enc   *model.Encoded
	padID int
}

// NewSeq2Seq wraps an encoder-decoder (Marian, BART) for package generate.
func NewSeq2Seq(m model.Model) (generate.Seq2Seq, error) {
	e, ok := m.(encoderDecoder)
	if !ok || !IsEncoderDecoder(m) {
		return nil, fmt.Errorf("infer: %s (%s) is not an encoder-decoder", m.Info().ModelType, m.Info().Architecture)
	}
	s := &seq2seqLM{decoderLM: decoderLM{m: e, g: autograd.NewGraph(false), v: m.Info().Vocab}, e: e}
	if p, ok := m.Config().Int("pad_token_id"); ok && p >= 0 && p < s.v {
		s.padID = p
	}
	return s, nil
}

func (s *seq2seqLM) Begin(rows, maxLen int) error {
	s.enc = nil
	return s.decoderLM.Begin(rows, maxLen)
}

// Encode runs the encoder once per distinct source (beam search repeats
// each source once per beam), right-padded with the pad id and the
// padding masked; every decoder row then attends to its source's output,
// whose cross-attention keys and values the first decoder call computes
// once per source.
func (s *seq2seqLM) Encode(src [][]int) error {
	if s.cache == nil {
		return errors.New("infer: Encode before Begin")
	}
	if len(src) != s.rows {
		return fmt.Errorf("infer: %d sources for a cache of %d rows", len(src), s.rows)
	}
	var uniq [][]int
	rows := make([]int, len(src))
	for r, x := range src {
		i := slices.IndexFunc(uniq, func(u []int) bool { return slices.Equal(u, x) })
		if i < 0 {
			i = len(uniq)
			uniq = append(uniq, x)
		}
		rows[r] = i
	}
	t := 0
	for _, x := range uniq {
		t = max(t, len(x))
	}
	in := &model.Inputs{B: len(uniq), T: t, InputIDs: make([]int, 0, len(uniq)*t)}
	padded := false
	for _, x := range uniq {
		padded = padded || len(x) < t
	}
	if padded {
		in.AttentionMask = make([]int, 0, len(uniq)*t)
	}
	for _, x := range uniq {
		in.InputIDs = append(in.InputIDs, x...)
		for range t - len(x) {
			in.InputIDs = append(in.InputIDs, s.padID)
		}
		if padded {
			for j := range t {
				in.AttentionMask = append(in.AttentionMask, b2i(j < len(x)))
			}
		}
	}
	s.g.Reset()
	enc, _, err := s.e.Encode(s.g, in, model.Options{})
	if err != nil {
		return err
	}
	if len(uniq) < len(src) {
		enc.Rows = rows
	}
	s.enc = enc
	return nil
}

// Forward decodes: the decoder prompt has no padding.
func (s *seq2seqLM) Forward(ids, pad []int, logits []float32) error {
	if s.enc == nil {
		return errors.New("infer: decoding before Encode")
	}
	s.in = model.Inputs{B: s.rows, TDec: len(ids) / s.rows, DecoderInputIDs: ids}
	s.g.Reset()
	out, err := s.m.Forward(s.g, &s.in, model.Options{Cache: s.cache, Encoder: s.enc, LastLogits: true, Out: &s.out})
	if err != nil {
		return err
	}
	return copyLogits(out, logits)
}
