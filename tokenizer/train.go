package tokenizer

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// TrainOptions configures TrainBPE.
type TrainOptions struct {
	// VocabSize is the size of the trained vocabulary: the special tokens,
	// the 256 byte tokens, and one token per merge. At least 256 + specials.
	VocabSize int
	// MinFrequency: a pair seen fewer times is never merged (default 2).
	MinFrequency int
	// SpecialTokens get the first ids, in order (e.g. "<|endoftext|>").
	SpecialTokens []string
}

// trainBlock is how much of the corpus one counting task reads.
const trainBlock = 1 << 20

// TrainBPE learns a byte-level BPE from the corpus read from r, as Hugging
// Face's BpeTrainer does over the ByteLevel pre-tokenizer: the corpus is
// split into GPT-2 pre-tokens (counted in parallel, block by block, as it
// streams in), every pre-token starts as its bytes, and the most frequent
// adjacent pair (the smaller ids first on ties) is merged into a new token
// until the vocabulary is full or no pair occurs MinFrequency times.
func TrainBPE(r io.Reader, opt TrainOptions) (*BPE, error) {
	if opt.MinFrequency <= 0 {
		opt.MinFrequency = 2
	}
	if opt.VocabSize < 256+len(opt.SpecialTokens) {
		return nil, fmt.Errorf("train bpe: vocab size %d is below the %d byte and special tokens", opt.VocabSize, 256+len(opt.SpecialTokens))
	}
	if opt.VocabSize > 1<<22 {
		return nil, fmt.Errorf("train bpe: vocab size %d is too large", opt.VocabSize)
	}
	counts, err := countWords(r)
	if err != nil {
		return nil, err
	}

	// Vocabulary: special tokens, then the bytes in byte order.
	var tokens []string
	vocab := map[string]int{}
	for _, s := range opt.SpecialTokens {
		if _, dup := vocab[s]; dup || s == "" {
			return nil, fmt.Errorf("train bpe: special token %q is empty or repeated", s)
		}
		vocab[s] = len(tokens)
		tokens = append(tokens, s)
	}
	var byteID [256]int32
	for c := range 256 {
		s := string(byteToRune[c])
		if _, clash := vocab[s]; clash {
			return nil, fmt.Errorf("train bpe: special token %q spells a byte", s)
		}
		byteID[c] = int32(len(tokens))
		vocab[s] = len(tokens)
		tokens = append(tokens, s)
	}

	// Words in a fixed order, so training is deterministic.
	keys := make([]string, 0, len(counts))
	for w := range counts {
		keys = append(keys, w)
	}
	sort.Strings(keys)
	words := make([][]int32, len(keys))
	freq := make([]int, len(keys))
	for i, k := range keys {
		freq[i] = counts[k]
		words[i] = make([]int32, len(k))
		for j := 0; j < len(k); j++ {
			words[i][j] = byteID[k[j]]
		}
	}

	pairCount := map[uint64]int{}
	where := map[uint64]map[int32]struct{}{}
	addPair := func(key uint64, w int32, n int) {
		pairCount[key] += n
		if n > 0 {
			s := where[key]
			if s == nil {
				s = map[int32]struct{}{}
				where[key] = s
			}
			s[w] = struct{}{}
		}
	}
	for wi, w := range words {
		for j := 0; j+1 < len(w); j++ {
			addPair(pairKey(w[j], w[j+1]), int32(wi), freq[wi])
		}
	}
	var h []pairEntry
	for k, c := range pairCount {
		heapPush(&h, pairEntry{key: k, count: c}, pairFirst)
	}

	var merges [][2]string
	for len(tokens) < opt.VocabSize && len(h) > 0 {
		top := heapPop(&h, pairFirst)
		if c := pairCount[top.key]; c != top.count { // stale: requeue with the true count
			if c > 0 {
				heapPush(&h, pairEntry{key: top.key, count: c}, pairFirst)
			}
			continue
		}
		if top.count < opt.MinFrequency {
			break
		}
		l, rr := int32(top.key>>32), int32(uint32(top.key))
		merged := tokens[l] + tokens[rr]
		newID, exists := vocab[merged]
		if !exists {
			newID = len(tokens)
			vocab[merged] = newID
			tokens = append(tokens, merged)
		}
		merges = append(merges, [2]string{tokens[l], tokens[rr]})
		touched := map[uint64]bool{}
		for wi := range where[top.key] {
			w := words[wi]
			f := freq[wi]
			out := w[:0:0]
			for j := 0; j < len(w); j++ {
				if j+1 < len(w) && w[j] == l && w[j+1] == rr {
					out = append(out, int32(newID))
					j++
					continue
				}
				out = append(out, w[j])
			}
			for j := 0; j+1 < len(w); j++ {
				k := pairKey(w[j], w[j+1])
				pairCount[k] -= f
				touched[k] = true
			}
			for j := 0; j+1 < len(out); j++ {
				k := pairKey(out[j], out[j+1])
				addPair(k, wi, f)
				touched[k] = true
			}
			words[wi] = out
		}
		delete(where, top.key)
		delete(pairCount, top.key)
		for k := range touched {
			if c := pairCount[k]; c > 0 && k != top.key {
				heapPush(&h, pairEntry{key: k, count: c}, pairFirst)
			}
		}
	}
	b, err := NewBPE(vocab, merges)
	if err != nil {
		return nil, fmt.Errorf("train bpe: %w", err)
	}
	var added []addedToken
	for _, s := range opt.SpecialTokens {
		added = append(added, addedToken{Content: s, ID: vocab[s], Special: true})
	}
	if err := b.setAdded(added); err != nil {
		return nil, fmt.Errorf("train bpe: %w", err)
	}
	return b, nil
}

func pairKey(l, r int32) uint64 { return uint64(l)<<32 | uint64(uint32(r)) }

type pairEntry struct {
	key   uint64
	count int
}

// pairFirst orders pairs by count, highest first, then the smaller pair.
func pairFirst(a, b *pairEntry) bool {
	return a.count > b.count || (a.count == b.count && a.key < b.key)
}

// countWords counts GPT-2 pre-tokens in r. Blocks of about trainBlock bytes
// are cut where a pre-token boundary is certain (a lone "\n" between two
// non-space bytes) and counted by GOMAXPROCS workers.
func countWords(r io.Reader) (map[string]int, error) {
	blocks := make(chan []byte, runtime.GOMAXPROCS(0))
	results := make(chan map[string]int, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := map[string]int{}
			for b := range blocks {
				s := string(b)
				for i := 0; i < len(s); {
					j := gpt2Next(s, i)
					if _, seen := m[s[i:j]]; seen {
						m[s[i:j]]++
					} else {
						m[strings.Clone(s[i:j])] = 1 // a key must not pin its whole block
					}
					i = j
				}
			}
			results <- m
		}()
	}
	var readErr error
	go func() {
		defer close(blocks)
		var pending []byte
		buf := make([]byte, trainBlock)
		for {
			n, err := io.ReadFull(r, buf)
			pending = append(pending, buf[:n]...)
			eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
			if err != nil && !eof {
				readErr = fmt.Errorf("train bpe: reading corpus: %w", err)
				return
			}
			if eof {
				if len(pending) > 0 {
					blocks <- pending
				}
				return
			}
			if cut := safeCut(pending); cut > 0 {
				blocks <- pending[:cut:cut]
				pending = append([]byte(nil), pending[cut:]...)
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	total := map[string]int{}
	for m := range results {
		for k, v := range m {
			total[k] += v
		}
	}
	if readErr != nil {
		return nil, readErr
	}
	return total, nil
}

// safeCut returns the last index i with b[i-1] == '\n' between two
// non-whitespace ASCII bytes: GPT-2 pre-tokens never cross it and the "\n"
// is a token of its own either way. 0 when there is none.
func safeCut(b []byte) int {
	for i := len(b) - 1; i >= 2; i-- {
		if b[i-1] != '\n' {
			continue
		}
		if c, p := b[i], b[i-2]; c < utf8.RuneSelf && p < utf8.RuneSelf && asciiClass[c] != clsSpace && asciiClass[p] != clsSpace {
			return i
		}
	}
	return 0
}
