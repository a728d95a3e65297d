package viz

import (
	"image/color"
	"math"
)

// viridis are matplotlib's viridis at 0, 1/8, …, 1: perceptually uniform
// and readable with the common colour-vision deficiencies.
var viridis = [...][3]float64{
	{0x44, 0x01, 0x54}, {0x48, 0x28, 0x78}, {0x3e, 0x49, 0x89},
	{0x31, 0x68, 0x8e}, {0x26, 0x82, 0x8e}, {0x1f, 0x9e, 0x89},
	{0x35, 0xb7, 0x79}, {0x6e, 0xce, 0x58}, {0xfd, 0xe7, 0x25},
}

// Viridis maps t in [0, 1] (clamped; NaN as 0) to the viridis scale.
func Viridis(t float64) color.RGBA {
	if !(t > 0) {
		t = 0
	}
	t = min(t, 1) * float64(len(viridis)-1)
	i := min(int(t), len(viridis)-2)
	f := t - float64(i)
	var c [3]uint8
	for j := range c {
		c[j] = uint8(math.Round(viridis[i][j]*(1-f) + viridis[i+1][j]*f))
	}
	return color.RGBA{c[0], c[1], c[2], 255}
}

// ansi256 is the nearest colour of xterm's 6×6×6 cube.
func ansi256(c color.RGBA) int {
	q := func(v uint8) int { return int(math.Round(float64(v) / 255 * 5)) }
	return 16 + 36*q(c.R) + 6*q(c.G) + q(c.B)
}

// hex is c as #rrggbb.
func hex(c color.RGBA) string {
	const digits = "0123456789abcdef"
	b := []byte{'#', 0, 0, 0, 0, 0, 0}
	for i, v := range []uint8{c.R, c.G, c.B} {
		b[1+2*i], b[2+2*i] = digits[v>>4], digits[v&15]
	}
	return string(b)
}
