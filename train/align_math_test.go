package train

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// alignGolden is testdata/align/golden.json, written by
// tools/golden/align.py (PyTorch float64, TRL's formulas).
type alignGolden struct {
	BT struct {
		Chosen, Rejected []float64
		Loss             float64
		DChosen          []float64 `json:"d_chosen"`
		DRejected        []float64 `json:"d_rejected"`
		Accuracy         float64
	} `json:"bt"`
	DPO []struct {
		Beta            float64
		LossType        string    `json:"loss_type"`
		PC              []float64 `json:"policy_chosen"`
		PR              []float64 `json:"policy_rejected"`
		RC              []float64 `json:"ref_chosen"`
		RR              []float64 `json:"ref_rejected"`
		Loss            float64
		DChosen         []float64 `json:"d_chosen"`
		DRejected       []float64 `json:"d_rejected"`
		RewardsChosen   []float64 `json:"rewards_chosen"`
		RewardsRejected []float64 `json:"rewards_rejected"`
	} `json:"dpo"`
	Whiten struct {
		B, T     int
		X, Mask  []float64
		ShiftV   []float64 `json:"shift"`
		NoShiftV []float64 `json:"noshift"`
	} `json:"whiten"`
	GAE struct {
		B, T         int
		S            []float64 `json:"scores"`
		LP           []float64 `json:"logprobs"`
		RLP          []float64 `json:"ref_logprobs"`
		Values, Mask []float64
		KLCoef       float64   `json:"kl_coef"`
		Rewards      []float64 `json:"rewards"`
		NonScore     []float64 `json:"non_score"`
		Cases        []struct {
			Gamma, Lam          float64
			Advantages, Returns []float64
		}
	} `json:"gae"`
	PPO struct {
		B, T                      int
		Old                       []float64 `json:"old_logprobs"`
		Values                    []float64 `json:"values"`
		LogProbs                  []float64 `json:"logprobs"`
		VPreds                    []float64 `json:"vpreds"`
		Mask, Advantages, Returns []float64
		ClipRange                 float64   `json:"cliprange"`
		ClipRangeValue            float64   `json:"cliprange_value"`
		VFCoef                    float64   `json:"vf_coef"`
		Loss                      float64   `json:"loss"`
		PGLoss                    float64   `json:"pg_loss"`
		VFLoss                    float64   `json:"vf_loss"`
		PGClipFrac                float64   `json:"pg_clipfrac"`
		VFClipFrac                float64   `json:"vf_clipfrac"`
		ApproxKL                  float64   `json:"approxkl"`
		PolicyKL                  float64   `json:"policykl"`
		DLogProbs                 []float64 `json:"d_logprobs"`
		DVPreds                   []float64 `json:"d_vpreds"`
	} `json:"ppo"`
	AdaptiveKL struct {
		Init, Target, Horizon float64
		Updates               [][2]float64
		Values                []float64
	} `json:"adaptive_kl"`
}

const alignTol = 1e-5

func loadAlignGolden(t *testing.T) *alignGolden {
	t.Helper()
	data, err := os.ReadFile("../testdata/align/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g alignGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

func closeAll(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > alignTol*math.Max(1, math.Abs(want[i])) {
			t.Errorf("%s[%d] = %.9g, PyTorch %.9g", what, i, got[i], want[i])
		}
	}
}

func closeOne(t *testing.T, what string, got, want float64) {
	t.Helper()
	closeAll(t, what, []float64{got}, []float64{want})
}

func TestBradleyTerryGolden(t *testing.T) {
	g := loadAlignGolden(t)
	loss, dc, dr, acc := BradleyTerry(g.BT.Chosen, g.BT.Rejected)
	closeOne(t, "loss", loss, g.BT.Loss)
	closeAll(t, "d_chosen", dc, g.BT.DChosen)
	closeAll(t, "d_rejected", dr, g.BT.DRejected)
	closeOne(t, "accuracy", acc, g.BT.Accuracy)
}

func TestDPOGolden(t *testing.T) {
	g := loadAlignGolden(t)
	for _, c := range g.DPO {
		t.Run(c.LossType, func(t *testing.T) {
			r, err := DPO(c.PC, c.PR, c.RC, c.RR, c.Beta, c.LossType)
			if err != nil {
				t.Fatal(err)
			}
			closeOne(t, "loss", r.Loss, c.Loss)
			closeAll(t, "d_chosen", r.DChosen, c.DChosen)
			closeAll(t, "d_rejected", r.DRejected, c.DRejected)
			closeAll(t, "rewards_chosen", r.RewardChosen, c.RewardsChosen)
			closeAll(t, "rewards_rejected", r.RewardRj, c.RewardsRejected)
		})
	}
}

func TestDPOErrors(t *testing.T) {
	one := []float64{0}
	for _, c := range []struct {
		name           string
		pc, pr, rc, rr []float64
		beta           float64
		kind           string
	}{
		{"empty", nil, nil, nil, nil, 0.1, DPOSigmoid},
		{"lengths", one, []float64{0, 1}, one, one, 0.1, DPOSigmoid},
		{"beta", one, one, one, one, 0, DPOSigmoid},
		{"kind", one, one, one, one, 0.1, "hinge?"},
	} {
		if _, err := DPO(c.pc, c.pr, c.rc, c.rr, c.beta, c.kind); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestWhitenGolden(t *testing.T) {
	g := loadAlignGolden(t)
	closeAll(t, "shift", Whiten(g.Whiten.X, g.Whiten.Mask, true), g.Whiten.ShiftV)
	closeAll(t, "noshift", Whiten(g.Whiten.X, g.Whiten.Mask, false), g.Whiten.NoShiftV)
}

func TestGAEGolden(t *testing.T) {
	g := loadAlignGolden(t).GAE
	rewards, nonScore := PPORewards(g.S, g.LP, g.RLP, g.Mask, g.B, g.T, g.KLCoef)
	closeAll(t, "rewards", rewards, g.Rewards)
	closeAll(t, "non_score", nonScore, g.NonScore)
	for _, c := range g.Cases {
		adv, ret := GAE(g.Values, g.Rewards, g.Mask, g.B, g.T, c.Gamma, c.Lam)
		closeAll(t, "advantages", adv, c.Advantages)
		closeAll(t, "returns", ret, c.Returns)
	}
}

func TestPPOLossGolden(t *testing.T) {
	g := loadAlignGolden(t).PPO
	r := PPOLoss(g.Old, g.Values, g.LogProbs, g.VPreds, g.Mask, g.Advantages, g.Returns,
		PPOLossConfig{ClipRange: g.ClipRange, ClipRangeValue: g.ClipRangeValue, VFCoef: g.VFCoef, RatioThreshold: 10})
	if r.Skipped {
		t.Fatal("skipped")
	}
	if r.PGClipFrac == 0 || r.PGClipFrac == 1 || r.VFClipFrac == 0 || r.VFClipFrac == 1 {
		t.Fatalf("the fixture should clip some entries and not others: clipfrac %g, value clipfrac %g", r.PGClipFrac, r.VFClipFrac)
	}
	closeOne(t, "loss", r.Loss, g.Loss)
	closeOne(t, "pg_loss", r.PGLoss, g.PGLoss)
	closeOne(t, "vf_loss", r.VFLoss, g.VFLoss)
	closeOne(t, "pg_clipfrac", r.PGClipFrac, g.PGClipFrac)
	closeOne(t, "vf_clipfrac", r.VFClipFrac, g.VFClipFrac)
	closeOne(t, "approxkl", r.ApproxKL, g.ApproxKL)
	closeOne(t, "policykl", r.PolicyKL, g.PolicyKL)
	closeAll(t, "d_logprobs", r.DLogProbs, g.DLogProbs)
	closeAll(t, "d_vpreds", r.DValues, g.DVPreds)

	// A minibatch whose mean ratio passes the threshold is skipped.
	far := make([]float64, len(g.LogProbs))
	for i := range far {
		far[i] = g.Old[i] + 3
	}
	s := PPOLoss(g.Old, g.Values, far, g.VPreds, g.Mask, g.Advantages, g.Returns,
		PPOLossConfig{ClipRange: 0.2, ClipRangeValue: 0.2, VFCoef: 0.1, RatioThreshold: 10})
	if !s.Skipped || s.Loss != 0 || s.DLogProbs[0] != 0 {
		t.Errorf("mean ratio e³ > 10: skipped %v, loss %g", s.Skipped, s.Loss)
	}
}

func TestAdaptiveKLGolden(t *testing.T) {
	g := loadAlignGolden(t).AdaptiveKL
	k := KLController{Value: g.Init, Target: g.Target, Horizon: g.Horizon}
	var got []float64
	for _, u := range g.Updates {
		k.Update(u[0], int(u[1]))
		got = append(got, k.Value)
	}
	closeAll(t, "kl_coef", got, g.Values)
	fixed := KLController{Value: 0.3}
	fixed.Update(100, 1000)
	if fixed.Value != 0.3 {
		t.Errorf("a fixed coefficient moved to %g", fixed.Value)
	}
}
