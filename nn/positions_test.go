package nn

import (
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

func TestSinusoidalGolden(t *testing.T) {
	fx := openFixture(t, "positions")
	for _, tc := range []struct {
		name   string
		layout SinusoidLayout
	}{
		{"sinusoidal.interleaved", Interleaved},
		{"sinusoidal.half", HalfSplit},
		{"sinusoidal.fairseq", FairseqHalfSplit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := fx.tensor(tc.name)
			got, err := Sinusoidal(want.Shape[0], want.Shape[1], 0, tc.layout)
			if err != nil {
				t.Fatal(err)
			}
			expectClose(t, tc.name, got, want, fwdAtol, fwdRtol)
			// A table started at position 2 is the tail of the full one.
			tail, err := Sinusoidal(want.Shape[0]-2, want.Shape[1], 2, tc.layout)
			if err != nil {
				t.Fatal(err)
			}
			expectClose(t, tc.name+" from position 2", tail, want.Slice(0, 2, want.Shape[0]), fwdAtol, fwdRtol)
		})
	}
}

func TestSinusoidalErrors(t *testing.T) {
	for _, tc := range []struct {
		name        string
		t, c, start int
		layout      SinusoidLayout
	}{
		{"odd channels", 3, 5, 0, Interleaved},
		{"zero length", 0, 4, 0, HalfSplit},
		{"negative start", 3, 4, -1, Interleaved},
		{"unknown layout", 3, 4, 0, SinusoidLayout(9)},
		{"fairseq too narrow", 3, 2, 0, FairseqHalfSplit},
	} {
		if _, err := Sinusoidal(tc.t, tc.c, tc.start, tc.layout); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// rotaryCases are the rope.* fixtures of tools/golden/nn_positions.py.
var rotaryCases = []struct {
	name  string
	rot   Rotary
	start int
}{
	{"interleaved.full", Rotary{Dim: 8, Base: 10000, Layout: RotaryInterleaved}, 0},
	{"interleaved.partial_offset", Rotary{Dim: 4, Base: 500, Layout: RotaryInterleaved}, 3},
	{"half.full", Rotary{Dim: 8, Base: 10000, Layout: RotaryHalf}, 0},
	{"half.partial_offset", Rotary{Dim: 4, Base: 500, Layout: RotaryHalf}, 3},
}

func TestRotaryGolden(t *testing.T) {
	fx := openFixture(t, "positions")
	for _, tc := range rotaryCases {
		t.Run(tc.name, func(t *testing.T) {
			p := "rope." + tc.name + "."
			x := fx.tensor(p + "x")
			if err := tc.rot.Apply(x, tc.start); err != nil {
				t.Fatal(err)
			}
			expectClose(t, "out", x, fx.tensor(p+"out"), fwdAtol, fwdRtol)
			dx := fx.tensor(p + "loss_weight")
			if err := tc.rot.Backward(dx, tc.start); err != nil {
				t.Fatal(err)
			}
			expectClose(t, "grad.x", dx, fx.tensor(p+"grad.x"), gradAtol, gradRtol)
		})
	}
}

// TestRotaryForwardGolden runs the graph form of the same rotations and
// checks the output and dL/dx through autograd.
func TestRotaryForwardGolden(t *testing.T) {
	fx := openFixture(t, "positions")
	for _, tc := range rotaryCases {
		t.Run(tc.name, func(t *testing.T) {
			p := "rope." + tc.name + "."
			g := autograd.NewGraph(true)
			x := g.Input(fx.tensor(p+"x"), true)
			out, err := tc.rot.Forward(g, x, tc.start)
			if err != nil {
				t.Fatal(err)
			}
			expectClose(t, "out", out.Value, fx.tensor(p+"out"), fwdAtol, fwdRtol)
			if err := g.Backward(g.Sum(g.Mul(out, g.Input(fx.tensor(p+"loss_weight"), false)))); err != nil {
				t.Fatal(err)
			}
			expectClose(t, "grad.x", x.Grad, fx.tensor(p+"grad.x"), gradAtol, gradRtol)
		})
	}
	if _, err := (Rotary{Dim: 3, Base: 1}).Forward(autograd.NewGraph(false), autograd.Const(tensor.New(1, 1, 2, 4)), 0); err == nil {
		t.Error("odd Dim: no error")
	}
}

func TestRotaryErrors(t *testing.T) {
	x := tensor.New(1, 2, 3, 8)
	for _, tc := range []struct {
		name  string
		rot   Rotary
		x     *tensor.Tensor
		start int
	}{
		{"odd dim", Rotary{Dim: 3, Base: 10000}, x, 0},
		{"dim above head size", Rotary{Dim: 10, Base: 10000}, x, 0},
		{"zero base", Rotary{Dim: 8}, x, 0},
		{"rank 3", Rotary{Dim: 8, Base: 10000}, tensor.New(2, 3, 8), 0},
		{"negative start", Rotary{Dim: 8, Base: 10000}, x, -2},
		{"not contiguous", Rotary{Dim: 2, Base: 10000}, tensor.New(1, 2, 8, 3).Transpose(2, 3), 0},
	} {
		if err := tc.rot.Apply(tc.x, tc.start); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
