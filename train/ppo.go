package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/nn"
	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/tokenizer"
)

// PPOConfig is an RLHF run as TRL's PPOTrainer (v0.x) does it: each step
// samples BatchSize responses of ResponseTokens tokens, scores them with
// the reward model, and runs PPOEpochs passes of minibatches over them.
type PPOConfig struct {
	AlignConfig
	MiniBatchSize  int
	PPOEpochs      int
	ResponseTokens int
	InitKLCoef     float64 // init_kl_coef, 0.2
	TargetKL       float64 // target: the adaptive controller's goal; 0 keeps InitKLCoef fixed
	Horizon        float64 // horizon, 10000
	Gamma, Lam     float64 // 1, 0.95
	Clip           PPOLossConfig
}

// DefaultPPOConfig has TRL's PPOConfig defaults where they fit a small
// CPU run.
func DefaultPPOConfig() PPOConfig {
	return PPOConfig{
		AlignConfig:   AlignConfig{Steps: 40, BatchSize: 64, LR: 1e-4, GradClip: 1, Seed: 1, LogInterval: 1},
		MiniBatchSize: 16, PPOEpochs: 4, ResponseTokens: 24, InitKLCoef: 0.2, TargetKL: 6, Horizon: 10000,
		Gamma: 1, Lam: 0.95, Clip: PPOLossConfig{ClipRange: 0.2, ClipRangeValue: 0.2, VFCoef: 0.1, RatioThreshold: 10},
	}
}

// PPORecord is one PPO step: env/reward_mean and _std (the reward
// model's scores), objective/kl (mean over responses of Σ_t logπ − logπ_ref)
// and kl_coef, and the means over the step's minibatches of the policy's
// entropy, clip fractions and losses.
type PPORecord struct {
	alignStep
	Reward     float64 `json:"reward"`
	RewardStd  float64 `json:"reward_std"`
	KL         float64 `json:"kl"`
	KLCoef     float64 `json:"kl_coef"`
	Entropy    float64 `json:"entropy"`
	ClipFrac   float64 `json:"clipfrac"`
	PolicyLoss float64 `json:"policy_loss"`
	ValueLoss  float64 `json:"value_loss"`
	VFClipFrac float64 `json:"value_clipfrac"`
	ApproxKL   float64 `json:"approx_kl"`
	Skipped    int     `json:"skipped_minibatches,omitempty"`
}

// Line is the record as a human reads it.
func (r PPORecord) Line() string {
	return fmt.Sprintf("ppo step %d/%d  reward %+.3f ± %.3f  kl %.3f (coef %.3f)  entropy %.3f  clipfrac %.3f  value loss %.4f  policy loss %+.4f  %.0f ms/step",
		r.Step+1, r.Total, r.Reward, r.RewardStd, r.KL, r.KLCoef, r.Entropy, r.ClipFrac, r.ValueLoss, r.PolicyLoss, r.MSPerStep)
}

func (c *PPOConfig) validate() error {
	if err := c.AlignConfig.validate(); err != nil {
		return err
	}
	switch {
	case c.MiniBatchSize < 1 || c.BatchSize%c.MiniBatchSize != 0:
		return fmt.Errorf("train: ppo: mini-batch size %d must divide the batch size %d", c.MiniBatchSize, c.BatchSize)
	case c.PPOEpochs < 1 || c.ResponseTokens < 1:
		return fmt.Errorf("train: ppo: ppo epochs %d and response tokens %d must be at least 1", c.PPOEpochs, c.ResponseTokens)
	case c.InitKLCoef < 0 || c.TargetKL < 0 || (c.TargetKL > 0 && !(c.Horizon > 0)):
		return fmt.Errorf("train: ppo: kl coefficient %g, target %g and horizon %g: need a coefficient ≥ 0 and, with a target, a positive horizon", c.InitKLCoef, c.TargetKL, c.Horizon)
	case !(c.Clip.ClipRange > 0) || !(c.Clip.ClipRangeValue > 0) || c.Clip.VFCoef < 0:
		return fmt.Errorf("train: ppo: clip ranges %g, %g must be positive and vf_coef %g not negative", c.Clip.ClipRange, c.Clip.ClipRangeValue, c.Clip.VFCoef)
	}
	return nil
}

// respView maps between [B, T] arrays over a seqs and [B, R] arrays over
// the responses (each row's scored positions in order; R fixed).
type respView struct {
	s   *seqs
	r   int
	pos []int // [B, R]: index into [B, T]
}

func newRespView(s *seqs, r int) *respView {
	v := &respView{s: s, r: r, pos: make([]int, 0, s.b*r)}
	for k, m := range s.scored {
		if m != 0 {
			v.pos = append(v.pos, k)
		}
	}
	return v
}

func (v *respView) take(x []float64) []float64 {
	out := make([]float64, len(v.pos))
	for i, k := range v.pos {
		out[i] = x[k]
	}
	return out
}

func (v *respView) spread(x []float64) []float64 {
	out := make([]float64, len(v.s.scored))
	for i, k := range v.pos {
		out[k] = x[i]
	}
	return out
}

// TrainPPO aligns policy with the reward model rm on prompts (text; each
// step draws BatchSize of them), against the frozen reference ref. The
// value head is a fresh Linear(C, 1) on the policy's last hidden state,
// trained with it (TRL's AutoModelForCausalLMWithValueHead); it is
// returned.
func TrainPPO(policy, ref model.Model, tok tokenizer.Tokenizer, prompts []string, rm Scorer, c PPOConfig, onRecord func(PPORecord)) (*nn.Linear, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if len(prompts) == 0 {
		return nil, fmt.Errorf("train: ppo: no prompts")
	}
	pids, err := encodePrompts(tok, prompts, policy.Info().Context-c.ResponseTokens)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x70706f))
	head, err := nn.NewLinear(policy.Info().Hidden, 1, true, rand.New(rand.NewPCG(c.Seed, 0x76686561)))
	if err != nil {
		return nil, err
	}
	ps, opt, lrAt, err := c.optimizer(head.NamedParameters("v_head.", policy.NamedParameters("", nil)))
	if err != nil {
		return nil, err
	}
	kl := KLController{Value: c.InitKLCoef, Target: c.TargetKL, Horizon: c.Horizon}
	inf, g := autograd.NewGraph(false), autograd.NewGraph(true)
	b, r := c.BatchSize, c.ResponseTokens
	for step := 0; step < c.Steps; step++ {
		t0 := time.Now()
		// Roll out.
		qs, texts := make([][]int, b), make([]string, b)
		for i := range qs {
			k := rng.IntN(len(prompts))
			qs[i], texts[i] = pids[k], prompts[k]
		}
		resp, err := Sample(policy, qs, 1, SampleOptions{MaxNewTokens: r, Seed: c.Seed<<20 + uint64(step)})
		if err != nil {
			return nil, fmt.Errorf("train: ppo step %d: %w", step, err)
		}
		for i, ids := range resp {
			s, err := tok.Decode(ids, false)
			if err != nil {
				return nil, fmt.Errorf("train: ppo step %d: %w", step, err)
			}
			texts[i] += s
		}
		scores, err := rm.Score(texts)
		if err != nil {
			return nil, fmt.Errorf("train: ppo step %d: reward model: %w", step, err)
		}
		s := newSeqs(qs, resp, 0)
		view := newRespView(s, r)
		inf.Reset()
		old, err := forwardLM(inf, policy, s, head)
		if err != nil {
			return nil, err
		}
		oldLP, oldV := view.take(old.lp), view.take(old.val)
		inf.Reset()
		refP, err := forwardLM(inf, ref, s, nil)
		if err != nil {
			return nil, fmt.Errorf("train: ppo reference: %w", err)
		}
		refLP := view.take(refP.lp)
		mask := make([]float64, b*r)
		for i := range mask {
			mask[i] = 1
		}
		rewards, _ := PPORewards(scores, oldLP, refLP, mask, b, r, kl.Value)
		adv, returns := GAE(oldV, rewards, mask, b, r, c.Gamma, c.Lam)

		// Optimise: PPOEpochs passes of shuffled minibatches.
		lr := lrAt(step)
		rec := PPORecord{KLCoef: kl.Value}
		mb := c.MiniBatchSize
		nMB := 0
		for epoch := 0; epoch < c.PPOEpochs; epoch++ {
			order := rng.Perm(b)
			for lo := 0; lo < b; lo += mb {
				rows := order[lo : lo+mb]
				sub := subSeqs(s, rows)
				pick := func(x []float64) []float64 {
					out := make([]float64, 0, mb*r)
					for _, row := range rows {
						out = append(out, x[row*r:(row+1)*r]...)
					}
					return out
				}
				g.Reset()
				opt.ZeroGrad()
				p, err := forwardLM(g, policy, sub, head)
				if err != nil {
					return nil, fmt.Errorf("train: ppo step %d: %w", step, err)
				}
				sv := newRespView(sub, r)
				res := PPOLoss(pick(oldLP), pick(oldV), sv.take(p.lp), sv.take(p.val), pick(mask), pick(adv), pick(returns), c.Clip)
				if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
					return nil, fmt.Errorf("train: ppo step %d: the loss is %g", step, res.Loss)
				}
				if !res.Skipped {
					if err := p.backward(g, sv.spread(res.DLogProbs), sv.spread(res.DValues)); err != nil {
						return nil, fmt.Errorf("train: ppo step %d: %w", step, err)
					}
					if err := c.stepUpdate(opt, ps, lr); err != nil {
						return nil, fmt.Errorf("train: ppo step %d: %w", step, err)
					}
				} else {
					rec.Skipped++
				}
				nMB++
				rec.Entropy += mean(sv.take(p.ent))
				rec.ClipFrac += res.PGClipFrac
				rec.PolicyLoss += res.PGLoss
				rec.ValueLoss += res.VFLoss
				rec.VFClipFrac += res.VFClipFrac
				rec.ApproxKL += res.ApproxKL
			}
		}
		for _, f := range []*float64{&rec.Entropy, &rec.ClipFrac, &rec.PolicyLoss, &rec.ValueLoss, &rec.VFClipFrac, &rec.ApproxKL} {
			*f /= float64(nMB)
		}
		var klSum float64
		for i := range oldLP {
			klSum += oldLP[i] - refLP[i]
		}
		rec.KL = klSum / float64(b)
		rec.Reward, rec.RewardStd = meanStd(scores)
		kl.Update(rec.KL, b)
		rec.alignStep = c.stepInfo("ppo", step, lr, t0)
		if onRecord != nil && (step%c.LogInterval == 0 || step == c.Steps-1) {
			onRecord(rec)
		}
	}
	return head, nil
}

// subSeqs is rows of s.
func subSeqs(s *seqs, rows []int) *seqs {
	out := &seqs{b: len(rows), t: s.t, ids: make([]int, 0, len(rows)*s.t), scored: make([]float64, 0, len(rows)*s.t)}
	for _, r := range rows {
		out.ids = append(out.ids, s.ids[r*s.t:(r+1)*s.t]...)
		out.scored = append(out.scored, s.scored[r*s.t:(r+1)*s.t]...)
	}
	return out
}

// meanStd is the mean and the unbiased standard deviation (torch.std).
func meanStd(x []float64) (float64, float64) {
	m := mean(x)
	if len(x) < 2 {
		return m, 0
	}
	var s float64
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return m, math.Sqrt(s / float64(len(x)-1))
}

// ValueHeadFile holds a PPO run's value head beside the policy, under
// TRL's names (v_head.summary.weight [1, C], v_head.summary.bias [1]).
const ValueHeadFile = "value_head.safetensors"

// SaveValueHead writes head into dir/ValueHeadFile.
func SaveValueHead(head *nn.Linear, dir string) error {
	w, b := head.Weight.Value.Contiguous(), head.Bias.Value.Contiguous()
	return safetensors.Write(filepath.Join(dir, ValueHeadFile), []safetensors.Tensor{
		safetensors.F32("v_head.summary.weight", w.Shape, w.Data()),
		safetensors.F32("v_head.summary.bias", b.Shape, b.Data()),
	}, map[string]string{"format": "pt"})
}
