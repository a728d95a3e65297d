// Package quote quotes user input in error messages, cut short: an error
// about a 50 KB text must not echo it whole.
package quote

import (
	"fmt"
	"unicode/utf8"
)

// Max is how many bytes of the input Short keeps.
const Max = 80

// Short is %q of s, cut after about Max bytes (at a character boundary)
// with an ellipsis and the input's length.
func Short(s string) string {
	if len(s) <= Max {
		return fmt.Sprintf("%q", s)
	}
	cut := Max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:cut], len(s))
}
