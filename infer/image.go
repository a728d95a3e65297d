package infer

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // JPEG decoding for ClassifyImage
	_ "image/png"  // PNG decoding for ClassifyImage
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tensor"
)

// ImageProcessor is the part of transformers' ViTImageProcessor that
// preprocessor_config.json configures: resize to Height×Width with PIL's
// bilinear filter (on 8-bit pixels, as PIL does), multiply by RescaleFactor,
// then normalise each channel c as (x − Mean[c]) / Std[c].
type ImageProcessor struct {
	DoResize, DoRescale, DoNormalize bool
	Height, Width                    int
	RescaleFactor                    float64
	Mean, Std                        [3]float64
}

// DefaultImageProcessor is ViTImageProcessor's defaults at size×size:
// bilinear resize, 1/255, mean and std 0.5 per channel.
func DefaultImageProcessor(size int) *ImageProcessor {
	return &ImageProcessor{DoResize: true, DoRescale: true, DoNormalize: true, Height: size, Width: size,
		RescaleFactor: 1.0 / 255, Mean: [3]float64{0.5, 0.5, 0.5}, Std: [3]float64{0.5, 0.5, 0.5}}
}

// ConfigJSON is p as the preprocessor_config.json that LoadImageProcessor
// (and transformers' ViTImageProcessor) reads back as p.
func (p *ImageProcessor) ConfigJSON() ([]byte, error) {
	return json.MarshalIndent(map[string]any{
		"image_processor_type": "ViTImageProcessor",
		"do_resize":            p.DoResize, "do_rescale": p.DoRescale, "do_normalize": p.DoNormalize,
		"size":     map[string]int{"height": p.Height, "width": p.Width},
		"resample": 2, "rescale_factor": p.RescaleFactor,
		"image_mean": p.Mean[:], "image_std": p.Std[:],
	}, "", "  ")
}

// LoadImageProcessor reads dir/preprocessor_config.json; without one it
// uses ViTImageProcessor's defaults at m's image_size (config.json).
func LoadImageProcessor(dir string, m model.Model) (*ImageProcessor, error) {
	imageSize := 224
	if v, ok := m.Config().Int("image_size"); ok && v > 0 && v <= 1<<12 {
		imageSize = v
	}
	p := DefaultImageProcessor(imageSize)
	path := filepath.Join(dir, "preprocessor_config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	var raw struct {
		DoResize      *bool           `json:"do_resize"`
		DoRescale     *bool           `json:"do_rescale"`
		DoNormalize   *bool           `json:"do_normalize"`
		Size          json.RawMessage `json:"size"`
		Resample      *int            `json:"resample"`
		RescaleFactor *float64        `json:"rescale_factor"`
		Mean          json.RawMessage `json:"image_mean"`
		Std           json.RawMessage `json:"image_std"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("infer: %s: %w", path, err)
	}
	for _, b := range []struct {
		dst *bool
		src *bool
	}{{&p.DoResize, raw.DoResize}, {&p.DoRescale, raw.DoRescale}, {&p.DoNormalize, raw.DoNormalize}} {
		if b.src != nil {
			*b.dst = *b.src
		}
	}
	if raw.Resample != nil && *raw.Resample != 2 {
		return nil, fmt.Errorf("infer: %s: resample %d is not supported (only 2, bilinear)", path, *raw.Resample)
	}
	if raw.RescaleFactor != nil {
		p.RescaleFactor = *raw.RescaleFactor
	}
	if len(raw.Size) > 0 {
		var n int
		var hw struct{ Height, Width int }
		if err := json.Unmarshal(raw.Size, &n); err == nil {
			p.Height, p.Width = n, n
		} else if err := json.Unmarshal(raw.Size, &hw); err == nil && hw.Height > 0 && hw.Width > 0 {
			p.Height, p.Width = hw.Height, hw.Width
		} else {
			return nil, fmt.Errorf("infer: %s: size %s: want an integer or {\"height\", \"width\"}", path, raw.Size)
		}
	}
	for _, s := range []struct {
		raw json.RawMessage
		dst *[3]float64
		key string
	}{{raw.Mean, &p.Mean, "image_mean"}, {raw.Std, &p.Std, "image_std"}} {
		if len(s.raw) == 0 {
			continue
		}
		var one float64
		var three []float64
		if err := json.Unmarshal(s.raw, &one); err == nil {
			*s.dst = [3]float64{one, one, one}
		} else if err := json.Unmarshal(s.raw, &three); err == nil && len(three) == 3 {
			*s.dst = [3]float64(three)
		} else {
			return nil, fmt.Errorf("infer: %s: %s %s: want a number or three", path, s.key, s.raw)
		}
	}
	if p.Height <= 0 || p.Width <= 0 || p.Height*p.Width > 1<<24 {
		return nil, fmt.Errorf("infer: %s: size %d×%d", path, p.Height, p.Width)
	}
	for c := range 3 {
		if p.Std[c] == 0 {
			return nil, fmt.Errorf("infer: %s: image_std[%d] is 0", path, c)
		}
	}
	return p, nil
}

// rgb8 is an 8-bit RGB image, row-major, 3 bytes per pixel.
type rgb8 struct {
	w, h int
	pix  []uint8
}

// toRGB converts like PIL's convert("RGB"): alpha is dropped, not
// composited (non-premultiplied colour values).
func toRGB(img image.Image) *rgb8 {
	b := img.Bounds()
	out := &rgb8{w: b.Dx(), h: b.Dy(), pix: make([]uint8, 0, 3*b.Dx()*b.Dy())}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out.pix = append(out.pix, c.R, c.G, c.B)
		}
	}
	return out
}

// PIL's 8-bit resampling keeps coefficients in fixed point with this many
// fractional bits (Resample.c: PRECISION_BITS = 32 − 8 − 2).
const pilPrecision = 22

// pilCoeffs are PIL's precompute_coeffs for the bilinear (triangle) filter,
// in fixed point: for each output index its first input index and weights.
// Downscaling widens the filter by the scale (antialiasing).
func pilCoeffs(in, out int) (first []int, weights [][]int32) {
	scale := float64(in) / float64(out)
	fscale := math.Max(scale, 1)
	support := fscale // bilinear support 1
	first = make([]int, out)
	weights = make([][]int32, out)
	for o := range out {
		center := (float64(o) + 0.5) * scale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), in)
		w := make([]float64, hi-lo)
		var sum float64
		for x := range w {
			d := math.Abs((float64(x+lo) - center + 0.5) / fscale)
			if d < 1 {
				w[x] = 1 - d
			}
			sum += w[x]
		}
		k := make([]int32, len(w))
		for x := range w {
			if sum != 0 {
				w[x] /= sum
			}
			if w[x] < 0 {
				k[x] = int32(-0.5 + w[x]*(1<<pilPrecision))
			} else {
				k[x] = int32(0.5 + w[x]*(1<<pilPrecision))
			}
		}
		first[o], weights[o] = lo, k
	}
	return first, weights
}

func clip8(v int64) uint8 {
	v >>= pilPrecision
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// resizeBilinear is PIL's Image.resize((w, h), BILINEAR) on 8-bit RGB: a
// horizontal pass then a vertical one, each rounding to 8 bits.
func resizeBilinear(src *rgb8, w, h int) *rgb8 {
	cur := src
	if w != cur.w {
		first, k := pilCoeffs(cur.w, w)
		dst := &rgb8{w: w, h: cur.h, pix: make([]uint8, 3*w*cur.h)}
		for y := range cur.h {
			row := cur.pix[3*y*cur.w:]
			for x := range w {
				for c := range 3 {
					ss := int64(1) << (pilPrecision - 1)
					for i, kk := range k[x] {
						ss += int64(row[3*(first[x]+i)+c]) * int64(kk)
					}
					dst.pix[3*(y*w+x)+c] = clip8(ss)
				}
			}
		}
		cur = dst
	}
	if h != cur.h {
		first, k := pilCoeffs(cur.h, h)
		dst := &rgb8{w: cur.w, h: h, pix: make([]uint8, 3*cur.w*h)}
		for y := range h {
			for x := range cur.w {
				for c := range 3 {
					ss := int64(1) << (pilPrecision - 1)
					for i, kk := range k[y] {
						ss += int64(cur.pix[3*((first[y]+i)*cur.w+x)+c]) * int64(kk)
					}
					dst.pix[3*(y*cur.w+x)+c] = clip8(ss)
				}
			}
		}
		cur = dst
	}
	return cur
}

// Preprocess turns an image into pixel_values [1, 3, H, W] (float32).
func (p *ImageProcessor) Preprocess(img image.Image) (*tensor.Tensor, error) {
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, fmt.Errorf("infer: empty image %v", b)
	}
	px := toRGB(img)
	if p.DoResize && (px.w != p.Width || px.h != p.Height) {
		px = resizeBilinear(px, p.Width, p.Height)
	}
	t := tensor.New(1, 3, px.h, px.w)
	d := t.Data()
	n := px.w * px.h
	for i := range n {
		for c := range 3 {
			// transformers: uint8 × scale in float64, cast to float32,
			// then (x − mean) / std in float32.
			v := float64(px.pix[3*i+c])
			if p.DoRescale {
				v *= p.RescaleFactor
			}
			x := float32(v)
			if p.DoNormalize {
				x = (x - float32(p.Mean[c])) / float32(p.Std[c])
			}
			d[c*n+i] = x
		}
	}
	return t, nil
}

// DecodeImage reads a PNG or JPEG file.
func DecodeImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("infer: %s: %w", path, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > 1<<28 {
		return nil, fmt.Errorf("infer: %s: %d×%d pixels is too large", path, cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("infer: %s: %w", path, err)
	}
	return img, nil
}

// ClassifyImage preprocesses img and classifies it with an image
// classification model (ViTForImageClassification).
func ClassifyImage(m model.Model, p *ImageProcessor, img image.Image) ([]Label, error) {
	px, err := p.Preprocess(img)
	if err != nil {
		return nil, err
	}
	g := autograd.NewGraph(false)
	out, err := m.Forward(g, &model.Inputs{B: 1, PixelValues: px}, model.Options{})
	if err != nil {
		return nil, err
	}
	res, err := classify(m, out)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}
