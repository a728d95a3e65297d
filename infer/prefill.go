package infer

import (
	"fmt"

	"github.com/attn-dev/attn/attention"
	"github.com/attn-dev/attn/infer/internal/gemv"
	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/internal/parallel"
	"github.com/attn-dev/attn/model"
)

// fusedPrefillChunk is the most prompt tokens per row one fused prefill
// pass takes. The pass keeps one layer's activations (about 50 KB a
// token for GPT-2-small, plus the gathered keys and values), reused by
// every layer and chunk: 24 MB for 512 tokens. Each chunk packs every
// weight for the GEMM once, so longer chunks pack less (measured on
// GPT-2-small, 512 tokens: chunks of 512 about 5% faster than 256).
var fusedPrefillChunk = 512

// prefillScratch are the buffers of the fused prefill, grown on demand and
// kept for the next prompt.
type prefillScratch struct {
	x, a, o []float32 // [N, C], N = rows·T
	lnb     []float32 // [N, C], a bfloat16 product to accumulate
	qkv     []float32 // [N, 3C]
	h       []float32 // [N, FF]
	q, ao   []float32 // [rows, NH, T, HS]
	k, v    []float32 // [rows, NH, Tk, HS] gathered from the cache
	keyPad  []bool    // [rows, Tk]
	wide    []float32 // a bfloat16 matrix widened for the GEMM
	last    []float32 // [rows, C]
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// prefill runs the prompt ids [rows, T] (rows = len(pad) or 1 when pad is
// nil) through the model at cache positions cache.Len() … and writes the
// last position's next-token logits [rows, V]: the layers of step for many
// tokens at once, with GEMMs and the tiled attention kernel instead of
// matrix-vector products, and no graph: the activations of one chunk of at
// most fusedPrefillChunk tokens live in buffers every layer reuses. With
// bfloat16 weights each matrix is widened to float32 per chunk (prompts of
// a few tokens use the matrix-vector products directly), so the float32
// weights are not needed.
func (s *gpt2Step) prefill(cache *model.Cache, ids []int, rows int, pad []int, logits []float32) error {
	c, nh, hs := s.c, s.nh, s.hs
	if rows <= 0 || len(ids) == 0 || len(ids)%rows != 0 || (pad != nil && len(pad) != rows) {
		return fmt.Errorf("infer: prefill of %d ids for %d rows (%d paddings)", len(ids), rows, len(pad))
	}
	total := len(ids) / rows
	maxT := cache.Self[0].K.Shape[2]
	if cache.Len()+total > maxT {
		return fmt.Errorf("infer: a prompt of %d tokens after %d does not fit the KV cache of %d positions", total, cache.Len(), maxT)
	}
	for _, id := range ids {
		if id < 0 || id >= s.v {
			return fmt.Errorf("infer: token id %d outside the vocabulary of %d", id, s.v)
		}
	}
	p := &s.pf
	for lo := 0; lo < total; lo += fusedPrefillChunk {
		t := min(fusedPrefillChunk, total-lo)
		past := cache.Len()
		tk := past + t
		n := rows * t
		p.x, p.a, p.o = grow(p.x, n*c), grow(p.a, n*c), grow(p.o, n*c)
		p.qkv, p.h = grow(p.qkv, n*3*c), grow(p.h, n*s.ff)
		p.q, p.ao = grow(p.q, n*c), grow(p.ao, n*c)
		var keyPad []bool
		if padded(pad) {
			p.keyPad = grow(p.keyPad, rows*tk)
			keyPad = p.keyPad
			for r := range rows {
				for j := range tk {
					keyPad[r*tk+j] = j < pad[r]
				}
			}
		}
		for r := range rows {
			for i := range t {
				pos := past + i
				if pad != nil {
					pos -= pad[r]
				}
				if pos < 0 {
					pos = 1 // transformers' position ids on left padding
				}
				if err := s.embed(p.x[(r*t+i)*c:(r*t+i+1)*c], ids[r*total+lo+i], pos); err != nil {
					return err
				}
			}
		}
		// Everything between the GEMMs runs split over the workers too:
		// on two cores a serial tenth of the time would idle one of them.
		norm := func(w, b []float32) {
			parallel.For(n, 16, func(lo, hi int) { layerNorm(p.a[lo*c:hi*c], p.x[lo*c:hi*c], w, b, c, s.eps) })
		}
		for li := range s.layers {
			l := &s.layers[li]
			kv := cache.Self[li]
			norm(l.ln1W, l.ln1B)
			s.linear(p.qkv, l.attn, p.a, l.attnB, n, false)
			// New keys and values into the cache, queries into
			// [rows, NH, T, HS]; then the keys and values to attend to,
			// which the kernel wants [rows, NH, Tk, HS] contiguous.
			kd, vd := kv.K.Data(), kv.V.Data()
			k, v := kd, vd
			if tk != maxT {
				p.k, p.v = grow(p.k, rows*nh*tk*hs), grow(p.v, rows*nh*tk*hs)
				k, v = p.k, p.v
			}
			parallel.For(rows*nh, 1, func(lo, hi int) {
				for rh := lo; rh < hi; rh++ {
					r, h := rh/nh, rh%nh
					base := rh * maxT * hs
					for i := range t {
						src := (r*t+i)*3*c + h*hs
						copy(p.q[(rh*t+i)*hs:][:hs], p.qkv[src:src+hs])
						copy(kd[base+(past+i)*hs:][:hs], p.qkv[src+c:src+c+hs])
						copy(vd[base+(past+i)*hs:][:hs], p.qkv[src+2*c:src+2*c+hs])
					}
					if tk != maxT {
						copy(k[rh*tk*hs:(rh+1)*tk*hs], kd[base:])
						copy(v[rh*tk*hs:(rh+1)*tk*hs], vd[base:])
					}
				}
			})
			ap := attention.Params{B: rows, NH: nh, Tq: t, Tk: tk, HS: hs, Causal: true, KeyPadding: keyPad}
			if err := attention.Forward(&ap, p.q, k, v, p.ao, nil, nil); err != nil {
				return fmt.Errorf("infer: prefill attention, layer %d: %w", li, err)
			}
			parallel.For(rows*nh, 1, func(lo, hi int) {
				for rh := lo; rh < hi; rh++ {
					r, h := rh/nh, rh%nh
					for i := range t {
						copy(p.o[(r*t+i)*c+h*hs:][:hs], p.ao[(rh*t+i)*hs:][:hs])
					}
				}
			})
			s.linear(p.x, l.proj, p.o, l.projB, n, true) // the residual: x += o·Wᵀ + b
			norm(l.ln2W, l.ln2B)
			s.linear(p.h, l.fc, p.a, l.fcB, n, false)
			parallel.For(n, 4, func(lo, hi int) { kernels.GeluTanh(p.h[lo*s.ff:hi*s.ff], p.h[lo*s.ff:hi*s.ff]) })
			s.linear(p.x, l.fcProj, p.h, l.fpB, n, true)
		}
		for _, kv := range cache.Self {
			kv.Len = tk
		}
		if lo+t == total {
			p.last = grow(p.last, rows*c)
			for r := range rows {
				layerNorm(p.last[r*c:(r+1)*c], p.x[(r*t+t-1)*c:(r*t+t)*c], s.lnfW, s.lnfB, c, s.eps)
			}
			gemv.MulVec(logits, s.wte, p.last, nil)
		}
	}
	return nil
}

func padded(pad []int) bool {
	for _, p := range pad {
		if p > 0 {
			return true
		}
	}
	return false
}

// gemvMaxRows is the most rows a bfloat16 product of the prefill runs as
// matrix-vector products (reading the bfloat16 matrix once); more rows
// widen the matrix to float32 for the GEMM. Measured on GPT-2-small,
// 2 threads, bf16 prefill tok/s (matrix-vector / widen + GEMM): 8 tokens
// 96-180 / 32-61, 32 tokens 130-137 / 97-122, 64 tokens 109-131 / 198-211.
const gemvMaxRows = 32

// linear computes y [n, W.Rows] = x [n, W.Cols]·Wᵀ + bias, or with acc
// adds that to y.
func (s *gpt2Step) linear(y []float32, w *gemv.Matrix, x, bias []float32, n int, acc bool) {
	out := y[:n*w.Rows]
	wf := w.F32
	if wf == nil {
		if n <= gemvMaxRows {
			if !acc {
				gemv.MulVec(out, w, x[:n*w.Cols], bias)
				return
			}
			s.pf.lnb = grow(s.pf.lnb, n*w.Rows)
			gemv.MulVec(s.pf.lnb, w, x[:n*w.Cols], bias)
			kernels.Axpy(1, s.pf.lnb, out)
			return
		}
		s.pf.wide = grow(s.pf.wide, w.Rows*w.Cols)
		wf = s.pf.wide
		parallel.For(w.Rows, 64, func(lo, hi int) {
			src := w.BF16[lo*w.Cols : hi*w.Cols]
			for i, b := range src {
				wf[lo*w.Cols+i] = gemv.FromBF16(b)
			}
		})
	}
	parallel.For(n, 16, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := out[r*w.Rows : (r+1)*w.Rows]
			switch {
			case bias == nil && !acc:
				clear(row)
			case bias != nil && acc:
				kernels.Axpy(1, bias, row)
			case bias != nil:
				copy(row, bias)
			}
		}
	})
	kernels.Sgemm(false, true, n, w.Rows, w.Cols, 1, x, w.Cols, wf, w.Cols, 1, out, w.Rows)
}
