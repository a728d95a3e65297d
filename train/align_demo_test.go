package train

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAlignDemoTiny runs the whole pipeline at test size: the aligned
// policies must earn more reward than the SFT policy they start from,
// and keep at least half its distinct bigrams.
func TestAlignDemoTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("trains five small models")
	}
	c := TinyDemoConfig()
	c.Data = "../data/sentiment-labelled-sentences-uci/*_labelled.txt"
	c.Out = filepath.Join(t.TempDir(), "demo")
	r, err := RunDemo(c, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", r.Table())
	if len(r.Policies) != 3 {
		t.Fatalf("%d policies in the table", len(r.Policies))
	}
	sft := r.Policies[0]
	for _, p := range r.Policies[1:] {
		if p.Reward <= sft.Reward {
			t.Errorf("%s: mean reward %.3f, not above the SFT policy's %.3f", p.Name, p.Reward, sft.Reward)
		}
		if p.DistinctRatio < 0.5 {
			t.Errorf("%s: distinct bigrams %.3f, below half the SFT policy's %.3f", p.Name, p.DistinctBigrams, sft.DistinctBigrams)
		}
	}
	for _, dir := range []string{"sft", "classifier", "reward", "ppo", "dpo"} {
		if _, err := os.Stat(filepath.Join(c.Out, dir, "model.safetensors")); err != nil {
			t.Error(err)
		}
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s", p)
	return len(p), nil
}

func TestPromptOf(t *testing.T) {
	for _, tc := range []struct {
		s, want string
		n       int
		ok      bool
	}{
		{"The food was great", "The food", 8, true}, // a word ends at n
		{"The pho was great", "The pho", 8, true},   // the space falls at n−1
		{"This phone works", "This", 8, true},       // cut back to a word's end
		{"Unbelievable food", "Unbeliev", 8, true},  // no word ends inside
		{"Too short", "", 9, false},                 // nothing left to continue
		{"Ünïcödé words here", "Ünïcödé", 8, true},  // characters, not bytes
	} {
		got, ok := promptOf(tc.s, tc.n)
		if got != tc.want || ok != tc.ok {
			t.Errorf("promptOf(%q, %d) = %q, %v; want %q, %v", tc.s, tc.n, got, ok, tc.want, tc.ok)
		}
	}
}
