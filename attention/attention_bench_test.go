package attention

import (
	"fmt"
	"testing"
)

// BenchmarkAttention times Forward/Backward of each kernel at GPT-2-small
// head shapes (B=1, NH=12, HS=64); flops as BenchFlops.
func BenchmarkAttention(b *testing.B) {
	cases := []BenchConfig{
		{B: 1, NH: 12, Tq: 1024, Tk: 1024, HS: 64, Causal: true, Kernel: Flash},
		{B: 1, NH: 12, Tq: 1024, Tk: 1024, HS: 64, Kernel: Flash},
		{B: 1, NH: 12, Tq: 1024, Tk: 1024, HS: 64, Causal: true, Kernel: Flash, Backward: true},
		{B: 1, NH: 12, Tq: 2048, Tk: 2048, HS: 64, Kernel: Flash},
		{B: 1, NH: 12, Tq: 2048, Tk: 2048, HS: 64, Kernel: Flash, Backward: true},
		{B: 1, NH: 12, Tq: 4096, Tk: 4096, HS: 64, Causal: true, Window: 256, Kernel: Sparse},
		{B: 1, NH: 12, Tq: 1, Tk: 1024, HS: 64, Kernel: Decode},
		{B: 1, NH: 12, Tq: 256, Tk: 256, HS: 64, Causal: true, Kernel: Ref},
	}
	for _, c := range cases {
		dir := "fwd"
		if c.Backward {
			dir = "bwd"
		}
		name := fmt.Sprintf("%v/%s/L=%dx%d/causal=%v/window=%d", c.Kernel, dir, c.Tq, c.Tk, c.Causal, c.Window)
		b.Run(name, func(b *testing.B) {
			c.Runs = b.N
			r, err := Bench(c)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.GFlops, "GFLOP/s")
			b.ReportMetric(r.Seconds*1e3, "ms/op")
		})
	}
}

// BenchmarkProbs times a forward pass that returns the probabilities
// (B=1, NH=12, L=512, HS=64, causal) on the reference and on the
// GEMM-based probabilities path.
func BenchmarkProbs(b *testing.B) {
	const nh, l, hs = 12, 512, 64
	q, k, v := make([]float32, nh*l*hs), make([]float32, nh*l*hs), make([]float32, nh*l*hs)
	for i := range q {
		q[i], k[i], v[i] = float32(i%7)*0.1, float32(i%5)*0.1, float32(i%3)
	}
	out, lse, probs := make([]float32, len(q)), make([]float32, nh*l), make([]float32, nh*l*l)
	for _, kern := range []Kernel{Ref, Flash} {
		b.Run(kern.String(), func(b *testing.B) {
			p := &Params{B: 1, NH: nh, Tq: l, Tk: l, HS: hs, Causal: true, Kernel: kern}
			for b.Loop() {
				if err := Forward(p, q, k, v, out, lse, probs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeCache times one decode step of GPT-2-small shape (NH=12,
// HS=64) against a KV cache of 2048 positions per head holding Tk: read in
// place with KVHeadStride, and, for comparison, gathered into contiguous
// k, v first (what a caller had to do before KVHeadStride).
func BenchmarkDecodeCache(b *testing.B) {
	const nh, hs, maxT = 12, 64, 2048
	q, out := make([]float32, nh*hs), make([]float32, nh*hs)
	kc, vc := make([]float32, nh*maxT*hs), make([]float32, nh*maxT*hs)
	for i := range kc {
		kc[i], vc[i] = float32(i%5)*0.1, float32(i%3)
	}
	for _, tk := range []int{256, 1024} {
		k, v := make([]float32, nh*tk*hs), make([]float32, nh*tk*hs)
		b.Run(fmt.Sprintf("inplace/Tk=%d", tk), func(b *testing.B) {
			p := &Params{B: 1, NH: nh, Tq: 1, Tk: tk, HS: hs, KVHeadStride: maxT * hs}
			for b.Loop() {
				if err := Forward(p, q, kc, vc, out, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("gather/Tk=%d", tk), func(b *testing.B) {
			p := &Params{B: 1, NH: nh, Tq: 1, Tk: tk, HS: hs}
			for b.Loop() {
				for h := range nh {
					copy(k[h*tk*hs:(h+1)*tk*hs], kc[h*maxT*hs:])
					copy(v[h*tk*hs:(h+1)*tk*hs], vc[h*maxT*hs:])
				}
				if err := Forward(p, q, k, v, out, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
