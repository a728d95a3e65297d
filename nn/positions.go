package nn

import (
	"fmt"
	"math"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

// SinusoidLayout says where the sine and cosine of each frequency go in a
// sinusoidal position table.
type SinusoidLayout int

const (
	// Interleaved is Vaswani et al.'s layout: PE[p, 2i] = sin(p·ωᵢ) and
	// PE[p, 2i+1] = cos(p·ωᵢ).
	Interleaved SinusoidLayout = iota
	// HalfSplit puts the C/2 sines first and the C/2 cosines after them:
	// PE[p, i] = sin(p·ωᵢ), PE[p, C/2+i] = cos(p·ωᵢ), as Marian stores them.
	HalfSplit
	// FairseqHalfSplit is fairseq's SinusoidalPositionalEmbedding: the
	// HalfSplit layout with frequencies ωᵢ = 10000^(−i/(C/2−1)). fairseq
	// numbers positions from padding_idx+1 (pass that as start) and keeps
	// a zero row for the padding index, which this table does not include.
	FairseqHalfSplit
)

// Sinusoidal returns the [T, C] table of fixed sinusoidal position
// encodings for positions start … start+T−1, with frequencies
// ωᵢ = 10000^(−2i/C) for i in [0, C/2) (FairseqHalfSplit: see there). C
// must be even (at least 4 for FairseqHalfSplit). Angles are computed in
// float64 and rounded once to float32.
func Sinusoidal(t, c, start int, layout SinusoidLayout) (*tensor.Tensor, error) {
	switch {
	case t <= 0 || c <= 0:
		return nil, fmt.Errorf("sinusoidal positions: T=%d and C=%d must be positive", t, c)
	case c%2 != 0:
		return nil, fmt.Errorf("sinusoidal positions: C=%d must be even", c)
	case start < 0:
		return nil, fmt.Errorf("sinusoidal positions: start position %d is negative", start)
	case layout < Interleaved || layout > FairseqHalfSplit:
		return nil, fmt.Errorf("sinusoidal positions: unknown layout %d", layout)
	case layout == FairseqHalfSplit && c < 4:
		return nil, fmt.Errorf("sinusoidal positions: fairseq's frequencies need C ≥ 4, got %d", c)
	}
	out := tensor.New(t, c)
	d := out.Data()
	half := c / 2
	for p := 0; p < t; p++ {
		row := d[p*c : (p+1)*c]
		for i := 0; i < half; i++ {
			e := float64(2*i) / float64(c)
			if layout == FairseqHalfSplit {
				e = float64(i) / float64(half-1)
			}
			s, co := math.Sincos(float64(start+p) / math.Pow(10000, e))
			if layout == Interleaved {
				row[2*i], row[2*i+1] = float32(s), float32(co)
			} else {
				row[i], row[half+i] = float32(s), float32(co)
			}
		}
	}
	return out, nil
}

// RotaryLayout says which features rotary position embedding pairs up.
type RotaryLayout int

const (
	// RotaryInterleaved rotates adjacent pairs (x[2i], x[2i+1]), as the
	// RoFormer paper and GPT-J do.
	RotaryInterleaved RotaryLayout = iota
	// RotaryHalf rotates (x[i], x[i+R/2]), the "rotate_half" form of
	// GPT-NeoX and Llama.
	RotaryHalf
)

// Rotary is rotary position embedding (RoPE, Su et al.): at position p,
// each pair (a, b) of the first Dim features of a head is rotated by the
// angle p·ωᵢ, ωᵢ = Base^(−2i/Dim):
//
//	a' = a·cos − b·sin
//	b' = b·cos + a·sin
//
// Features Dim … HS−1 pass through unchanged (partial rotary, as GPT-J and
// GPT-NeoX use). Because a rotation is orthogonal, the backward pass is the
// same rotation by −p·ωᵢ.
type Rotary struct {
	Dim    int     // R, the number of rotated features per head (even, ≤ HS)
	Base   float64 // 10000 in most models
	Layout RotaryLayout
}

// tables fills cos and sin [T, R/2] with cos(p·ωᵢ) and sign·sin(p·ωᵢ)
// for positions p = start … start+T−1.
func (r Rotary) tables(cos, sin []float32, t, start, half int, sign float64) {
	for p := 0; p < t; p++ {
		for i := 0; i < half; i++ {
			cos[p*half+i], sin[p*half+i] = r.angle(start+p, i, sign)
		}
	}
}

// angle returns cos(pos·ωᵢ) and sign·sin(pos·ωᵢ). The frequency is
// rounded to float32 first, as the reference implementations keep
// inv_freq in float32.
func (r Rotary) angle(pos, i int, sign float64) (cos, sin float32) {
	w := float64(float32(1 / math.Pow(r.Base, float64(2*i)/float64(r.Dim))))
	s, c := math.Sincos(float64(pos) * w)
	return float32(c), float32(sign * s)
}

// check validates the arguments of a rotation of x [B, NH, T, HS].
func (r Rotary) check(shape []int, n, start int) error {
	if len(shape) != 4 {
		return fmt.Errorf("rotary positions: want x of shape [B, NH, T, HS], got %v", shape)
	}
	hs := shape[3]
	switch {
	case shape[0]*shape[1]*shape[2]*hs != n:
		return fmt.Errorf("rotary positions: shape %v does not match %d elements", shape, n)
	case r.Dim <= 0 || r.Dim%2 != 0 || r.Dim > hs:
		return fmt.Errorf("rotary positions: Dim=%d must be even, positive and at most HS=%d", r.Dim, hs)
	case r.Base <= 0:
		return fmt.Errorf("rotary positions: Base=%g must be positive", r.Base)
	case start < 0:
		return fmt.Errorf("rotary positions: start position %d is negative", start)
	case r.Layout != RotaryInterleaved && r.Layout != RotaryHalf:
		return fmt.Errorf("rotary positions: unknown layout %d", r.Layout)
	}
	return nil
}

// rotate applies the rotation at positions start … start+T−1 to x, laid
// out [B, NH, T, HS] contiguous, in place; sign −1 rotates backwards.
func (r Rotary) rotate(x []float32, shape []int, start int, sign float64) error {
	if err := r.check(shape, len(x), start); err != nil {
		return err
	}
	bnh, t, hs := shape[0]*shape[1], shape[2], shape[3]
	half := r.Dim / 2
	// One angle at a time, applied to every head: no tables to allocate.
	for p := 0; p < t; p++ {
		for i := 0; i < half; i++ {
			cs, sn := r.angle(start+p, i, sign)
			ia, ib := i, i+half
			if r.Layout == RotaryInterleaved {
				ia, ib = 2*i, 2*i+1
			}
			for h := 0; h < bnh; h++ {
				row := x[(h*t+p)*hs : (h*t+p+1)*hs]
				a, b := row[ia], row[ib]
				row[ia] = a*cs - b*sn
				row[ib] = b*cs + a*sn
			}
		}
	}
	return nil
}

// Apply rotates x [B, NH, T, HS] (contiguous) in place for positions
// start … start+T−1; start > 0 is the position of the first new token when
// decoding with a KV cache.
func (r Rotary) Apply(x *tensor.Tensor, start int) error {
	if !x.IsContiguous() {
		return fmt.Errorf("rotary positions: x of shape %v is not contiguous", x.Shape)
	}
	return r.rotate(x.Data(), x.Shape, start, 1)
}

// Backward turns dL/d(Apply(x)) into dL/dx in place: the inverse rotation.
func (r Rotary) Backward(dx *tensor.Tensor, start int) error {
	if !dx.IsContiguous() {
		return fmt.Errorf("rotary positions (backward): dx of shape %v is not contiguous", dx.Shape)
	}
	return r.rotate(dx.Data(), dx.Shape, start, -1)
}

// Forward is Apply as a graph op, so gradients flow to x (for training a
// model with rotary positions): it returns the rotated copy of x
// [B, NH, T, HS], built from Narrow, Concat, Mul and Add, whose backward
// is the inverse rotation.
func (r Rotary) Forward(g *autograd.Graph, x *autograd.Var, start int) (*autograd.Var, error) {
	if err := r.check(x.Shape(), x.Value.Len(), start); err != nil {
		return nil, err
	}
	t, hs, rd, half := x.Shape()[2], x.Shape()[3], r.Dim, r.Dim/2
	// cos and sin [T, R], each value repeated for both members of its pair.
	cosT, sinT := g.Arena().Empty(t, rd), g.Arena().Empty(t, rd)
	c, s := g.Arena().Empty(t*half).Data(), g.Arena().Empty(t*half).Data()
	r.tables(c, s, t, start, half, 1)
	cd, sd := cosT.Data(), sinT.Data()
	for p := 0; p < t; p++ {
		for i := 0; i < half; i++ {
			a, b := p*rd+i, p*rd+half+i
			if r.Layout == RotaryInterleaved {
				a, b = p*rd+2*i, p*rd+2*i+1
			}
			cd[a], cd[b] = c[p*half+i], c[p*half+i]
			sd[a], sd[b] = s[p*half+i], s[p*half+i]
		}
	}
	xr := x
	if rd < hs {
		xr = g.Narrow(x, -1, 0, rd)
	}
	// rot(x) pairs each feature a with its partner b as (−b, a).
	var rot *autograd.Var
	if r.Layout == RotaryHalf {
		rot = g.Concat(-1, g.Scale(g.Narrow(xr, -1, half, rd), -1), g.Narrow(xr, -1, 0, half))
	} else {
		sh := xr.Shape()
		pairs := g.Reshape(xr, sh[0], sh[1], t, half, 2)
		rot = g.Concat(-1, g.Scale(g.Narrow(pairs, -1, 1, 2), -1), g.Narrow(pairs, -1, 0, 1))
		rot = g.Reshape(rot, sh[0], sh[1], t, rd)
	}
	out := g.Add(g.Mul(xr, g.Input(cosT, false)), g.Mul(rot, g.Input(sinT, false)))
	if rd < hs {
		out = g.Concat(-1, out, g.Narrow(x, -1, rd, hs))
	}
	return out, nil
}
