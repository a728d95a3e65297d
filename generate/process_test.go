package generate

import (
	"math"
	"slices"
	"testing"
)

// kept lists the indices whose score is not −∞.
func kept(scores []float32) []int {
	var k []int
	for i, s := range scores {
		if !math.IsInf(float64(s), -1) {
			k = append(k, i)
		}
	}
	return k
}

// logits returns log(p) for a distribution, so softmax gives p back.
func logits(p ...float64) []float32 {
	x := make([]float32, len(p))
	for i, v := range p {
		x[i] = float32(math.Log(v))
	}
	return x
}

func TestTopK(t *testing.T) {
	cases := []struct {
		name   string
		scores []float32
		k      int
		want   []int
	}{
		{"top 2", []float32{0.1, 3, -1, 2, 0.5}, 2, []int{1, 3}},
		{"top 1", []float32{0.1, 3, -1, 2, 0.5}, 1, []int{1}},
		{"ties with the k-th survive", []float32{1, 2, 2, 0, 2}, 2, []int{1, 2, 4}},
		{"k = V keeps all", []float32{1, 2, 3}, 3, []int{0, 1, 2}},
		{"k > V keeps all", []float32{1, 2, 3}, 9, []int{0, 1, 2}},
		{"negative scores", []float32{-5, -1, -3, -2}, 3, []int{1, 2, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := slices.Clone(c.scores)
			topK(s, c.k, make([]float32, len(s)))
			if got := kept(s); !slices.Equal(got, c.want) {
				t.Errorf("kept %v, want %v", got, c.want)
			}
			for _, i := range c.want {
				if s[i] != c.scores[i] {
					t.Errorf("kept score %d changed: %g -> %g", i, c.scores[i], s[i])
				}
			}
		})
	}
}

func TestTopP(t *testing.T) {
	cases := []struct {
		name    string
		scores  []float32
		p       float32
		minKeep int
		want    []int
	}{
		// sorted ascending: .05 .1 .15 .3 .4; cumulative .05 .15 .3 .6 1
		{"p 0.7 keeps the top two", logits(0.1, 0.4, 0.05, 0.3, 0.15), 0.7, 1, []int{1, 3}},
		{"p 0.71 keeps three", logits(0.1, 0.4, 0.05, 0.3, 0.15), 0.71, 1, []int{1, 3, 4}},
		{"p 0.3 keeps the top one", logits(0.1, 0.4, 0.05, 0.3, 0.15), 0.3, 1, []int{1}},
		{"p 0.3 with min keep 2", logits(0.1, 0.4, 0.05, 0.3, 0.15), 0.3, 2, []int{1, 3}},
		{"p 1 keeps all", logits(0.1, 0.4, 0.05, 0.3, 0.15), 1, 1, []int{0, 1, 2, 3, 4}},
		{"after top-k", []float32{float32(math.Inf(-1)), float32(math.Log(0.5)), float32(math.Inf(-1)), float32(math.Log(0.3)), float32(math.Log(0.2))}, 0.6, 1, []int{1, 3}},
		{"after top-k, min keep", []float32{float32(math.Inf(-1)), 0, float32(math.Inf(-1))}, 0.1, 1, []int{1}},
		{"one dominant token", logits(0.97, 0.01, 0.01, 0.01), 0.9, 1, []int{0}},
		{"p 0.96 still one", logits(0.97, 0.01, 0.01, 0.01), 0.96, 1, []int{0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := slices.Clone(c.scores)
			topP(s, c.p, c.minKeep, make([]int, len(s)), make([]float32, len(s)))
			if got := kept(s); !slices.Equal(got, c.want) {
				t.Errorf("kept %v, want %v", got, c.want)
			}
		})
	}
}

func TestKthLargest(t *testing.T) {
	x := []float32{5, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5}
	sorted := slices.Clone(x)
	slices.Sort(sorted)
	slices.Reverse(sorted)
	for k := 1; k <= len(x); k++ {
		if got := kthLargest(slices.Clone(x), k); got != sorted[k-1] {
			t.Errorf("k=%d: got %g, want %g", k, got, sorted[k-1])
		}
	}
}

func TestProcessors(t *testing.T) {
	base := []float32{1, -2, 3, 0.5, -1, 2}
	cases := []struct {
		name      string
		cfg       func(*Config)
		seq       []int
		promptLen int
		want      []float32
	}{
		{"none", nil, []int{0, 1}, 2, base},
		{"repetition penalty", func(c *Config) { c.RepetitionPenalty = 2 }, []int{0, 1, 1, 4}, 2,
			[]float32{0.5, -4, 3, 0.5, -2, 2}},
		{"no repeat 2-gram", func(c *Config) { c.NoRepeatNGramSize = 2 }, []int{2, 5, 3, 2, 0, 2}, 2,
			[]float32{float32(math.Inf(-1)), -2, 3, 0.5, -1, float32(math.Inf(-1))}},
		{"no repeat 3-gram", func(c *Config) { c.NoRepeatNGramSize = 3 }, []int{2, 5, 3, 2, 5}, 2,
			[]float32{1, -2, 3, float32(math.Inf(-1)), -1, 2}},
		{"bad words", func(c *Config) { c.BadWordsIDs = [][]int{{3}, {1, 2}, {4, 2}, {5}}; c.EOSTokenIDs = []int{5} }, []int{0, 1}, 2,
			[]float32{1, -2, float32(math.Inf(-1)), float32(math.Inf(-1)), -1, 2}},
		{"min length", func(c *Config) { c.MinLength = 4; c.EOSTokenIDs = []int{5, 0} }, []int{0, 1, 2}, 2,
			[]float32{float32(math.Inf(-1)), -2, 3, 0.5, -1, float32(math.Inf(-1))}},
		{"min length reached", func(c *Config) { c.MinLength = 3; c.EOSTokenIDs = []int{5} }, []int{0, 1, 2}, 2, base},
		{"min new tokens", func(c *Config) { c.MinNewTokens = 2; c.EOSTokenIDs = []int{1} }, []int{0, 1, 2}, 2,
			[]float32{1, float32(math.Inf(-1)), 3, 0.5, -1, 2}},
		{"forced bos", func(c *Config) { c.ForcedBOSTokenID = 4 }, []int{0}, 1,
			[]float32{float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), 0, float32(math.Inf(-1))}},
		{"forced bos later", func(c *Config) { c.ForcedBOSTokenID = 4 }, []int{0, 2}, 1, base},
		{"forced eos at max length", func(c *Config) { c.ForcedEOSTokenID = 1; c.MaxLength = 4 }, []int{0, 2, 3}, 1,
			[]float32{float32(math.Inf(-1)), 0, float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1))}},
		{"forced eos before", func(c *Config) { c.ForcedEOSTokenID = 1; c.MaxLength = 5 }, []int{0, 2, 3}, 1, base},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			if err := cfg.Validate(len(base)); err != nil {
				t.Fatal(err)
			}
			s := slices.Clone(base)
			newProcessor(&cfg, c.promptLen).apply(c.seq, s)
			if !slices.Equal(s, c.want) {
				t.Errorf("got %v, want %v", s, c.want)
			}
		})
	}
}

func TestLogSoftmax(t *testing.T) {
	x := []float32{1, 2, 3, -1}
	logSoftmax(x)
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v))
	}
	if math.Abs(sum-1) > 1e-6 || x[2] <= x[1] {
		t.Errorf("log-softmax %v sums to %g", x, sum)
	}
}

// TestProbabilities: temperature flattens, top-k and top-p cut, and the
// kept mass sums to one.
func TestProbabilities(t *testing.T) {
	logits := []float32{2, 1, 0, -1}
	for _, tc := range []struct {
		name string
		cfg  Config
		want []float32
	}{
		{"plain", Config{Temperature: 1, TopP: 1}, []float32{0.6439, 0.2369, 0.0871, 0.0321}},
		{"hot", Config{Temperature: 2, TopP: 1}, []float32{0.4551, 0.2760, 0.1674, 0.1015}},
		{"top-k 2", Config{Temperature: 1, TopK: 2, TopP: 1}, []float32{0.7311, 0.2689, 0, 0}},
		{"top-p 0.7", Config{Temperature: 1, TopP: 0.7}, []float32{0.7311, 0.2689, 0, 0}},
	} {
		got := Probabilities(logits, tc.cfg)
		for i := range got {
			if math.Abs(float64(got[i]-tc.want[i])) > 1e-3 {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
	if logits[0] != 2 {
		t.Errorf("Probabilities changed its input: %v", logits)
	}
}
