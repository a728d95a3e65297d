package autograd

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLinearCrossEntropy: the fused, chunked op gives the loss and the
// gradients of CrossEntropy(Linear(x, w)) — one chunk or several, with
// ignored rows — and a step holds less than the logits.
func TestLinearCrossEntropy(t *testing.T) {
	defer func(c, m int) { linearXentChunk, linearXentMinRows = c, m }(linearXentChunk, linearXentMinRows)
	cases := []struct {
		name          string
		rows, c, v    int
		chunk         int // floats per chunk
		ignoreEvery   int // 0: none
		wantBelowFull bool
	}{
		{"one chunk", 12, 8, 37, 1 << 23, 0, false},
		{"chunks with a tail", 50, 16, 300, 16 * 300, 0, true},
		{"ignored rows", 50, 16, 300, 7 * 300, 3, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			linearXentChunk, linearXentMinRows = tc.chunk, 1
			r := rand.New(rand.NewPCG(7, uint64(tc.rows)))
			xt, wt := randTensor(r, 2, tc.rows/2, tc.c), randTensor(r, tc.v, tc.c)
			targets := make([]int, tc.rows)
			for i := range targets {
				targets[i] = r.IntN(tc.v)
				if tc.ignoreEvery > 0 && i%tc.ignoreEvery == 0 {
					targets[i] = -100
				}
			}
			run := func(fused bool) (loss float32, dx, dw []float32, peak int) {
				x, w := Param(xt.Clone()), Param(wt.Clone())
				g := NewGraph(true)
				var l *Var
				if fused {
					l = g.LinearCrossEntropy(x, w, targets, -100)
				} else {
					l = g.CrossEntropy(g.Reshape(g.Linear(x, w, nil), tc.rows, tc.v), targets, -100)
				}
				if err := g.Backward(l); err != nil {
					t.Fatal(err)
				}
				return l.Value.Item(), x.Grad.Data(), w.Grad.Data(), g.Arena().Allocated()
			}
			want, wdx, wdw, fullPeak := run(false)
			got, gdx, gdw, peak := run(true)
			if math.Abs(float64(got-want)) > 1e-5*math.Abs(float64(want)) {
				t.Errorf("loss %g, want %g", got, want)
			}
			for _, p := range []struct {
				name      string
				got, want []float32
			}{{"dx", gdx, wdx}, {"dw", gdw, wdw}} {
				for i := range p.want {
					if d := math.Abs(float64(p.got[i] - p.want[i])); d > 1e-6+1e-4*math.Abs(float64(p.want[i])) {
						t.Fatalf("%s[%d] = %g, want %g", p.name, i, p.got[i], p.want[i])
					}
				}
			}
			if tc.wantBelowFull && peak >= tc.rows*tc.v {
				t.Errorf("the fused step's arena holds %d floats, not less than the logits' %d (unfused: %d)", peak, tc.rows*tc.v, fullPeak)
			}
		})
	}
}

// TestBackwardTakesBackGradients: after Backward the gradients of op
// outputs are taken back (their Grad is nil), unless RetainGrad kept
// them; leaves keep theirs.
func TestBackwardTakesBackGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	x, w := Param(randTensor(r, 4, 8)), Param(randTensor(r, 5, 8))
	g := NewGraph(true)
	h := g.Linear(x, w, nil)
	kept := g.Tanh(h)
	g.RetainGrad(kept)
	loss := g.Mean(g.Mul(kept, kept))
	if err := g.Backward(loss); err != nil {
		t.Fatal(err)
	}
	if h.Grad != nil {
		t.Error("an intermediate gradient survived Backward")
	}
	if kept.Grad == nil || x.Grad == nil || w.Grad == nil {
		t.Errorf("retained or leaf gradients lost: kept %v, x %v, w %v", kept.Grad != nil, x.Grad != nil, w.Grad != nil)
	}
}

// TestSplitHeadsNarrow: it equals SplitHeads(Narrow(x)) forward and
// backward, and once x is Released the next buffer of its size reuses
// x's.
func TestSplitHeadsNarrow(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	xt, wt := randTensor(r, 2, 4, 8), randTensor(r, 24, 8)
	run := func(fused bool) ([]float32, []float32) {
		x, w := Param(xt.Clone()), Param(wt.Clone())
		g := NewGraph(true)
		qkv := g.Linear(x, w, nil)
		var k *Var
		if fused {
			k = g.SplitHeadsNarrow(qkv, 8, 16, 2)
			g.Release(qkv)
			before := g.Arena().Allocated()
			g.Arena().Empty(2, 4, 24)
			if after := g.Arena().Allocated(); after != before {
				t.Errorf("a new [2, 4, 24] buffer grew the arena from %d to %d floats: the released one was kept", before, after)
			}
		} else {
			k = g.SplitHeads(g.Narrow(qkv, 2, 8, 16), 2)
		}
		out := k.Value.Clone().Data()
		if err := g.Backward(g.Mean(g.Mul(k, k))); err != nil {
			t.Fatal(err)
		}
		return out, w.Grad.Data()
	}
	wantK, wantDW := run(false)
	gotK, gotDW := run(true)
	if !slices.Equal(gotK, wantK) || !slices.Equal(gotDW, wantDW) {
		t.Errorf("SplitHeadsNarrow differs from SplitHeads(Narrow): k %v vs %v, dw %v vs %v", gotK[:4], wantK[:4], gotDW[:4], wantDW[:4])
	}
}
