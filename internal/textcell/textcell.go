// Package textcell makes untrusted text safe to print in the tables and CSV
// files Stockade writes. Names and messages come from manifests and image
// metadata that an attacker may have written: a table cell must stay one
// line of inert text (no escape sequences driving the reader's terminal),
// and a CSV cell must not read as a spreadsheet formula.
package textcell

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean replaces control characters (newlines, ESC, …) with U+FFFD.
func Clean(s string) string {
	printable := true // the common case: printable ASCII, nothing to check rune by rune
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			printable = false
			break
		}
	}
	if printable || strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

// Width is the number of runes, which is how wide a cleaned cell prints.
func Width(s string) int { return utf8.RuneCountInString(s) }

// Pad right-pads s with spaces to width w.
func Pad(s string, w int) string {
	if n := Width(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// Inert prefixes a CSV value that a spreadsheet would take for a formula
// (starting with = + - @, a tab or a carriage return) with a single quote.
// A lone character is no formula ("-" names standard input) and stays.
func Inert(s string) string {
	if len(s) > 1 && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Writer prints until the first error and keeps it, so that a table can be
// written line by line and checked once.
type Writer struct {
	W   io.Writer
	Err error
}

// Printf writes unless an earlier write failed.
func (e *Writer) Printf(format string, args ...any) {
	if e.Err == nil {
		_, e.Err = fmt.Fprintf(e.W, format, args...)
	}
}
