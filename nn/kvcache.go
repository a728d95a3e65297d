package nn

import (
	"fmt"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

// KVCache holds one attention block's keys and values across calls, for
// incremental decoding in inference graphs (ForwardCached).
//
// Self-attention (Static false): K and V are preallocated
// [B, NKV, maxT, HS] buffers whose first Len positions are filled; each
// call projects the new tokens' keys and values, writes them at Len,
// attends over all Len+Tq positions and advances Len.
//
// Cross-attention (Static true): the first call projects the encoder
// output into K and V [B, NKV, Tk, HS] and sets Len = Tk; later calls
// reuse them, so the encoder's keys and values are computed once.
type KVCache struct {
	K, V   *tensor.Tensor
	Len    int
	Static bool
	// Rows, for a static cache, maps each query row to a row of the key
	// and value inputs (several beams of one source): the first call
	// projects each input row once and copies its keys and values to the
	// rows that use it. nil: query row b reads input row b.
	Rows []int
}

// NewKVCache returns an empty self-attention cache for b sequences of up
// to maxT positions of nkv heads of size hs.
func NewKVCache(b, nkv, maxT, hs int) (*KVCache, error) {
	if b <= 0 || nkv <= 0 || maxT <= 0 || hs <= 0 {
		return nil, fmt.Errorf("KV cache: B=%d, NKV=%d, maxT=%d and HS=%d must be positive", b, nkv, maxT, hs)
	}
	return &KVCache{K: tensor.New(b, nkv, maxT, hs), V: tensor.New(b, nkv, maxT, hs)}, nil
}

// Reset empties the cache for a new sequence, keeping its buffers.
func (c *KVCache) Reset() {
	c.Len = 0
	if c.Static {
		c.K, c.V, c.Rows = nil, nil, nil
	}
}

// update stores the new keys and values k, v [B, NKV, Tnew, HS] (nil for
// a filled static cache) and returns the keys and values to attend to,
// [B, NKV, Tk, HS]: views into the cache's buffers, read in place.
func (c *KVCache) update(g *autograd.Graph, k, v *autograd.Var) (*autograd.Var, *autograd.Var) {
	if c.Static {
		if k != nil {
			c.K, c.V = expandRows(k.Value, c.Rows), expandRows(v.Value, c.Rows)
			c.Len = c.K.Shape[2]
		}
		return g.Input(c.K, false), g.Input(c.V, false)
	}
	b, nkv, tn, hs := k.Shape()[0], k.Shape()[1], k.Shape()[2], k.Shape()[3]
	maxT, past := c.K.Shape[2], c.Len
	c.Len += tn
	kd, vd := k.Value.Contiguous().Data(), v.Value.Contiguous().Data()
	ck, cv := c.K.Data(), c.V.Data()
	for bh := 0; bh < b*nkv; bh++ {
		dst := (bh*maxT + past) * hs
		copy(ck[dst:dst+tn*hs], kd[bh*tn*hs:(bh+1)*tn*hs])
		copy(cv[dst:dst+tn*hs], vd[bh*tn*hs:(bh+1)*tn*hs])
	}
	if past == 0 {
		return k, v
	}
	// The filled prefix of every head, as views [B, NKV, Len, HS] into
	// the buffers: attention reads them where they lie.
	a := g.Arena()
	return g.Input(a.Slice(c.K, 2, 0, c.Len), false), g.Input(a.Slice(c.V, 2, 0, c.Len), false)
}

// Reorder makes batch row i a copy of row src[i] (len(src) == B, each in
// [0, B)), copying the filled positions only; tmp is reusable scratch,
// returned grown. A static cache is left alone.
func (c *KVCache) Reorder(src []int, tmp []float32) []float32 {
	if c.Static || c.K == nil {
		return tmp
	}
	s := c.K.Shape // [B, NKV, maxT, HS]
	row, head, used := s[1]*s[2]*s[3], s[2]*s[3], c.Len*s[3]
	for _, data := range [2][]float32{c.K.Data(), c.V.Data()} {
		if cap(tmp) < len(data) {
			tmp = make([]float32, len(data))
		}
		tmp = tmp[:len(data)]
		for i, from := range src {
			for h := range s[1] {
				o := i*row + h*head
				copy(tmp[o:o+used], data[from*row+h*head:])
			}
		}
		for i := range src {
			for h := range s[1] {
				o := i*row + h*head
				copy(data[o:o+used], tmp[o:o+used])
			}
		}
	}
	return tmp
}

// expandRows returns an owned copy of x [S, ...] with row b a copy of
// row rows[b] (len(rows) rows), or of x itself when rows is nil.
func expandRows(x *tensor.Tensor, rows []int) *tensor.Tensor {
	if rows == nil {
		return x.Clone()
	}
	shape := append([]int{len(rows)}, x.Shape[1:]...)
	out := tensor.New(shape...)
	n := out.Len() / len(rows)
	src, dst := x.Contiguous().Data(), out.Data()
	for b, r := range rows {
		copy(dst[b*n:(b+1)*n], src[r*n:(r+1)*n])
	}
	return out
}
