package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// slowAfter is how long a step runs before it shows progress.
const slowAfter = 2 * time.Second

// slowStep runs fn; if it takes longer than slowAfter it shows desc with
// the time elapsed on stderr: a spinner on a terminal, else a line every
// ten seconds.
func slowStep(cmd *cobra.Command, desc string, fn func() error) error {
	done := make(chan struct{})
	stopped := make(chan struct{})
	w := cmd.ErrOrStderr()
	go func() {
		defer close(stopped)
		select {
		case <-done:
			return
		case <-time.After(slowAfter):
		}
		if isTerminal(w) {
			bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(desc),
				progressbar.OptionSpinnerType(14), progressbar.OptionSetElapsedTime(true), progressbar.OptionClearOnFinish(),
				progressbar.OptionThrottle(100*time.Millisecond))
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					_ = bar.Finish()
					return
				case <-t.C:
					_ = bar.Add(1)
				}
			}
		}
		start := time.Now().Add(-slowAfter)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		fmt.Fprintf(w, "attn: %s…\n", desc)
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(w, "attn: %s… (%.0f s)\n", desc, time.Since(start).Seconds())
			}
		}
	}()
	err := fn()
	close(done)
	<-stopped
	return err
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
