package generate

import (
	"math"
	"slices"
)

var negInf = float32(math.Inf(-1))

// processor holds the logits processors of one generation, configured once,
// and applies them to one row of scores [V] in transformers' order:
// repetition penalty, no-repeat n-gram, bad words, minimum length, forced
// BOS, forced EOS. seq is the row's whole sequence so far (left padding and
// prompt included, as transformers' input_ids), promptLen the length at
// which generation started.
type processor struct {
	cfg       *Config
	maxLen    int
	minLen    int
	promptLen int
	// bad single tokens (always banned) and longer sequences (banned
	// when the sequence ends with their prefix); EOS-only entries are
	// dropped as transformers does.
	badStatic []int
	badSeqs   [][]int
	tmp       []float32 // repetition penalty scratch
}

func newProcessor(cfg *Config, promptLen int) *processor {
	p := &processor{cfg: cfg, maxLen: cfg.maxLen(promptLen), minLen: cfg.minLen(promptLen), promptLen: promptLen}
	for _, w := range cfg.BadWordsIDs {
		if len(w) == 1 && cfg.isEOS(w[0]) {
			continue
		}
		if len(w) == 1 {
			p.badStatic = append(p.badStatic, w[0])
		} else {
			p.badSeqs = append(p.badSeqs, w)
		}
	}
	return p
}

// apply runs the processors on scores in place.
func (p *processor) apply(seq []int, scores []float32) {
	c := p.cfg
	if c.RepetitionPenalty != 1 {
		if cap(p.tmp) < len(seq) {
			p.tmp = make([]float32, len(seq), p.maxLen)
		}
		repetitionPenalty(scores, seq, float32(c.RepetitionPenalty), p.tmp[:len(seq)])
	}
	if n := c.NoRepeatNGramSize; n > 0 {
		banRepeatedNGrams(scores, seq, n)
	}
	for _, id := range p.badStatic {
		scores[id] = negInf
	}
	for _, w := range p.badSeqs {
		prefix := w[:len(w)-1]
		if len(seq) >= len(prefix) && slices.Equal(seq[len(seq)-len(prefix):], prefix) {
			scores[w[len(w)-1]] = negInf
		}
	}
	if len(seq) < p.minLen {
		for _, e := range c.EOSTokenIDs {
			scores[e] = negInf
		}
	}
	if c.ForcedBOSTokenID >= 0 && len(seq) == 1 {
		forceToken(scores, c.ForcedBOSTokenID)
	}
	if c.ForcedEOSTokenID >= 0 && len(seq) == p.maxLen-1 {
		forceToken(scores, c.ForcedEOSTokenID)
	}
}

// repetitionPenalty is transformers' RepetitionPenaltyLogitsProcessor (CTRL,
// Keskar et al. 2019): for every token already in seq, a score s becomes s·θ
// if s < 0 and s/θ otherwise. Like transformers' gather-then-scatter, a token
// seen twice is penalised once: every value is computed from the unpenalised
// scores (into tmp, len(seq)) before any is written back.
func repetitionPenalty(scores []float32, seq []int, theta float32, tmp []float32) {
	for i, id := range seq {
		s := scores[id]
		if s < 0 {
			s *= theta
		} else {
			s /= theta
		}
		tmp[i] = s
	}
	for i, id := range seq {
		scores[id] = tmp[i]
	}
}

// banRepeatedNGrams is NoRepeatNGramLogitsProcessor: a token that would
// complete an n-gram already present in seq gets −∞.
func banRepeatedNGrams(scores []float32, seq []int, n int) {
	if len(seq)+1 < n {
		return
	}
	tail := seq[len(seq)-(n-1):]
	for i := 0; i+n <= len(seq); i++ {
		if slices.Equal(seq[i:i+n-1], tail) {
			if id := seq[i+n-1]; id >= 0 && id < len(scores) {
				scores[id] = negInf
			}
		}
	}
}

// forceToken leaves only id possible: −∞ everywhere, 0 at id.
func forceToken(scores []float32, id int) {
	for i := range scores {
		scores[i] = negInf
	}
	scores[id] = 0
}

// warper holds the sampling transformations (TemperatureLogitsWarper,
// TopKLogitsWarper, TopPLogitsWarper) and their scratch space.
type warper struct {
	temperature float32
	topK        int
	topP        float32
	minKeep     int
	idx         []int
	probs       []float32
}

func newWarper(cfg *Config, v int) *warper {
	w := &warper{temperature: float32(cfg.Temperature), topK: cfg.TopK, topP: float32(cfg.TopP), minKeep: 1}
	if cfg.NumBeams > 1 {
		w.minKeep = 2
	}
	w.idx = make([]int, v)
	w.probs = make([]float32, v)
	return w
}

func (w *warper) apply(scores []float32) {
	if w.temperature != 1 {
		for i := range scores {
			scores[i] /= w.temperature
		}
	}
	if w.topK > 0 {
		topK(scores, max(w.topK, w.minKeep), w.probs)
	}
	if w.topP < 1 {
		topP(scores, w.topP, w.minKeep, w.idx, w.probs)
	}
}

// topK keeps the scores ≥ the k-th largest (so ties with it survive, as in
// transformers) and sets the rest to −∞. tmp needs len(scores) floats.
func topK(scores []float32, k int, tmp []float32) {
	if k >= len(scores) {
		return
	}
	tmp = tmp[:len(scores)]
	copy(tmp, scores)
	th := kthLargest(tmp, k)
	for i, s := range scores {
		if s < th {
			scores[i] = negInf
		}
	}
}

// kthLargest returns the k-th largest value (1-based) of x, reordering x
// (quickselect; −∞ and NaN-free input assumed, as logits are).
func kthLargest(x []float32, k int) float32 {
	lo, hi, want := 0, len(x)-1, k-1
	for lo < hi {
		p := x[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for x[i] > p {
				i++
			}
			for x[j] < p {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		switch {
		case want <= j:
			hi = j
		case want >= i:
			lo = i
		default:
			return x[want]
		}
	}
	return x[want]
}

// topP is nucleus filtering as TopPLogitsWarper: sort ascending, take the
// softmax's cumulative sum, drop the tokens whose cumulative probability is
// ≤ 1 − p (keeping at least minKeep of the largest). Tokens already at −∞
// (after top-k) have probability 0 and stay dropped, so only the finite ones
// are sorted.
func topP(scores []float32, p float32, minKeep int, idx []int, probs []float32) {
	n := len(scores)
	probs = probs[:n]
	softmax(probs, scores)
	idx = idx[:0]
	dropped := 0
	for i, s := range scores {
		if s == negInf {
			dropped++
			continue
		}
		idx = append(idx, i)
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case scores[a] < scores[b]:
			return -1
		case scores[a] > scores[b]:
			return 1
		}
		return 0
	})
	var cum float32
	for r := 0; r+dropped < n-minKeep && r < len(idx); r++ {
		id := idx[r]
		cum += probs[id]
		if cum > 1-p {
			break
		}
		scores[id] = negInf
	}
}

// softmax writes softmax(x) into dst (max-shifted, float64 sum).
func softmax(dst, x []float32) {
	m := slices.Max(x)
	var sum float64
	for i, v := range x {
		if v == negInf {
			dst[i] = 0
			continue
		}
		e := float32(math.Exp(float64(v - m)))
		dst[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range dst {
		dst[i] *= inv
	}
}

// logSoftmax replaces x by log-softmax(x) in float32: x − max − log Σ exp(x − max).
func logSoftmax(x []float32) {
	m := slices.Max(x)
	var sum float32
	for _, v := range x {
		sum += float32(math.Exp(float64(v - m)))
	}
	lse := m + float32(math.Log(float64(sum)))
	for i := range x {
		x[i] -= lse
	}
}

// argmax returns the index of the first largest score.
func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// Probabilities returns the distribution sampling with cfg draws the next
// token from, given one row of logits [V] (not modified): softmax of the
// logits after temperature, top-k and top-p (the logits processors that
// depend on the sequence are not applied). cfg.Validate should pass.
func Probabilities(logits []float32, cfg Config) []float32 {
	scores := slices.Clone(logits)
	newWarper(&cfg, len(scores)).apply(scores)
	probs := make([]float32, len(scores))
	softmax(probs, scores)
	return probs
}
