// Package memlimit checks the size of a large allocation against the
// machine's memory before it is made, so that absurd sizes from a flag or a
// config become an error naming them rather than a makeslice panic or the
// kernel's out-of-memory killer.
package memlimit

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// fallback is the budget where /proc/meminfo is unavailable.
const fallback = 8 << 30

// Available is the memory an allocation may take: MemAvailable from
// /proc/meminfo (free memory plus reclaimable caches), or 8 GiB where the
// kernel does not say.
func Available() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return fallback
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil && kb > 0 {
				return kb << 10
			}
		}
	}
	return fallback
}

// Float32s returns the bytes of the float32 tensors whose shapes are given,
// in float64 so that products of huge sizes cannot overflow.
func Float32s(shapes ...[]int) float64 {
	total := 0.0
	for _, s := range shapes {
		n := 4.0
		for _, d := range s {
			n *= float64(d)
		}
		total += n
	}
	return total
}

// Check returns an error naming what when bytes exceed the memory
// available.
func Check(what string, bytes float64) error {
	if avail := Available(); !(bytes <= float64(avail)) {
		return fmt.Errorf("%s needs about %s, more than the %s of memory available", what, human(bytes), human(float64(avail)))
	}
	return nil
}

func human(b float64) string {
	switch {
	case b >= 1<<40:
		return fmt.Sprintf("%.3g TiB", b/(1<<40))
	case b >= 1<<30:
		return fmt.Sprintf("%.3g GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.3g MiB", b/(1<<20))
	}
	return fmt.Sprintf("%.0f bytes", b)
}
