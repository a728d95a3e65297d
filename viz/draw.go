package viz

import (
	"fmt"
	"image"
	"image/color"
)

// canvas is what the drawings below are made on: a raster image (PNG) or
// SVG elements. Coordinates are pixels; text is the 3×5 font at scale
// (SVG: a monospace font of the same size).
type canvas interface {
	rect(r image.Rectangle, c color.RGBA, opacity float64, tip string)
	text(x, y int, s string, scale int, vertical bool)
	picture(img image.Image, r image.Rectangle)
}

var (
	ink   = color.RGBA{0x20, 0x20, 0x20, 255}
	paper = color.RGBA{255, 255, 255, 255}
)

const (
	margin     = 8
	labelRunes = 10 // runes of an axis label
	maxSide    = 560
	barWidth   = 12
	maxCells   = 64 * 64 // beyond: cells as one embedded picture
)

// headLayout places one Map: labels left and above, cells, a colour bar.
type headLayout struct {
	cell, scale, step int // cell side; label scale (0: none); label every step-th
	left, top, size   image.Point
}

func layoutHead(m Map) headLayout {
	n := max(len(m.Queries), len(m.Keys))
	l := headLayout{cell: min(24, max(1, maxSide/n)), scale: 2, step: 1}
	switch {
	case l.cell >= 12:
	case l.cell >= 6:
		l.scale = 1
	default:
		l.scale = 1
		l.step = (6 + l.cell - 1) / l.cell
	}
	lw := func(labels []string) int {
		w := 0
		for _, s := range labels {
			w = max(w, textWidth(clip(Label(s), labelRunes), l.scale))
		}
		return w
	}
	titleH := 0
	if m.Title != "" {
		titleH = glyphH*2 + margin
	}
	l.left = image.Pt(margin+lw(m.Queries)+margin, margin+titleH+lw(m.Keys)+margin)
	gw, gh := l.cell*len(m.Keys), l.cell*len(m.Queries)
	l.size = image.Pt(l.left.X+gw+margin+barWidth+4+textWidth("0.000", 1)+margin, l.left.Y+gh+margin)
	l.size.X = max(l.size.X, margin+textWidth(m.Title, 2)+margin)
	return l
}

// drawHead draws one head: query labels down the left, key labels up the
// top, the weights as viridis cells relative to the largest, a colour bar.
func drawHead(c canvas, m Map, l headLayout) {
	if m.Title != "" {
		c.text(margin, margin, m.Title, 2, false)
	}
	mx := m.top()
	lh := glyphH * l.scale
	nq, nk := len(m.Queries), len(m.Keys)
	if nq*nk > maxCells {
		// One pixel per weight, scaled up: an SVG of this many cells as
		// elements would weigh megabytes.
		c.picture(cellPicture(m.W, mx), image.Rect(l.left.X, l.left.Y, l.left.X+nk*l.cell, l.left.Y+nq*l.cell))
	}
	for q, row := range m.W {
		y := l.left.Y + q*l.cell
		if q%l.step == 0 {
			s := clip(Label(m.Queries[q]), labelRunes)
			c.text(l.left.X-margin-textWidth(s, l.scale), y+(l.cell-lh)/2, s, l.scale, false)
		}
		if nq*nk > maxCells {
			continue
		}
		for k, v := range row {
			x := l.left.X + k*l.cell
			tip := fmt.Sprintf("%s → %s: %.4f", Label(m.Queries[q]), Label(m.Keys[k]), v)
			c.rect(image.Rect(x, y, x+l.cell, y+l.cell), Viridis(float64(v/mx)), 1, tip)
		}
	}
	for k, key := range m.Keys {
		if k%l.step == 0 {
			c.text(l.left.X+k*l.cell+(l.cell-lh)/2, l.left.Y-margin, clip(Label(key), labelRunes), l.scale, true)
		}
	}
	colorBar(c, l.left.X+l.cell*len(m.Keys)+margin, l.left.Y, l.cell*len(m.Queries), mx)
}

// cellPicture is w as an image, one viridis pixel per weight relative to
// top.
func cellPicture(w [][]float32, top float32) *image.RGBA {
	px := image.NewRGBA(image.Rect(0, 0, len(w[0]), len(w)))
	for q, row := range w {
		for k, v := range row {
			px.SetRGBA(k, q, Viridis(float64(v/top)))
		}
	}
	return px
}

// gridLayout places a model view: rows of layers, columns of heads.
type gridLayout struct {
	thumb, gap int
	left, size image.Point
	rows, cols int
}

func layoutGrid(grid [][]Map) gridLayout {
	l := gridLayout{rows: len(grid), gap: 6}
	t := 1
	for _, row := range grid {
		l.cols = max(l.cols, len(row))
		for _, m := range row {
			t = max(t, len(m.Queries), len(m.Keys))
		}
	}
	l.thumb = min(max(2*t, 32), 96, max(16, 1600/max(1, l.cols)))
	l.left = image.Pt(margin+textWidth("L00", 2)+margin, margin+glyphH*2+margin)
	l.size = image.Pt(l.left.X+l.cols*(l.thumb+l.gap)+margin, l.left.Y+l.rows*(l.thumb+l.gap)+margin)
	return l
}

// drawGrid draws thumbnails of every Map, each relative to its own
// largest weight; rowNames and colNames label layers and heads.
func drawGrid(c canvas, grid [][]Map, rowNames, colNames []string, l gridLayout) {
	for j, s := range colNames {
		c.text(l.left.X+j*(l.thumb+l.gap), margin, s, 2, false)
	}
	for i, row := range grid {
		y0 := l.left.Y + i*(l.thumb+l.gap)
		if i < len(rowNames) {
			c.text(margin, y0, rowNames[i], 2, false)
		}
		for j, m := range row {
			x0 := l.left.X + j*(l.thumb+l.gap)
			mx := m.top()
			nq, nk := len(m.Queries), len(m.Keys)
			if nq*nk > maxCells {
				c.picture(cellPicture(m.W, mx), image.Rect(x0, y0, x0+l.thumb, y0+l.thumb))
				continue
			}
			for q, w := range m.W {
				ya, yb := y0+q*l.thumb/nq, y0+(q+1)*l.thumb/nq
				for k, v := range w {
					xa, xb := x0+k*l.thumb/nk, x0+(k+1)*l.thumb/nk
					if xb > xa && yb > ya {
						c.rect(image.Rect(xa, ya, xb, yb), Viridis(float64(v/mx)), 1, "")
					}
				}
			}
		}
	}
}

// colorBar draws the scale from 0 (bottom) to top (top) at (x, y), h
// pixels high.
func colorBar(c canvas, x, y, h int, top float32) {
	const steps = 32
	for i := range steps {
		y0, y1 := y+i*h/steps, y+(i+1)*h/steps
		c.rect(image.Rect(x, y0, x+barWidth, y1), Viridis(1-float64(i)/(steps-1)), 1, "")
	}
	c.text(x+barWidth+4, y, fmt.Sprintf("%.3f", top), 1, false)
	c.text(x+barWidth+4, y+h-glyphH, "0", 1, false)
}

// overlayLayout places an image with a grid of patches over it.
type overlayLayout struct {
	img  image.Rectangle
	size image.Point
}

func layoutOverlay(p PatchMap) overlayLayout {
	b := p.Image.Bounds()
	w, h := b.Dx(), b.Dy()
	const side = 448
	s := float64(side) / float64(max(w, h))
	w, h = max(1, int(float64(w)*s)), max(1, int(float64(h)*s))
	top := margin
	if p.Title != "" {
		top += glyphH*2 + margin
	}
	l := overlayLayout{img: image.Rect(margin, top, margin+w, top+h)}
	l.size = image.Pt(max(l.img.Max.X+margin+barWidth+4+textWidth("0.000", 1)+margin, margin+textWidth(p.Title, 2)+margin), l.img.Max.Y+margin)
	return l
}

// drawOverlay draws the image with the patch weights over it in viridis,
// 60% opaque, and a colour bar.
func drawOverlay(c canvas, p PatchMap, l overlayLayout) {
	if p.Title != "" {
		c.text(margin, margin, p.Title, 2, false)
	}
	c.picture(p.Image, l.img)
	top := p.Scale
	if top <= 0 {
		top = max(1e-12, largest(p.W))
	}
	r := l.img
	for i, v := range p.W {
		py, px := i/p.GW, i%p.GW
		x0, x1 := r.Min.X+px*r.Dx()/p.GW, r.Min.X+(px+1)*r.Dx()/p.GW
		y0, y1 := r.Min.Y+py*r.Dy()/p.GH, r.Min.Y+(py+1)*r.Dy()/p.GH
		c.rect(image.Rect(x0, y0, x1, y1), Viridis(float64(v/top)), 0.6, fmt.Sprintf("patch %d,%d: %.4f", py, px, v))
	}
	colorBar(c, r.Max.X+margin, r.Min.Y, r.Dy(), top)
}
