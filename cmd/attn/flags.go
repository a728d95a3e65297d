package main

import (
	"fmt"
	"math"
	"runtime"
	"unicode/utf8"

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

// quote is %q of a user's input cut to about 80 characters, so an error
// about a 50 KB text does not echo it whole.
func quote(s string) string {
	const keep = 80
	if len(s) <= keep {
		return fmt.Sprintf("%q", s)
	}
	cut := keep
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:cut], len(s))
}
