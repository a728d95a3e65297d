package generate

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// hypothesis is a finished beam: its tokens (prompt included, EOS not),
// its length-penalised score, and whether EOS ended it.
type hypothesis struct {
	score float64
	seq   []int
	eos   bool
}

// hypotheses is transformers' BeamHypotheses: the best numBeams finished
// sequences of one batch entry.
type hypotheses struct {
	numBeams   int
	lp         float64
	early      EarlyStopping
	maxLen     int
	promptLen  int
	beams      []hypothesis
	worstScore float64
	done       bool
}

// add scores sumLogProbs / genLen^lp and keeps it if it is among the best.
func (h *hypotheses) add(seq []int, sumLogProbs float32, genLen int, eos bool) {
	score := float64(sumLogProbs) / math.Pow(float64(genLen), h.lp)
	if len(h.beams) >= h.numBeams && score <= h.worstScore {
		return
	}
	h.beams = append(h.beams, hypothesis{score: score, seq: slices.Clone(seq), eos: eos})
	if len(h.beams) > h.numBeams {
		// Drop the worst (the first of equal worst ones, as Python's
		// sorted over (score, index) does); the new worst is the second.
		order := make([]int, len(h.beams))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmpFloat(h.beams[a].score, h.beams[b].score) })
		h.worstScore = h.beams[order[1]].score
		h.beams = slices.Delete(h.beams, order[0], order[0]+1)
	} else {
		h.worstScore = min(score, h.worstScore)
	}
}

// isDone says whether no running beam can still enter the list; curLen is
// the length the candidate scores were computed at.
func (h *hypotheses) isDone(bestSumLogProbs float32, curLen int) bool {
	if len(h.beams) < h.numBeams {
		return false
	}
	var denom int
	switch h.early {
	case StopEarly:
		return true
	case StopHeuristic:
		denom = curLen - h.promptLen
	case StopNever:
		denom = curLen - h.promptLen
		if h.lp > 0 {
			denom = h.maxLen - h.promptLen
		}
	}
	return h.worstScore >= float64(bestSumLogProbs)/math.Pow(float64(denom), h.lp)
}

// top returns the n highest-scoring hypotheses, best first (of equal
// ones the last added first, as transformers' sorted(...).pop()).
func (h *hypotheses) top(n int) []hypothesis {
	sorted := slices.Clone(h.beams)
	slices.SortStableFunc(sorted, func(a, b hypothesis) int { return cmpFloat(a.score, b.score) })
	slices.Reverse(sorted)
	return sorted[:min(n, len(sorted))]
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// candidate is one (beam, token) extension with its running score.
type candidate struct {
	score float32
	flat  int // beam·V + token
}

// topCandidates writes the n best of scores [K·V] into dst in decreasing
// order (ties by lower index).
func topCandidates(scores []float32, n int, dst []candidate) []candidate {
	dst = dst[:0]
	for i, s := range scores {
		if len(dst) == n && !(s > dst[n-1].score) {
			continue
		}
		j := len(dst)
		if j < n {
			dst = append(dst, candidate{})
		} else {
			j = n - 1
		}
		for j > 0 && s > dst[j-1].score {
			dst[j] = dst[j-1]
			j--
		}
		dst[j] = candidate{s, i}
	}
	return dst
}

// beamSearch is transformers' beam_search with BeamSearchScorer: per step,
// log-softmax of each beam's logits, the processors, plus the beam's running
// score; the best 2·K (more with several EOS ids) extensions of each batch
// entry are visited in order, EOS ones (among the first K) becoming
// finished hypotheses and the rest the next K beams.
func beamSearch(m Model, enc Seq2Seq, src, prompts [][]int, cfg Config) (*Result, error) {
	v := m.VocabSize()
	k := cfg.NumBeams
	padID := cfg.PadToken()
	t := longest(prompts)
	maxLen := cfg.maxLen(t)
	ids, pad, seqs := leftPad(prompts, k, padID, t, maxLen)
	batch, rows := len(prompts), len(seqs)
	n := cfg.returns()
	res := &Result{IDs: make([][]int, batch*n), Scores: make([]float64, batch*n)}
	if maxLen <= t {
		return res, nil
	}
	logits := make([]float32, rows*v)
	var err error
	if res.PrefillTime, err = prefill(m, enc, src, k, ids, pad, maxLen, logits); err != nil {
		return nil, err
	}
	res.PromptTokens = promptTokens(ids, src)
	start := time.Now()

	hyps := make([]hypotheses, batch)
	for b := range hyps {
		hyps[b] = hypotheses{numBeams: k, lp: cfg.LengthPenalty, early: cfg.EarlyStopping, maxLen: maxLen, promptLen: t, worstScore: 1e9}
	}
	beamScores := make([]float32, rows)
	for r := range beamScores {
		if r%k != 0 {
			beamScores[r] = -1e9
		}
	}
	nextScores := make([]float32, rows)
	nextTokens := make([]int, rows)
	nextIdx := make([]int, rows)
	nCand := max(2, 1+len(cfg.EOSTokenIDs)) * k
	cands := make([]candidate, 0, nCand)
	newSeqs := make([][]int, rows)
	for r := range newSeqs {
		newSeqs[r] = make([]int, 0, maxLen)
	}
	proc := newProcessor(&cfg, t)
	for cur := t; ; {
		for r := range rows {
			scores := logits[r*v : (r+1)*v]
			logSoftmax(scores)
			proc.apply(seqs[r], scores)
			for i := range scores {
				scores[i] += beamScores[r]
			}
		}
		for b := range batch {
			h := &hyps[b]
			if h.done {
				for j := range k {
					nextScores[b*k+j], nextTokens[b*k+j], nextIdx[b*k+j] = 0, padID, b*k
				}
				continue
			}
			cands = topCandidates(logits[b*k*v:(b+1)*k*v], nCand, cands)
			j := 0
			for rank, c := range cands {
				beam, tok := b*k+c.flat/v, c.flat%v
				if cfg.isEOS(tok) {
					if rank >= k {
						continue
					}
					h.add(seqs[beam], c.score, cur+1-t, true)
				} else {
					nextScores[b*k+j], nextTokens[b*k+j], nextIdx[b*k+j] = c.score, tok, beam
					j++
				}
				if j == k {
					break
				}
			}
			if j < k {
				return nil, fmt.Errorf("generate: beam search: fewer than %d candidates that are not EOS", k)
			}
			h.done = h.done || h.isDone(cands[0].score, cur+1)
		}
		for r := range rows {
			newSeqs[r] = append(append(newSeqs[r][:0], seqs[nextIdx[r]]...), nextTokens[r])
		}
		seqs, newSeqs = newSeqs, seqs
		copy(beamScores, nextScores)
		cur++
		allDone := true
		for b := range hyps {
			allDone = allDone && hyps[b].done
		}
		if allDone || cur >= maxLen {
			break
		}
		if err := m.Reorder(nextIdx); err != nil {
			return nil, fmt.Errorf("generate: beam search: %w", err)
		}
		if err := m.Forward(nextTokens, pad, logits); err != nil {
			return nil, fmt.Errorf("generate: beam search step %d: %w", cur-t, err)
		}
		res.DecodeTokens += rows
	}
	// Finalize: the running beams of unfinished entries compete too.
	for b := range hyps {
		h := &hyps[b]
		if !h.done {
			for j := range k {
				r := b*k + j
				h.add(seqs[r], beamScores[r], len(seqs[r])-t, false)
			}
		}
		for j, hyp := range h.top(n) {
			out := slices.Clone(hyp.seq[t:])
			if hyp.eos && len(hyp.seq) < maxLen {
				out = append(out, cfg.EOSTokenIDs[0])
			}
			res.IDs[b*n+j], res.Scores[b*n+j] = out, hyp.score
		}
	}
	res.DecodeTime = time.Since(start)
	return res, nil
}
