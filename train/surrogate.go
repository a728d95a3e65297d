package train

import (
	"fmt"
	"math"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/nn"
	"github.com/attn-dev/attn/tensor"
)

// seqs are B token sequences (prompt + response) right-padded to T. A
// causal model never attends to the padding on its right, so no mask is
// needed; scored[r·T+j] says whether token j of row r is a response
// token, whose log-probability comes from logits row j−1 (j ≥ 1).
type seqs struct {
	b, t   int
	ids    []int
	scored []float64 // [B, T], 1 or 0; scored[r·T] is always 0
}

// newSeqs packs prompt + response pairs, padding with pad.
func newSeqs(prompts, responses [][]int, pad int) *seqs {
	s := &seqs{b: len(prompts)}
	for i := range prompts {
		s.t = max(s.t, len(prompts[i])+len(responses[i]))
	}
	s.ids, s.scored = make([]int, s.b*s.t), make([]float64, s.b*s.t)
	for i := range prompts {
		row := s.ids[i*s.t : (i+1)*s.t]
		n := copy(row, prompts[i])
		copy(row[n:], responses[i])
		for j := n + len(responses[i]); j < s.t; j++ {
			row[j] = pad
		}
		for j := max(n, 1); j < n+len(responses[i]); j++ {
			s.scored[i*s.t+j] = 1
		}
	}
	return s
}

// lmPass is one forward of a causal LM over seqs: per-token
// log-probabilities of the scored tokens, the entropy of each scored
// position's distribution, and, with a value head, the value at each
// position. Its Vars live in g until g.Reset.
type lmPass struct {
	s       *seqs
	logp    *autograd.Var // log-softmax [B·T, V]
	values  *autograd.Var // value head [B·T, 1], or nil
	v       int
	lp, ent []float64 // [B, T]: at token j, from row j−1; 0 where unscored
	val     []float64 // [B, T]: the value at row j−1; nil without a head
}

// forwardLM runs m (a GPT2LMHeadModel) in g on s without dropout; head,
// when set, is a value head Linear(C, 1) on the last hidden state (TRL's
// AutoModelForCausalLMWithValueHead).
func forwardLM(g *autograd.Graph, m model.Model, s *seqs, head *nn.Linear) (*lmPass, error) {
	out, err := m.Forward(g, &model.Inputs{B: s.b, T: s.t, InputIDs: s.ids}, model.Options{})
	if err != nil {
		return nil, err
	}
	logits := out.Var("logits")
	if logits == nil {
		return nil, fmt.Errorf("train: %s returned no logits (want a causal LM)", m.Info().Architecture)
	}
	v := logits.Value.Shape[logits.Value.Rank()-1]
	p := &lmPass{s: s, v: v, logp: g.LogSoftmax(g.Reshape(logits, s.b*s.t, v))}
	p.lp, p.ent = make([]float64, s.b*s.t), make([]float64, s.b*s.t)
	lp := p.logp.Value.Contiguous().Data()
	for r := 0; r < s.b; r++ {
		for j := 1; j < s.t; j++ {
			k := r*s.t + j
			if s.scored[k] == 0 {
				continue
			}
			row := lp[(k-1)*v : k*v]
			p.lp[k] = float64(row[s.ids[k]])
			var h float64
			for _, x := range row {
				h -= math.Exp(float64(x)) * float64(x)
			}
			p.ent[k] = h
		}
	}
	if head != nil {
		hs := out.Var("last_hidden_state")
		if hs == nil {
			return nil, fmt.Errorf("train: %s returned no last_hidden_state for the value head", m.Info().Architecture)
		}
		c := hs.Value.Shape[hs.Value.Rank()-1]
		p.values = head.Forward(g, g.Reshape(hs, s.b*s.t, c))
		vals := p.values.Value.Contiguous().Data()
		p.val = make([]float64, s.b*s.t)
		for k := range p.val {
			if s.scored[k] != 0 {
				p.val[k] = float64(vals[k-1])
			}
		}
	}
	return p, nil
}

// sums returns each row's summed log-probability of its scored tokens.
func (p *lmPass) sums() []float64 {
	out := make([]float64, p.s.b)
	for k, x := range p.lp {
		out[k/p.s.t] += x
	}
	return out
}

// backward runs g.Backward on the surrogate Σ dlp·logp + Σ dval·value
// (dlp, dval [B, T] as lp and val; dval may be nil): its gradient is
// that of any loss whose derivatives with respect to the scored
// log-probabilities and values are dlp and dval.
func (p *lmPass) backward(g *autograd.Graph, dlp, dval []float64) error {
	s := p.s
	w := tensor.New(s.b*s.t, p.v)
	wd := w.Data()
	for k, d := range dlp {
		if d != 0 && s.scored[k] != 0 {
			wd[(k-1)*p.v+s.ids[k]] = float32(d)
		}
	}
	loss := g.Sum(g.Mul(p.logp, g.Input(w, false)))
	if dval != nil && p.values != nil {
		wv := tensor.New(s.b*s.t, 1)
		vd := wv.Data()
		for k, d := range dval {
			if d != 0 && s.scored[k] != 0 {
				vd[k-1] = float32(d)
			}
		}
		loss = g.Add(loss, g.Sum(g.Mul(p.values, g.Input(wv, false))))
	}
	return g.Backward(loss)
}

// rowSpread spreads one value per row over the row's scored tokens
// (a sequence-level gradient onto its token log-probabilities).
func (s *seqs) rowSpread(perRow []float64) []float64 {
	out := make([]float64, s.b*s.t)
	for k, m := range s.scored {
		out[k] = m * perRow[k/s.t]
	}
	return out
}
