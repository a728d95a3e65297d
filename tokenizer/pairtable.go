package tokenizer

import "math/bits"

// pairTable maps a pair of ids (left<<32 | right, both < 2^31) to a value:
// open addressing with linear probing, at most half full, key and value side
// by side so that a probe touches one cache line. It replaces a Go map on
// the merge path, where the lookup is the inner loop of BPE.
type pairTable struct {
	slots []pairSlot
	shift uint
}

type pairSlot struct {
	key uint64 // key | pairUsed; 0 marks an empty slot
	val uint64
}

const pairUsed = 1 << 63

func newPairTable(n int) *pairTable {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return &pairTable{slots: make([]pairSlot, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
}

func (t *pairTable) slot(key uint64) uint64 { return (key * 0x9E3779B97F4A7C15) >> t.shift }

// find returns the slot holding key, or the empty slot where it would go.
func (t *pairTable) find(key uint64) *pairSlot {
	k := key | pairUsed
	mask := uint64(len(t.slots) - 1)
	for i := t.slot(key); ; i = (i + 1) & mask {
		if s := &t.slots[i]; s.key == k || s.key == 0 {
			return s
		}
	}
}

// get returns the value of key.
func (t *pairTable) get(key uint64) (uint64, bool) {
	s := t.find(key)
	return s.val, s.key != 0
}

// putIfAbsent stores key -> val unless key is present; it reports whether it
// stored. The table must have been sized for every key put.
func (t *pairTable) putIfAbsent(key, val uint64) bool {
	s := t.find(key)
	if s.key != 0 {
		return false
	}
	s.key, s.val = key|pairUsed, val
	return true
}

// each calls fn for every key and value.
func (t *pairTable) each(fn func(key, val uint64)) {
	for _, s := range t.slots {
		if s.key != 0 {
			fn(s.key&^pairUsed, s.val)
		}
	}
}
