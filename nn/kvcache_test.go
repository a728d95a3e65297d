package nn

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

// TestKVCacheMatchesFullForward decodes a sequence in chunks through a
// cache and checks every chunk's output against the same rows of one
// full causal forward, for the layer kinds the models use.
func TestKVCacheMatchesFullForward(t *testing.T) {
	const b, c, tt = 2, 16, 7
	chunks := []int{3, 1, 2, 1} // a prefill, then steps
	for _, tc := range []struct {
		name    string
		encoder bool // a causal EncoderLayer (a GPT block); else a DecoderLayer with memory
		cfg     LayerConfig
		rotary  bool
	}{
		{"gpt block pre-norm", true, LayerConfig{DModel: c, NHead: 4, DimFF: 24, Activation: GELUTanh, NormFirst: true}, false},
		{"gqa rotary", true, LayerConfig{DModel: c, NHead: 4, NKVHead: 2, DimFF: 24, NormFirst: true}, true},
		{"decoder post-norm", false, LayerConfig{DModel: c, NHead: 2, DimFF: 20, Activation: SiLU}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			x := randomTensor(rng, b, tt, c)
			mem := randomTensor(rng, b, 5, c)
			memPad := []bool{false, false, false, false, false, false, false, false, true, true}
			var enc *EncoderLayer
			var dec *DecoderLayer
			var err error
			var mha []*MultiHeadAttention
			if tc.encoder {
				enc, err = NewEncoderLayer(tc.cfg, rng)
				mha = []*MultiHeadAttention{enc.SelfAttn}
			} else {
				dec, err = NewDecoderLayer(tc.cfg, rng)
				mha = []*MultiHeadAttention{dec.SelfAttn, dec.CrossAttn}
			}
			if err != nil {
				t.Fatal(err)
			}
			if enc != nil {
				randomize(enc, rng)
			} else {
				randomize(dec, rng)
			}
			if tc.rotary {
				for _, m := range mha {
					m.Cfg.Rotary = &Rotary{Dim: 4, Base: 10000, Layout: RotaryHalf}
				}
			}
			selfMasks, crossMasks := &Masks{Causal: true}, &Masks{KeyPadding: memPad}
			run := func(g *autograd.Graph, in *autograd.Var, kv, cross *KVCache) *autograd.Var {
				var out *autograd.Var
				if enc != nil {
					out, _, err = enc.ForwardCached(g, in, selfMasks, false, kv)
				} else {
					m := g.Input(mem, false)
					if cross != nil && cross.Len > 0 {
						m = nil // the static cache has the memory's keys and values
					}
					out, _, err = dec.ForwardCached(g, in, m, selfMasks, crossMasks, false, kv, cross)
				}
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			full := run(autograd.NewGraph(false), autograd.Const(x), nil, nil).Value
			nkv := tc.cfg.NKVHead
			if nkv == 0 {
				nkv = tc.cfg.NHead
			}
			kv, err := NewKVCache(b, nkv, tt, c/tc.cfg.NHead)
			if err != nil {
				t.Fatal(err)
			}
			cross := &KVCache{Static: true}
			g := autograd.NewGraph(false)
			pos := 0
			for _, n := range chunks {
				g.Reset()
				chunk := tensor.New(b, n, c)
				chunk.CopyFrom(x.Slice(1, pos, pos+n))
				got := run(g, g.Input(chunk, false), kv, cross).Value
				want := full.Slice(1, pos, pos+n).Contiguous()
				if !tensor.AllClose(got, want, 1e-5, 1e-5) {
					t.Fatalf("positions %d..%d differ from the full forward", pos, pos+n-1)
				}
				pos += n
				if kv.Len != pos {
					t.Fatalf("cache length %d after %d positions", kv.Len, pos)
				}
			}
		})
	}
}

func TestKVCacheErrors(t *testing.T) {
	m, err := NewMultiHeadAttention(MHAConfig{EmbedDim: 8, NumHeads: 2, Bias: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := autograd.Const(tensor.New(1, 3, 8))
	for _, tc := range []struct {
		name  string
		train bool
		kv    *KVCache
		want  string
	}{
		{"training graph", true, &KVCache{K: tensor.New(1, 2, 4, 4), V: tensor.New(1, 2, 4, 4)}, "inference graphs only"},
		{"full", false, &KVCache{K: tensor.New(1, 2, 4, 4), V: tensor.New(1, 2, 4, 4), Len: 2}, "cannot take 3 more"},
		{"wrong heads", false, &KVCache{K: tensor.New(1, 1, 4, 4), V: tensor.New(1, 1, 4, 4)}, "do not fit"},
		{"no buffers", false, &KVCache{}, "no buffers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := m.ForwardCached(autograd.NewGraph(tc.train), x, x, x, nil, false, tc.kv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := NewKVCache(1, 0, 4, 4); err == nil {
		t.Error("NewKVCache accepted 0 heads")
	}
}
