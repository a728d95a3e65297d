package train

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
)

// tinyPolicy is a fresh character GPT over "abcde " and its tokenizer.
func tinyPolicy(t *testing.T, seed uint64) (model.Model, tokenizer.Tokenizer) {
	t.Helper()
	tok, err := tokenizer.NewChar("abcde ")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 1, Heads: 2, Hidden: 16, Vocab: tok.VocabSize(), Context: 32, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// TestPPOLearnsAReward: rewarded for the letter a, PPO makes the policy
// write more of it, the KL to the reference grows from zero, and the
// adaptive coefficient moves.
func TestPPOLearnsAReward(t *testing.T) {
	policy, tok := tinyPolicy(t, 1)
	ref, _ := tinyPolicy(t, 1)
	c := DefaultPPOConfig()
	c.Steps, c.BatchSize, c.MiniBatchSize, c.ResponseTokens, c.LR = 15, 32, 8, 8, 3e-3
	c.TargetKL, c.InitKLCoef, c.Horizon = 1, 0.05, 100
	var recs []PPORecord
	if _, err := TrainPPO(policy, ref, tok, []string{"b", "c d", "e"}, countScorer("a"), c, func(r PPORecord) { recs = append(recs, r) }); err != nil {
		t.Fatal(err)
	}
	first, last := recs[0], recs[len(recs)-1]
	if first.KL != 0 || last.KL <= 0 {
		t.Errorf("KL %g at the first step (want 0: the policy is the reference), %g at the last", first.KL, last.KL)
	}
	if early, late := (recs[0].Reward+recs[1].Reward)/2, (recs[len(recs)-2].Reward+last.Reward)/2; late < early+1 {
		t.Errorf("mean reward %.2f over the first two steps, %.2f over the last two: want at least one more a", early, late)
	}
	if last.KLCoef == c.InitKLCoef {
		t.Error("the adaptive KL coefficient never moved")
	}
	for _, r := range recs {
		if r.Entropy <= 0 || math.IsNaN(r.ValueLoss) || r.ClipFrac < 0 || r.ClipFrac > 1 {
			t.Errorf("step %d: entropy %g, value loss %g, clip fraction %g", r.Step, r.Entropy, r.ValueLoss, r.ClipFrac)
		}
	}
	bad := c
	bad.MiniBatchSize = 5
	if _, err := TrainPPO(policy, ref, tok, []string{"b"}, countScorer("a"), bad, nil); err == nil {
		t.Error("a mini-batch size that does not divide the batch: no error")
	}
}

// abPairs are pairs preferring a run of a's over a run of b's.
func abPairs(n int) []PrefPair {
	var ps []PrefPair
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("%c ", "cde"[i%3])
		ps = append(ps, PrefPair{p, strings.Repeat("a", 3+i%4), strings.Repeat("b", 3+(i+1)%4)})
	}
	return ps
}

func TestDPOLearnsPreferences(t *testing.T) {
	for _, kind := range []string{DPOSigmoid, DPOIPO} {
		t.Run(kind, func(t *testing.T) {
			policy, tok := tinyPolicy(t, 2)
			ref, _ := tinyPolicy(t, 2)
			c := DPOConfig{AlignConfig: AlignConfig{Steps: 30, BatchSize: 8, LR: 3e-3, GradClip: 1, Seed: 1, ValFraction: 0.25}, Beta: 0.5, Loss: kind}
			var recs []DPORecord
			acc, err := TrainDPO(policy, ref, tok, abPairs(24), c, func(r DPORecord) { recs = append(recs, r) })
			if err != nil {
				t.Fatal(err)
			}
			if acc != 1 {
				t.Errorf("held-out accuracy %g, want 1", acc)
			}
			first, last := recs[0], recs[len(recs)-1]
			if first.Margin != 0 || last.Margin <= 0 || last.Loss >= first.Loss {
				t.Errorf("margin %g → %g, loss %g → %g", first.Margin, last.Margin, first.Loss, last.Loss)
			}
		})
	}
}

func TestRewardModelLearnsPreferences(t *testing.T) {
	pairs := abPairs(40)
	var corpus []string
	for _, p := range pairs {
		corpus = append(corpus, p.Prompt+p.Chosen, p.Prompt+p.Rejected)
	}
	m, tok, err := NewRewardModel("", corpus, 1, 2, 16, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	var recs []RewardRecord
	acc, err := TrainReward(m, tok, pairs, AlignConfig{Steps: 40, BatchSize: 8, LR: 2e-3, GradClip: 1, Seed: 1, ValFraction: 0.25},
		func(r RewardRecord) { recs = append(recs, r) })
	if err != nil {
		t.Fatal(err)
	}
	if acc != 1 || !recs[len(recs)-1].Final {
		t.Errorf("held-out pair accuracy %g, want 1", acc)
	}
	s := &SeqScorer{M: m, Tok: tok, BlockSize: 16}
	got, err := s.Score([]string{"c aaaa", "c bbbb"})
	if err != nil || got[0] <= got[1] {
		t.Errorf("scores %v (%v): want the a's above the b's", got, err)
	}
	if _, err := s.Score([]string{"xyz"}); err == nil {
		t.Error("a text outside the vocabulary: no error")
	}
	lm, _ := tinyPolicy(t, 1)
	if _, err := TrainReward(lm, tok, pairs, AlignConfig{Steps: 1, BatchSize: 1, LR: 1e-3}, nil); err == nil {
		t.Error("a GPT as the reward model: no error")
	}
}
