package server

import (
	"math"
	"sort"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
)

// tokenLogprob is one generated token's log-probability under the model
// (before temperature and top_p), with the top alternatives.
type tokenLogprob struct {
	Token       string         `json:"token"`
	Logprob     float64        `json:"logprob"`
	Bytes       []int          `json:"bytes"`
	TopLogprobs []tokenLogprob `json:"top_logprobs,omitempty"`
}

// tokenLogprobs scores the generated ids by one forward pass over prompt
// and output (the decode loop does not keep its logits): decoder-only
// models only.
func (s *Server) tokenLogprobs(l *loaded, prompt, out []int, top int) ([]tokenLogprob, *apiError) {
	if l.s2s {
		return nil, badRequest("logprobs are not supported for encoder-decoder model %s", l.name)
	}
	if _, e := l.tokenizer(); e != nil {
		return nil, e
	}
	res := []tokenLogprob{}
	if len(out) == 0 {
		return res, nil
	}
	all := append(append([]int{}, prompt...), out...)
	o, err := l.task.Model.Forward(autograd.NewGraph(false), &model.Inputs{B: 1, T: len(all), InputIDs: all}, model.Options{})
	if err != nil {
		return nil, toAPIError(err)
	}
	logits := o.Get("logits").Contiguous().Data()
	v := len(logits) / len(all)
	spell := func(id int, lp float64) tokenLogprob {
		t, _ := l.task.Tokenizer.Decode([]int{id}, false)
		b := make([]int, len(t))
		for i := range len(t) {
			b[i] = int(t[i])
		}
		return tokenLogprob{Token: t, Logprob: lp, Bytes: b}
	}
	for i, id := range out {
		row := logits[(len(prompt)-1+i)*v : (len(prompt)+i)*v]
		mx := math.Inf(-1)
		for _, x := range row {
			mx = math.Max(mx, float64(x))
		}
		var z float64
		for _, x := range row {
			z += math.Exp(float64(x) - mx)
		}
		lz := mx + math.Log(z)
		t := spell(id, float64(row[id])-lz)
		if top > 0 {
			idx := make([]int, v)
			for k := range idx {
				idx[k] = k
			}
			sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
			t.TopLogprobs = []tokenLogprob{}
			for _, k := range idx[:min(top, v)] {
				t.TopLogprobs = append(t.TopLogprobs, spell(k, float64(row[k])-lz))
			}
		}
		res = append(res, t)
	}
	return res, nil
}

// completionLogprobs is /v1/completions' legacy shape.
func (s *Server) completionLogprobs(l *loaded, prompt []int, o choiceOut, top int) (any, *apiError) {
	lps, e := s.tokenLogprobs(l, prompt, o.ids, top)
	if e != nil {
		return nil, e
	}
	tokens, values, offsets := []string{}, []float64{}, []int{}
	tops := []map[string]float64{}
	at := 0
	for _, t := range lps {
		tokens = append(tokens, t.Token)
		values = append(values, t.Logprob)
		offsets = append(offsets, at)
		at += len(t.Token)
		m := map[string]float64{}
		for _, a := range t.TopLogprobs {
			m[a.Token] = a.Logprob
		}
		tops = append(tops, m)
	}
	out := map[string]any{"tokens": tokens, "token_logprobs": values, "text_offset": offsets, "top_logprobs": nil}
	if top > 0 {
		out["top_logprobs"] = tops
	}
	return out, nil
}
