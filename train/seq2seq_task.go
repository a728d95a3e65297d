package train

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
)

// TaskSeq2Seq trains a fresh Marian encoder-decoder on sentence pairs
// (source<TAB>target lines) with teacher forcing.
const TaskSeq2Seq = "seq2seq"

// seq2seqTask lays out a Marian vocabulary around a char or BPE
// tokenizer of n ids: 0 is </s> (Marian's eos), tokenizer id t is t+1,
// and n+1 is <pad>, which is also decoder_start_token_id (Marian's
// layout, as model.Init writes it). Sources end in </s>; labels are the
// target then </s>, padded with -100; the decoder reads them shifted
// right (LMLoss's Seq2SeqLM rule).
type seq2seqTask struct {
	cfg        *Config
	tok        tokenizer.Tokenizer
	train, val [][2][]int // model ids: source+eos, target+eos
	eos, pad   int
	maxTarget  int
}

func (s *seq2seqTask) head() (string, string, int) { return "marian", "MarianMTModel", 0 }
func (s *seq2seqTask) vocab() int                  { return s.tok.VocabSize() + 2 }
func (s *seq2seqTask) tokens() int                 { return s.cfg.BatchSize * s.cfg.BlockSize }
func (s *seq2seqTask) accuracy() bool              { return true }
func (s *seq2seqTask) valBatches() int {
	return (len(s.val) + s.cfg.BatchSize - 1) / s.cfg.BatchSize
}

func newSeq2SeqTask(cfg *Config, ex []Example, tok tokenizer.Tokenizer) (*seq2seqTask, error) {
	s := &seq2seqTask{cfg: cfg, tok: tok, eos: 0, pad: tok.VocabSize() + 1}
	enc := func(text string) ([]int, error) {
		ids, err := tok.Encode(text, false)
		if err != nil {
			return nil, fmt.Errorf("train: %q: %w", text, err)
		}
		if len(ids)+1 > cfg.BlockSize {
			ids = ids[:cfg.BlockSize-1]
		}
		for i := range ids {
			ids[i]++
		}
		return append(ids, s.eos), nil
	}
	trainEx, valEx := SplitExamples(ex, cfg.Seed, cfg.ValFraction)
	for _, part := range []struct {
		ex  []Example
		dst *[][2][]int
	}{{trainEx, &s.train}, {valEx, &s.val}} {
		for _, e := range part.ex {
			src, err := enc(e.Text)
			if err != nil {
				return nil, err
			}
			tgt, err := enc(e.Label)
			if err != nil {
				return nil, err
			}
			s.maxTarget = max(s.maxTarget, len(tgt))
			*part.dst = append(*part.dst, [2][]int{src, tgt})
		}
	}
	return s, nil
}

func (s *seq2seqTask) batch(pairs [][2][]int) (*model.Inputs, []int) {
	b := len(pairs)
	ts, tt := 1, 1
	for _, p := range pairs {
		ts, tt = max(ts, len(p[0])), max(tt, len(p[1]))
	}
	src, mask, dec := make([]int, b*ts), make([]int, b*ts), make([]int, b*tt)
	tg := make([]int, b*tt)
	for r, p := range pairs {
		for j := 0; j < ts; j++ {
			src[r*ts+j], mask[r*ts+j] = s.pad, 0
			if j < len(p[0]) {
				src[r*ts+j], mask[r*ts+j] = p[0][j], 1
			}
		}
		for j := 0; j < tt; j++ {
			tg[r*tt+j] = IgnoreIndex
			if j < len(p[1]) {
				tg[r*tt+j] = p[1][j]
			}
			dec[r*tt+j] = s.pad // decoder_start_token_id, then the labels shifted right (-100 read as pad)
			if j > 0 && j-1 < len(p[1]) {
				dec[r*tt+j] = p[1][j-1]
			}
		}
	}
	return &model.Inputs{B: b, T: ts, InputIDs: src, AttentionMask: mask, TDec: tt, DecoderInputIDs: dec}, tg
}

func (s *seq2seqTask) trainBatch(rng *rand.Rand) (*model.Inputs, []int) {
	pairs := make([][2][]int, s.cfg.BatchSize)
	for i := range pairs {
		pairs[i] = s.train[rng.IntN(len(s.train))]
	}
	return s.batch(pairs)
}

func (s *seq2seqTask) valBatch(_ *rand.Rand, i int) (*model.Inputs, []int) {
	lo := i * s.cfg.BatchSize
	return s.batch(s.val[lo:min(lo+s.cfg.BatchSize, len(s.val))])
}

// exactMatch decodes every validation source greedily and returns the
// fraction whose output equals the target exactly.
func (s *seq2seqTask) exactMatch(m model.Model) (float64, error) {
	gm, err := infer.NewSeq2Seq(m)
	if err != nil {
		return 0, err
	}
	gc := generate.DefaultConfig()
	gc.MaxNewTokens, gc.EOSTokenIDs = s.maxTarget+1, []int{s.eos}
	gc.DecoderStartTokenID, gc.PadTokenID = s.pad, s.pad
	right := 0
	for lo := 0; lo < len(s.val); lo += s.cfg.BatchSize {
		part := s.val[lo:min(lo+s.cfg.BatchSize, len(s.val))]
		srcs := make([][]int, len(part))
		for i, p := range part {
			srcs[i] = p[0]
		}
		res, err := generate.GenerateSeq2Seq(gm, srcs, gc, nil)
		if err != nil {
			return 0, fmt.Errorf("train: exact match: %w", err)
		}
		for i, p := range part {
			if slices.Equal(res.IDs[i], p[1]) {
				right++
			}
		}
	}
	return float64(right) / float64(len(s.val)), nil
}
