//go:build linux

package safetensors

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// evictPages drops the whole pages inside b — part of a private file
// mapping — from the resident set (madvise MADV_DONTNEED): the next read
// maps the file's bytes again, and a page written since the mapping was
// made loses the write. Pages b only partly covers are left alone.
func evictPages(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (start + page - 1) &^ (page - 1)
	hi := (start + uintptr(len(b))) &^ (page - 1)
	if hi <= lo {
		return nil
	}
	if err := unix.Madvise(b[lo-start:hi-start], unix.MADV_DONTNEED); err != nil {
		return fmt.Errorf("madvise: %w", err)
	}
	return nil
}
