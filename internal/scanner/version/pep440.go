package version

import (
	"errors"
	"fmt"
	"strings"
)

// PEP 440 versions (PyPI): [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local],
// with the spellings the specification normalises (alpha, beta, c, pre,
// preview, rev, r, "-N" as a post-release, '-', '_' or '.' separators or
// none, implicit zeros, a leading "v", any case).
//
// Order: epoch; release with trailing zeros ignored; a dev release of a
// version without pre or post release comes before its pre-releases; pre-
// releases a < b < rc before the release; post-releases after it; dev
// releases before what they lead to; a local version after the same public
// version, local segments compared numerically when numeric, numeric ones
// after alphanumeric ones.

type pep440 struct {
	epoch   string   // digits, no leading zeros
	release []string // digits, no leading zeros, trailing zeros dropped
	preKind int      // pepDevOnly, 0 a, 1 b, 2 rc, pepNoPre
	pre     string
	hasPost bool
	post    string
	hasDev  bool
	dev     string
	local   []string // lower case segments; nil when absent
}

const (
	pepDevOnly = -1
	pepNoPre   = 3
)

var errNotPEP440 = errors.New("not a PEP 440 version")

type pepScanner struct {
	s string
	i int
}

func (p *pepScanner) digits() (string, bool) {
	j := p.i
	for j < len(p.s) && isDigit(p.s[j]) {
		j++
	}
	if j == p.i {
		return "", false
	}
	d := trimZeros(p.s[p.i:j])
	p.i = j
	return d, true
}

func (p *pepScanner) sep() bool {
	if p.i < len(p.s) && (p.s[p.i] == '-' || p.s[p.i] == '_' || p.s[p.i] == '.') {
		p.i++
		return true
	}
	return false
}

// label consumes the first of labels that s continues with.
func (p *pepScanner) label(labels ...string) (string, bool) {
	for _, l := range labels {
		if strings.HasPrefix(p.s[p.i:], l) {
			p.i += len(l)
			return l, true
		}
	}
	return "", false
}

// labelled reads [sep]label[sep][N], restoring the position when no label
// follows. The number defaults to 0.
func (p *pepScanner) labelled(labels ...string) (label, num string, ok bool) {
	save := p.i
	p.sep()
	l, ok := p.label(labels...)
	if !ok {
		p.i = save
		return "", "", false
	}
	// The separator after the label is taken even without a number after
	// it: every later part may start without a separator of its own, so
	// taking it never prevents a match ("1.0a.post1", "1.0.post.").
	p.sep()
	n, _ := p.digits()
	return l, n, true
}

func parsePEP440(s string) (pep440, error) {
	var v pep440
	s = strings.ToLower(strings.TrimSpace(s))
	p := &pepScanner{s: strings.TrimPrefix(s, "v")}
	first, ok := p.digits()
	if !ok {
		return v, fmt.Errorf("%w: no release number", errNotPEP440)
	}
	if p.i < len(p.s) && p.s[p.i] == '!' {
		p.i++
		v.epoch = first
		if first, ok = p.digits(); !ok {
			return v, fmt.Errorf("%w: no release number after the epoch", errNotPEP440)
		}
	}
	v.release = append(v.release, first)
	for p.i+1 < len(p.s) && p.s[p.i] == '.' && isDigit(p.s[p.i+1]) {
		p.i++
		n, _ := p.digits()
		v.release = append(v.release, n)
	}
	for len(v.release) > 0 && v.release[len(v.release)-1] == "" {
		v.release = v.release[:len(v.release)-1]
	}

	v.preKind = pepNoPre
	if l, n, ok := p.labelled("alpha", "a", "beta", "b", "preview", "pre", "c", "rc"); ok {
		switch l {
		case "alpha", "a":
			v.preKind = 0
		case "beta", "b":
			v.preKind = 1
		default:
			v.preKind = 2
		}
		v.pre = n
	}
	if p.i+1 < len(p.s) && p.s[p.i] == '-' && isDigit(p.s[p.i+1]) {
		p.i++
		v.post, _ = p.digits()
		v.hasPost = true
	} else if _, n, ok := p.labelled("post", "rev", "r"); ok {
		v.post, v.hasPost = n, true
	}
	if _, n, ok := p.labelled("dev"); ok {
		v.dev, v.hasDev = n, true
	}
	if v.preKind == pepNoPre && !v.hasPost && v.hasDev {
		v.preKind = pepDevOnly
	}
	if p.i < len(p.s) && p.s[p.i] == '+' {
		local := p.s[p.i+1:]
		p.i = len(p.s)
		if err := v.parseLocal(local); err != nil {
			return v, err
		}
	}
	if p.i != len(p.s) {
		return v, fmt.Errorf("%w: unexpected %q", errNotPEP440, p.s[p.i:])
	}
	return v, nil
}

func (v *pep440) parseLocal(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty local version", errNotPEP440)
	}
	v.local = strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' || r == '_' })
	// FieldsFunc drops empty fields; PEP 440 forbids them.
	if n := strings.Count(s, ".") + strings.Count(s, "-") + strings.Count(s, "_") + 1; n != len(v.local) {
		return fmt.Errorf("%w: empty local version segment", errNotPEP440)
	}
	for _, seg := range v.local {
		for i := 0; i < len(seg); i++ {
			if !isDigit(seg[i]) && !isLower(seg[i]) {
				return fmt.Errorf("%w: invalid character %q in local version", errNotPEP440, seg[i])
			}
		}
	}
	return nil
}

func comparePEP440(a, b string) (int, error) {
	va, err := parsePEP440(a)
	if err != nil {
		return 0, invalid(PEP440, a, err)
	}
	vb, err := parsePEP440(b)
	if err != nil {
		return 0, invalid(PEP440, b, err)
	}
	return va.compare(&vb), nil
}

func (v *pep440) compare(w *pep440) int {
	if c := compareDigits(v.epoch, w.epoch); c != 0 {
		return c
	}
	for i := 0; i < len(v.release) || i < len(w.release); i++ {
		switch {
		case i >= len(v.release):
			return -1
		case i >= len(w.release):
			return 1
		}
		if c := compareDigits(v.release[i], w.release[i]); c != 0 {
			return c
		}
	}
	if v.preKind != w.preKind {
		return sign(v.preKind - w.preKind)
	}
	if c := compareDigits(v.pre, w.pre); c != 0 {
		return c
	}
	if v.hasPost != w.hasPost {
		return boolOrder(v.hasPost)
	}
	if c := compareDigits(v.post, w.post); c != 0 {
		return c
	}
	if v.hasDev != w.hasDev {
		// No dev part sorts after any dev release.
		return -boolOrder(v.hasDev)
	}
	if c := compareDigits(v.dev, w.dev); c != 0 {
		return c
	}
	return compareLocal(v.local, w.local)
}

// boolOrder is +1 for true, -1 for false.
func boolOrder(b bool) int {
	if b {
		return 1
	}
	return -1
}

func compareLocal(a, b []string) int {
	if (a == nil) != (b == nil) {
		return boolOrder(a != nil)
	}
	for i := 0; i < len(a) || i < len(b); i++ {
		switch {
		case i >= len(a):
			return -1
		case i >= len(b):
			return 1
		}
		na, nb := allDigits(a[i]), allDigits(b[i])
		var c int
		switch {
		case na && nb:
			c = compareDigits(trimZeros(a[i]), trimZeros(b[i]))
		case na != nb:
			c = boolOrder(na)
		default:
			c = strings.Compare(a[i], b[i])
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
