package main

import (
	"math"
	"strings"
	"testing"

	"github.com/attn-dev/attn/generate"
	"github.com/spf13/cobra"
)

// FuzzGenFlags gives the shared generation flags arbitrary values: each
// is refused by pflag's parser or by genFlags.config with a message naming
// exactly one flag, or accepted into a configuration whose every number is
// in range (the cross-flag rules, such as several sequences from greedy
// decoding, are generate.Config.Validate's).
func FuzzGenFlags(f *testing.F) {
	f.Add("0.7", "50", "0.9", "1.2", "4", "1", "32", "2", "left")
	f.Add("nan", "-1", "0", "nan", "100000", "100000", "-1", "0", "middle")
	f.Add("", "", "", "", "", "", "", "", "")
	f.Add("-5", "0", "1", "0", "0", "0", "0", "1", "right")
	f.Add("inf", "1e3", "1e-9", "+Inf", "1", "8", "9999999999", "256", "")
	const vocab = 100
	base := generate.DefaultConfig()
	f.Fuzz(func(t *testing.T, temp, topK, topP, rep, beams, threads, maxNew, numRet, trunc string) {
		var gf genFlags
		cmd := &cobra.Command{}
		gf.register(cmd)
		for _, kv := range [][2]string{{"temperature", temp}, {"top-k", topK}, {"top-p", topP}, {"repetition-penalty", rep},
			{"num-beams", beams}, {"threads", threads}, {"max-new-tokens", maxNew}, {"num-return-sequences", numRet}, {"truncate", trunc}} {
			if kv[1] == "" {
				continue
			}
			if err := cmd.Flags().Set(kv[0], kv[1]); err != nil {
				return // pflag's own message names the flag
			}
		}
		cfg, err := gf.config(cmd, base, vocab)
		if err != nil {
			if names := namedFlags(err.Error()); len(names) != 1 {
				t.Fatalf("%q names %v, want exactly one flag", err, names)
			}
			return
		}
		switch {
		case math.IsNaN(cfg.Temperature) || math.IsInf(cfg.Temperature, 0) || cfg.Temperature < 0:
			t.Fatalf("temperature %g accepted", cfg.Temperature)
		case !(cfg.TopP > 0 && cfg.TopP <= 1), cfg.TopK < 0:
			t.Fatalf("top-p %g / top-k %d accepted", cfg.TopP, cfg.TopK)
		case !(cfg.RepetitionPenalty > 0) || math.IsInf(cfg.RepetitionPenalty, 0):
			t.Fatalf("repetition penalty %g accepted", cfg.RepetitionPenalty)
		case cfg.NumBeams < 1 || cfg.NumBeams > min(vocab, maxSequences), cfg.NumReturnSequences > maxSequences:
			t.Fatalf("%d beams, %d sequences accepted", cfg.NumBeams, cfg.NumReturnSequences)
		}
		if err := cfg.Validate(vocab); err != nil && !strings.Contains(err.Error(), "sequences") && !strings.Contains(err.Error(), "beam sampling") {
			t.Fatalf("accepted flags give an invalid configuration: %v", err)
		}
	})
}
