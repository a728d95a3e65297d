package viz

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strings"
)

// Format is a picture file format.
type Format int

const (
	PNG Format = iota
	SVG
)

// Head writes one Map as a heatmap with its token labels on both axes
// (queries down the left, keys up the top) and a colour bar.
func Head(w io.Writer, f Format, m Map) error {
	if err := m.Check(); err != nil {
		return err
	}
	l := layoutHead(m)
	return render(w, f, l.size, func(c canvas) { drawHead(c, m, l) })
}

// ModelView is every chosen layer and head of a model: Maps[layer][head],
// named by Layers and Heads (e.g. "L0", "H3").
type ModelView struct {
	Maps          [][]Map
	Layers, Heads []string
}

// Model writes a model view: a thumbnail per layer (row) and head
// (column), each relative to its own largest weight.
func Model(w io.Writer, f Format, v ModelView) error {
	if len(v.Maps) == 0 {
		return errors.New("viz: a model view needs at least one layer")
	}
	for _, row := range v.Maps {
		for _, m := range row {
			if err := m.Check(); err != nil {
				return err
			}
		}
	}
	l := layoutGrid(v.Maps)
	if l.size.X*l.size.Y > 1<<26 {
		return fmt.Errorf("viz: a model view of %d×%d thumbnails is too large", l.rows, l.cols)
	}
	return render(w, f, l.size, func(c canvas) { drawGrid(c, v.Maps, v.Layers, v.Heads, l) })
}

// PatchMap is a vision model's attention over the patches of an image:
// W holds GH rows of GW patch weights, row-major (the [CLS] row without
// [CLS] itself).
type PatchMap struct {
	Title  string
	Image  image.Image
	W      []float32
	GW, GH int
	Scale  float32 // as Map.Scale
}

// Overlay writes the image with its patch weights laid over it in
// viridis, relative to Scale (0: the largest weight), and a colour bar.
func Overlay(w io.Writer, f Format, p PatchMap) error {
	if p.GW <= 0 || p.GH <= 0 || len(p.W) != p.GW*p.GH {
		return fmt.Errorf("viz: %d patch weights for a %d×%d grid", len(p.W), p.GW, p.GH)
	}
	if p.Image == nil || p.Image.Bounds().Empty() {
		return errors.New("viz: no image under the patches")
	}
	for i, v := range p.W {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("viz: patch weight %d is %v", i, v)
		}
	}
	l := layoutOverlay(p)
	return render(w, f, l.size, func(c canvas) { drawOverlay(c, p, l) })
}

// render draws on a canvas of size in format f and writes it to w.
func render(w io.Writer, f Format, size image.Point, draw func(canvas)) error {
	switch f {
	case PNG:
		r := &raster{image.NewRGBA(image.Rectangle{Max: size})}
		fillRect(r.img, r.img.Bounds(), paper)
		draw(r)
		if err := png.Encode(w, r.img); err != nil {
			return fmt.Errorf("viz: writing PNG: %w", err)
		}
		return nil
	case SVG:
		bw := bufio.NewWriter(w)
		fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", size.X, size.Y, size.X, size.Y)
		fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="%s"/>`+"\n", hex(paper))
		s := &svg{w: bw}
		draw(s)
		bw.WriteString("</svg>\n")
		if s.err != nil {
			return s.err
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("viz: writing SVG: %w", err)
		}
		return nil
	}
	return fmt.Errorf("viz: unknown format %d", f)
}

// raster draws into an RGBA image.
type raster struct{ img *image.RGBA }

func (r *raster) rect(rc image.Rectangle, c color.RGBA, opacity float64, _ string) {
	if opacity >= 1 {
		fillRect(r.img, rc, c)
		return
	}
	rc = rc.Intersect(r.img.Bounds())
	for y := rc.Min.Y; y < rc.Max.Y; y++ {
		for x := rc.Min.X; x < rc.Max.X; x++ {
			p := r.img.RGBAAt(x, y)
			mix := func(a, b uint8) uint8 { return uint8(float64(a)*(1-opacity) + float64(b)*opacity + 0.5) }
			r.img.SetRGBA(x, y, color.RGBA{mix(p.R, c.R), mix(p.G, c.G), mix(p.B, c.B), 255})
		}
	}
}

func (r *raster) text(x, y int, s string, scale int, vertical bool) {
	drawText(r.img, x, y, s, scale, ink, vertical)
}

// picture scales img into rc (nearest neighbour).
func (r *raster) picture(img image.Image, rc image.Rectangle) {
	b := img.Bounds()
	for y := rc.Min.Y; y < rc.Max.Y; y++ {
		sy := b.Min.Y + (y-rc.Min.Y)*b.Dy()/rc.Dy()
		for x := rc.Min.X; x < rc.Max.X; x++ {
			sx := b.Min.X + (x-rc.Min.X)*b.Dx()/rc.Dx()
			r.img.Set(x, y, img.At(sx, sy))
		}
	}
}

// svg writes SVG elements.
type svg struct {
	w   *bufio.Writer
	err error
}

func (s *svg) rect(r image.Rectangle, c color.RGBA, opacity float64, tip string) {
	fmt.Fprintf(s.w, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"`, r.Min.X, r.Min.Y, r.Dx(), r.Dy(), hex(c))
	if opacity < 1 {
		fmt.Fprintf(s.w, ` fill-opacity="%.2f"`, opacity)
	}
	if tip == "" {
		s.w.WriteString("/>\n")
		return
	}
	s.w.WriteString("><title>")
	s.escape(tip)
	s.w.WriteString("</title></rect>\n")
}

// text sets s in a monospace font whose advance (0.6 em) matches the
// bitmap font's, so that the layouts fit both.
func (s *svg) text(x, y int, str string, scale int, vertical bool) {
	size := float64(advance*scale) / 0.6
	if vertical {
		// Rotated a quarter left about its start, reading upwards.
		bx := x + glyphH*scale
		fmt.Fprintf(s.w, `<text x="%d" y="%d" transform="rotate(-90 %d %d)" font-family="monospace" font-size="%.1f" fill="%s">`, bx, y, bx, y, size, hex(ink))
	} else {
		fmt.Fprintf(s.w, `<text x="%d" y="%d" font-family="monospace" font-size="%.1f" fill="%s">`, x, y+glyphH*scale, size, hex(ink))
	}
	s.escape(str)
	s.w.WriteString("</text>\n")
}

func (s *svg) picture(img image.Image, r image.Rectangle) {
	var buf bytes.Buffer
	rgba := image.NewRGBA(img.Bounds())
	draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
	if err := png.Encode(&buf, rgba); err != nil && s.err == nil {
		s.err = fmt.Errorf("viz: embedding the image: %w", err)
	}
	fmt.Fprintf(s.w, `<image x="%d" y="%d" width="%d" height="%d" preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,%s"/>`+"\n",
		r.Min.X, r.Min.Y, r.Dx(), r.Dy(), base64.StdEncoding.EncodeToString(buf.Bytes()))
}

// escape writes text as XML character data, control characters (which
// XML forbids) as U+FFFD.
func (s *svg) escape(str string) {
	str = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' {
			return '\uFFFD'
		}
		return r
	}, str)
	if err := xml.EscapeText(s.w, []byte(str)); err != nil && s.err == nil {
		s.err = fmt.Errorf("viz: writing SVG: %w", err)
	}
}
