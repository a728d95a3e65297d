package viz

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strings"
	"testing"
)

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-6 }

func TestRollout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers [][][]float32
		want   [][]float32
	}{
		// By hand: A1' = [[1, 0], [.25, .75]], A2' = [[.75, .25], [0, 1]],
		// R = A2'·A1' = [[.8125, .1875], [.25, .75]].
		{"two layers", [][][]float32{{{1, 0}, {0.5, 0.5}}, {{0.5, 0.5}, {0, 1}}}, [][]float32{{0.8125, 0.1875}, {0.25, 0.75}}},
		// One layer: 0.5·A + 0.5·I, already row-stochastic.
		{"one layer", [][][]float32{{{0.2, 0.8}, {0.6, 0.4}}}, [][]float32{{0.6, 0.4}, {0.3, 0.7}}},
		// Rows not summing to 1 (weights shown without masked keys) are
		// renormalised: [[0, .5], [0, 1]] → A' rows [.5, .25]/.75, [0, 1].
		{"renormalised", [][][]float32{{{0, 0.5}, {0, 1}}}, [][]float32{{2.0 / 3, 1.0 / 3}, {0, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Rollout(tc.layers)
			if err != nil {
				t.Fatal(err)
			}
			for q := range tc.want {
				for k := range tc.want[q] {
					if !near(got[q][k], tc.want[q][k]) {
						t.Fatalf("R = %v, want %v", got, tc.want)
					}
				}
			}
		})
	}
	for _, bad := range [][][][]float32{nil, {{{1, 0}}}, {{{1, 0}, {0, 1}}, {{1}}}} {
		if _, err := Rollout(bad); err == nil {
			t.Errorf("Rollout(%v): no error", bad)
		}
	}
}

func TestAverageAndPeaks(t *testing.T) {
	got, err := Average([][][]float32{{{1, 0}, {0.2, 0.8}}, {{0, 1}, {0.4, 0.6}}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float32{{0.5, 0.5}, {0.3, 0.7}}
	for q := range want {
		for k := range want[q] {
			if !near(got[q][k], want[q][k]) {
				t.Fatalf("Average = %v, want %v", got, want)
			}
		}
	}
	if _, err := Average([][][]float32{{{1, 0}}, {{1}}}); err == nil {
		t.Error("ragged heads: no error")
	}
	p := Peaks(want)
	if p[0] != (Peak{0, 0, 0.5}) || p[1] != (Peak{1, 1, 0.7}) {
		t.Errorf("Peaks = %v", p)
	}
}

// sample is a causal 3-token map.
func sample() Map {
	return Map{
		Title:   "layer 0 head 1",
		Queries: []string{"The", "Ġdog", "Ġ<barked>&"},
		Keys:    []string{"The", "Ġdog", "Ġ<barked>&"},
		W:       [][]float32{{1, 0, 0}, {0.25, 0.75, 0}, {0.1, 0.6, 0.3}},
	}
}

// TestTerminalCells: in plain text every cell is the ramp character of
// its weight relative to the largest, and each query names its peak.
func TestTerminalCells(t *testing.T) {
	m := sample()
	var b bytes.Buffer
	if err := Terminal(&b, m, Plain, 80); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "\x1b") {
		t.Errorf("plain output has escape codes:\n%s", out)
	}
	lines := strings.Split(out, "\n")
	rows := 0
	for _, line := range lines {
		for q, lab := range []string{"The", "dog", "<barked>&"} {
			prefix := strings.Repeat(" ", 9-len(lab)) + lab + " "
			if !strings.HasPrefix(line, prefix) || strings.Contains(line, "→") {
				continue
			}
			cells := line[len(prefix):]
			for k, v := range m.W[q] {
				want := ramp[min(int(float64(v)*float64(len(ramp))), len(ramp)-1)]
				if 2*k >= len(cells) {
					if want != ' ' {
						t.Errorf("row %q: cell %d missing", line, k)
					}
					continue
				}
				if cells[2*k] != want {
					t.Errorf("row %q cell %d is %q, want %q for weight %v", line, k, cells[2*k], want, v)
				}
			}
			rows++
		}
	}
	if rows != 3 {
		t.Errorf("found %d heatmap rows in\n%s", rows, out)
	}
	for _, want := range []string{"dog → dog (0.750)", "<barked>& → dog (0.600)", "The → The (1.000)"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	b.Reset()
	if err := Terminal(&b, m, ANSI256, 80); err != nil || !strings.Contains(b.String(), "\x1b[48;5;") {
		t.Errorf("ANSI256: %v\n%q", err, b.String())
	}
	b.Reset()
	if err := Terminal(&b, m, TrueColor, 80); err != nil || !strings.Contains(b.String(), "\x1b[48;2;253;231;37m") {
		t.Errorf("TrueColor: %v (want the top of viridis for the largest weight)\n%q", err, b.String())
	}
}

// TestTerminalWraps: more keys than fit wrap into blocks, each row
// complete.
func TestTerminalWraps(t *testing.T) {
	n := 50
	m := Map{Queries: make([]string, n), Keys: make([]string, n), W: make([][]float32, n)}
	for i := range n {
		m.Queries[i], m.Keys[i] = "tok", "tok"
		m.W[i] = make([]float32, n)
		m.W[i][i] = 1
	}
	var b bytes.Buffer
	if err := Terminal(&b, m, Plain, 60); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if len([]rune(line)) > 60 {
			t.Errorf("line of %d runes > 60: %q", len([]rune(line)), line)
		}
	}
	if !strings.Contains(b.String(), "keys 28 … 49") {
		t.Errorf("no second block of keys:\n%s", b.String())
	}
}

func TestCheck(t *testing.T) {
	for name, m := range map[string]Map{
		"no tokens":  {},
		"short rows": {Queries: []string{"a"}, Keys: []string{"a", "b"}, W: [][]float32{{1}}},
		"extra row":  {Queries: []string{"a"}, Keys: []string{"a"}, W: [][]float32{{1}, {1}}},
		"NaN":        {Queries: []string{"a"}, Keys: []string{"a"}, W: [][]float32{{float32(math.NaN())}}},
		"infinite":   {Queries: []string{"a"}, Keys: []string{"a"}, W: [][]float32{{float32(math.Inf(1))}}},
	} {
		if err := m.Check(); err == nil {
			t.Errorf("%s: no error", name)
		}
		if err := Head(io.Discard, PNG, m); err == nil {
			t.Errorf("%s: Head drew it", name)
		}
		if err := Terminal(io.Discard, m, Plain, 80); err == nil {
			t.Errorf("%s: Terminal drew it", name)
		}
	}
}

func TestOverlayBad(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for name, p := range map[string]PatchMap{
		"no image":    {W: []float32{1}, GW: 1, GH: 1},
		"empty image": {Image: image.NewRGBA(image.Rectangle{}), W: []float32{1}, GW: 1, GH: 1},
		"short":       {Image: img, W: []float32{1, 2, 3}, GW: 2, GH: 2},
		"no grid":     {Image: img},
		"NaN":         {Image: img, W: []float32{float32(math.NaN())}, GW: 1, GH: 1},
	} {
		if err := Overlay(io.Discard, SVG, p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// wellFormed parses an SVG with encoding/xml and counts its elements.
func wellFormed(t *testing.T, data []byte) map[string]int {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	n := map[string]int{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG not well-formed: %v\n%s", err, data)
		}
		if s, ok := tok.(xml.StartElement); ok {
			n[s.Name.Local]++
		}
	}
	if n["svg"] != 1 {
		t.Fatalf("%d svg roots", n["svg"])
	}
	return n
}

func TestPictures(t *testing.T) {
	m := sample()
	grid := ModelView{Maps: [][]Map{{m, m, m}, {m, m, m}}, Layers: []string{"L0", "L1"}, Heads: []string{"H0", "H1", "H2"}}
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for _, tc := range []struct {
		name  string
		draw  func(io.Writer, Format) error
		cells int // rects with a tooltip
	}{
		{"head", func(w io.Writer, f Format) error { return Head(w, f, m) }, 9},
		{"model", func(w io.Writer, f Format) error { return Model(w, f, grid) }, 0},
		{"overlay", func(w io.Writer, f Format) error {
			return Overlay(w, f, PatchMap{Title: "cls", Image: img, W: []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, GW: 4, GH: 2})
		}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sb, pb bytes.Buffer
			if err := tc.draw(&sb, SVG); err != nil {
				t.Fatal(err)
			}
			n := wellFormed(t, sb.Bytes())
			if n["title"] != tc.cells {
				t.Errorf("%d tooltips, want %d", n["title"], tc.cells)
			}
			if err := tc.draw(&pb, PNG); err != nil {
				t.Fatal(err)
			}
			p, err := png.Decode(&pb)
			if err != nil {
				t.Fatal(err)
			}
			var root struct {
				W int `xml:"width,attr"`
				H int `xml:"height,attr"`
			}
			if err := xml.Unmarshal(sb.Bytes(), &root); err != nil {
				t.Fatal(err)
			}
			if b := p.Bounds(); b.Dx() != root.W || b.Dy() != root.H || b.Dx() < 40 || b.Dy() < 20 {
				t.Errorf("PNG %v, SVG %d×%d: want the same size", b, root.W, root.H)
			}
		})
	}
}

// TestHeadPixels: the PNG's cells are the viridis colours of the weights
// relative to the largest, or to Scale.
func TestHeadPixels(t *testing.T) {
	for _, scale := range []float32{0, 1, 2} {
		m := sample()
		m.Scale = scale
		var b bytes.Buffer
		if err := Head(&b, PNG, m); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(&b)
		if err != nil {
			t.Fatal(err)
		}
		l := layoutHead(m)
		if img.Bounds().Size() != l.size {
			t.Fatalf("PNG %v, layout %v", img.Bounds(), l.size)
		}
		div := max(scale, 1) // the sample's largest weight is 1
		for q, row := range m.W {
			for k, v := range row {
				x, y := l.left.X+k*l.cell+l.cell/2, l.left.Y+q*l.cell+l.cell/2
				if got, want := color.RGBAModel.Convert(img.At(x, y)), Viridis(float64(v/div)); got != want {
					t.Errorf("scale %v: cell [%d][%d] is %v, want %v for %v", scale, q, k, got, want, v)
				}
			}
		}
	}
}

func TestWindow(t *testing.T) {
	m := sample()
	w := m.Window(1, 3, 0, 2)
	if len(w.W) != 2 || len(w.W[0]) != 2 || w.W[1][1] != 0.6 || w.Queries[0] != "Ġdog" || w.Keys[1] != "Ġdog" {
		t.Errorf("Window(1, 3, 0, 2) = %+v", w)
	}
	if err := w.Check(); err != nil {
		t.Error(err)
	}
	if w := m.Window(-5, 99, 2, 1); len(w.W) != 3 || len(w.Keys) != 0 {
		t.Errorf("clamped window %+v", w)
	}
}

// TestLargeSVG: past maxCells the cells are one embedded picture, so the
// SVG stays small; its PNG twin has the same size.
func TestLargeSVG(t *testing.T) {
	n := 300
	m := Map{Queries: make([]string, n), Keys: make([]string, n), W: make([][]float32, n)}
	for i := range n {
		m.Queries[i], m.Keys[i] = "tok", "tok"
		m.W[i] = make([]float32, n)
		m.W[i][0] = 1
	}
	var sb, pb bytes.Buffer
	if err := Head(&sb, SVG, m); err != nil {
		t.Fatal(err)
	}
	n2 := wellFormed(t, sb.Bytes())
	if n2["image"] != 1 || n2["title"] != 0 || sb.Len() > 200<<10 {
		t.Errorf("SVG of %d bytes with %d images and %d tooltips", sb.Len(), n2["image"], n2["title"])
	}
	var gb bytes.Buffer
	if err := Model(&gb, SVG, ModelView{Maps: [][]Map{{m, m}, {m, m}}, Layers: []string{"L0", "L1"}, Heads: []string{"H0", "H1"}}); err != nil {
		t.Fatal(err)
	}
	if n := wellFormed(t, gb.Bytes()); n["image"] != 4 || gb.Len() > 200<<10 {
		t.Errorf("model view SVG of %d bytes with %d images, want 4 thumbnails as pictures", gb.Len(), n["image"])
	}
	if err := Head(&pb, PNG, m); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&pb)
	if err != nil {
		t.Fatal(err)
	}
	l := layoutHead(m)
	if img.Bounds().Size() != l.size {
		t.Errorf("PNG %v, layout %v", img.Bounds(), l.size)
	}
	// Column 0 bright, column 1 dark.
	if got := color.RGBAModel.Convert(img.At(l.left.X, l.left.Y+l.cell*n/2)); got != Viridis(1) {
		t.Errorf("key 0 drawn %v", got)
	}
	if got := color.RGBAModel.Convert(img.At(l.left.X+l.cell, l.left.Y+l.cell*n/2)); got != Viridis(0) {
		t.Errorf("key 1 drawn %v", got)
	}
}

func TestViridisAndLabel(t *testing.T) {
	if c := Viridis(0); c != (color.RGBA{0x44, 0x01, 0x54, 255}) {
		t.Errorf("Viridis(0) = %v", c)
	}
	if c := Viridis(math.NaN()); c != Viridis(0) {
		t.Errorf("Viridis(NaN) = %v", c)
	}
	if c := Viridis(2); c != (color.RGBA{0xfd, 0xe7, 0x25, 255}) {
		t.Errorf("Viridis(2) = %v", c)
	}
	for in, want := range map[string]string{"Ġdog": "dog", "▁chien": "chien", "Ċ": `\n`, "Ġ": "␣", "##ing": "##ing"} {
		if got := Label(in); got != want {
			t.Errorf("Label(%q) = %q, want %q", in, got, want)
		}
	}
	if got := clip("excitedly", 5); got != "exci…" {
		t.Errorf("clip = %q", got)
	}
}

func TestAttentionReduce(t *testing.T) {
	mk := func() *Attention {
		return &Attention{Layers: []int{0, 1}, Heads: []int{0, 1}, Weights: [][][][]float32{
			{{{1, 0}, {0.2, 0.8}}, {{1, 0}, {0.8, 0.2}}},
			{{{1, 0}, {0, 1}}, {{1, 0}, {1, 0}}},
		}}
	}
	a := mk()
	if err := a.Mean(); err != nil {
		t.Fatal(err)
	}
	if a.Reduce != "mean" || a.Heads != nil || len(a.Weights) != 2 || len(a.Weights[0]) != 1 || !near(a.Weights[0][0][1][0], 0.5) || !near(a.Weights[1][0][1][1], 0.5) {
		t.Errorf("Mean: %+v", a)
	}
	if err := a.Mean(); err == nil {
		t.Error("Mean twice: no error")
	}
	// Both layers average to [[1, 0], [.5, .5]]: A' = [[1, 0], [.25, .75]],
	// R = A'·A' = [[1, 0], [.25 + .75·.25, .75·.75]].
	a = mk()
	if err := a.Rollout(); err != nil {
		t.Fatal(err)
	}
	want := [][]float32{{1, 0}, {0.4375, 0.5625}}
	if a.Reduce != "rollout" || a.Layers != nil || len(a.Weights) != 1 || len(a.Weights[0]) != 1 {
		t.Fatalf("Rollout: %+v", a)
	}
	for q := range want {
		for k := range want[q] {
			if !near(a.Weights[0][0][q][k], want[q][k]) {
				t.Errorf("Rollout = %v, want %v", a.Weights[0][0], want)
			}
		}
	}
}
