package parallel

import (
	"runtime"
	"testing"
)

func TestFreeListReusesAcrossGC(t *testing.T) {
	made := 0
	f := NewFreeList(2, func() *[]float32 { made++; b := make([]float32, 8); return &b })
	a, b, c := f.Get(), f.Get(), f.Get()
	if made != 3 {
		t.Fatalf("made %d objects for 3 Gets from an empty list", made)
	}
	f.Put(a)
	f.Put(b)
	f.Put(c) // beyond capacity: dropped
	runtime.GC()
	runtime.GC()
	if x, y := f.Get(), f.Get(); (x != a && x != b) || (y != a && y != b) || x == y {
		t.Fatal("Get after GC did not return the idle objects")
	}
	if made != 3 {
		t.Fatalf("made %d objects, want 3 (reuse after GC)", made)
	}
	f.Put(a)
	f.Drain()
	f.Get()
	if made != 4 {
		t.Fatalf("after Drain, Get made %d objects in all, want 4", made)
	}
	if n := testing.AllocsPerRun(100, func() { f.Put(f.Get()) }); n != 0 {
		t.Fatalf("Get+Put of an idle object allocates %v", n)
	}
}
