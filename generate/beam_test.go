package generate

import (
	"math"
	"slices"
	"testing"
)

// bestSequence searches every continuation of prompt exhaustively: each
// ends at EOS or after n tokens, and scores the sum of its tokens'
// log-probabilities divided by its length^lp (EOS counted).
func bestSequence(f *fakeLM, src, prompt []int, n, eos int, lp float64) ([]int, float64) {
	var best []int
	bestScore := math.Inf(-1)
	logits := make([]float32, f.v)
	var walk func(hist []int, sum float64)
	walk = func(hist []int, sum float64) {
		gen := len(hist) - len(prompt)
		if gen == n || (gen > 0 && hist[len(hist)-1] == eos) {
			if s := sum / math.Pow(float64(gen), lp); s > bestScore {
				bestScore, best = s, slices.Clone(hist[len(prompt):])
			}
			return
		}
		f.logitsFor(src, hist, logits)
		logSoftmax(logits)
		lps := slices.Clone(logits)
		for id, l := range lps {
			walk(append(hist, id), sum+float64(l))
		}
	}
	walk(slices.Clone(prompt), 0)
	return best, bestScore
}

// TestBeamSearchExhaustive: with as many beams as there are sequences and
// early stopping "never", beam search is exhaustive, so it must find the
// best sequence by brute force, for several length penalties and with
// batch entries of different prompt lengths (left padding).
func TestBeamSearchExhaustive(t *testing.T) {
	for _, lp := range []float64{0, 1, 2, -1} {
		f := &fakeLM{v: 3}
		prompts := [][]int{{0, 1}, {2}, {1, 1, 0}}
		const n, eos = 4, 2
		cfg := DefaultConfig()
		cfg.NumBeams, cfg.MaxNewTokens, cfg.EOSTokenIDs = 81, n, []int{eos}
		cfg.LengthPenalty, cfg.EarlyStopping = lp, StopNever
		res, err := Generate(f, prompts, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		for b, p := range prompts {
			want, score := bestSequence(f, nil, p, n, eos, lp)
			if !slices.Equal(res.IDs[b], want) || math.Abs(res.Scores[b]-score) > 1e-5 {
				t.Errorf("lp %g entry %d: got %v (%.6f), want %v (%.6f)", lp, b, res.IDs[b], res.Scores[b], want, score)
			}
		}
	}
}

// TestBeamSearchBeatsGreedy: a distribution where the greedy first token
// leads to a poor continuation; two beams find the better pair.
func TestBeamSearchBeatsGreedy(t *testing.T) {
	const v = 4
	f := &fakeLM{v: v, bias: make([]float32, v*v), biasOnly: true}
	// After the prompt token 3: token 0 is likeliest (p .55), token 1
	// second (.45); after 0 everything is flat, after 1 token 2 is near
	// certain: log .55 + log .25 < log .45 + log 1.
	copy(f.bias[3*v:], []float32{5, 4.8, 0, 0})
	copy(f.bias[1*v:], []float32{0, 0, 10, 0})
	cfg := DefaultConfig()
	cfg.MaxNewTokens = 2
	greedy, err := Generate(f, [][]int{{3}}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.NumBeams = 2
	beam, err := Generate(f, [][]int{{3}}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if greedy.IDs[0][0] != 0 || !slices.Equal(beam.IDs[0], []int{1, 2}) {
		t.Errorf("greedy %v, beam %v: want greedy to start with 0 and beam to find [1 2]", greedy.IDs[0], beam.IDs[0])
	}
}

func TestBeamSearchSeq2Seq(t *testing.T) {
	f := &fakeLM{v: 3}
	src := [][]int{{1, 2, 0}, {2}}
	cfg := DefaultConfig()
	cfg.NumBeams, cfg.MaxLength, cfg.EOSTokenIDs, cfg.DecoderStartTokenID = 81, 5, []int{2}, 0
	cfg.EarlyStopping = StopNever
	res, err := GenerateSeq2Seq(f, src, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for b, s := range src {
		want, _ := bestSequence(f, s, []int{0}, 4, 2, 1)
		if !slices.Equal(res.IDs[b], want) {
			t.Errorf("entry %d: got %v, want %v", b, res.IDs[b], want)
		}
	}
}

func TestHypotheses(t *testing.T) {
	h := hypotheses{numBeams: 2, lp: 1, worstScore: 1e9, promptLen: 1, maxLen: 10}
	h.add([]int{0, 1}, -2, 1, true)    // -2
	h.add([]int{0, 1, 2}, -3, 2, true) // -1.5
	h.add([]int{0, 3}, -5, 1, true)    // -5: rejected
	h.add([]int{0, 3, 3}, -2, 2, true) // -1: evicts -2
	if len(h.beams) != 2 || h.worstScore != -1.5 || h.top(1)[0].score != -1 {
		t.Fatalf("beams %+v worst %g", h.beams, h.worstScore)
	}
	for _, c := range []struct {
		early  EarlyStopping
		best   float32
		curLen int
		want   bool
	}{
		{StopEarly, -100, 3, true},
		{StopHeuristic, -2, 3, true}, // -2/2 = -1 ≤ -1.5? no: -1 > -1.5, not done
		{StopHeuristic, -4, 3, true}, // -4/2 = -2 ≤ -1.5: done
		{StopNever, -4, 3, false},    // -4/9 > -1.5
		{StopNever, -14, 3, true},    // -14/9 < -1.5
	} {
		h.early = c.early
		got := h.isDone(c.best, c.curLen)
		want := c.want
		if c.early == StopHeuristic && c.best == -2 {
			want = false
		}
		if got != want {
			t.Errorf("%v best %g len %d: done %v, want %v", c.early, c.best, c.curLen, got, want)
		}
	}
}

// rankedSequences scores every continuation of prompt as bestSequence
// does and returns them best first.
func rankedSequences(f *fakeLM, prompt []int, n, eos int, lp float64) ([][]int, []float64) {
	type scored struct {
		seq   []int
		score float64
	}
	var all []scored
	logits := make([]float32, f.v)
	var walk func(hist []int, sum float64)
	walk = func(hist []int, sum float64) {
		gen := len(hist) - len(prompt)
		if gen == n || (gen > 0 && hist[len(hist)-1] == eos) {
			all = append(all, scored{slices.Clone(hist[len(prompt):]), sum / math.Pow(float64(gen), lp)})
			return
		}
		f.logitsFor(nil, hist, logits)
		logSoftmax(logits)
		for id, l := range slices.Clone(logits) {
			walk(append(hist, id), sum+float64(l))
		}
	}
	walk(slices.Clone(prompt), 0)
	slices.SortStableFunc(all, func(a, b scored) int { return cmpFloat(b.score, a.score) })
	seqs, scores := make([][]int, len(all)), make([]float64, len(all))
	for i, s := range all {
		seqs[i], scores[i] = s.seq, s.score
	}
	return seqs, scores
}

// TestBeamSearchReturnsTopSequences: exhaustive beam search (as in
// TestBeamSearchExhaustive) with NumReturnSequences 5 returns, for each
// prompt, the five best sequences by brute force, best first, grouped by
// prompt.
func TestBeamSearchReturnsTopSequences(t *testing.T) {
	f := &fakeLM{v: 3}
	prompts := [][]int{{0, 1}, {2}}
	const n, eos, ret = 4, 2, 5
	cfg := DefaultConfig()
	cfg.NumBeams, cfg.MaxNewTokens, cfg.EOSTokenIDs = 81, n, []int{eos}
	cfg.EarlyStopping, cfg.NumReturnSequences = StopNever, ret
	res, err := Generate(f, prompts, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IDs) != len(prompts)*ret || len(res.Scores) != len(prompts)*ret {
		t.Fatalf("%d sequences and %d scores, want %d", len(res.IDs), len(res.Scores), len(prompts)*ret)
	}
	for b, p := range prompts {
		want, scores := rankedSequences(f, p, n, eos, 1)
		for j := range ret {
			got := res.IDs[b*ret+j]
			if !slices.Equal(got, want[j]) || math.Abs(res.Scores[b*ret+j]-scores[j]) > 1e-5 {
				t.Errorf("prompt %d, sequence %d: got %v (%.6f), want %v (%.6f)", b, j, got, res.Scores[b*ret+j], want[j], scores[j])
			}
		}
	}
}
