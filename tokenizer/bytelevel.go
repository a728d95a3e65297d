package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// byteToRune is GPT-2's bytes_to_unicode: every byte gets a printable rune so
// that a byte string can be spelled as a vocabulary string. The printable
// bytes '!'..'~', '¡'..'¬' and '®'..'ÿ' map to themselves; the other 68 bytes
// map, in byte order, to U+0100, U+0101, ...
var byteToRune [256]rune

// runeToByte inverts byteToRune; -1 marks runes that spell no byte.
var runeToByte = func() map[rune]int {
	n := 0
	m := make(map[rune]int, 256)
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		m[byteToRune[b]] = b
	}
	return m
}()

// byteLevelUnspell turns a vocabulary spelling back into raw bytes; ok is
// false when a rune spells no byte.
func byteLevelUnspell(s string) (b []byte, ok bool) {
	b = make([]byte, 0, len(s))
	for _, r := range s {
		c, found := runeToByte[r]
		if !found {
			return nil, false
		}
		b = append(b, byte(c))
	}
	return b, true
}

// Character classes of the GPT-2 pre-tokenizer pattern.
const (
	clsOther  = iota // [^\s\p{L}\p{N}]
	clsLetter        // \p{L}
	clsNumber        // \p{N}
	clsSpace         // \s (Unicode White_Space)
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range utf8.RuneSelf {
		t[c] = classOf(rune(c))
	}
	return t
}()

func classOf(r rune) uint8 {
	switch {
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.IsSpace(r):
		return clsSpace
	}
	return clsOther
}

// classAt returns the class and byte length of the rune at s[i]. A byte that
// starts no valid UTF-8 sequence is one rune of class other.
func classAt(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	return classOf(r), n
}

// runEnd returns the end of the run of class cls that starts at i.
func runEnd(s string, i int, cls uint8) int {
	for i < len(s) {
		c, n := classAt(s, i)
		if c != cls {
			break
		}
		i += n
	}
	return i
}

// gpt2Next returns the end of the pre-token that starts at s[i] (i < len(s)).
// It matches GPT-2's pattern, alternatives tried in order:
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// The look-ahead \s+(?!\S) takes a whitespace run except its last rune when a
// non-space follows, so that the last space can lead the next word.
func gpt2Next(s string, i int) int {
	c := s[i]
	if c == '\'' && i+1 < len(s) {
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < len(s) && s[i+2] == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && s[i+2] == 'l' {
				return i + 3
			}
		}
	}
	j := i
	if c == ' ' && i+1 < len(s) {
		j = i + 1
	}
	cls, n := classAt(s, j)
	if cls != clsSpace {
		return runEnd(s, j+n, cls)
	}
	// Whitespace at i: \s+(?!\S) or \s+.
	last, k := i, i
	for k < len(s) {
		cls, n := classAt(s, k)
		if cls != clsSpace {
			break
		}
		last = k
		k += n
	}
	if k == len(s) || last == i {
		return k
	}
	return last
}
