package generate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
)

// EarlyStopping is beam search's stop rule (transformers' early_stopping).
type EarlyStopping int

const (
	// StopHeuristic (false) stops a batch entry once it holds NumBeams
	// finished hypotheses and the best running beam, scored at the current
	// length, cannot beat the worst of them.
	StopHeuristic EarlyStopping = iota
	// StopEarly (true) stops as soon as NumBeams hypotheses are finished.
	StopEarly
	// StopNever ("never") stops only when no running beam can become
	// better, bounding the score at MaxLength when LengthPenalty > 0.
	StopNever
)

// Config says how to generate: the fields of transformers' GenerationConfig
// that this package implements, plus stop strings and the seed. Token ids
// that are absent are −1. DefaultConfig has transformers' defaults.
type Config struct {
	// MaxLength bounds the whole sequence (prompt included; for an
	// encoder-decoder the decoder sequence, start token included).
	// MaxNewTokens, when > 0, overrides it as prompt length + MaxNewTokens.
	MaxLength, MaxNewTokens int
	// MinLength / MinNewTokens forbid EOS before that total / new length.
	MinLength, MinNewTokens int

	// DoSample draws from the warped distribution; otherwise argmax
	// (NumBeams == 1) or beam search.
	DoSample          bool
	Temperature       float64 // divides the logits when sampling; 1 = off
	TopK              int     // keep the TopK largest logits when sampling; 0 = off
	TopP              float64 // keep the smallest top set of mass ≥ TopP when sampling; 1 = off
	RepetitionPenalty float64 // CTRL penalty on tokens already in the sequence; 1 = off
	NoRepeatNGramSize int     // ban tokens that would repeat an n-gram; 0 = off
	BadWordsIDs       [][]int // sequences that may never be generated

	NumBeams      int
	LengthPenalty float64 // beam score = sum log p / generated length^LengthPenalty
	EarlyStopping EarlyStopping
	// NumReturnSequences is how many sequences each prompt yields: that
	// many independent samples when sampling, the best that many
	// hypotheses of beam search (at most NumBeams); greedy decoding yields
	// one. 0 means 1.
	NumReturnSequences int

	BOSTokenID, PadTokenID, DecoderStartTokenID int
	EOSTokenIDs                                 []int
	// ForcedBOSTokenID is forced as the first generated token,
	// ForcedEOSTokenID as the last one when MaxLength is reached.
	ForcedBOSTokenID, ForcedEOSTokenID int

	// Seed makes sampling reproducible.
	Seed uint64
	// StopStrings end a row once its generated text contains one of them
	// (needs Generate's decode function).
	StopStrings []string
	// IgnoreEOS keeps generating after EOS (benchmarks).
	IgnoreEOS bool
}

// DefaultConfig returns transformers' GenerationConfig defaults: max_length
// 20, greedy, temperature 1, top_k 50, top_p 1, one beam, length penalty 1,
// no special tokens.
func DefaultConfig() Config {
	return Config{
		MaxLength: 20, Temperature: 1, TopK: 50, TopP: 1, RepetitionPenalty: 1,
		NumBeams: 1, LengthPenalty: 1, NumReturnSequences: 1,
		BOSTokenID: -1, PadTokenID: -1, DecoderStartTokenID: -1,
		ForcedBOSTokenID: -1, ForcedEOSTokenID: -1,
	}
}

// Greedy returns plain greedy decoding of n new tokens that stops on eos
// (none if eos is empty): argmax at every step, no processor at all.
func Greedy(n int, eos []int) Config {
	c := DefaultConfig()
	c.MaxNewTokens = n
	c.EOSTokenIDs = eos
	return c
}

// Validate checks the ranges of every field against a vocabulary of v ids.
func (c *Config) Validate(v int) error {
	switch {
	case c.MaxNewTokens < 0:
		return fmt.Errorf("generate: max new tokens %d < 0", c.MaxNewTokens)
	case c.MaxNewTokens == 0 && c.MaxLength <= 0:
		return fmt.Errorf("generate: neither max new tokens nor max length (%d) is positive", c.MaxLength)
	case c.DoSample && !(c.Temperature > 0) || math.IsInf(c.Temperature, 0):
		return fmt.Errorf("generate: temperature %g must be positive and finite when sampling", c.Temperature)
	case c.TopK < 0:
		return fmt.Errorf("generate: top-k %d < 0", c.TopK)
	case !(c.TopP > 0 && c.TopP <= 1):
		return fmt.Errorf("generate: top-p %g outside (0, 1]", c.TopP)
	case !(c.RepetitionPenalty > 0) || math.IsInf(c.RepetitionPenalty, 0):
		return fmt.Errorf("generate: repetition penalty %g must be positive and finite", c.RepetitionPenalty)
	case c.NoRepeatNGramSize < 0:
		return fmt.Errorf("generate: no-repeat n-gram size %d < 0", c.NoRepeatNGramSize)
	case c.NumBeams < 1:
		return fmt.Errorf("generate: num beams %d < 1", c.NumBeams)
	case c.NumBeams > 1 && c.DoSample:
		return errors.New("generate: beam sampling is not supported (num beams > 1 with sampling)")
	case c.NumReturnSequences < 0:
		return fmt.Errorf("generate: num return sequences %d < 0", c.NumReturnSequences)
	case c.NumReturnSequences > 1 && c.NumBeams == 1 && !c.DoSample:
		return fmt.Errorf("generate: greedy decoding yields one sequence per prompt, not %d (num return sequences > 1 needs sampling or beam search)", c.NumReturnSequences)
	case c.NumReturnSequences > c.NumBeams && c.NumBeams > 1:
		return fmt.Errorf("generate: num return sequences %d > num beams %d", c.NumReturnSequences, c.NumBeams)
	case math.IsNaN(c.LengthPenalty) || math.IsInf(c.LengthPenalty, 0):
		return fmt.Errorf("generate: length penalty %g", c.LengthPenalty)
	}
	check := func(what string, id int, allowNone bool) error {
		if (id == -1 && allowNone) || (id >= 0 && id < v) {
			return nil
		}
		return fmt.Errorf("generate: %s %d outside the vocabulary [0, %d)", what, id, v)
	}
	for _, e := range []struct {
		what string
		id   int
	}{{"bos token id", c.BOSTokenID}, {"pad token id", c.PadTokenID}, {"decoder start token id", c.DecoderStartTokenID},
		{"forced bos token id", c.ForcedBOSTokenID}, {"forced eos token id", c.ForcedEOSTokenID}} {
		if err := check(e.what, e.id, true); err != nil {
			return err
		}
	}
	for _, id := range c.EOSTokenIDs {
		if err := check("eos token id", id, false); err != nil {
			return err
		}
	}
	for i, w := range c.BadWordsIDs {
		if len(w) == 0 {
			return fmt.Errorf("generate: bad words entry %d is empty", i)
		}
		for _, id := range w {
			if err := check(fmt.Sprintf("bad words entry %d: id", i), id, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// returns is the number of sequences per prompt (NumReturnSequences,
// at least 1).
func (c *Config) returns() int { return max(1, c.NumReturnSequences) }

// maxLen is the total length limit for a prompt of promptLen tokens.
func (c *Config) maxLen(promptLen int) int {
	if c.MaxNewTokens > 0 {
		return promptLen + c.MaxNewTokens
	}
	return c.MaxLength
}

// minLen is the total length before which EOS is banned.
func (c *Config) minLen(promptLen int) int {
	m := c.MinLength
	if c.MinNewTokens > 0 && promptLen+c.MinNewTokens > m {
		m = promptLen + c.MinNewTokens
	}
	return m
}

func (c *Config) isEOS(id int) bool {
	for _, e := range c.EOSTokenIDs {
		if e == id {
			return true
		}
	}
	return false
}

// hfConfig is the subset of generation_config.json / config.json keys read.
type hfConfig struct {
	MaxLength           *int            `json:"max_length"`
	MaxNewTokens        *int            `json:"max_new_tokens"`
	MinLength           *int            `json:"min_length"`
	MinNewTokens        *int            `json:"min_new_tokens"`
	DoSample            *bool           `json:"do_sample"`
	Temperature         *float64        `json:"temperature"`
	TopK                *int            `json:"top_k"`
	TopP                *float64        `json:"top_p"`
	RepetitionPenalty   *float64        `json:"repetition_penalty"`
	NoRepeatNGramSize   *int            `json:"no_repeat_ngram_size"`
	BadWordsIDs         [][]int         `json:"bad_words_ids"`
	NumBeams            *int            `json:"num_beams"`
	NumReturnSequences  *int            `json:"num_return_sequences"`
	LengthPenalty       *float64        `json:"length_penalty"`
	EarlyStopping       json.RawMessage `json:"early_stopping"`
	BOSTokenID          *int            `json:"bos_token_id"`
	PadTokenID          *int            `json:"pad_token_id"`
	DecoderStartTokenID *int            `json:"decoder_start_token_id"`
	EOSTokenID          json.RawMessage `json:"eos_token_id"`
	ForcedBOSTokenID    *int            `json:"forced_bos_token_id"`
	ForcedEOSTokenID    *int            `json:"forced_eos_token_id"`
}

// LoadConfig reads the generation settings of a model directory as
// transformers does: generation_config.json when it exists, otherwise the
// generation keys of config.json, over DefaultConfig. A directory with
// neither file gives DefaultConfig.
func LoadConfig(dir string) (Config, error) {
	c := DefaultConfig()
	for _, name := range []string{"generation_config.json", "config.json"} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return c, fmt.Errorf("generate: %w", err)
		}
		if err := c.apply(data); err != nil {
			return c, fmt.Errorf("generate: %s: %w", path, err)
		}
		return c, nil
	}
	return c, nil
}

// unsupported are generation_config.json keys this package does not
// implement, with the value that means "off"; another value is logged.
var unsupported = map[string]string{
	"num_beam_groups": "1", "diversity_penalty": "0.0",
	"typical_p": "1.0", "epsilon_cutoff": "0.0", "eta_cutoff": "0.0", "encoder_repetition_penalty": "1.0",
	"encoder_no_repeat_ngram_size": "0", "exponential_decay_length_penalty": "null",
	"suppress_tokens": "null", "begin_suppress_tokens": "null", "forced_decoder_ids": "null",
	"sequence_bias": "null", "force_words_ids": "null", "constraints": "null", "renormalize_logits": "false",
	"penalty_alpha": "null", "guidance_scale": "null",
}

func (c *Config) apply(data []byte) error {
	var h hfConfig
	if err := json.Unmarshal(data, &h); err != nil {
		return err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	for k, off := range unsupported {
		v, ok := raw[k]
		if !ok {
			continue
		}
		var got, want any
		if json.Unmarshal(v, &got) == nil && json.Unmarshal([]byte(off), &want) == nil && fmt.Sprint(got) == fmt.Sprint(want) {
			continue
		}
		slog.Warn("generate: setting not implemented, ignored", "key", k, "value", string(v))
	}
	setInt := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	setF := func(dst *float64, src *float64) {
		if src != nil {
			*dst = *src
		}
	}
	setInt(&c.MaxLength, h.MaxLength)
	setInt(&c.MaxNewTokens, h.MaxNewTokens)
	setInt(&c.MinLength, h.MinLength)
	setInt(&c.MinNewTokens, h.MinNewTokens)
	if h.DoSample != nil {
		c.DoSample = *h.DoSample
	}
	setF(&c.Temperature, h.Temperature)
	setInt(&c.TopK, h.TopK)
	setF(&c.TopP, h.TopP)
	setF(&c.RepetitionPenalty, h.RepetitionPenalty)
	setInt(&c.NoRepeatNGramSize, h.NoRepeatNGramSize)
	if h.BadWordsIDs != nil {
		c.BadWordsIDs = h.BadWordsIDs
	}
	setInt(&c.NumBeams, h.NumBeams)
	setInt(&c.NumReturnSequences, h.NumReturnSequences)
	setF(&c.LengthPenalty, h.LengthPenalty)
	setInt(&c.BOSTokenID, h.BOSTokenID)
	setInt(&c.PadTokenID, h.PadTokenID)
	setInt(&c.DecoderStartTokenID, h.DecoderStartTokenID)
	setInt(&c.ForcedBOSTokenID, h.ForcedBOSTokenID)
	setInt(&c.ForcedEOSTokenID, h.ForcedEOSTokenID)
	if es := bytes.TrimSpace(h.EarlyStopping); len(es) > 0 && string(es) != "null" {
		switch string(es) {
		case "true":
			c.EarlyStopping = StopEarly
		case "false":
			c.EarlyStopping = StopHeuristic
		case `"never"`:
			c.EarlyStopping = StopNever
		default:
			return fmt.Errorf("early_stopping %s: want true, false or \"never\"", es)
		}
	}
	if e := bytes.TrimSpace(h.EOSTokenID); len(e) > 0 && string(e) != "null" {
		var one int
		if err := json.Unmarshal(e, &one); err == nil {
			c.EOSTokenIDs = []int{one}
		} else if err := json.Unmarshal(e, &c.EOSTokenIDs); err != nil {
			return fmt.Errorf("eos_token_id %s: want an id or a list of ids", e)
		}
	}
	return nil
}
