package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"slices"
	"strings"
)

// ReadLog reads the records of OUT/log.jsonl. A resumed run appends to
// the log, so a step logged twice keeps its last record.
func ReadLog(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	var rs []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("train: %s line %d: %w", path, n, err)
		}
		rs = append(rs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	return rs, nil
}

// curves splits records into the training and validation loss curves
// (x = step), later records replacing earlier ones of the same step.
func curves(rs []Record) (train, val [][2]float64) {
	tm, vm := map[int]float64{}, map[int]float64{}
	var ts, vs []int
	for _, r := range rs {
		if r.ValLoss != nil {
			if _, ok := vm[r.Step]; !ok {
				vs = append(vs, r.Step)
			}
			vm[r.Step] = *r.ValLoss
		} else if !r.Final && r.Loss != 0 {
			if _, ok := tm[r.Step]; !ok {
				ts = append(ts, r.Step)
			}
			tm[r.Step] = r.Loss
		}
	}
	slices.Sort(ts)
	slices.Sort(vs)
	for _, s := range ts {
		train = append(train, [2]float64{float64(s), tm[s]})
	}
	for _, s := range vs {
		val = append(val, [2]float64{float64(s), vm[s]})
	}
	return train, val
}

// plotFrame maps data to a W×H canvas with a margin for the axes.
type plotFrame struct {
	w, h, margin          float64
	x0, x1, y0, y1        float64
	trainPts, valPts      [][2]float64
	trainColor, valColor  color.RGBA
	axisColor, background color.RGBA
	trainLabel, valLabel  string
}

func newFrame(rs []Record) (*plotFrame, error) {
	tr, va := curves(rs)
	if len(tr)+len(va) == 0 {
		return nil, fmt.Errorf("train: the log holds no losses to plot")
	}
	f := &plotFrame{w: 800, h: 500, margin: 60, x0: math.Inf(1), x1: math.Inf(-1), y0: math.Inf(1), y1: math.Inf(-1),
		trainPts: tr, valPts: va,
		trainColor: color.RGBA{31, 119, 180, 255}, valColor: color.RGBA{214, 39, 40, 255},
		axisColor: color.RGBA{60, 60, 60, 255}, background: color.RGBA{255, 255, 255, 255},
		trainLabel: "train loss", valLabel: "val loss"}
	for _, p := range append(append([][2]float64{}, tr...), va...) {
		f.x0, f.x1 = math.Min(f.x0, p[0]), math.Max(f.x1, p[0])
		if !math.IsNaN(p[1]) && !math.IsInf(p[1], 0) {
			f.y0, f.y1 = math.Min(f.y0, p[1]), math.Max(f.y1, p[1])
		}
	}
	if f.x1 == f.x0 {
		f.x1++
	}
	if f.y1 == f.y0 || math.IsInf(f.y0, 0) {
		f.y0, f.y1 = 0, 1
	}
	pad := (f.y1 - f.y0) * 0.05
	f.y0, f.y1 = f.y0-pad, f.y1+pad
	return f, nil
}

func (f *plotFrame) px(p [2]float64) (float64, float64) {
	x := f.margin + (p[0]-f.x0)/(f.x1-f.x0)*(f.w-2*f.margin)
	y := f.h - f.margin - (p[1]-f.y0)/(f.y1-f.y0)*(f.h-2*f.margin)
	return x, y
}

// PlotPNG draws the loss curves (train blue, validation red with dots)
// with axes and tick marks, as a PNG (no text: the standard library has
// no font; the SVG has the labels).
func PlotPNG(rs []Record) ([]byte, error) {
	f, err := newFrame(rs)
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, int(f.w), int(f.h)))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	line := func(x0, y0, x1, y1 float64, c color.RGBA) {
		n := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
		for i := 0; i <= n; i++ {
			t := float64(i) / float64(n)
			img.SetRGBA(int(math.Round(x0+(x1-x0)*t)), int(math.Round(y0+(y1-y0)*t)), c)
		}
	}
	m := f.margin
	line(m, f.h-m, f.w-m, f.h-m, f.axisColor)
	line(m, m, m, f.h-m, f.axisColor)
	for i := 0; i <= 10; i++ {
		x := m + float64(i)/10*(f.w-2*m)
		y := f.h - m - float64(i)/10*(f.h-2*m)
		line(x, f.h-m, x, f.h-m+6, f.axisColor)
		line(m-6, y, m, y, f.axisColor)
	}
	curve := func(pts [][2]float64, c color.RGBA, dots bool) {
		for i, p := range pts {
			x, y := f.px(p)
			if i > 0 {
				px, py := f.px(pts[i-1])
				line(px, py, x, y, c)
			}
			if dots {
				for dx := -2; dx <= 2; dx++ {
					for dy := -2; dy <= 2; dy++ {
						img.SetRGBA(int(x)+dx, int(y)+dy, c)
					}
				}
			}
		}
	}
	curve(f.trainPts, f.trainColor, false)
	curve(f.valPts, f.valColor, true)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return buf.Bytes(), nil
}

// PlotSVG draws the same curves as an SVG with labelled axes and a legend.
func PlotSVG(rs []Record) ([]byte, error) {
	f, err := newFrame(rs)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	m := f.margin
	hex := func(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-family="sans-serif" font-size="12">`+"\n", f.w, f.h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<path d="M%g %gV%gH%g" fill="none" stroke="%s"/>`+"\n", m, m, f.h-m, f.w-m, hex(f.axisColor))
	for i := 0; i <= 5; i++ {
		x := m + float64(i)/5*(f.w-2*m)
		y := f.h - m - float64(i)/5*(f.h-2*m)
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">%.0f</text>`+"\n", x, f.h-m+18, f.x0+float64(i)/5*(f.x1-f.x0))
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end">%.2f</text>`+"\n", m-8, y+4, f.y0+float64(i)/5*(f.y1-f.y0))
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">step</text>`+"\n", f.w/2, f.h-15)
	fmt.Fprintf(&b, `<text x="15" y="%g" transform="rotate(-90 15 %g)" text-anchor="middle">loss</text>`+"\n", f.h/2, f.h/2)
	poly := func(pts [][2]float64, c color.RGBA, dots bool) {
		if len(pts) == 0 {
			return
		}
		b.WriteString(`<polyline fill="none" stroke="` + hex(c) + `" stroke-width="1.5" points="`)
		for _, p := range pts {
			x, y := f.px(p)
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
		}
		b.WriteString("\"/>\n")
		if dots {
			for _, p := range pts {
				x, y := f.px(p)
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x, y, hex(c))
			}
		}
	}
	poly(f.trainPts, f.trainColor, false)
	poly(f.valPts, f.valColor, true)
	for i, l := range []struct {
		name string
		c    color.RGBA
	}{{f.trainLabel, f.trainColor}, {f.valLabel, f.valColor}} {
		y := m + 10 + float64(i)*18
		fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="2"/><text x="%g" y="%g">%s</text>`+"\n",
			f.w-m-120, y, f.w-m-100, y, hex(l.c), f.w-m-95, y+4, l.name)
	}
	b.WriteString("</svg>\n")
	return []byte(b.String()), nil
}
