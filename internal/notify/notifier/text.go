package notifier

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxPlainLine bounds a PlainLine.
const maxPlainLine = 512

// Shorten cuts s to at most n bytes on a rune boundary, ending in "…" when
// it cut: for services whose limits count bytes.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	end := max(n-len(ellipsis), 0)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + ellipsis
}

// PlainLine is s as one printable line of at most 512 bytes (white space
// folded, invalid UTF-8 replaced): a reason from a remote's answer fit to
// quote in an error, or user text fit for a title.
func PlainLine(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "?")), " ")
	return Shorten(s, maxPlainLine)
}

// Bullets lists n items one a line, each after bullet with the text item(i)
// gives, at most limit of them and then "… and K more" for the K left out;
// no items is "-". item is called only for the items listed.
func Bullets(n, limit int, bullet string, item func(i int) string) string {
	if n == 0 {
		return "-"
	}
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i == limit {
			fmt.Fprintf(&b, "… and %d more", n-limit)
			break
		}
		b.WriteString(bullet)
		b.WriteString(item(i))
	}
	return b.String()
}
