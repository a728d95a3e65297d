package hub

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Pulled is the outcome of a Pull.
type Pulled struct {
	Name    Name
	Commit  string
	Dir     string // the checkpoint directory
	Files   []File // the files of the checkpoint
	Fetched int64  // bytes transferred (0 when all were present)
	// Converted lists the safetensors files written from the
	// repository's PyTorch pickles (which are then removed).
	Converted []string
	Cached    bool // offline: the cached snapshot, not checked against the hub
}

// Pull fetches the checkpoint files of NAME[@REVISION] into the cache
// (files already there are kept; a partial download is resumed),
// converts PyTorch pickles to safetensors (see convertPickles) and
// records the revision's commit, so that Cache.Resolve finds it.
// Offline, it returns the cached snapshot or ErrOffline.
func (c *Client) Pull(ctx context.Context, name string) (*Pulled, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	if c.Offline {
		dir, err := c.Cache.Resolve(name)
		if err != nil {
			return nil, fmt.Errorf("%w, and %w", ErrOffline, err)
		}
		return &Pulled{Name: n, Dir: dir, Commit: filepath.Base(dir), Cached: true}, nil
	}
	l, err := c.List(ctx, n)
	if err != nil {
		return nil, err
	}
	files := Wanted(l.Files)
	if !hasConfig(files) {
		return nil, fmt.Errorf("%s@%s has no config.json at the top of the repository: not a transformers checkpoint", n.Repo, l.Commit[:12])
	}
	if !hasWeights(files) {
		return nil, fmt.Errorf("%s@%s has neither model.safetensors nor pytorch_model.bin (nor their sharded forms)", n.Repo, l.Commit[:12])
	}
	unlock, err := c.Cache.lockRepo(ctx, n.Repo)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p := &Pulled{Name: n, Commit: l.Commit, Dir: c.Cache.snapshot(n.Repo, l.Commit), Files: files}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return nil, diskError(err, p.Dir)
	}
	if p.Fetched, err = c.fetchAll(ctx, n, l.Commit, p.Dir, converted(p.Dir, files)); err != nil {
		return nil, err
	}
	if p.Converted, err = convertPickles(p.Dir, files); err != nil {
		return nil, err
	}
	if err := c.Cache.writeRef(n, l.Commit); err != nil {
		return nil, err
	}
	return p, nil
}

func hasConfig(files []File) bool {
	for _, f := range files {
		if f.Name == "config.json" {
			return true
		}
	}
	return false
}

func hasWeights(files []File) bool {
	for _, f := range files {
		if strings.HasSuffix(f.Name, ".safetensors") || strings.HasSuffix(f.Name, ".bin") {
			return true
		}
	}
	return false
}

// fetchAll downloads the files not yet in dir, Concurrency at a time;
// the first failure cancels the rest.
func (c *Client) fetchAll(ctx context.Context, n Name, commit, dir string, files []File) (int64, error) {
	var todo []File
	var total int64
	for _, f := range files {
		if st, err := os.Stat(filepath.Join(dir, f.Name)); err == nil && st.Size() == f.Size {
			continue // checked when it took its name
		}
		todo = append(todo, f)
		total += f.Size - partSize(filepath.Join(dir, f.Name)+".part", f.Size)
	}
	if len(todo) == 0 {
		return 0, nil
	}
	prog := Progress(nopProgress{})
	if c.NewProgress != nil {
		prog = c.NewProgress(n.String(), total, len(todo))
	}
	defer prog.Finish()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan File)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		fetched  int64
	)
	workers := max(1, min(c.Concurrency, len(todo)))
	for range workers {
		wg.Go(func() {
			for f := range work {
				got, err := c.fetch(ctx, n, commit, dir, f, prog)
				mu.Lock()
				fetched += got
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, f := range todo {
		select {
		case work <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("pulling %s: %w", n, context.Cause(ctx))
	}
	return fetched, firstErr
}

// partSize is how much of a download is already in part (0 when it
// cannot serve as a start).
func partSize(part string, size int64) int64 {
	st, err := os.Stat(part)
	if err != nil || st.Size() > size {
		return 0
	}
	return st.Size()
}

// fetch downloads f into dir/f.Name.part, checks its size and hash, and
// renames it into place. A hash mismatch discards the file and fetches
// it once more; twice is an error.
func (c *Client) fetch(ctx context.Context, n Name, commit, dir string, f File, prog Progress) (int64, error) {
	final := filepath.Join(dir, f.Name)
	part := final + ".part"
	var fetched int64
	for attempt := 1; ; attempt++ {
		ck := newChecker(f)
		got, err := c.download(ctx, n, commit, part, f, ck, prog)
		fetched += got
		if err != nil {
			return fetched, err
		}
		err = ck.check()
		if err == nil {
			break
		}
		if rmErr := os.Remove(part); rmErr != nil {
			return fetched, fmt.Errorf("%w; removing it: %w", err, rmErr)
		}
		if attempt == 2 {
			return fetched, fmt.Errorf("%s: %w (fetched twice; the hub or a proxy serves damaged data)", n, err)
		}
		slog.Warn("refetching a damaged download", "repo", n.Repo, "file", f.Name, "err", err)
		prog.Grow(f.Size)
	}
	if err := os.Rename(part, final); err != nil {
		return fetched, fmt.Errorf("%s: %w", final, err)
	}
	return fetched, nil
}

// download brings part up to f.Size bytes, resuming with Range from what
// it holds, and again after a broken or stalled connection (up to
// c.Retries times). It returns the bytes transferred.
func (c *Client) download(ctx context.Context, n Name, commit, part string, f File, ck *checker, prog Progress) (int64, error) {
	var fetched int64
	for try := 0; ; try++ {
		have := partSize(part, f.Size)
		if err := ck.sync(part, have); err != nil {
			return fetched, err
		}
		if have == f.Size {
			return fetched, nil
		}
		got, err := c.downloadOnce(ctx, n, commit, part, f, have, ck, prog)
		fetched += got
		if err == nil && try <= c.Retries {
			continue // partSize says whether it is complete
		}
		if err == nil {
			err = fmt.Errorf("%s: still incomplete after %d requests", f.Name, try+1)
		}
		var retry *retryable
		if !errors.As(err, &retry) || try >= c.Retries || ctx.Err() != nil {
			return fetched, err
		}
		slog.Warn("download interrupted, resuming", "repo", n.Repo, "file", f.Name, "at", have+got, "err", retry.err)
		select {
		case <-time.After(time.Duration(1<<min(try, 4)) * 250 * time.Millisecond):
		case <-ctx.Done():
			return fetched, ctx.Err()
		}
	}
}

// retryable marks a failure that a resumed request may get past: a
// broken or stalled connection, or the server's 5xx.
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// downloadOnce sends one request for f from byte have and appends what
// arrives to part.
func (c *Client) downloadOnce(ctx context.Context, n Name, commit, part string, f File, have int64, ck *checker, prog Progress) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := cmp.Or(c.Stall, DefaultStall)
	stalled := fmt.Errorf("no data for %s", stall)
	watchdog := time.AfterFunc(stall, func() { cancel(stalled) })
	defer watchdog.Stop()

	resp, err := c.get(ctx, c.resolveURL(n.Repo, commit, f.Name), have)
	if err != nil {
		if context.Cause(ctx) == stalled {
			err = stalled
		}
		if errors.Is(c.netError(err, ""), ErrNetwork) && have == 0 {
			return 0, c.netError(err, f.Name)
		}
		return 0, &retryable{c.netError(err, f.Name)}
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("X-Repo-Commit"); got != "" && got != commit {
		return 0, fmt.Errorf("%s: asked for commit %s, the hub served %s", f.Name, commit, got)
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != have {
			return 0, fmt.Errorf("%s: asked for bytes from %d, got Content-Range %q", f.Name, have, resp.Header.Get("Content-Range"))
		}
	case resp.StatusCode == http.StatusOK:
		flag |= os.O_TRUNC // the whole file: what part held is sent again
		ck.reset()
		if have > 0 {
			prog.Grow(have)
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		// part is not a prefix of this file after all: start over.
		if err := os.Truncate(part, 0); err != nil {
			return 0, err
		}
		prog.Grow(have)
		return 0, &retryable{fmt.Errorf("%s: the server cannot resume at byte %d", f.Name, have)}
	case resp.StatusCode >= 500:
		return 0, &retryable{c.httpError(resp, n, f.Name)}
	default:
		return 0, c.httpError(resp, n, f.Name)
	}
	out, err := os.OpenFile(part, flag, 0o644)
	if err != nil {
		return 0, diskError(err, part)
	}
	w := &progressWriter{w: out, ck: ck, prog: prog, kick: func() { watchdog.Reset(stall) }}
	// Never more than the listing's size: a server that sends more is
	// cut off, and the hash check judges the rest.
	want := f.Size - have
	if resp.StatusCode == http.StatusOK {
		want = f.Size
	}
	_, copyErr := io.Copy(w, io.LimitReader(resp.Body, want))
	closeErr := out.Close()
	switch {
	case w.werr != nil:
		return w.n, diskError(w.werr, part)
	case closeErr != nil:
		return w.n, diskError(closeErr, part)
	case copyErr != nil:
		if context.Cause(ctx) == stalled {
			copyErr = stalled
		}
		return w.n, &retryable{fmt.Errorf("%s: %w", f.Name, copyErr)}
	case w.n < want:
		return w.n, &retryable{fmt.Errorf("%s: the connection closed after %d of %d bytes", f.Name, have+w.n, f.Size)}
	}
	return w.n, nil
}

// rangeStart parses the first byte of "bytes START-END/SIZE".
func rangeStart(cr string) (int64, bool) {
	s, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok = strings.Cut(s, "-")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// progressWriter writes to the file and, what the file took, to the
// checker; it counts bytes into prog and keeps the stall watchdog quiet
// while they flow; werr tells a write failure (a full disk) from a read
// failure.
type progressWriter struct {
	w    io.Writer
	ck   *checker
	prog Progress
	kick func()
	n    int64
	werr error
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.kick()
	k, err := p.w.Write(b)
	p.ck.Write(b[:k])
	p.n += int64(k)
	p.prog.Add(int64(k))
	if err != nil {
		p.werr = err
	}
	return k, err
}
