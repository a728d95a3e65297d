package generate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// greedyRef decodes with full recomputation: the logits of the whole
// history each step, argmax, stop on EOS.
func greedyRef(f *fakeLM, src, prompt []int, n int, eos int) []int {
	hist := slices.Clone(prompt)
	var out []int
	logits := make([]float32, f.v)
	for range n {
		f.logitsFor(src, hist, logits)
		id := argmax(logits)
		out = append(out, id)
		hist = append(hist, id)
		if id == eos {
			break
		}
	}
	return out
}

func TestGreedy(t *testing.T) {
	cases := []struct {
		name    string
		prompts [][]int
		n       int
		eos     int
	}{
		{"one", [][]int{{3, 1, 4}}, 12, -1},
		{"eos", [][]int{{3, 1, 4}}, 40, 5},
		{"batch left-padded", [][]int{{3, 1, 4, 1, 5}, {9}, {2, 6}}, 10, -1},
		{"batch rows stop apart", [][]int{{3, 1, 4, 1, 5}, {9}, {2, 6}, {7, 7, 7}}, 30, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeLM{v: 11}
			var eos []int
			if c.eos >= 0 {
				eos = []int{c.eos}
			}
			var streamed [][]int = make([][]int, len(c.prompts))
			res, err := Generate(f, c.prompts, Greedy(c.n, eos), &Options{OnToken: func(row, id int) error {
				streamed[row] = append(streamed[row], id)
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			for r, p := range c.prompts {
				want := greedyRef(f, nil, p, c.n, c.eos)
				if !slices.Equal(res.IDs[r], want) {
					t.Errorf("row %d: got %v, want %v", r, res.IDs[r], want)
				}
				if !slices.Equal(streamed[r], want) {
					t.Errorf("row %d streamed %v, want %v", r, streamed[r], want)
				}
			}
			longest := 0
			for _, ids := range res.IDs {
				longest = max(longest, len(ids))
			}
			if f.forwards != longest {
				t.Errorf("%d forward calls for %d tokens: want one prefill and one call per later token", f.forwards, longest)
			}
		})
	}
}

func TestGreedySeq2Seq(t *testing.T) {
	f := &fakeLM{v: 13}
	src := [][]int{{5, 6, 7, 1}, {8, 1}}
	cfg := Greedy(9, []int{1})
	cfg.DecoderStartTokenID = 12
	res, err := GenerateSeq2Seq(f, src, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for r, s := range src {
		want := greedyRef(f, s, []int{12}, 9, 1)
		if !slices.Equal(res.IDs[r], want) {
			t.Errorf("row %d: got %v, want %v", r, res.IDs[r], want)
		}
	}
}

func TestSamplingReproducible(t *testing.T) {
	gen := func(seed uint64) []int {
		cfg := DefaultConfig()
		cfg.DoSample, cfg.MaxNewTokens, cfg.Seed, cfg.TopK = true, 40, seed, 0
		res, err := Generate(&fakeLM{v: 50}, [][]int{{1, 2}}, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.IDs[0]
	}
	a, b, c := gen(7), gen(7), gen(8)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different samples: %v vs %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same 40 samples %v", a)
	}
	greedy, err := Generate(&fakeLM{v: 50}, [][]int{{1, 2}}, Greedy(40, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a, greedy.IDs[0]) {
		t.Errorf("sampling at temperature 1 equals greedy over 40 tokens")
	}
}

// TestSamplingKeepsWarpedSupport draws many tokens with top-k 3 and checks
// that only the three most likely tokens of each step are ever drawn, and
// that a tiny temperature collapses sampling onto greedy.
func TestSamplingKeepsWarpedSupport(t *testing.T) {
	f := &fakeLM{v: 20}
	cfg := DefaultConfig()
	cfg.DoSample, cfg.MaxNewTokens, cfg.TopK = true, 1, 3
	logits := make([]float32, f.v)
	f.logitsFor(nil, []int{4}, logits)
	order := make([]int, f.v)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmpFloat(float64(logits[b]), float64(logits[a])) })
	seen := map[int]int{}
	for seed := range uint64(300) {
		cfg.Seed = seed
		res, err := Generate(f, [][]int{{4}}, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		seen[res.IDs[0][0]]++
	}
	for id, n := range seen {
		if !slices.Contains(order[:3], id) {
			t.Errorf("token %d (drawn %d times) is not among the top 3 %v", id, n, order[:3])
		}
	}
	if len(seen) != 3 {
		t.Errorf("300 draws hit %d of the top 3 tokens: %v", len(seen), seen)
	}
	cfg.TopK, cfg.Temperature = 0, 1e-4
	for seed := range uint64(20) {
		cfg.Seed = seed
		res, err := Generate(f, [][]int{{4}}, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.IDs[0][0] != order[0] {
			t.Fatalf("temperature 1e-4 drew %d, argmax is %d", res.IDs[0][0], order[0])
		}
	}
}

func TestStopStrings(t *testing.T) {
	f := &fakeLM{v: 26}
	decode := func(ids []int) (string, error) {
		var b strings.Builder
		for _, id := range ids {
			b.WriteByte(byte('a' + id))
		}
		return b.String(), nil
	}
	full, err := Generate(f, [][]int{{0}}, Greedy(30, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := decode(full.IDs[0])
	stop := text[10:12]
	cut := strings.Index(text, stop) + len(stop)
	cfg := Greedy(30, nil)
	cfg.StopStrings = []string{"not there", stop}
	res, err := Generate(f, [][]int{{0}}, cfg, &Options{Decode: decode})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := decode(res.IDs[0]); got != text[:cut] {
		t.Errorf("stop string %q: got %q, want %q", stop, got, text[:cut])
	}
	if _, err := Generate(f, [][]int{{0}}, cfg, nil); err == nil {
		t.Error("stop strings without a decode function: no error")
	}
}

func TestStreamingErrorStops(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	_, err := Generate(&fakeLM{v: 9}, [][]int{{1}}, Greedy(20, nil), &Options{OnToken: func(int, int) error {
		n++
		if n == 3 {
			return boom
		}
		return nil
	}})
	if !errors.Is(err, boom) || n != 3 {
		t.Errorf("got %v after %d tokens, want boom after 3", err, n)
	}
}

func TestBadInput(t *testing.T) {
	f := &fakeLM{v: 10}
	cases := []struct {
		name    string
		prompts [][]int
		cfg     func(*Config)
		want    string
	}{
		{"no prompt", nil, nil, "no prompt"},
		{"empty prompt", [][]int{{1}, {}}, nil, "prompt 1 is empty"},
		{"id too large", [][]int{{1, 10}}, nil, "outside the vocabulary"},
		{"negative id", [][]int{{-1}}, nil, "outside the vocabulary"},
		{"no length", [][]int{{1}}, func(c *Config) { c.MaxNewTokens, c.MaxLength = 0, 0 }, "max length"},
		{"temperature 0 sampling", [][]int{{1}}, func(c *Config) { c.DoSample, c.Temperature = true, 0 }, "temperature"},
		{"top-p 0", [][]int{{1}}, func(c *Config) { c.TopP = 0 }, "top-p"},
		{"top-p above 1", [][]int{{1}}, func(c *Config) { c.TopP = 1.5 }, "top-p"},
		{"top-k negative", [][]int{{1}}, func(c *Config) { c.TopK = -2 }, "top-k"},
		{"eos outside", [][]int{{1}}, func(c *Config) { c.EOSTokenIDs = []int{10} }, "eos token id"},
		{"bad word outside", [][]int{{1}}, func(c *Config) { c.BadWordsIDs = [][]int{{3, 99}} }, "bad words entry 0"},
		{"zero beams", [][]int{{1}}, func(c *Config) { c.NumBeams = 0 }, "num beams"},
		{"beam sampling", [][]int{{1}}, func(c *Config) { c.NumBeams, c.DoSample = 2, true }, "beam sampling"},
		{"penalty 0", [][]int{{1}}, func(c *Config) { c.RepetitionPenalty = 0 }, "repetition penalty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Greedy(3, nil)
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			_, err := Generate(f, c.prompts, cfg, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error mentioning %q", err, c.want)
			}
		})
	}
	cfg := Greedy(3, nil)
	if _, err := GenerateSeq2Seq(f, [][]int{{1}}, cfg, nil); err == nil || !strings.Contains(err.Error(), "decoder start") {
		t.Errorf("seq2seq without a start token: got %v", err)
	}
}

func TestMaxLengthAlreadyReached(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxLength = 3
	res, err := Generate(&fakeLM{v: 5}, [][]int{{1, 2, 3, 4}}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IDs[0]) != 0 {
		t.Errorf("prompt longer than max length generated %v", res.IDs[0])
	}
	cfg.MaxLength = 6
	res, err = Generate(&fakeLM{v: 5}, [][]int{{1, 2, 3, 4}}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IDs[0]) != 2 {
		t.Errorf("max length 6 after 4 prompt tokens generated %d tokens", len(res.IDs[0]))
	}
}

func ExampleGreedy() {
	res, err := Generate(&fakeLM{v: 7}, [][]int{{1, 2, 3}}, Greedy(5, nil), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(res.IDs[0]), math.Signbit(res.TokensPerSecond()))
	// Output: 5 false
}

// TestSamplingReturnsSequences: NumReturnSequences n samples n
// independent rows per prompt, grouped by prompt — the same draws as
// sampling each prompt repeated n times in one batch (transformers'
// repeat_interleave) — and they differ from each other.
func TestSamplingReturnsSequences(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DoSample, cfg.MaxNewTokens, cfg.Seed, cfg.TopK = true, 20, 5, 0
	cfg.NumReturnSequences = 3
	prompts := [][]int{{1, 2}, {3}}
	got, err := Generate(&fakeLM{v: 50}, prompts, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.NumReturnSequences = 1
	want, err := Generate(&fakeLM{v: 50}, [][]int{{1, 2}, {1, 2}, {1, 2}, {3}, {3}, {3}}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.IDs) != 6 {
		t.Fatalf("%d sequences, want 6", len(got.IDs))
	}
	for i := range want.IDs {
		if !slices.Equal(got.IDs[i], want.IDs[i]) {
			t.Errorf("sequence %d: %v, want %v", i, got.IDs[i], want.IDs[i])
		}
	}
	if slices.Equal(got.IDs[0], got.IDs[1]) && slices.Equal(got.IDs[1], got.IDs[2]) {
		t.Errorf("three samples of 20 tokens are equal: %v", got.IDs[0])
	}
}

// TestNumReturnSequencesChecked: greedy decoding has one sequence per
// prompt, beam search at most NumBeams (transformers refuses the same).
func TestNumReturnSequencesChecked(t *testing.T) {
	for _, c := range []struct {
		beams, n int
		sample   bool
	}{{1, 2, false}, {2, 3, false}, {1, -1, true}} {
		cfg := DefaultConfig()
		cfg.MaxNewTokens, cfg.NumBeams, cfg.NumReturnSequences, cfg.DoSample = 3, c.beams, c.n, c.sample
		if _, err := Generate(&fakeLM{v: 5}, [][]int{{1}}, cfg, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
