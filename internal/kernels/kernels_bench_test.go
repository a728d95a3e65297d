package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func benchGemm(b *testing.B, im *impl, par, transA, transB bool, m, n, k int) {
	r := rand.New(rand.NewPCG(1, 1))
	a := randSlice(r, m*k)
	bb := randSlice(r, k*n)
	c := make([]float32, m*n)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	run := gemmSerial
	if par {
		run = gemmParallel
	}
	run(im, transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	b.ResetTimer()
	for range b.N {
		run(im, transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm reports GFLOP/s of every kernel set on the shapes the
// engine uses: square, decode GEMV, a GPT-small projection with its
// backward transposes, and attention tiles (serial).
func BenchmarkSgemm(b *testing.B) {
	avail, _ := allImpls()
	shapes := []struct {
		name        string
		par, tA, tB bool
		m, n, k     int
	}{
		{"1024cube", true, false, false, 1024, 1024, 1024},
		{"decode1x768x3072", true, false, false, 1, 3072, 768},
		{"decode1x768x3072T", true, false, true, 1, 3072, 768},
		{"proj768x1536x384", true, false, false, 768, 1536, 384},
		{"dW384x1536x768", true, true, false, 384, 1536, 768},
		{"dX768x384x1536", true, false, true, 768, 384, 1536},
		{"tile64", false, false, true, 64, 64, 64},
		{"tile128x64x64", false, false, false, 128, 64, 64},
	}
	for _, im := range avail {
		for _, s := range shapes {
			b.Run(fmt.Sprintf("%s/%s", im.name, s.name), func(b *testing.B) {
				benchGemm(b, im, s.par, s.tA, s.tB, s.m, s.n, s.k)
			})
		}
	}
}

// BenchmarkVector reports throughput (bytes of input per second) of the
// vector kernels on 4096 elements.
func BenchmarkVector(b *testing.B) {
	avail, _ := allImpls()
	r := rand.New(rand.NewPCG(1, 1))
	x, y, d := randSlice(r, 4096), randSlice(r, 4096), make([]float32, 4096)
	for _, im := range avail {
		for name, f := range map[string]func(){
			"dot":         func() { im.dot(x, y) },
			"axpy":        func() { im.axpy(1e-6, x, y) },
			"max":         func() { im.max(x) },
			"exp":         func() { im.exp(d, x) },
			"tanh":        func() { im.tanh(d, x) },
			"geluTanh":    func() { im.geluTanh(d, x) },
			"geluErf":     func() { im.geluErf(d, x) },
			"expShiftSum": func() { copy(d, x); im.expShiftSum(d, 3) },
		} {
			b.Run(im.name+"/"+name, func(b *testing.B) {
				b.SetBytes(4 * 4096)
				for range b.N {
					f()
				}
			})
		}
	}
}

// BenchmarkMicrokernel measures the register tile alone on L1-resident
// packed slivers (k = kcBlock): the ceiling the blocked SGEMM can reach.
func BenchmarkMicrokernel(b *testing.B) {
	avail, _ := allImpls()
	r := rand.New(rand.NewPCG(1, 1))
	for _, im := range avail {
		b.Run(im.name, func(b *testing.B) {
			ap := randSlice(r, im.mr*kcBlock)
			bp := randSlice(r, im.nr*kcBlock)
			c := make([]float32, im.mr*im.nr)
			for range b.N {
				im.kernel(kcBlock, ap, bp, c, im.nr, 1, 1, nil)
			}
			b.ReportMetric(2*float64(im.mr*im.nr*kcBlock)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkLinearPackedB compares a Linear product y = x·Wᵀ (x [M, in], W
// [out, in]) with W packed at every call (Sgemm) and packed once
// (SgemmPackedB), on BERT-base's and GPT-2-small's projection shapes,
// serial and parallel, with the current kernel set.
func BenchmarkLinearPackedB(b *testing.B) {
	for _, s := range []struct{ m, out, in int }{{128, 768, 768}, {128, 3072, 768}, {128, 768, 3072}, {512, 2304, 768}} {
		r := rand.New(rand.NewPCG(1, 1))
		x, w, y := randSlice(r, s.m*s.in), randSlice(r, s.out*s.in), make([]float32, s.m*s.out)
		pb := packBWith(cur, true, s.in, s.out, w, s.in)
		for _, par := range []bool{false, true} {
			for _, packed := range []bool{false, true} {
				b.Run(fmt.Sprintf("%dx%dx%d/parallel=%v/packed=%v", s.m, s.out, s.in, par, packed), func(b *testing.B) {
					for range b.N {
						switch {
						case packed && par:
							gemmPackedParallel(false, s.m, 1, x, s.in, pb, 0, y, s.out, nil)
						case packed:
							gemmPackedSerial(false, s.m, 0, s.out, 1, x, s.in, pb, 0, y, s.out, nil)
						case par:
							gemmParallel(cur, false, true, s.m, s.out, s.in, 1, x, s.in, w, s.in, 0, y, s.out)
						default:
							gemmSerial(cur, false, true, s.m, s.out, s.in, 1, x, s.in, w, s.in, 0, y, s.out)
						}
					}
					b.ReportMetric(2*float64(s.m*s.out*s.in)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
