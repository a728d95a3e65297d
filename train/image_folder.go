package train

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/internal/memlimit"
)

// ReadImages reads the data of an image task: MNIST IDX files (a file, or
// a directory holding them), else a folder per class (ReadImageFolder at
// size).
func ReadImages(path string, size int) (*Images, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("train: data: %w", err)
	}
	if st.IsDir() {
		if idx, _ := filepath.Glob(filepath.Join(path, "*-idx[13]-ubyte*")); len(idx) == 0 {
			return ReadImageFolder(path, size)
		}
	}
	return ReadIDX(path)
}

// imageExts are the file types a class folder's images may have.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true}

// ReadImageFolder reads dir/CLASS/*.{png,jpg,jpeg}: each subdirectory is a
// class (named by it, in sorted order), each image preprocessed as
// ViTImageProcessor does by default (infer.DefaultImageProcessor: RGB,
// bilinear resize to size×size, 1/255, mean and std 0.5) so that the
// trained model classifies with `attn classify --image` exactly as it
// trained. size 0 takes the first image's size, which must then be
// square. Other files are skipped; an image that does not decode is an
// error naming it.
func ReadImageFolder(dir string, size int) (*Images, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("train: data: %w", err)
	}
	type file struct {
		path  string
		label int
	}
	var files []file
	im := &Images{C: 3}
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		imgs, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("train: data: %w", err)
		}
		n := len(files)
		for _, f := range imgs {
			if !f.IsDir() && imageExts[strings.ToLower(filepath.Ext(f.Name()))] {
				files = append(files, file{filepath.Join(dir, e.Name(), f.Name()), len(im.Names)})
			}
		}
		if len(files) == n {
			return nil, fmt.Errorf("train: class folder %s holds no .png, .jpg or .jpeg image", filepath.Join(dir, e.Name()))
		}
		im.Names = append(im.Names, e.Name())
	}
	if len(im.Names) < 2 {
		return nil, fmt.Errorf("train: %s: want a folder per class (at least 2) of PNG/JPEG images, found %d", dir, len(im.Names))
	}
	// os.ReadDir sorts by name, so classes and files come in a fixed order.
	h := sha256.New()
	for i, f := range files {
		img, err := infer.DecodeImage(f.path)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if i == 0 {
			if size == 0 {
				b := img.Bounds()
				if b.Dx() != b.Dy() {
					return nil, fmt.Errorf("train: %s is %d×%d: set image_size (images are resized to image_size²)", f.path, b.Dx(), b.Dy())
				}
				size = b.Dx()
			}
			if size < 1 || size > 1024 {
				return nil, fmt.Errorf("train: image_size %d outside [1, 1024]", size)
			}
			if need := memlimit.Float32s([]int{len(files), 3, size, size}); need > float64(memlimit.Available())/2 {
				return nil, fmt.Errorf("train: %d images of 3×%d×%d need %.1f GB as float32, more than half the memory available", len(files), size, size, need/1e9)
			}
			im.H, im.W, im.Processor = size, size, infer.DefaultImageProcessor(size)
			im.Pixels = make([]float32, 0, len(files)*3*size*size)
		}
		px, err := im.Processor.Preprocess(img)
		if err != nil {
			return nil, fmt.Errorf("train: %s: %w", f.path, err)
		}
		im.Pixels = append(im.Pixels, px.Data()...)
		im.Labels = append(im.Labels, f.label)
		rel, _ := filepath.Rel(dir, f.path)
		fmt.Fprintf(h, "%s\x00", rel)
		raw, err := os.ReadFile(f.path)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		h.Write(raw)
	}
	im.N = len(files)
	im.SHA256 = hex.EncodeToString(h.Sum(nil))
	return im, nil
}
