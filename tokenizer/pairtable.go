package tokenizer

import "math/bits"

// pairTable maps a pair of ids (left<<32 | right, both < 2^31) to a value:
// open addressing with linear probing, at most half full. It replaces a Go
// map on the merge path, where the lookup is the inner loop of BPE.
type pairTable struct {
	keys  []uint64 // key | 1<<63; 0 marks an empty slot
	vals  []uint64
	shift uint
}

const pairUsed = 1 << 63

func newPairTable(n int) *pairTable {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return &pairTable{keys: make([]uint64, size), vals: make([]uint64, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
}

func (t *pairTable) slot(key uint64) uint64 { return (key * 0x9E3779B97F4A7C15) >> t.shift }

// get returns the value of key.
func (t *pairTable) get(key uint64) (uint64, bool) {
	k := key | pairUsed
	mask := uint64(len(t.keys) - 1)
	for i := t.slot(key); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			return t.vals[i], true
		case 0:
			return 0, false
		}
	}
}

// putIfAbsent stores key -> val unless key is present; it reports whether it
// stored. The table must have been sized for every key put.
func (t *pairTable) putIfAbsent(key, val uint64) bool {
	k := key | pairUsed
	mask := uint64(len(t.keys) - 1)
	for i := t.slot(key); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			return false
		case 0:
			t.keys[i], t.vals[i] = k, val
			return true
		}
	}
}

// each calls fn for every key and value.
func (t *pairTable) each(fn func(key, val uint64)) {
	for i, k := range t.keys {
		if k != 0 {
			fn(k&^pairUsed, t.vals[i])
		}
	}
}
