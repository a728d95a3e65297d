package server

import (
	"fmt"
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
// and output (the decode loop does not keep its logits). A decoder-only
// model reads prompt and output as one sequence; an encoder-decoder
// encodes the prompt and reads the decoder start token followed by the
// output, teacher-forced as in training.
func (s *Server) tokenLogprobs(l *loaded, prompt, out []int, top int) ([]tokenLogprob, *apiError) {
	if _, e := l.tokenizer(); e != nil {
		return nil, e
	}
	res := []tokenLogprob{}
	if len(out) == 0 {
		return res, nil
	}
	in := &model.Inputs{B: 1}
	first := len(prompt) - 1 // the logits row that predicts out[0]
	if l.s2s {
		if l.decoderStart < 0 {
			return nil, badRequest("model %s has no decoder_start_token_id: its output cannot be scored", l.name)
		}
		in.T, in.InputIDs = len(prompt), prompt
		in.TDec, in.DecoderInputIDs = len(out), append([]int{l.decoderStart}, out[:len(out)-1]...)
		first = 0
	} else {
		all := append(append([]int{}, prompt...), out...)
		in.T, in.InputIDs = len(all), all
	}
	o, err := l.task.Model.Forward(autograd.NewGraph(false), in, model.Options{})
	if err != nil {
		return nil, toAPIError(err)
	}
	lg := o.Get("logits")
	if lg == nil {
		return nil, toAPIError(fmt.Errorf("model %s returned no logits", l.name))
	}
	logits := lg.Contiguous().Data()
	v := l.task.Model.Info().Vocab
	spell := func(id int, lp float64) tokenLogprob {
		t, _ := l.task.Tokenizer.Decode([]int{id}, false)
		b := make([]int, len(t))
		for i := range len(t) {
			b[i] = int(t[i])
		}
		return tokenLogprob{Token: t, Logprob: lp, Bytes: b}
	}
	for i, id := range out {
		row := logits[(first+i)*v : (first+i+1)*v]
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
