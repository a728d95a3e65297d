package infer

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/model"
)

// savedGPT2 writes a freshly initialised GPT-2 whose tensors span many
// pages (14 MB of weights) and returns its directory.
func savedGPT2(t *testing.T) string {
	t.Helper()
	m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 2, Heads: 4, Hidden: 256, Vocab: 8192, Context: 64, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "gpt2")
	if err := model.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// mappingKB returns the Rss and Anonymous kB of this process's mapping of
// path, from /proc/self/smaps.
func mappingKB(t *testing.T, path string) (rss, anon int) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps:", err)
	}
	found, in := false, false
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 && strings.Count(f[0], "-") == 1 && !strings.HasSuffix(f[0], ":") {
			in = len(f) >= 6 && f[5] == path
			found = found || in
			continue
		}
		if in && len(f) >= 2 {
			n, _ := strconv.Atoi(f[1])
			switch f[0] {
			case "Rss:":
				rss += n
			case "Anonymous:":
				anon += n
			}
		}
	}
	if !found {
		t.Fatalf("%s is not mapped", path)
	}
	return rss, anon
}

// TestBF16LeavesMappingClean guards the resident memory of bfloat16
// decoding: the float32 weights are read once for the conversion (the
// Conv1D weights transposed while converting, not in place) and their
// pages released, so after loading and generating, the checkpoint's
// mapping has no private (written) page and holds little more than the
// embedding rows the prompt used, the biases and the norms (and the pages
// the kernel maps around each of those reads, 64 KB). The float32
// path keeps the whole file resident, as it reads every weight per token.
func TestBF16LeavesMappingClean(t *testing.T) {
	dir := savedGPT2(t)
	file := filepath.Join(dir, "model.safetensors")
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	fileKB := int(st.Size() / 1024)
	for _, bf16 := range []bool{true, false} {
		dt := model.F32
		if bf16 {
			dt = model.BF16
		}
		g, err := LoadGenerator(dir, model.WithDType(dt))
		if err != nil {
			t.Fatal(err)
		}
		cfg := generate.Greedy(8, nil)
		cfg.IgnoreEOS = true
		if _, err := g.Generate(Request{PromptIDs: []int{5, 6, 7, 8, 9, 10, 11, 12}, Config: cfg}); err != nil {
			t.Fatal(err)
		}
		rss, anon := mappingKB(t, file)
		t.Logf("bf16 %v: mapping of %d kB: %d kB resident, %d kB private", bf16, fileKB, rss, anon)
		if bf16 && (anon > 0 || rss > fileKB/2) {
			t.Errorf("bf16: %d kB of the %d kB mapping resident, %d kB private: the float32 weights were kept or written", rss, fileKB, anon)
		}
		if !bf16 && rss < fileKB/2 {
			t.Errorf("f32: only %d kB of the %d kB mapping resident; the measurement does not see the mapping", rss, fileKB)
		}
		runtime.KeepAlive(g)
		g.Close()
	}
}

// TestPrefillMemoryBounded: an inference forward keeps one layer's
// activations at a time (Graph.Free), reused by every layer and the next
// prompt: a second 512-token prefill allocates next to nothing, where a
// graph that kept every layer's activations would allocate megabytes.
func TestPrefillMemoryBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	m, err := model.Init(model.InitOptions{Arch: "gpt2", Layers: 2, Heads: 4, Hidden: 128, Vocab: 512, Context: 600, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []model.DType{model.F32, model.BF16} {
		if o == model.BF16 {
			if err := model.ToBF16(m); err != nil {
				t.Fatal(err)
			}
		}
		lm, err := NewLM(m)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int, 512)
		for i := range ids {
			ids[i] = (7 * i) % 512
		}
		logits := make([]float32, lm.VocabSize())
		run := func() uint64 {
			var a, b runtime.MemStats
			runtime.ReadMemStats(&a)
			if err := lm.Begin(1, 520); err != nil {
				t.Fatal(err)
			}
			if err := lm.Forward(ids, []int{0}, logits); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&b)
			return b.TotalAlloc - a.TotalAlloc
		}
		first := run()
		second := run()
		t.Logf("%+v: first prefill allocated %d bytes, second %d", o, first, second)
		if second > 512<<10 { // one chunk's activations: 3.4 MB

			t.Errorf("%+v: a repeated 512-token prefill allocated %d bytes", o, second)
		}
	}
}
