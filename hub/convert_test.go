package hub_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attn-dev/attn/hub"
	"github.com/attn-dev/attn/hub/hubtest"
	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/torchfile"
)

// original is the safetensors checkpoint the pickle fixtures were made
// from (tools/golden/make_pickles.py, make_hub_shards.py).
const original = "../testdata/models/gpt2"

// TestPullPickleOnly pulls repositories that hold PyTorch pickles only:
// they arrive as safetensors whose tensors are the originals, bit for
// bit, and load and run as the original does.
func TestPullPickleOnly(t *testing.T) {
	for _, tc := range []struct {
		src       string
		converted []string
	}{
		{"../testdata/torchfile/gpt2", []string{"model.safetensors"}},
		{"../testdata/hub/gpt2-sharded", []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"}},
	} {
		t.Run(filepath.Base(tc.src), func(t *testing.T) {
			s := hubtest.New()
			defer s.Close()
			if _, err := s.AddDir("org/pickled", tc.src); err != nil {
				t.Fatal(err)
			}
			c := client(t, s)
			p, err := c.Pull(context.Background(), "org/pickled")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Converted, tc.converted) {
				t.Errorf("converted %v, want %v", p.Converted, tc.converted)
			}
			if bins, _ := filepath.Glob(filepath.Join(p.Dir, "pytorch_model*")); len(bins) != 0 {
				t.Errorf("pickles left in the cache: %v", bins)
			}
			sameTensors(t, p.Dir)
			if !slices.Equal(logits(t, p.Dir), logits(t, original)) {
				t.Error("the converted checkpoint's logits differ from the original's")
			}
			// The next pull neither fetches the pickles again nor
			// converts anything.
			p, err = c.Pull(context.Background(), "org/pickled")
			if err != nil || p.Fetched != 0 || len(p.Converted) != 0 {
				t.Errorf("second pull: fetched %d, converted %v, %v", p.Fetched, p.Converted, err)
			}
		})
	}
}

// sameTensors checks that every tensor of the original checkpoint is in
// dir with the same dtype, shape and bytes.
func sameTensors(t *testing.T, dir string) {
	t.Helper()
	want, err := safetensors.Open(filepath.Join(original, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	path := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(dir, "model.safetensors.index.json")
	}
	got, err := safetensors.OpenSharded(path)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	for _, name := range want.Names() {
		wb, wi, err := want.Bytes(name)
		if err != nil {
			t.Fatal(err)
		}
		gi, ok := got.Info(name)
		if !ok {
			t.Errorf("%s missing from the converted checkpoint", name)
			continue
		}
		gv, _, err := got.Float32(name)
		wv, _, _ := want.Float32(name)
		if err != nil || gi.DType != wi.DType || !slices.Equal(gi.Shape, wi.Shape) || !slices.Equal(gv, wv) || len(wb) != int(gi.Size) {
			t.Errorf("%s: %s %v differs from the original %s %v (%v)", name, gi.DType, gi.Shape, wi.DType, wi.Shape, err)
		}
	}
}

// TestPullRefusesHostilePickle: a pickle that would call os.system is
// refused without running it, removed, and the name does not resolve.
func TestPullRefusesHostilePickle(t *testing.T) {
	evil, err := os.ReadFile("../testdata/torchfile/evil_system.bin")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(original, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := hubtest.New()
	defer s.Close()
	s.Add("org/evil", map[string][]byte{"config.json": cfg, "pytorch_model.bin": evil})
	c := client(t, s)
	_, err = c.Pull(context.Background(), "org/evil")
	if !errors.Is(err, torchfile.ErrRefused) || !strings.Contains(err.Error(), "system") {
		t.Fatalf("err = %v, want a refusal naming os.system", err)
	}
	if _, err := c.Cache.Resolve("org/evil"); !errors.Is(err, hub.ErrNotCached) {
		t.Errorf("a refused repository resolves: %v", err)
	}
	snaps, _ := filepath.Glob(filepath.Join(c.Cache.Dir, "models", "org--evil", "snapshots", "*", "*"))
	for _, f := range snaps {
		if b, _ := os.ReadFile(f); bytes.Equal(b, evil) {
			t.Errorf("the refused pickle stays in the cache as %s", f)
		}
	}
}
