package generate

import (
	"fmt"
	"slices"
)

// fakeLM is a Model whose logits are a pseudo-random function of each row's
// real tokens (padding excluded) and, for a Seq2Seq, of its source: a
// stand-in for a Transformer that makes cache handling (padding, reorder,
// length) observable without one.
type fakeLM struct {
	v      int
	maxLen int
	n      int     // positions cached per row
	hist   [][]int // real tokens per row
	src    [][]int
	// bias, when set, is added to the logits of the row's last token:
	// bias[last*v+j] (crafted distributions for beam search).
	bias     []float32
	biasOnly bool // no pseudo-random part
	forwards int
}

func (f *fakeLM) VocabSize() int { return f.v }

func (f *fakeLM) Begin(rows, maxLen int) error {
	if rows <= 0 || maxLen <= 0 {
		return fmt.Errorf("fake: Begin(%d, %d)", rows, maxLen)
	}
	f.maxLen, f.n = maxLen, 0
	f.hist = make([][]int, rows)
	f.src = nil
	return nil
}

func (f *fakeLM) Encode(src [][]int) error {
	if len(src) != len(f.hist) {
		return fmt.Errorf("fake: Encode of %d rows after Begin(%d)", len(src), len(f.hist))
	}
	f.src = src
	return nil
}

func (f *fakeLM) Forward(ids, pad []int, logits []float32) error {
	rows := len(f.hist)
	if len(ids)%rows != 0 || len(logits) != rows*f.v {
		return fmt.Errorf("fake: %d ids, %d logits for %d rows", len(ids), len(logits), rows)
	}
	t := len(ids) / rows
	if f.n+t > f.maxLen {
		return fmt.Errorf("fake: cache overflow: %d + %d > %d", f.n, t, f.maxLen)
	}
	for r := range rows {
		for i := range t {
			if pad != nil && f.n+i < pad[r] {
				continue
			}
			id := ids[r*t+i]
			if id < 0 || id >= f.v {
				return fmt.Errorf("fake: id %d", id)
			}
			f.hist[r] = append(f.hist[r], id)
		}
		var src []int
		if f.src != nil {
			src = f.src[r]
		}
		f.logitsFor(src, f.hist[r], logits[r*f.v:(r+1)*f.v])
	}
	f.n += t
	f.forwards++
	return nil
}

func (f *fakeLM) Reorder(src []int) error {
	if len(src) != len(f.hist) {
		return fmt.Errorf("fake: reorder of %d rows", len(src))
	}
	h := make([][]int, len(src))
	for i, s := range src {
		h[i] = slices.Clone(f.hist[s])
	}
	f.hist = h
	return nil
}

func (f *fakeLM) logitsFor(src, hist []int, out []float32) {
	h := uint64(1469598103934665603)
	for _, id := range src {
		h = (h ^ uint64(id+1)) * 1099511628211
	}
	h = (h ^ 0xff) * 1099511628211
	for _, id := range hist {
		h = (h ^ uint64(id+1)) * 1099511628211
	}
	for j := range out {
		x := splitmix(h + uint64(j))
		out[j] = float32(x>>40)/float32(1<<24)*4 - 2
		if f.biasOnly {
			out[j] = 0
		}
	}
	if f.bias != nil && len(hist) > 0 {
		last := hist[len(hist)-1]
		for j := range out {
			out[j] += f.bias[last*f.v+j]
		}
	}
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
