package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
)

// checker hashes a download as it is written, so that checking it needs
// no second read of the file: the sha256 of an LFS file, git's blob id
// ("blob SIZE\0" + content, sha1) of another, only the size when the
// listing gives neither.
type checker struct {
	f    File
	h    hash.Hash
	git  bool
	want string
	n    int64 // bytes hashed: the length of the partial file
}

func newChecker(f File) *checker {
	c := &checker{f: f}
	switch {
	case f.SHA256 != "":
		c.h, c.want = sha256.New(), f.SHA256
	case len(f.BlobID) == 40:
		c.h, c.want, c.git = sha1.New(), f.BlobID, true
	}
	c.reset()
	return c
}

// reset starts over, for a download that starts over.
func (c *checker) reset() {
	c.n = 0
	if c.h == nil {
		return
	}
	c.h.Reset()
	if c.git {
		fmt.Fprintf(c.h, "blob %d\x00", c.f.Size)
	}
}

// Write hashes b, the next bytes of the file; it never fails.
func (c *checker) Write(b []byte) (int, error) {
	if c.h != nil {
		c.h.Write(b)
	}
	c.n += int64(len(b))
	return len(b), nil
}

// sync makes the hash cover the first have bytes of part, the prefix a
// resumed download appends to: read from part when the checker has not
// seen them (a partial file an earlier pull left).
func (c *checker) sync(part string, have int64) error {
	if c.n == have {
		return nil
	}
	c.reset()
	if have == 0 {
		return nil
	}
	fh, err := os.Open(part)
	if err != nil {
		return err
	}
	defer fh.Close()
	if _, err := io.Copy(c, io.LimitReader(fh, have)); err != nil {
		return fmt.Errorf("reading %s: %w", part, err)
	}
	if c.n != have {
		return fmt.Errorf("reading %s: %d bytes, want %d", part, c.n, have)
	}
	return nil
}

// check compares what was hashed with the listing.
func (c *checker) check() error {
	if c.n != c.f.Size {
		return fmt.Errorf("%s: %d bytes, the listing says %d: %w", c.f.Name, c.n, c.f.Size, ErrChecksum)
	}
	if c.h == nil {
		return nil
	}
	if got := hex.EncodeToString(c.h.Sum(nil)); got != c.want {
		return fmt.Errorf("%s: content hash %s, the listing says %s: %w", c.f.Name, got, c.want, ErrChecksum)
	}
	return nil
}
