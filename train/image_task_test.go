package train

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/model"
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

// trainImages trains a tiny fresh ViT (patches of 4) for 60 steps on the
// images in dir and wants ≥ 90% validation accuracy.
func trainImages(t *testing.T, dir string, imageSize int, valFraction float64) Record {
	t.Helper()
	cfg := tinyConfig(filepath.Join(t.TempDir(), "out"), 60)
	cfg.Task, cfg.Data, cfg.ImageSize, cfg.PatchSize, cfg.BatchSize, cfg.Hidden, cfg.LR, cfg.ValFraction = TaskImage, dir, imageSize, 4, 16, 32, 3e-3, valFraction
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
	return final
}

// TestImageTask: a fresh ViT learns the synthetic quadrant rule from IDX
// files; bad IDX files are errors naming the problem.
func TestImageTask(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, 300)
	trainImages(t, dir, 0, 0.2)
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

// writeImageFolder writes n 16×16 images into dir/{red,green,blue}/: the
// class is the colour of a bright 8×8 quadrant placed at random on grey
// noise; every fourth image is a JPEG.
func writeImageFolder(t *testing.T, dir string, n int) {
	rng := rand.New(rand.NewPCG(5, 5))
	classes := []string{"blue", "green", "red"}
	for i := 0; i < n; i++ {
		c := rng.IntN(3)
		q := rng.IntN(4)
		img := image.NewRGBA(image.Rect(0, 0, 16, 16))
		for y := 0; y < 16; y++ {
			for x := 0; x < 16; x++ {
				v := uint8(rng.IntN(80))
				px := color.RGBA{v, v, v, 255}
				if (y/8)*2+x/8 == q {
					ch := [3]*uint8{&px.B, &px.G, &px.R}[c]
					*ch = 200 + uint8(rng.IntN(50))
				}
				img.Set(x, y, px)
			}
		}
		sub := filepath.Join(dir, classes[c])
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		name := fmt.Sprintf("%03d.png", i)
		if i%4 == 3 {
			name = fmt.Sprintf("%03d.jpg", i)
			jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
		} else {
			png.Encode(&b, img)
		}
		if err := os.WriteFile(filepath.Join(sub, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImageFolderTask: a fresh ViT learns the colour rule from a folder
// per class; the checkpoint names the classes and carries the image
// processor, so that infer classifies image files as the run validated.
func TestImageFolderTask(t *testing.T) {
	dir := t.TempDir()
	writeImageFolder(t, dir, 240)
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a class"), 0o644)
	os.WriteFile(filepath.Join(dir, "red", "notes.txt"), []byte("skipped"), 0o644)
	final := trainImages(t, dir, 8, 0.25)
	m, err := model.Load(final.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if id2, _ := m.Config().Raw("id2label"); fmt.Sprint(id2) != "map[0:blue 1:green 2:red]" {
		t.Errorf("id2label %v, want the folder names", id2)
	}
	p, err := infer.LoadImageProcessor(final.Checkpoint, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(final.Checkpoint, "preprocessor_config.json")); err != nil {
		t.Errorf("checkpoint without its image processor: %v", err)
	}
	if *p != *infer.DefaultImageProcessor(8) {
		t.Errorf("checkpoint's image processor %+v, want the defaults at 8×8", *p)
	}
	// Every image file, classified from the checkpoint, gets the class
	// the trained model gave it during validation: the same pixels.
	im, err := ReadImages(dir, 8)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"blue", "green", "red"}; !slices.Equal(im.Names, want) || im.N != 240 || im.C != 3 {
		t.Fatalf("ReadImages: classes %v, %d images of %d channels; want %v, 240, 3", im.Names, im.N, im.C, want)
	}
	right := 0
	for _, class := range im.Names {
		files, _ := filepath.Glob(filepath.Join(dir, class, "*[gG]"))
		for _, f := range files[:10] {
			img, err := infer.DecodeImage(f)
			if err != nil {
				t.Fatal(err)
			}
			labels, err := infer.ClassifyImage(m, p, img)
			if err != nil {
				t.Fatal(err)
			}
			if top := slices.MaxFunc(labels, func(a, b infer.Label) int { return cmp.Compare(a.Prob, b.Prob) }); top.Label == class {
				right++
			}
		}
	}
	if right < 27 {
		t.Errorf("the checkpoint classifies %d of 30 image files right, want ≥ 27", right)
	}
}

// TestImageFolderErrors: a folder that is not a folder per class of
// images is an error naming the problem.
func TestImageFolderErrors(t *testing.T) {
	mk := func(files map[string]string) string {
		d := t.TempDir()
		for name, body := range files {
			os.MkdirAll(filepath.Join(d, filepath.Dir(name)), 0o755)
			os.WriteFile(filepath.Join(d, name), []byte(body), 0o644)
		}
		return d
	}
	good := t.TempDir()
	writeImageFolder(t, good, 12)
	wide := image.NewGray(image.Rect(0, 0, 6, 4))
	var wb bytes.Buffer
	png.Encode(&wb, wide)
	cases := []struct {
		name string
		dir  string
		size int
		want string
	}{
		{"no classes", mk(map[string]string{"a.png": "x"}), 8, "folder per class"},
		{"one class", mk(map[string]string{"cat/a.txt": "x"}), 8, "no .png"},
		{"empty class", mk(map[string]string{"cat/x.txt": "x", "dog/y.txt": "y"}), 8, "no .png"},
		{"corrupt image", mk(map[string]string{"cat/a.png": "not a png", "dog/b.png": "nor this"}), 8, "a.png"},
		{"not square", mk(map[string]string{"cat/a.png": wb.String(), "dog/b.png": wb.String()}), 0, "image_size"},
		{"huge size", good, 100000, "image_size"},
		{"missing", filepath.Join(good, "nope"), 8, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadImages(c.dir, c.size)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ReadImages(%s) = %v, want an error containing %q", c.name, err, c.want)
			}
		})
	}
}
