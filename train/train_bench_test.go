package train

import (
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
)

// BenchmarkAdamWStep updates 4M parameters (in a 4M-element matrix);
// reported throughput is parameter bytes per second.
func BenchmarkAdamWStep(b *testing.B) {
	const n = 1 << 22
	p := autograd.Param(tensor.New(2048, n/2048))
	p.Grad = tensor.New(2048, n/2048)
	p.Grad.Fill(0.01)
	opt, err := NewAdamW(0.9, 0.95, 1e-8, DecayGroups([]*autograd.Var{p}, 1e-4, 0.1)...)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(4 * n)
	b.ReportAllocs()
	for b.Loop() {
		if err := opt.Step(1); err != nil {
			b.Fatal(err)
		}
	}
}
