package train

import (
	"fmt"
	"math"
)

// The losses of preference learning as closed forms over per-sequence or
// per-token scalars (log-probabilities, rewards, values), in float64,
// each returning its gradients beside its value. The trainers run the
// model forward once, evaluate these, and feed the gradients back
// through the graph as a linear surrogate Σ gᵢ·xᵢ (surrogate.go), so the
// model's gradient is exact while the losses stay small pure functions
// that tools/golden/align.py pins to PyTorch. Masks are 1 for scored
// positions, 0 for the rest; every [B, T] array is row-major.

// logSigmoid is log σ(x), stable for large |x| (torch.nn.functional.logsigmoid).
func logSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// BradleyTerry is the reward model's loss on N pairs: the mean of
// −log σ(r_c − r_r), with its gradients with respect to the chosen and
// rejected rewards, and the fraction of pairs ranked right (r_c > r_r).
func BradleyTerry(chosen, rejected []float64) (loss float64, dChosen, dRejected []float64, accuracy float64) {
	n := len(chosen)
	dChosen, dRejected = make([]float64, n), make([]float64, n)
	right := 0
	for i := range chosen {
		d := chosen[i] - rejected[i]
		loss -= logSigmoid(d)
		g := -sigmoid(-d) / float64(n) // d/dd of −log σ(d), averaged
		dChosen[i], dRejected[i] = g, -g
		if d > 0 {
			right++
		}
	}
	return loss / float64(n), dChosen, dRejected, float64(right) / float64(n)
}

// DPO losses (TRL's loss_type).
const (
	DPOSigmoid = "sigmoid" // −log σ(β·h), Rafailov et al.
	DPOIPO     = "ipo"     // (h − 1/(2β))², Azar et al.
)

// DPOResult is the loss over a batch of pairs and its gradients with
// respect to the policy's sequence log-probabilities (the reference's
// are constants), with TRL's logged rewards β·(π − ref) per pair.
type DPOResult struct {
	Loss                   float64
	DChosen, DRejected     []float64
	RewardChosen, RewardRj []float64
	Accuracy               float64 // pairs with RewardChosen > RewardRj
	Margin                 float64 // mean RewardChosen − RewardRj
}

// DPO is the direct preference loss, the mean over pairs of loss(h) with
// h = (π_c − ref_c) − (π_r − ref_r), π and ref the summed log-probabilities
// of a response under the policy and the frozen reference.
func DPO(pc, pr, refc, refr []float64, beta float64, kind string) (DPOResult, error) {
	n := len(pc)
	if n == 0 || len(pr) != n || len(refc) != n || len(refr) != n {
		return DPOResult{}, fmt.Errorf("train: dpo: %d, %d, %d and %d log-probabilities: want the same number, at least 1", len(pc), len(pr), len(refc), len(refr))
	}
	if !(beta > 0) {
		return DPOResult{}, fmt.Errorf("train: dpo: beta %g must be positive", beta)
	}
	r := DPOResult{DChosen: make([]float64, n), DRejected: make([]float64, n),
		RewardChosen: make([]float64, n), RewardRj: make([]float64, n)}
	right := 0
	for i := range pc {
		h := (pc[i] - refc[i]) - (pr[i] - refr[i])
		var dh float64 // d loss_i / dh
		switch kind {
		case DPOSigmoid, "":
			r.Loss -= logSigmoid(beta * h)
			dh = -beta * sigmoid(-beta*h)
		case DPOIPO:
			e := h - 1/(2*beta)
			r.Loss += e * e
			dh = 2 * e
		default:
			return DPOResult{}, fmt.Errorf("train: dpo: loss %q: want %s or %s", kind, DPOSigmoid, DPOIPO)
		}
		r.DChosen[i], r.DRejected[i] = dh/float64(n), -dh/float64(n)
		r.RewardChosen[i], r.RewardRj[i] = beta*(pc[i]-refc[i]), beta*(pr[i]-refr[i])
		if r.RewardChosen[i] > r.RewardRj[i] {
			right++
		}
		r.Margin += (r.RewardChosen[i] - r.RewardRj[i]) / float64(n)
	}
	r.Loss /= float64(n)
	r.Accuracy = float64(right) / float64(n)
	return r, nil
}

// maskedMean is TRL's masked_mean: Σ x·m / Σ m.
func maskedMean(x, mask []float64) float64 {
	var s, n float64
	for i, v := range x {
		s += v * mask[i]
		n += mask[i]
	}
	return s / n
}

// maskedVar is TRL's masked_var (unbiased: Bessel's correction over the
// mask's count).
func maskedVar(x, mask []float64) float64 {
	mean := maskedMean(x, mask)
	var s, n float64
	for i, v := range x {
		d := v - mean
		s += d * d * mask[i]
		n += mask[i]
	}
	return s / n * n / (n - 1)
}

// Whiten is TRL's masked_whiten: (x − mean)/√(var + 1e-8) over the masked
// entries, the mean added back when !shiftMean. Entries outside the mask
// are transformed too (as TRL does); callers ignore them.
func Whiten(x, mask []float64, shiftMean bool) []float64 {
	mean, v := maskedMean(x, mask), maskedVar(x, mask)
	inv := 1 / math.Sqrt(v+1e-8)
	out := make([]float64, len(x))
	for i, xv := range x {
		out[i] = (xv - mean) * inv
		if !shiftMean {
			out[i] += mean
		}
	}
	return out
}

// GAE is TRL's compute_advantages: generalized advantage estimation over
// B rows of T response positions (values and rewards zeroed outside the
// mask), returns = advantages + values, then the advantages whitened over
// the mask.
func GAE(values, rewards, mask []float64, b, t int, gamma, lam float64) (advantages, returns []float64) {
	v, r := make([]float64, b*t), make([]float64, b*t)
	for i := range v {
		v[i], r[i] = values[i]*mask[i], rewards[i]*mask[i]
	}
	adv := make([]float64, b*t)
	returns = make([]float64, b*t)
	for row := 0; row < b; row++ {
		last := 0.0
		for i := t - 1; i >= 0; i-- {
			next := 0.0
			if i < t-1 {
				next = v[row*t+i+1]
			}
			delta := r[row*t+i] + gamma*next - v[row*t+i]
			last = delta + gamma*lam*last
			adv[row*t+i] = last
		}
	}
	for i := range adv {
		returns[i] = adv[i] + v[i]
	}
	return Whiten(adv, mask, true), returns
}

// PPOLossConfig are the clipping constants of TRL's PPOConfig.
type PPOLossConfig struct {
	ClipRange      float64 // cliprange, 0.2
	ClipRangeValue float64 // cliprange_value, 0.2
	VFCoef         float64 // vf_coef, 0.1
	RatioThreshold float64 // ratio_threshold, 10: a minibatch whose mean ratio exceeds it is skipped
}

// PPOLossResult is TRL's PPOTrainer.loss over one minibatch, with the
// gradients of PGLoss + VFCoef·VFLoss with respect to the new
// log-probabilities and value predictions.
type PPOLossResult struct {
	PGLoss, VFLoss     float64 // VFLoss is 0.5·masked_mean(max(...)) before vf_coef
	Loss               float64 // PGLoss + VFCoef·VFLoss (0 when skipped)
	PGClipFrac         float64
	VFClipFrac         float64
	ApproxKL, PolicyKL float64
	MeanRatio          float64
	Skipped            bool
	DLogProbs, DValues []float64
}

// PPOLoss is TRL's clipped objective: the policy loss
// masked_mean(max(−A·ρ, −A·clip(ρ, 1±ε))) with ρ = exp(logp − old) and the
// value loss 0.5·masked_mean(max((v − R)², (clip(v, old_v ± ε_v) − R)²)).
// torch.max and torch.clamp send the gradient to the branch they pick
// (the first on ties); the result's derivatives follow them.
func PPOLoss(oldLogProbs, values, logProbs, vpreds, mask, advantages, returns []float64, c PPOLossConfig) PPOLossResult {
	n := 0.0
	for _, m := range mask {
		n += m
	}
	res := PPOLossResult{DLogProbs: make([]float64, len(mask)), DValues: make([]float64, len(mask))}
	for i, m := range mask {
		// Value loss.
		vc := math.Min(math.Max(vpreds[i], values[i]-c.ClipRangeValue), values[i]+c.ClipRangeValue)
		l1, l2 := (vpreds[i]-returns[i])*(vpreds[i]-returns[i]), (vc-returns[i])*(vc-returns[i])
		inside := vpreds[i] >= values[i]-c.ClipRangeValue && vpreds[i] <= values[i]+c.ClipRangeValue
		if l2 > l1 {
			res.VFLoss += l2 * m
			res.VFClipFrac += m
			if inside { // clamp passes the gradient only inside its range
				res.DValues[i] = 2 * (vc - returns[i]) * m
			}
		} else {
			res.VFLoss += l1 * m
			res.DValues[i] = 2 * (vpreds[i] - returns[i]) * m
		}
		// Policy loss.
		ratio := math.Exp(logProbs[i] - oldLogProbs[i])
		rc := math.Min(math.Max(ratio, 1-c.ClipRange), 1+c.ClipRange)
		p1, p2 := -advantages[i]*ratio, -advantages[i]*rc
		if p2 > p1 {
			res.PGLoss += p2 * m
			res.PGClipFrac += m
			if ratio >= 1-c.ClipRange && ratio <= 1+c.ClipRange {
				res.DLogProbs[i] = -advantages[i] * ratio * m
			}
		} else {
			res.PGLoss += p1 * m
			res.DLogProbs[i] = -advantages[i] * ratio * m
		}
		d := logProbs[i] - oldLogProbs[i]
		res.ApproxKL += 0.5 * d * d * m
		res.PolicyKL -= d * m
		res.MeanRatio += ratio * m
	}
	res.PGLoss /= n
	res.VFLoss *= 0.5 / n
	res.PGClipFrac /= n
	res.VFClipFrac /= n
	res.ApproxKL /= n
	res.PolicyKL /= n
	res.MeanRatio /= n
	for i := range res.DLogProbs {
		res.DLogProbs[i] /= n
		res.DValues[i] *= 0.5 * c.VFCoef / n
	}
	res.Loss = res.PGLoss + c.VFCoef*res.VFLoss
	if c.RatioThreshold > 0 && res.MeanRatio > c.RatioThreshold {
		res.Skipped, res.Loss = true, 0
		clear(res.DLogProbs)
		clear(res.DValues)
	}
	return res
}

// PPORewards is TRL's compute_rewards: per token −kl_coef·(logp − ref)
// over the mask, and each row's score added at its last masked position.
// It returns the rewards and the non-score part.
func PPORewards(scores, logProbs, refLogProbs, mask []float64, b, t int, klCoef float64) (rewards, nonScore []float64) {
	rewards, nonScore = make([]float64, b*t), make([]float64, b*t)
	for row := 0; row < b; row++ {
		last := -1
		for i := 0; i < t; i++ {
			k := row*t + i
			nonScore[k] = -klCoef * (logProbs[k] - refLogProbs[k])
			rewards[k] = nonScore[k]
			if mask[k] != 0 {
				last = k
			}
		}
		if last >= 0 {
			rewards[last] += scores[row]
		}
	}
	return rewards, nonScore
}

// KLController is the coefficient of the KL penalty: fixed, or TRL's
// AdaptiveKLController (Ziegler et al. 2019) when Target > 0, which moves
// it toward the target KL by at most ±20% of n/Horizon per update.
type KLController struct {
	Value   float64
	Target  float64 // 0 = fixed
	Horizon float64
}

// Update adapts the coefficient to the batch's mean KL after n samples.
func (k *KLController) Update(kl float64, n int) {
	if k.Target <= 0 {
		return
	}
	e := math.Min(math.Max(kl/k.Target-1, -0.2), 0.2)
	k.Value *= 1 + e*float64(n)/k.Horizon
}
