// Package tokenizer turns text into token ids and back, exactly as the
// reference implementations do for the model families attn runs:
//
//   - byte-level BPE as GPT-2 defines it (BPE): vocab.json + merges.txt,
//     OpenAI's encoder.json + vocab.bpe, or tokenizer.json;
//   - WordPiece as BERT defines it (WordPiece): vocab.txt or tokenizer.json;
//   - SentencePiece Unigram and BPE models (SentencePiece), read from .model
//     or .spm protobuf files, and Marian's pair of .spm files plus vocab.json
//     (Marian);
//   - a character-level tokenizer for tiny models (Char), and training of a
//     byte-level BPE from a corpus (TrainBPE).
//
// Load detects which of these a model directory holds. Every tokenizer is
// safe for concurrent use; EncodeBatch spreads a batch over all cores.
//
// The package deliberately has no regular expressions: the GPT-2
// pre-tokenizer is a hand-written scanner over Unicode categories (its
// pattern needs a look-ahead Go's regexp cannot express), which is also what
// makes it fast.
package tokenizer

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Tokenizer is what every tokenizer in this package provides.
type Tokenizer interface {
	// Encode returns the ids of text. With addSpecial the special tokens
	// the model expects around a sequence are added, as Hugging Face's
	// add_special_tokens=True adds them (BERT: [CLS] ... [SEP]; GPT-2: none;
	// Marian: ... </s>).
	Encode(text string, addSpecial bool) ([]int, error)
	// Decode turns ids back into text; skipSpecial drops special tokens.
	Decode(ids []int, skipSpecial bool) (string, error)
	// VocabSize is the number of ids (the largest id plus one).
	VocabSize() int
	// TokenToID returns the id of a token string as the vocabulary spells it.
	TokenToID(token string) (int, bool)
	// IDToToken returns the vocabulary spelling of an id.
	IDToToken(id int) (string, bool)
}

// Encoding is the model input for one sequence (or a pair), the fields named
// as Hugging Face names them. All slices have the same length T.
type Encoding struct {
	IDs           []int    // input_ids [T]
	Tokens        []string // the vocabulary spelling of each id [T]
	TypeIDs       []int    // token_type_ids [T]: 0 for the first sequence, 1 for the second
	AttentionMask []int    // attention_mask [T]: 1 for real tokens, 0 for padding
}

// maxIDGap bounds the holes a vocabulary may leave in its id range: ids must
// stay below the number of tokens plus maxIDGap, so a corrupt file cannot
// make a loader allocate gigabytes for a few tokens.
const maxIDGap = 1 << 16

func checkIDs(what string, maxID, n int) error {
	if maxID >= n+maxIDGap {
		return fmt.Errorf("%s: largest id %d is far beyond the %d tokens", what, maxID, n)
	}
	return nil
}

// invertVocab turns spelling -> id into id -> spelling ("" for unused ids),
// refusing negative, shared and implausibly large ids.
func invertVocab(what string, vocab map[string]int) ([]string, error) {
	maxID := -1
	for s, id := range vocab {
		if id < 0 || id > math.MaxInt32 {
			return nil, fmt.Errorf("%s: token %q has id %d outside [0, 2^31)", what, s, id)
		}
		maxID = max(maxID, id)
	}
	if err := checkIDs(what, maxID, len(vocab)); err != nil {
		return nil, err
	}
	tokens := make([]string, maxID+1)
	for s, id := range vocab {
		switch {
		case s == "":
			return nil, fmt.Errorf("%s: id %d has an empty spelling", what, id)
		case tokens[id] != "":
			return nil, fmt.Errorf("%s: id %d is given to both %q and %q", what, id, tokens[id], s)
		}
		tokens[id] = s
	}
	return tokens, nil
}

// ErrUnknownID is wrapped by Decode when an id is outside the vocabulary.
var ErrUnknownID = errors.New("token id outside the vocabulary")

// Tokens spells ids with tok's vocabulary; an id without a spelling is an
// error naming its position.
func Tokens(tok Tokenizer, ids []int) ([]string, error) {
	out := make([]string, len(ids))
	for i, id := range ids {
		s, ok := tok.IDToToken(id)
		if !ok {
			return nil, fmt.Errorf("position %d: id %d: %w", i, id, ErrUnknownID)
		}
		out[i] = s
	}
	return out, nil
}

// EncodeBatch encodes every text with tok, spreading the texts over
// GOMAXPROCS goroutines. The result is in input order.
func EncodeBatch(tok Tokenizer, texts []string, addSpecial bool) ([][]int, error) {
	out := make([][]int, len(texts))
	err := forEach(len(texts), func(i int) (err error) {
		out[i], err = tok.Encode(texts[i], addSpecial)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EncodeInputBatch is EncodeInput over a batch, in parallel: firsts[i] with
// seconds[i] when seconds is non-nil (then of the same length). With
// padLongest every encoding is padded to the longest of the batch (and at
// least opt.PadTo), so that the batch stacks into [B, T] tensors.
func EncodeInputBatch(tok Tokenizer, firsts, seconds []string, opt EncodeOptions, padLongest bool) ([]Encoding, error) {
	if seconds != nil && len(seconds) != len(firsts) {
		return nil, fmt.Errorf("encode batch: %d first texts but %d second texts", len(firsts), len(seconds))
	}
	out := make([]Encoding, len(firsts))
	err := forEach(len(firsts), func(i int) (err error) {
		var second *string
		if seconds != nil {
			second = &seconds[i]
		}
		out[i], err = EncodeInput(tok, firsts[i], second, opt)
		return err
	})
	if err != nil {
		return nil, err
	}
	if padLongest && len(out) > 0 {
		T := opt.PadTo
		for _, e := range out {
			T = max(T, len(e.IDs))
		}
		t, ok := tok.(templated)
		padID, padToken := -1, ""
		if ok {
			_, padID, padToken = t.layout()
		}
		for i := range out {
			if len(out[i].IDs) < T && padID < 0 {
				return nil, fmt.Errorf("encode batch: padding asked for, but the tokenizer has no pad token")
			}
			out[i].Pad(T, padID, padToken)
		}
	}
	return out, nil
}

// forEach calls fn(i) for i in [0, n) on GOMAXPROCS goroutines, handing out
// indices one at a time (texts differ in length, so static chunks would
// balance badly). The first error, by index, is returned naming its item.
func forEach(n int, fn func(i int) error) error {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				errs[i] = fn(i)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("text %d: %w", i, err)
		}
	}
	return nil
}
