package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
)

// DPOConfig is a DPO run: β and the loss (DPOSigmoid or DPOIPO).
type DPOConfig struct {
	AlignConfig
	Beta float64
	Loss string
}

// DPORecord is one logged DPO step (TRL's rewards/chosen, rewards/rejected,
// rewards/accuracies, rewards/margins).
type DPORecord struct {
	alignStep
	Loss           float64 `json:"loss"`
	RewardChosen   float64 `json:"rewards_chosen"`
	RewardRejected float64 `json:"rewards_rejected"`
	Accuracy       float64 `json:"accuracy"`
	Margin         float64 `json:"margin"`
	heldOut
}

// Line is the record as a human reads it.
func (r DPORecord) Line() string {
	return fmt.Sprintf("dpo step %d/%d  loss %.4f  reward chosen %+.3f rejected %+.3f  acc %.3f  margin %.3f  lr %.2e  %.0f ms/step",
		r.Step+1, r.Total, r.Loss, r.RewardChosen, r.RewardRejected, r.Accuracy, r.Margin, r.LR, r.MSPerStep) + r.line()
}

// encodedPair is a pair as token ids.
type encodedPair struct{ prompt, chosen, rejected []int }

func encodePairs(tok tokenizer.Tokenizer, pairs []PrefPair, context int) ([]encodedPair, error) {
	out := make([]encodedPair, len(pairs))
	for i, p := range pairs {
		var err error
		e := &out[i]
		if e.prompt, err = tok.Encode(p.Prompt, false); err == nil {
			if e.chosen, err = tok.Encode(p.Chosen, false); err == nil {
				e.rejected, err = tok.Encode(p.Rejected, false)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("train: pair %d: %w", i, err)
		}
		if n := len(e.prompt) + max(len(e.chosen), len(e.rejected)); n > context {
			return nil, fmt.Errorf("train: pair %d is %d tokens long; the model's context is %d", i, n, context)
		}
	}
	return out, nil
}

// pairSeqs lays out the chosen responses of ps, then the rejected ones.
func pairSeqs(ps []encodedPair) *seqs {
	prompts := make([][]int, 0, 2*len(ps))
	resp := make([][]int, 0, 2*len(ps))
	for _, p := range ps {
		prompts, resp = append(prompts, p.prompt), append(resp, p.chosen)
	}
	for _, p := range ps {
		prompts, resp = append(prompts, p.prompt), append(resp, p.rejected)
	}
	return newSeqs(prompts, resp, 0)
}

// pairLogProbs returns the summed response log-probabilities of m on each
// pair's chosen and rejected response, without a tape.
func pairLogProbs(m model.Model, ps []encodedPair) (chosen, rejected []float64, err error) {
	g := autograd.NewGraph(false)
	for lo := 0; lo < len(ps); lo += 32 {
		part := ps[lo:min(lo+32, len(ps))]
		g.Reset()
		p, err := forwardLM(g, m, pairSeqs(part), nil)
		if err != nil {
			return nil, nil, err
		}
		s := p.sums()
		chosen, rejected = append(chosen, s[:len(part)]...), append(rejected, s[len(part):]...)
	}
	return chosen, rejected, nil
}

// TrainDPO trains policy on pairs with the direct preference loss against
// ref (frozen; usually the same starting checkpoint). It returns the
// held-out preference accuracy (NaN when nothing is held out).
func TrainDPO(policy, ref model.Model, tok tokenizer.Tokenizer, pairs []PrefPair, c DPOConfig, onRecord func(DPORecord)) (float64, error) {
	if err := c.validate(); err != nil {
		return 0, err
	}
	if _, err := DPO([]float64{0}, []float64{0}, []float64{0}, []float64{0}, c.Beta, c.Loss); err != nil {
		return 0, err
	}
	trainP, valP := splitPairs(pairs, c.Seed, c.ValFraction)
	if len(trainP) == 0 {
		return 0, fmt.Errorf("train: dpo: no training pairs left after holding out %d", len(valP))
	}
	trainE, err := encodePairs(tok, trainP, policy.Info().Context)
	if err != nil {
		return 0, err
	}
	valE, err := encodePairs(tok, valP, policy.Info().Context)
	if err != nil {
		return 0, err
	}
	refC, refR, err := pairLogProbs(ref, trainE)
	if err != nil {
		return 0, fmt.Errorf("train: dpo reference: %w", err)
	}
	ps, opt, lrAt, err := c.optimizer(policy.NamedParameters("", nil))
	if err != nil {
		return 0, err
	}
	g := autograd.NewGraph(true)
	rng := rand.New(rand.NewPCG(c.Seed, 0x64706f))
	for step := 0; step < c.Steps; step++ {
		t0 := time.Now()
		batch, rc, rr := make([]encodedPair, c.BatchSize), make([]float64, c.BatchSize), make([]float64, c.BatchSize)
		for i := range batch {
			k := rng.IntN(len(trainE))
			batch[i], rc[i], rr[i] = trainE[k], refC[k], refR[k]
		}
		s := pairSeqs(batch)
		g.Reset()
		opt.ZeroGrad()
		p, err := forwardLM(g, policy, s, nil)
		if err != nil {
			return 0, fmt.Errorf("train: dpo step %d: %w", step, err)
		}
		sums := p.sums()
		n := len(batch)
		res, err := DPO(sums[:n], sums[n:], rc, rr, c.Beta, c.Loss)
		if err != nil {
			return 0, err
		}
		if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
			return 0, fmt.Errorf("train: dpo step %d: the loss is %g", step, res.Loss)
		}
		if err := p.backward(g, s.rowSpread(append(res.DChosen, res.DRejected...)), nil); err != nil {
			return 0, fmt.Errorf("train: dpo step %d: %w", step, err)
		}
		lr := lrAt(step)
		if err := c.stepUpdate(opt, ps, lr); err != nil {
			return 0, fmt.Errorf("train: dpo step %d: %w", step, err)
		}
		rec := DPORecord{alignStep: c.stepInfo("dpo", step, lr, t0), Loss: res.Loss, RewardChosen: mean(res.RewardChosen),
			RewardRejected: mean(res.RewardRj), Accuracy: res.Accuracy, Margin: res.Margin}
		last := step == c.Steps-1
		if last && len(valE) > 0 {
			pc, pr, err := pairLogProbs(policy, valE)
			if err != nil {
				return 0, err
			}
			vc, vr, err := pairLogProbs(ref, valE)
			if err != nil {
				return 0, err
			}
			v, err := DPO(pc, pr, vc, vr, c.Beta, c.Loss)
			if err != nil {
				return 0, err
			}
			rec.ValLoss, rec.ValAccuracy, rec.Final = ptr(v.Loss), ptr(v.Accuracy), true
		}
		if onRecord != nil && (step%c.LogInterval == 0 || last) {
			onRecord(rec)
		}
		if last && rec.ValAccuracy != nil {
			return *rec.ValAccuracy, nil
		}
	}
	return math.NaN(), nil
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
