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
