package viz

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Style is how a terminal heatmap colours its cells.
type Style int

const (
	Plain     Style = iota // a shade ramp of characters, for files and pipes
	ANSI256                // xterm's 256 colours
	TrueColor              // 24-bit colour
)

// DetectStyle picks the style for f: Plain unless f is a character device
// (a terminal) and NO_COLOR is unset; TrueColor when COLORTERM says so.
func DetectStyle(f *os.File) Style {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return Plain
	}
	if ct := os.Getenv("COLORTERM"); ct == "truecolor" || ct == "24bit" {
		return TrueColor
	}
	return ANSI256
}

// ramp are the plain cells from no weight to the largest.
const ramp = " .:-=+*#%@"

// Terminal options.
const (
	rowLabelWidth = 12 // runes of a query label
	colLabelLines = 6  // lines of the vertical key labels
	cellWidth     = 2  // columns per cell
)

// Terminal writes m as a heatmap of width columns at most (< 40 means
// 80): query labels on the left, key labels written vertically above
// their columns, cells shaded relative to the largest weight; wider
// matrices wrap into blocks of keys. Below it, per query, the key it
// attends to most with its weight.
func Terminal(w io.Writer, m Map, s Style, width int) error {
	if err := m.Check(); err != nil {
		return err
	}
	if width < 40 {
		width = 80
	}
	bw := bufio.NewWriter(w)
	mx := m.top()
	if m.Title != "" {
		fmt.Fprintln(bw, m.Title)
	}
	qlab := make([]string, len(m.Queries))
	lw := 0
	for i, q := range m.Queries {
		qlab[i] = clip(Label(q), rowLabelWidth)
		lw = max(lw, utf8.RuneCountInString(qlab[i]))
	}
	per := max(1, (width-lw-1)/cellWidth)
	for lo := 0; lo < len(m.Keys); lo += per {
		hi := min(lo+per, len(m.Keys))
		if lo > 0 {
			fmt.Fprintf(bw, "\nkeys %d … %d\n", lo, hi-1)
		}
		keys := make([][]rune, hi-lo)
		for k := range keys {
			keys[k] = []rune(clip(Label(m.Keys[lo+k]), colLabelLines))
		}
		for line := range colLabelLines {
			var b strings.Builder
			for _, r := range keys {
				c := ' '
				if line < len(r) {
					c = r[line]
				}
				b.WriteRune(c)
				b.WriteString(strings.Repeat(" ", cellWidth-1))
			}
			if row := strings.TrimRight(b.String(), " "); row != "" {
				fmt.Fprintf(bw, "%*s %s\n", lw, "", row)
			}
		}
		for q, row := range m.W {
			fmt.Fprintf(bw, "%s%s ", strings.Repeat(" ", lw-utf8.RuneCountInString(qlab[q])), qlab[q])
			for _, v := range row[lo:hi] {
				bw.WriteString(cell(float64(v/mx), s))
			}
			if s != Plain {
				bw.WriteString("\x1b[0m")
			}
			bw.WriteByte('\n')
		}
	}
	fmt.Fprintf(bw, "scale: %s = 0 … %s = %.3f\n", cell(0, s)+reset(s), cell(1, s)+reset(s), mx)
	fmt.Fprintln(bw, "attends most to:")
	for _, p := range Peaks(m.W) {
		fmt.Fprintf(bw, "  %*s → %s (%.3f)\n", lw, qlab[p.Query], clip(Label(m.Keys[p.Key]), rowLabelWidth), p.Weight)
	}
	return bw.Flush()
}

func reset(s Style) string {
	if s == Plain {
		return ""
	}
	return "\x1b[0m"
}

// cell is one heatmap cell for t in [0, 1].
func cell(t float64, s Style) string {
	c := Viridis(t)
	switch s {
	case TrueColor:
		return fmt.Sprintf("\x1b[48;2;%d;%d;%dm  ", c.R, c.G, c.B)
	case ANSI256:
		return fmt.Sprintf("\x1b[48;5;%dm  ", ansi256(c))
	}
	i := min(int(t*float64(len(ramp))), len(ramp)-1)
	if !(t > 0) {
		i = 0
	}
	return string(ramp[i]) + " "
}
