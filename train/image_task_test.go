package train

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeIDX writes n 8×8 images whose label (0-3) is the bright quadrant,
// as gzipped MNIST IDX files in dir.
func writeIDX(t *testing.T, dir string, n int) {
	rng := rand.New(rand.NewPCG(4, 4))
	img := binary.BigEndian.AppendUint32(nil, 0x803)
	for _, d := range []uint32{uint32(n), 8, 8} {
		img = binary.BigEndian.AppendUint32(img, d)
	}
	lbl := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 0x801), uint32(n))
	for i := 0; i < n; i++ {
		q := rng.IntN(4)
		for y := 0; y < 8; y++ {
			for x := 0; x < 8; x++ {
				v := byte(rng.IntN(60))
				if (y/4)*2+x/4 == q {
					v += 150
				}
				img = append(img, v)
			}
		}
		lbl = append(lbl, byte(q))
	}
	for name, data := range map[string][]byte{"train-images-idx3-ubyte.gz": img, "train-labels-idx1-ubyte.gz": lbl} {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImageTask: a fresh ViT learns the synthetic quadrant rule from IDX
// files; bad IDX files are errors naming the problem.
func TestImageTask(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, 300)
	cfg := tinyConfig(filepath.Join(t.TempDir(), "out"), 60)
	cfg.Task, cfg.Data, cfg.PatchSize, cfg.BatchSize, cfg.Hidden, cfg.LR, cfg.ValFraction = TaskImage, dir, 4, 16, 32, 3e-3, 0.2
	tr, err := NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	final, err := tr.Run()
	tr.Close()
	if err != nil {
		t.Fatal(err)
	}
	if final.ValAccuracy == nil || *final.ValAccuracy < 0.9 {
		t.Errorf("validation accuracy %v, want ≥ 0.9", final.ValAccuracy)
	}
	im, err := ReadIDX(filepath.Join(dir, "train-images-idx3-ubyte.gz"))
	if err != nil || im.N != 300 || im.H != 8 || len(im.Labels) != 300 {
		t.Errorf("ReadIDX(file) = %+v, %v", im, err)
	}
	os.WriteFile(filepath.Join(dir, "x-images-idx3-ubyte"), []byte("garbage!"), 0o644)
	if _, err := ReadIDX(dir); err == nil || !strings.Contains(err.Error(), "want one") {
		t.Errorf("two image files: %v", err)
	}
	if _, err := ReadIDX(filepath.Join(dir, "x-images-idx3-ubyte")); err == nil {
		t.Error("garbage accepted")
	}
}
