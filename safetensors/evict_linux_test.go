//go:build linux

package safetensors

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unsafe"
)

// resident counts the pages of b mapped in this process (the present
// bit of /proc/self/pagemap; mincore would report the page cache).
func resident(t *testing.T, b []byte) (in, pages int) {
	t.Helper()
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := start &^ (page - 1)
	n := int((start - lo + uintptr(len(b)) + page - 1) / page)
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Skip("no /proc/self/pagemap:", err)
	}
	defer f.Close()
	buf := make([]byte, 8*n)
	if _, err := f.ReadAt(buf, int64(lo/page)*8); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		in += int(binary.LittleEndian.Uint64(buf[8*i:]) >> 63)
	}
	return in, n
}

// TestEvict: after a full read a tensor's pages are resident; Evict drops
// the pages that hold only it, a neighbour keeps its values, and reading
// again gives the file's values back (the pages map in again).
func TestEvict(t *testing.T) {
	big := make([]float32, 64<<10) // 256 KB: 64 pages
	for i := range big {
		big[i] = float32(i%1000) - 0.5
	}
	path := filepath.Join(t.TempDir(), "evict.safetensors")
	if err := Write(path, []Tensor{F32("a", []int{3}, []float32{1, 2, 3}), F32("big", []int{len(big)}, big), F32("z", []int{2}, []float32{7, 8})}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, _, err := f.Float32("big")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(data, big) {
		t.Fatal("big read back wrong")
	}
	raw, _, _ := f.Bytes("big")
	if in, n := resident(t, raw); in != n {
		t.Fatalf("after reading, %d of %d pages resident", in, n)
	}
	if err := f.Evict("big"); err != nil {
		t.Fatal(err)
	}
	// At most the two pages shared with the neighbours stay.
	if in, n := resident(t, raw); in > 2 {
		t.Errorf("after Evict, %d of %d pages still resident", in, n)
	}
	if !slices.Equal(data, big) {
		t.Error("big changed by Evict")
	}
	for name, want := range map[string][]float32{"a": {1, 2, 3}, "z": {7, 8}} {
		if got, _, _ := f.Float32(name); !slices.Equal(got, want) {
			t.Errorf("%s = %v after Evict of its neighbour, want %v", name, got, want)
		}
	}
	if err := f.Evict("missing"); err == nil {
		t.Error("Evict of a missing tensor succeeded")
	}
}
