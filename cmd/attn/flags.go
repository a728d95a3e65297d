package main

import (
	"errors"
	"fmt"
	"math"
	"runtime"

	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/internal/quote"
	"github.com/spf13/cobra"
)

// Bounds of the flags whose absurd values would run for minutes or
// allocate without end.
const (
	maxSequences = 256 // --num-beams, --num-return-sequences
	maxRuns      = 100000
)

// maxThreads bounds --threads: more workers than 4 per core only add
// scheduling.
func maxThreads() int { return 4 * runtime.NumCPU() }

// intRange returns an error naming flag when v lies outside [lo, hi].
func intRange(flag string, v, lo, hi int) error {
	switch {
	case v >= lo && v <= hi:
		return nil
	case hi == math.MaxInt:
		return fmt.Errorf("--%s %d: want at least %d", flag, v, lo)
	}
	return fmt.Errorf("--%s %d: want %d to %d", flag, v, lo, hi)
}

// givenRange is intRange for a flag the user gave: a flag left unset keeps
// its default, whose meaning ("0: the model's") the user did not ask for.
func givenRange(cmd *cobra.Command, flag string, v, lo, hi int) error {
	if !cmd.Flags().Changed(flag) {
		return nil
	}
	return intRange(flag, v, lo, hi)
}

// checkFloat returns an error naming flag unless ok(v); want says what is
// accepted.
func checkFloat(flag string, v float64, ok bool, want string) error {
	if ok && !math.IsNaN(v) {
		return nil
	}
	return fmt.Errorf("--%s %g: want %s", flag, v, want)
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// registerTruncate adds --truncate to a verb whose input can exceed the
// model's context.
func registerTruncate(cmd *cobra.Command, s *string) {
	cmd.Flags().StringVar(s, "truncate", "", "an input too long for the model's context: left (keep its end) or right (keep its start); default: refuse it")
}

// parseTruncate checks a --truncate value.
func parseTruncate(s string) (infer.Truncation, error) {
	t, err := infer.ParseTruncation(s)
	if err != nil {
		return t, fmt.Errorf("--truncate %s: want left (keep the end of the input) or right (keep its start)", quote.Short(s))
	}
	return t, nil
}

// contextHint rephrases an input that does not fit the model's context in
// the verb's flags.
func contextHint(err error) error {
	var ce *infer.ContextError
	if !errors.As(err, &ce) {
		return err
	}
	if ce.New >= ce.Limit {
		return fmt.Errorf("--max-new-tokens %d leaves no room for the %s in the model's context of %d tokens", ce.New, ce.What, ce.Limit)
	}
	if ce.New > 0 {
		return fmt.Errorf("the %s (%d tokens) plus --max-new-tokens %d exceeds the model's context of %d tokens: shorten it, lower --max-new-tokens or give --truncate left|right", ce.What, ce.Tokens, ce.New, ce.Limit)
	}
	return fmt.Errorf("the %s (%d tokens) exceeds the model's context of %d tokens: shorten it or give --truncate left|right", ce.What, ce.Tokens, ce.Limit)
}
