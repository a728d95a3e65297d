package tokenizer

import (
	"fmt"
	"math"
	"sync"
)

// BPE is a byte-level byte-pair-encoding tokenizer as GPT-2 defines it.
//
// Encoding runs in four steps: added tokens (<|endoftext|>) are cut out of
// the text when AllowSpecial is set; the rest is split into pre-tokens by
// GPT-2's pattern (gpt2Next); each pre-token's bytes become their one-byte
// tokens; adjacent pairs are merged, lowest merge rank first and leftmost on
// ties, until no pair has a rank. Words seen before come from a cache.
type BPE struct {
	// AllowSpecial makes Encode match added tokens such as <|endoftext|>
	// in the text, as Hugging Face does; without it they are plain text
	// (tiktoken's encode_ordinary). Load sets it.
	AllowSpecial bool

	vocab  map[string]int
	tokens []string // id -> vocabulary spelling; "" for ids with none
	bytes  [][]byte // id -> the raw bytes it stands for
	// merges maps the pair (left<<32 | right) to (rank<<32 | merged id).
	merges  *pairTable
	nMerges int
	byteIDs [256]int32 // id of each single-byte token; -1 if the vocabulary lacks it
	unk     int        // id for bytes without a token; -1 drops them (Hugging Face without unk_token)

	// whole maps the raw bytes of every vocabulary token to its id when the
	// model has ignore_merges: a pre-token that is a token is taken whole.
	whole map[string]int32

	addPrefixSpace bool // ByteLevel add_prefix_space: a space before text that starts with none
	splitWords     bool // ByteLevel use_regex: false treats each text stretch as one word
	added          *addedVocab
	post           *template

	workers sync.Pool // *bpeWorker: per-goroutine cache and scratch
}

// bpeCacheMax bounds the number of words a worker's cache holds; past it the
// cache is cleared.
const bpeCacheMax = 1 << 16

// bpeShortWord is the length up to which merging rescans the word (fast for
// short words); longer words use a heap (O(n log n), no quadratic blow-up).
const bpeShortWord = 48

type bpeWorker struct {
	cache map[string][]int32
	sym   []int32
	h     []mergeCand
	next  []int32
	prev  []int32
}

// NewBPE builds a byte-level BPE from a vocabulary (spelling -> id, spelled
// with GPT-2's byte-to-unicode map) and merges (pairs of spellings, in rank
// order). Both sides of a merge and their concatenation must be in vocab.
func NewBPE(vocab map[string]int, merges [][2]string) (*BPE, error) {
	b := &BPE{vocab: vocab, unk: -1, splitWords: true, AllowSpecial: true}
	var err error
	if b.tokens, err = invertVocab("bpe vocab", vocab); err != nil {
		return nil, err
	}
	b.bytes = make([][]byte, len(b.tokens))
	for s, id := range vocab {
		if raw, ok := byteLevelUnspell(s); ok {
			b.bytes[id] = raw
		}
	}
	for c := range 256 {
		b.byteIDs[c] = -1
		if id, ok := vocab[string(byteToRune[c])]; ok {
			b.byteIDs[c] = int32(id)
		}
	}
	b.merges = newPairTable(len(merges))
	for rank, m := range merges {
		l, okl := vocab[m[0]]
		r, okr := vocab[m[1]]
		if !okl || !okr {
			return nil, fmt.Errorf("bpe merge %d %q %q: a side is not in the vocabulary", rank+1, m[0], m[1])
		}
		to, ok := vocab[m[0]+m[1]]
		if !ok {
			return nil, fmt.Errorf("bpe merge %d %q %q: the merged token is not in the vocabulary", rank+1, m[0], m[1])
		}
		// The first (lowest) rank of a repeated pair wins, as in Hugging Face.
		if b.merges.putIfAbsent(uint64(l)<<32|uint64(r), uint64(rank)<<32|uint64(to)) {
			b.nMerges++
		}
	}
	b.resetCache()
	return b, nil
}

// setIgnoreMerges makes a pre-token found whole in the vocabulary one token
// (Hugging Face's ignore_merges, used by Llama 3 style vocabularies).
func (b *BPE) setIgnoreMerges() {
	b.whole = make(map[string]int32, len(b.vocab))
	for s, id := range b.vocab {
		if raw, ok := byteLevelUnspell(s); ok {
			b.whole[string(raw)] = int32(id)
		}
	}
}

// resetCache drops every worker and so every merge cache (for benchmarks
// that time a cold start).
func (b *BPE) resetCache() {
	b.workers = sync.Pool{New: func() any { return &bpeWorker{cache: make(map[string][]int32)} }}
}

// layout implements templated.
func (b *BPE) layout() (*template, int, string) { return b.post, b.padID(), "<pad>" }

func (b *BPE) padID() int {
	if id, ok := b.vocab["<pad>"]; ok {
		return id
	}
	return -1
}

// setAdded installs the added tokens; their ids may extend the vocabulary.
func (b *BPE) setAdded(toks []addedToken) error {
	a, err := newAddedVocab(toks)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if err := checkIDs(fmt.Sprintf("added token %q", t.Content), t.ID, len(b.tokens)); err != nil {
			return err
		}
		for t.ID >= len(b.tokens) {
			b.tokens = append(b.tokens, "")
			b.bytes = append(b.bytes, nil)
		}
		b.tokens[t.ID] = t.Content
		b.bytes[t.ID] = []byte(t.Content)
	}
	b.added = a
	return nil
}

// Encode implements Tokenizer.
func (b *BPE) Encode(text string, addSpecial bool) ([]int, error) {
	ids := b.encode(text, b.AllowSpecial, nil)
	if addSpecial && b.post != nil {
		ids, _ = b.post.apply(ids, nil, false)
	}
	return ids, nil
}

// EncodeOrdinary encodes text with added tokens treated as plain text and no
// special tokens added (tiktoken's encode_ordinary).
func (b *BPE) EncodeOrdinary(text string) []int { return b.encode(text, false, nil) }

func (b *BPE) encode(text string, allowAdded bool, dst []int) []int {
	w := b.workers.Get().(*bpeWorker)
	defer b.workers.Put(w)
	if dst == nil {
		dst = make([]int, 0, len(text)/4+1)
	}
	if !allowAdded || b.added == nil {
		return b.encodeText(w, text, dst)
	}
	b.added.split(text,
		func(s string) { dst = b.encodeText(w, s, dst) },
		func(t *addedToken) { dst = append(dst, t.ID) })
	return dst
}

// encodeText encodes a stretch of text that holds no added tokens.
func (b *BPE) encodeText(w *bpeWorker, s string, dst []int) []int {
	if b.addPrefixSpace && s != "" && s[0] != ' ' {
		s = " " + s
	}
	if !b.splitWords {
		return b.encodeWord(w, s, dst)
	}
	for i := 0; i < len(s); {
		j := gpt2Next(s, i)
		dst = b.encodeWord(w, s[i:j], dst)
		i = j
	}
	return dst
}

func (b *BPE) encodeWord(w *bpeWorker, word string, dst []int) []int {
	if len(word) == 1 { // a lone byte merges with nothing: skip the cache
		if id := b.byteIDs[word[0]]; id >= 0 {
			return append(dst, int(id))
		}
	}
	if b.whole != nil {
		if id, ok := b.whole[word]; ok {
			return append(dst, int(id))
		}
	}
	if ids, ok := w.cache[word]; ok {
		for _, id := range ids {
			dst = append(dst, int(id))
		}
		return dst
	}
	sym := w.sym[:0]
	for i := 0; i < len(word); i++ {
		id := b.byteIDs[word[i]]
		if id < 0 {
			if b.unk < 0 {
				continue
			}
			id = int32(b.unk)
		}
		sym = append(sym, id)
	}
	if len(sym) <= bpeShortWord {
		sym = b.mergeScan(sym)
	} else {
		sym = b.mergeHeap(w, sym)
	}
	w.sym = sym
	for _, id := range sym {
		dst = append(dst, int(id))
	}
	if len(word) <= 256 { // long words are rare; caching them only costs memory
		if len(w.cache) >= bpeCacheMax {
			clear(w.cache)
		}
		w.cache[word] = append([]int32(nil), sym...)
	}
	return dst
}

// mergeScan merges the lowest-ranked adjacent pair (leftmost on ties) until
// none has a rank, rescanning the word after each merge. It is the reference
// for mergeHeap and the fast path for short words.
func (b *BPE) mergeScan(sym []int32) []int32 {
	for len(sym) > 1 {
		best, at := uint64(math.MaxUint64), -1
		for i := 0; i+1 < len(sym); i++ {
			if v, ok := b.merges.get(uint64(sym[i])<<32 | uint64(uint32(sym[i+1]))); ok && v < best {
				best, at = v, i
			}
		}
		if at < 0 {
			break
		}
		sym[at] = int32(uint32(best))
		sym = append(sym[:at+1], sym[at+2:]...)
	}
	return sym
}

// mergeCand is a pair that may be merged: the symbol at pos and its right
// neighbour, which were left and right when the candidate was made.
type mergeCand struct {
	rank        uint32
	pos         int32
	left, right int32
	to          int32
}

// mergeFirst orders candidates by rank, then position.
func mergeFirst(a, b *mergeCand) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

// mergeHeap gives the same result as mergeScan in O(n log n): symbols form a
// linked list, candidate pairs wait in a heap ordered by (rank, position),
// and a popped candidate is used only if its pair is still intact.
func (b *BPE) mergeHeap(w *bpeWorker, sym []int32) []int32 {
	n := len(sym)
	next, prev := w.next[:0], w.prev[:0]
	for i := range n {
		next = append(next, int32(i+1))
		prev = append(prev, int32(i-1))
	}
	next[n-1] = -1
	h := w.h[:0]
	push := func(i int32) {
		if i < 0 || next[i] < 0 {
			return
		}
		j := next[i]
		if v, ok := b.merges.get(uint64(sym[i])<<32 | uint64(uint32(sym[j]))); ok {
			heapPush(&h, mergeCand{rank: uint32(v >> 32), pos: i, left: sym[i], right: sym[j], to: int32(uint32(v))}, mergeFirst)
		}
	}
	for i := range n - 1 {
		push(int32(i))
	}
	const dead = -2
	for len(h) > 0 {
		c := heapPop(&h, mergeFirst)
		i := c.pos
		j := next[i]
		if prev[i] == dead || j < 0 || sym[i] != c.left || sym[j] != c.right {
			continue
		}
		sym[i] = c.to
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		prev[j] = dead
		push(prev[i])
		push(i)
	}
	out := sym[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, sym[i])
	}
	w.next, w.prev, w.h = next, prev, h
	return out
}

// Decode implements Tokenizer: the exact bytes the ids stand for.
func (b *BPE) Decode(ids []int, skipSpecial bool) (string, error) {
	var out []byte
	for i, id := range ids {
		if id < 0 || id >= len(b.bytes) || (b.bytes[id] == nil && b.tokens[id] == "") {
			return "", fmt.Errorf("decode position %d: id %d: %w", i, id, ErrUnknownID)
		}
		if skipSpecial && b.added != nil && b.added.special[id] {
			continue
		}
		out = append(out, b.bytes[id]...)
	}
	return string(out), nil
}

// VocabSize implements Tokenizer.
func (b *BPE) VocabSize() int { return len(b.tokens) }

// TokenToID implements Tokenizer.
func (b *BPE) TokenToID(token string) (int, bool) {
	if id, ok := b.vocab[token]; ok {
		return id, true
	}
	if b.added != nil {
		for _, t := range b.added.tokens {
			if t.Content == token {
				return t.ID, true
			}
		}
	}
	return 0, false
}

// IDToToken implements Tokenizer.
func (b *BPE) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(b.tokens) || b.tokens[id] == "" {
		return "", false
	}
	return b.tokens[id], true
}
