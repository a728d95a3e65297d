package viz

import (
	"image"
	"image/color"
	"strings"
	"unicode"
)

// A tiny bitmap font for PNG labels: 3×5 pixel capitals, digits and
// common punctuation (lower case drawn as capitals), so that the standard
// library alone can write a labelled PNG. Each glyph is five rows of
// three pixels, top first, "1" for ink.
var glyphs = map[rune]string{
	'A': "010101111101101", 'B': "110101110101110", 'C': "011100100100011",
	'D': "110101101101110", 'E': "111100110100111", 'F': "111100110100100",
	'G': "011100101101011", 'H': "101101111101101", 'I': "111010010010111",
	'J': "001001001101010", 'K': "101101110101101", 'L': "100100100100111",
	'M': "101111111101101", 'N': "110101101101101", 'O': "010101101101010",
	'P': "110101110100100", 'Q': "010101101110011", 'R': "110101110101101",
	'S': "011100010001110", 'T': "111010010010010", 'U': "101101101101111",
	'V': "101101101101010", 'W': "101101111111101", 'X': "101101010101101",
	'Y': "101101010010010", 'Z': "111001010100111",
	'0': "111101101101111", '1': "010110010010111", '2': "110001010100111",
	'3': "110001010001110", '4': "101101111001001", '5': "111100110001110",
	'6': "011100111101111", '7': "111001010010010", '8': "111101111101111",
	'9': "111101111001110",
	'.': "000000000000010", ',': "000000000010100", '!': "010010010000010",
	'?': "110001010000010", '\'': "010010000000000", '"': "101101000000000",
	'-': "000000111000000", '_': "000000000000111", ':': "000010000010000",
	';': "000010000010100", '(': "001010010010001", ')': "100010010010100",
	'[': "011010010010011", ']': "110010010010110", '<': "001010100010001",
	'>': "100010001010100", '/': "001001010100100", '\\': "100100010001001",
	'#': "101111101111101", '+': "000010111010000", '=': "000111000111000",
	'*': "101010101000000", '%': "101001010100101", '&': "010101010101011",
	'@': "010101111100011", '|': "010010010010010", '…': "000000000000101",
	'␣': "000000000101111", ' ': "000000000000000",
}

// unknownGlyph stands for a rune the font lacks.
const unknownGlyph = "111101101101111"

const (
	glyphW, glyphH = 3, 5
	advance        = glyphW + 1 // pixels per character at scale 1
)

func glyph(r rune) string {
	if g, ok := glyphs[unicode.ToUpper(r)]; ok {
		return g
	}
	return unknownGlyph
}

// textWidth is the width in pixels of s drawn at scale.
func textWidth(s string, scale int) int {
	n := len([]rune(s))
	if n == 0 {
		return 0
	}
	return (n*advance - 1) * scale
}

// drawText writes s with its top-left corner at (x, y), each font pixel a
// scale×scale square; vertical text runs upwards from (x, y), its glyphs
// turned a quarter left (as a rotated axis label reads).
func drawText(img *image.RGBA, x, y int, s string, scale int, c color.Color, vertical bool) {
	for i, r := range []rune(strings.ToValidUTF8(s, "?")) {
		g := glyph(r)
		for gy := range glyphH {
			for gx := range glyphW {
				if g[gy*glyphW+gx] != '1' {
					continue
				}
				px, py := x+(i*advance+gx)*scale, y+gy*scale
				if vertical {
					// Glyph (gx, gy) turned left: right goes up.
					px, py = x+gy*scale, y-(i*advance+gx+1)*scale
				}
				fillRect(img, image.Rect(px, py, px+scale, py+scale), c)
			}
		}
	}
}

// fillRect paints r (clipped to img) with c.
func fillRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	r = r.Intersect(img.Bounds())
	cr, cg, cb, ca := c.RGBA()
	px := color.RGBA{uint8(cr >> 8), uint8(cg >> 8), uint8(cb >> 8), uint8(ca >> 8)}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, px)
		}
	}
}
