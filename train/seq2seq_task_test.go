package train

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestSeq2SeqTask checks the Marian layout of a seq2seq batch (sources
// end in </s> = 0 and are padded with <pad> = n+1 under a zero mask;
// labels end in </s> and are padded with -100; the decoder reads
// <pad> then the labels shifted right), that training lowers the loss,
// that exact match is measured, and that a resumed run repeats the
// uninterrupted losses bit for bit.
func TestSeq2SeqTask(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	path := filepath.Join(t.TempDir(), "pairs.tsv")
	var data []byte
	for i := 0; i < 300; i++ {
		s := fmt.Sprint(rng.IntN(100000))
		r := []byte(s)
		slices.Reverse(r)
		data = fmt.Appendf(data, "%s\t%s\n", s, r)
	}
	os.WriteFile(path, data, 0o644)
	cfg := tinyConfig(filepath.Join(t.TempDir(), "a"), 40)
	cfg.Task, cfg.Data, cfg.BlockSize, cfg.BatchSize, cfg.Hidden, cfg.LR = TaskSeq2Seq, path, 16, 16, 32, 2e-3
	tr, err := NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := tr.task.(*seq2seqTask)
	n := tr.tok.VocabSize()
	if st.eos != 0 || st.pad != n+1 || st.vocab() != n+2 || tr.m.Info().Vocab != n+2 {
		t.Fatalf("eos %d, pad %d, vocab %d/%d for %d tokens", st.eos, st.pad, st.vocab(), tr.m.Info().Vocab, n)
	}
	pairs := [][2][]int{{{5, 6, 0}, {7, 0}}, {{5, 0}, {8, 9, 0}}}
	in, tg := st.batch(pairs)
	p := st.pad
	for _, c := range []struct {
		name      string
		got, want []int
	}{
		{"input_ids", in.InputIDs, []int{5, 6, 0, 5, 0, p}},
		{"attention_mask", in.AttentionMask, []int{1, 1, 1, 1, 1, 0}},
		{"labels", tg, []int{7, 0, IgnoreIndex, 8, 9, 0}},
		{"decoder_input_ids", in.DecoderInputIDs, []int{p, 7, 0, p, 8, 9}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	before, _, _ := tr.Evaluate()
	final, err := tr.Run()
	tr.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !(*final.ValLoss < before-0.3) || final.ValExactMatch == nil || *final.ValExactMatch < 0 || *final.ValExactMatch > 1 {
		t.Errorf("val loss %.3f → %.3f, exact match %v", before, *final.ValLoss, final.ValExactMatch)
	}

	cfg.Out, cfg.MaxIters, cfg.LRDecayIters = filepath.Join(t.TempDir(), "b"), 6, 6
	full, _ := NewTrainer(cfg)
	want := runLosses(t, full)
	cfg.Out, cfg.MaxIters, cfg.CheckpointEvery = filepath.Join(t.TempDir(), "c"), 3, 3
	half, _ := NewTrainer(cfg)
	runLosses(t, half)
	rest, err := Resume(cfg.Out, 6)
	if err != nil {
		t.Fatal(err)
	}
	for s, l := range runLosses(t, rest) {
		if l != want[s] {
			t.Errorf("step %d: resumed loss %v, uninterrupted %v", s, l, want[s])
		}
	}
}
