package infer

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/attn-dev/attn/infer/internal/gemv"
	"github.com/attn-dev/attn/internal/kernels"
	"github.com/attn-dev/attn/internal/parallel"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/nn"
)

// gpt2Step is a fused single-token decode step for GPT-2, the hot loop of
// generation: for every row it runs, with no graph and no allocation,
//
//	x = wte[id] + wpe[pos]
//	per layer:  a = LN₁(x); q,k,v = a·W_attnᵀ + b (k, v appended to the cache)
//	            x += attend(q, cache)·W_projᵀ + b
//	            x += gelu_new(LN₂(x)·W_fcᵀ + b)·W_fcprojᵀ + b
//	logits = LN_f(x)·wteᵀ
//
// on the same KV cache the model's Forward fills during the prefill, with
// its matrix-vector products in package gemv (float32 weights read in place
// from the checkpoint mapping, or a bfloat16 copy). model.GPT2.Forward is
// the reference it is tested against.
type gpt2Step struct {
	c, nh, hs, v, ff int
	eps              float32
	wte              *gemv.Matrix // [V, C], the tied LM head
	wteF32           []float32    // for the embedding lookup
	wpe              []float32    // [nPos, C]
	lnfW, lnfB       []float32
	layers           []gpt2StepLayer
	// scratch, sized for rows on first use
	rows                    int
	x, a, qkv, o, h, u, lnb []float32
	scores                  []float32
	att                     attendArgs
	pf                      prefillScratch
	attendFn                func(lo, hi int)
}

type gpt2StepLayer struct {
	ln1W, ln1B, ln2W, ln2B []float32
	attn, proj, fc, fcProj *gemv.Matrix
	attnB, projB, fcB, fpB []float32
}

// newGPT2Step gathers a GPT-2 LM's weights by name; bf16 converts the
// matrices to bfloat16. It returns nil (no fused path) for anything but
// GPT2LMHeadModel with gelu_new.
func newGPT2Step(m model.Model, bf16 bool) (*gpt2Step, error) {
	info := m.Info()
	if info.ModelType != "gpt2" || info.Architecture != "GPT2LMHeadModel" {
		return nil, nil
	}
	if act, ok := m.Config().Raw("activation_function"); ok && act != "gelu_new" {
		return nil, nil
	}
	// With bfloat16 weights the float32 matrices are read once, for the
	// conversion, in the file's layout (a Conv1D weight is transposed
	// while converting, never in place) and then released from memory;
	// the embedding lookups, biases and norms stay float32 in place.
	p := map[string]model.StoredParameter{}
	if bf16 {
		for _, sp := range model.StoredParameters(m) {
			p[strings.TrimPrefix(sp.Name, "transformer.")] = sp
		}
	} else {
		for _, np := range m.NamedParameters("", nil) {
			p[strings.TrimPrefix(np.Name, "transformer.")] = model.StoredParameter{Name: np.Name, Data: np.Var.Value.Contiguous().Data()}
		}
	}
	c, nh := info.Hidden, info.Heads
	s := &gpt2Step{c: c, nh: nh, hs: c / nh, v: info.Vocab, ff: info.FFN, eps: 1e-5}
	if raw, ok := m.Config().Raw("layer_norm_epsilon"); ok {
		if f, err := strconv.ParseFloat(fmt.Sprint(raw), 32); err == nil {
			s.eps = float32(f)
		}
	}
	var err error
	get := func(name string, n int) []float32 {
		sp, ok := p[name]
		if err == nil && (!ok || len(sp.Data) != n) {
			err = fmt.Errorf("infer: gpt2 fused step: %s has %d values, want %d", name, len(sp.Data), n)
		}
		return sp.Data
	}
	mat := func(name string, rows, cols int) *gemv.Matrix {
		if !bf16 {
			return &gemv.Matrix{Rows: rows, Cols: cols, F32: get(name, rows*cols)}
		}
		sp := p[name]
		if err != nil || len(sp.Data) != rows*cols {
			if err == nil {
				err = fmt.Errorf("infer: gpt2 fused step: %s has %d values, want %d", name, len(sp.Data), rows*cols)
			}
			return nil
		}
		var w *gemv.Matrix
		if sp.InOut {
			w = gemv.NewBF16T(rows, cols, sp.Data)
		} else {
			w = gemv.NewBF16(rows, cols, sp.Data)
		}
		// One tensor at a time, so the float32 pages never pile up.
		if _, rerr := model.ReleaseStored(m, sp.Name); rerr != nil {
			err = fmt.Errorf("infer: gpt2 fused step: %w", rerr)
		}
		return w
	}
	s.wteF32 = get("wte.weight", s.v*c)
	s.wte = mat("wte.weight", s.v, c)
	s.wpe = get("wpe.weight", info.Context*c)
	s.lnfW, s.lnfB = get("ln_f.weight", c), get("ln_f.bias", c)
	for i := range info.Layers {
		h := "h." + strconv.Itoa(i) + "."
		s.layers = append(s.layers, gpt2StepLayer{
			ln1W: get(h+"ln_1.weight", c), ln1B: get(h+"ln_1.bias", c),
			ln2W: get(h+"ln_2.weight", c), ln2B: get(h+"ln_2.bias", c),
			attn: mat(h+"attn.c_attn.weight", 3*c, c), attnB: get(h+"attn.c_attn.bias", 3*c),
			proj: mat(h+"attn.c_proj.weight", c, c), projB: get(h+"attn.c_proj.bias", c),
			fc: mat(h+"mlp.c_fc.weight", s.ff, c), fcB: get(h+"mlp.c_fc.bias", s.ff),
			fcProj: mat(h+"mlp.c_proj.weight", c, s.ff), fpB: get(h+"mlp.c_proj.bias", c),
		})
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *gpt2Step) ensure(rows, maxT int) {
	if s.rows == rows && len(s.scores) >= rows*s.nh*maxT {
		return
	}
	s.rows = rows
	c := s.c
	s.x, s.a, s.o = make([]float32, rows*c), make([]float32, rows*c), make([]float32, rows*c)
	s.qkv, s.h, s.u = make([]float32, rows*3*c), make([]float32, rows*s.ff), make([]float32, rows*s.ff)
	s.lnb = make([]float32, rows*c)
	s.scores = make([]float32, rows*s.nh*maxT)
}

// step decodes one token per row (ids [rows]) at cache position cache.Len
// and writes the next-token logits [rows, V].
func (s *gpt2Step) step(cache *model.Cache, ids, pad []int, logits []float32) error {
	rows, c := len(ids), s.c
	past := cache.Len()
	maxT := cache.Self[0].K.Shape[2]
	if past+1 > maxT {
		return fmt.Errorf("infer: KV cache of %d positions is full", maxT)
	}
	s.ensure(rows, maxT)
	for r, id := range ids {
		if id < 0 || id >= s.v {
			return fmt.Errorf("infer: token id %d outside the vocabulary of %d", id, s.v)
		}
		pos := past
		if pad != nil {
			pos -= pad[r]
		}
		if pos < 0 {
			return fmt.Errorf("infer: position %d outside the model's %d", pos, len(s.wpe)/c)
		}
		if err := s.embed(s.x[r*c:(r+1)*c], id, pos); err != nil {
			return err
		}
	}
	for li := range s.layers {
		l := &s.layers[li]
		kv := cache.Self[li]
		layerNorm(s.a, s.x, l.ln1W, l.ln1B, c, s.eps)
		gemv.MulVec(s.qkv, l.attn, s.a, l.attnB)
		s.attend(kv, pad, past, maxT)
		gemv.MulVec(s.lnb, l.proj, s.o, l.projB)
		kernels.Axpy(1, s.lnb, s.x)
		layerNorm(s.a, s.x, l.ln2W, l.ln2B, c, s.eps)
		gemv.MulVec(s.h, l.fc, s.a, l.fcB)
		geluTanh(s.h, s.u)
		gemv.MulVec(s.lnb, l.fcProj, s.h, l.fpB)
		kernels.Axpy(1, s.lnb, s.x)
	}
	for _, kv := range cache.Self {
		kv.Len = past + 1
	}
	layerNorm(s.a, s.x, s.lnfW, s.lnfB, c, s.eps)
	gemv.MulVec(logits, s.wte, s.a, nil)
	return nil
}

// embed writes x = wte[id] + wpe[pos].
func (s *gpt2Step) embed(x []float32, id, pos int) error {
	c := s.c
	if (pos+1)*c > len(s.wpe) {
		return fmt.Errorf("infer: position %d outside the model's %d", pos, len(s.wpe)/c)
	}
	copy(x, s.wteF32[id*c:(id+1)*c])
	kernels.Axpy(1, s.wpe[pos*c:(pos+1)*c], x)
	return nil
}

// attend appends each row's new k, v (from s.qkv) to the cache at
// position past and writes softmax(q·Kᵀ/√HS)·V over positions 0 … past
// into s.o, hiding the row's left padding.
func (s *gpt2Step) attend(kv *nn.KVCache, pad []int, past, maxT int) {
	s.att = attendArgs{kv: kv, pad: pad, past: past, maxT: maxT}
	if s.attendFn == nil {
		s.attendFn = s.attendHeads
	}
	parallel.For(s.rows*s.nh, 4, s.attendFn)
	s.att = attendArgs{}
}

// attendArgs are one attend call's arguments, for attendHeads (bound once
// as a method value so the fan-out allocates nothing).
type attendArgs struct {
	kv         *nn.KVCache
	pad        []int
	past, maxT int
}

// attendHeads runs attend for the (row, head) pairs lo … hi−1.
func (s *gpt2Step) attendHeads(lo, hi int) {
	c, hs, nh := s.c, s.hs, s.nh
	kv, pad, past, maxT := s.att.kv, s.att.pad, s.att.past, s.att.maxT
	kd, vd := kv.K.Data(), kv.V.Data()
	scale := float32(1 / math.Sqrt(float64(hs)))
	tk := past + 1
	for rh := lo; rh < hi; rh++ {
		r, h := rh/nh, rh%nh
		q := s.qkv[r*3*c+h*hs : r*3*c+(h+1)*hs]
		base := (r*nh + h) * maxT * hs
		copy(kd[base+past*hs:base+tk*hs], s.qkv[r*3*c+c+h*hs:r*3*c+c+(h+1)*hs])
		copy(vd[base+past*hs:base+tk*hs], s.qkv[r*3*c+2*c+h*hs:r*3*c+2*c+(h+1)*hs])
		first := 0
		if pad != nil {
			first = pad[r]
		}
		sc := s.scores[rh*maxT : rh*maxT+tk]
		m := float32(math.Inf(-1))
		for j := first; j < tk; j++ {
			v := kernels.Dot(q, kd[base+j*hs:base+(j+1)*hs]) * scale
			sc[j] = v
			m = max(m, v)
		}
		var sum float32
		for j := first; j < tk; j++ {
			e := float32(math.Exp(float64(sc[j] - m)))
			sc[j] = e
			sum += e
		}
		o := s.o[r*c+h*hs : r*c+(h+1)*hs]
		clear(o)
		inv := 1 / sum
		for j := first; j < tk; j++ {
			kernels.Axpy(sc[j]*inv, vd[base+j*hs:base+(j+1)*hs], o)
		}
	}
}

// layerNorm writes LN(x) per row of C: (x − mean)/√(var + eps)·w + b.
func layerNorm(dst, x, w, b []float32, c int, eps float32) {
	for r := 0; r < len(x)/c; r++ {
		xr, dr := x[r*c:(r+1)*c], dst[r*c:(r+1)*c]
		var mean float32
		for _, v := range xr {
			mean += v
		}
		mean /= float32(c)
		var vr float32
		for _, v := range xr {
			d := v - mean
			vr += d * d
		}
		rstd := float32(1 / math.Sqrt(float64(vr/float32(c)+eps)))
		for i, v := range xr {
			dr[i] = (v-mean)*rstd*w[i] + b[i]
		}
	}
}

// geluTanh applies gelu_new in place, with u as scratch (len(x)):
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func geluTanh(x, u []float32) {
	const k = 0.7978845608028654 // √(2/π)
	for i, v := range x {
		u[i] = k * (v + 0.044715*v*v*v)
	}
	kernels.Tanh(u, u)
	for i, v := range x {
		x[i] = 0.5 * v * (1 + u[i])
	}
}
