package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attn-dev/attn/internal/kernels"
)

// TestLinearPacked: a weight marked SetPackedLinear gives the unpacked
// product's result in every kind of graph; the copy exists exactly when an
// inference product had at least kernels.PackMinRows rows, a training graph
// drops it, and new storage behind the weight is repacked.
func TestLinearPacked(t *testing.T) {
	const in, out = 70, 45
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name       string
		rows       int
		train      bool
		wantPacked bool
	}{
		{"inference-many-rows", 3 * kernels.PackMinRows, false, true},
		{"inference-threshold", kernels.PackMinRows, false, true},
		{"inference-decode", 1, false, false},
		{"inference-few-rows", kernels.PackMinRows - 1, false, false},
		{"training", 3 * kernels.PackMinRows, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := Param(randTensor(r, out, in))
			b := Param(randTensor(r, out))
			x := randTensor(r, tc.rows, in)
			want := NewGraph(false).Linear(Const(x), w, b).Value.Data()
			w.SetPackedLinear(true)
			if tc.train { // a copy from an earlier inference must go
				NewGraph(false).Linear(Const(randTensor(r, kernels.PackMinRows, in)), w, b)
			}
			got := NewGraph(tc.train).Linear(Const(x), w, b).Value.Data()
			if packed := w.PackedLinearBytes() > 0; packed != tc.wantPacked {
				t.Fatalf("packed copy held: %v, want %v", packed, tc.wantPacked)
			}
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("y[%d] = %v, want %v", i, got[i], want[i])
				}
			}
			w.SetPackedLinear(false)
			if w.PackedLinearBytes() != 0 {
				t.Fatal("SetPackedLinear(false) kept the copy")
			}
		})
	}
}

// TestLinearPackedFollowsNewStorage: replacing the weight's tensor (a
// reload) repacks instead of multiplying by the old values.
func TestLinearPackedFollowsNewStorage(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	w := Param(randTensor(r, 20, 30)).SetPackedLinear(true)
	x := Const(randTensor(r, 32, 30))
	NewGraph(false).Linear(x, w, nil)
	w.Value = randTensor(r, 20, 30)
	got := NewGraph(false).Linear(x, w, nil).Value.Data()
	w.SetPackedLinear(false)
	want := NewGraph(false).Linear(x, w, nil).Value.Data()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("y[%d] = %v, want %v (stale packed weight?)", i, got[i], want[i])
		}
	}
}

// TestLinearPackedConcurrent: inference graphs on several goroutines share
// one packed weight (built by whichever comes first) and all get the
// unpacked result; run under -race this also checks the lazy build.
func TestLinearPackedConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	w := Param(randTensor(r, 24, 40))
	x := Const(randTensor(r, 2*kernels.PackMinRows, 40))
	want := NewGraph(false).Linear(x, w, nil).Value.Data()
	w.SetPackedLinear(true)
	errs := make(chan string, 4)
	for range 4 {
		go func() {
			got := NewGraph(false).Linear(x, w, nil).Value.Data()
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
					errs <- fmt.Sprintf("y[%d] = %v, want %v", i, got[i], want[i])
					return
				}
			}
			errs <- ""
		}()
	}
	for range 4 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
