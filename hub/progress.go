package hub

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress hears of a pull's bytes as they arrive; its methods are called
// from several goroutines at once.
type Progress interface {
	Add(n int64)  // n more bytes arrived
	Grow(n int64) // n bytes more to fetch than announced (a refetch)
	Finish()      // the pull is over, done or not
}

type nopProgress struct{}

func (nopProgress) Add(int64)  {}
func (nopProgress) Grow(int64) {}
func (nopProgress) Finish()    {}

// BarProgress draws a progress bar on w, a terminal: bytes, rate, ETA.
func BarProgress(w io.Writer) func(name string, total int64, files int) Progress {
	return func(name string, total int64, files int) Progress {
		return &bar{w: w, b: progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(fmt.Sprintf("pull %s (%s)", name, nFiles(files))),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)}
	}
}

type bar struct {
	w io.Writer
	b *progressbar.ProgressBar
}

func (b *bar) Add(n int64)  { _ = b.b.Add64(n) }
func (b *bar) Grow(n int64) { b.b.AddMax64(n) }
func (b *bar) Finish() {
	if !b.b.IsFinished() {
		_ = b.b.Exit()
		fmt.Fprintln(b.w)
	}
}

// LineProgress writes a line to w every period: for logs and pipes,
// where a redrawn bar would be noise.
func LineProgress(w io.Writer, period time.Duration) func(name string, total int64, files int) Progress {
	return func(name string, total int64, files int) Progress {
		l := &lines{w: w, name: name, start: time.Now(), last: -1, stop: make(chan struct{})}
		l.total.Store(total)
		fmt.Fprintf(w, "pull %s: %s, %s\n", name, nFiles(files), byteSize(total))
		l.wg.Go(func() {
			t := time.NewTicker(period)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					l.line()
				case <-l.stop:
					return
				}
			}
		})
		return l
	}
}

type lines struct {
	w          io.Writer
	name       string
	start      time.Time
	done       atomic.Int64
	total      atomic.Int64
	last       int64 // done at the last line written, -1 before the first
	stop       chan struct{}
	wg         sync.WaitGroup
	finishOnce sync.Once
}

func (l *lines) Add(n int64)  { l.done.Add(n) }
func (l *lines) Grow(n int64) { l.total.Add(n) }

func (l *lines) Finish() {
	l.finishOnce.Do(func() {
		close(l.stop)
		l.wg.Wait()
		l.line()
	})
}

// line writes the progress unless nothing arrived since the last line.
func (l *lines) line() {
	done, total := l.done.Load(), l.total.Load()
	if done == l.last {
		return
	}
	l.last = done
	secs := time.Since(l.start).Seconds()
	rate := float64(done) / max(secs, 1e-9)
	eta := "?"
	if rate > 0 && done < total {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	} else if done >= total {
		eta = "0s"
	}
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	fmt.Fprintf(l.w, "pull %s: %s of %s (%.0f%%), %s/s, ETA %s\n", l.name, byteSize(done), byteSize(total), pct, byteSize(int64(rate)), eta)
}

// byteSize renders n bytes for a person, in the progress bar's units:
// 1.5 MiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}

func nFiles(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}
