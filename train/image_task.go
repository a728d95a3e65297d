package train

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tensor"
)

// TaskImage trains a fresh ViT classifier on MNIST-style IDX files or on
// a folder per class of PNG/JPEG images.
const TaskImage = "image"

// Images are labelled images as a ViT takes them (pixel_values).
type Images struct {
	N, C, H, W int
	Pixels     []float32 // [N, C, H, W], normalised
	Labels     []int
	Names      []string // class names (folder per class), nil for IDX
	SHA256     string   // of the files as read
	// Processor made Pixels from image files (nil for IDX); checkpoints
	// carry it as preprocessor_config.json.
	Processor *infer.ImageProcessor
}

// mnistMean and mnistStd normalise pixels as torchvision's MNIST recipes
// do.
const mnistMean, mnistStd = 0.1307, 0.3081

// ReadIDX reads grey images, normalised by MNIST's mean and deviation
// (C = 1), from an images file (IDX magic 0x803, [N, H, W] bytes) and the
// labels file beside it (magic 0x801): path is the images file or a
// directory holding *images-idx3-ubyte[.gz] and *labels-idx1-ubyte[.gz].
// Gzip files are read transparently.
func ReadIDX(path string) (*Images, error) {
	imgPath, lblPath := path, ""
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		imgs, _ := filepath.Glob(filepath.Join(path, "*images-idx3-ubyte*"))
		lbls, _ := filepath.Glob(filepath.Join(path, "*labels-idx1-ubyte*"))
		if len(imgs) != 1 || len(lbls) != 1 {
			return nil, fmt.Errorf("train: %s: want one *images-idx3-ubyte[.gz] and one *labels-idx1-ubyte[.gz], found %v and %v", path, imgs, lbls)
		}
		imgPath, lblPath = imgs[0], lbls[0]
	} else {
		lblPath = strings.Replace(path, "images-idx3", "labels-idx1", 1)
	}
	h := sha256.New()
	read := func(p string, magic uint32, dims int) ([]int, []byte, error) {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("train: %w", err)
		}
		h.Write(raw)
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				return nil, nil, fmt.Errorf("train: %s: %w", p, err)
			}
			if raw, err = io.ReadAll(io.LimitReader(zr, 1<<30)); err != nil {
				return nil, nil, fmt.Errorf("train: %s: %w", p, err)
			}
		}
		if len(raw) < 4+4*dims || binary.BigEndian.Uint32(raw) != magic {
			return nil, nil, fmt.Errorf("train: %s is not an IDX file of magic %#x", p, magic)
		}
		shape := make([]int, dims)
		n := 1
		for i := range shape {
			shape[i] = int(binary.BigEndian.Uint32(raw[4+4*i:]))
			n *= shape[i]
		}
		body := raw[4+4*dims:]
		if len(body) != n {
			return nil, nil, fmt.Errorf("train: %s: %d bytes of data for shape %v", p, len(body), shape)
		}
		return shape, body, nil
	}
	is, ib, err := read(imgPath, 0x803, 3)
	if err != nil {
		return nil, err
	}
	ls, lb, err := read(lblPath, 0x801, 1)
	if err != nil {
		return nil, err
	}
	if ls[0] != is[0] || is[0] < 2 {
		return nil, fmt.Errorf("train: %d images but %d labels", is[0], ls[0])
	}
	im := &Images{N: is[0], C: 1, H: is[1], W: is[2], Pixels: make([]float32, len(ib)), Labels: make([]int, ls[0]), SHA256: hex.EncodeToString(h.Sum(nil))}
	for i, b := range ib {
		im.Pixels[i] = (float32(b)/255 - mnistMean) / mnistStd
	}
	for i, b := range lb {
		im.Labels[i] = int(b)
	}
	return im, nil
}

// imageTask: 1 − val_fraction of the images train (batches drawn at
// random), the rest validate: for IDX files the last ones (MNIST's come
// shuffled), for a folder per class (read class by class) a seeded
// shuffle of all.
type imageTask struct {
	cfg    *Config
	im     *Images
	order  []int // the image at each position; positions < nTrain train
	nTrain int
	labels int
}

func (c *imageTask) head() (string, string, int) { return "vit", "ViTForImageClassification", c.labels }
func (c *imageTask) vocab() int                  { return 0 }
func (c *imageTask) accuracy() bool              { return true }
func (c *imageTask) labelNames() []string        { return c.im.Names }

// writeFiles writes the image processor a checkpoint needs to classify
// image files as the run preprocessed them.
func (c *imageTask) writeFiles(dir string) error {
	if c.im.Processor == nil {
		return nil
	}
	data, err := c.im.Processor.ConfigJSON()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return writeFileSync(filepath.Join(dir, "preprocessor_config.json"), data)
}
func (c *imageTask) tokens() int {
	p := c.cfg.PatchSize
	return c.cfg.BatchSize * ((c.im.H/p)*(c.im.W/p) + 1)
}
func (c *imageTask) valBatches() int {
	return (c.im.N - c.nTrain + c.cfg.BatchSize - 1) / c.cfg.BatchSize
}

func newImageTask(cfg *Config, im *Images) (*imageTask, error) {
	if cfg.PatchSize < 1 || im.H != im.W || im.H%cfg.PatchSize != 0 {
		return nil, fmt.Errorf("train: %d×%d images do not split into patches of %d", im.H, im.W, cfg.PatchSize)
	}
	c := &imageTask{cfg: cfg, im: im, nTrain: im.N - max(1, int(float64(im.N)*cfg.ValFraction)), labels: len(im.Names)}
	if c.nTrain < 1 {
		return nil, fmt.Errorf("train: %d images leave none to train on with val_fraction %g", im.N, cfg.ValFraction)
	}
	if im.Names != nil {
		c.order = rand.New(rand.NewPCG(cfg.Seed, 0x73706c6974)).Perm(im.N)
	} else {
		c.order = make([]int, im.N)
		for i := range c.order {
			c.order[i] = i
		}
	}
	for _, l := range im.Labels {
		c.labels = max(c.labels, l+1)
	}
	return c, nil
}

func (c *imageTask) batch(pos []int) (*model.Inputs, []int) {
	n := c.im.C * c.im.H * c.im.W
	px := make([]float32, len(pos)*n)
	ys := make([]int, len(pos))
	for i, p := range pos {
		r := c.order[p]
		copy(px[i*n:(i+1)*n], c.im.Pixels[r*n:(r+1)*n])
		ys[i] = c.im.Labels[r]
	}
	return &model.Inputs{B: len(pos), PixelValues: tensor.FromSlice(px, len(pos), c.im.C, c.im.H, c.im.W)}, ys
}

func (c *imageTask) trainBatch(rng *rand.Rand) (*model.Inputs, []int) {
	pos := make([]int, c.cfg.BatchSize)
	for i := range pos {
		pos[i] = rng.IntN(c.nTrain)
	}
	return c.batch(pos)
}

func (c *imageTask) valBatch(_ *rand.Rand, i int) (*model.Inputs, []int) {
	lo := c.nTrain + i*c.cfg.BatchSize
	pos := make([]int, 0, c.cfg.BatchSize)
	for p := lo; p < min(lo+c.cfg.BatchSize, c.im.N); p++ {
		pos = append(pos, p)
	}
	return c.batch(pos)
}
