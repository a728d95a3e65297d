//go:build unix

package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// lockRepo holds an exclusive lock on repo's cache directory until
// unlock: two pulls of one repository would append to the same partial
// files. It waits, while ctx allows, for a pull that holds it.
func (c Cache) lockRepo(ctx context.Context, repo string) (unlock func(), err error) {
	dir := c.repoDir(repo)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, diskError(err, dir)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, diskError(err, dir)
	}
	for waited := false; ; waited = true {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", dir, err)
		}
		if !waited {
			slog.Warn("waiting for another pull of the same repository", "repo", repo)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for another pull of %s: %w", repo, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
