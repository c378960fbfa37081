package version

import (
	"errors"
	"fmt"
	"strings"
)

// dpkgVersion is a Debian version split into its three parts. A missing
// revision is the empty string, which dpkg orders like "0".
type dpkgVersion struct {
	epoch    uint64
	upstream string
	revision string
}

// parseDpkg splits [epoch:]upstream[-revision] the way dpkg does: the epoch
// ends at the first colon, the revision starts after the last hyphen.
// It rejects what dpkg rejects outright, plus characters Debian policy does
// not allow, so that garbage from a feed is reported rather than ordered.
func parseDpkg(s string) (dpkgVersion, error) {
	var v dpkgVersion
	if s == "" {
		return v, errors.New("empty version")
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		if i == 0 {
			return v, errors.New("empty epoch")
		}
		e, err := parseUint(s[:i])
		if err != nil {
			return v, fmt.Errorf("epoch %q: %w", s[:i], err)
		}
		v.epoch = e
		s = s[i+1:]
		if s == "" {
			return v, errors.New("nothing after the epoch")
		}
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		v.revision = s[i+1:]
		s = s[:i]
		if v.revision == "" {
			return v, errors.New("empty revision after '-'")
		}
		for j := 0; j < len(v.revision); j++ {
			if c := v.revision[j]; !isAlnum(c) && c != '.' && c != '+' && c != '~' {
				return v, fmt.Errorf("invalid character %q in revision", c)
			}
		}
	}
	if s == "" {
		return v, errors.New("empty upstream version")
	}
	for j := 0; j < len(s); j++ {
		if c := s[j]; !isAlnum(c) && c != '.' && c != '+' && c != '~' && c != '-' && c != ':' {
			return v, fmt.Errorf("invalid character %q in upstream version", c)
		}
	}
	v.upstream = s
	return v, nil
}

func compareDpkg(a, b string) (int, error) {
	va, err := parseDpkg(a)
	if err != nil {
		return 0, invalid(Dpkg, a, err)
	}
	vb, err := parseDpkg(b)
	if err != nil {
		return 0, invalid(Dpkg, b, err)
	}
	switch {
	case va.epoch < vb.epoch:
		return -1, nil
	case va.epoch > vb.epoch:
		return 1, nil
	}
	if c := dpkgPartCompare(va.upstream, vb.upstream); c != 0 {
		return c, nil
	}
	return dpkgPartCompare(va.revision, vb.revision), nil
}

// dpkgOrder is the weight of one character in a non-digit run: '~' sorts
// before everything, even the end of the string; the end and digits weigh
// nothing; letters sort before every other character.
func dpkgOrder(c byte, end bool) int {
	switch {
	case end || isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	}
	return int(c) + 256
}

// dpkgPartCompare compares an upstream version or a revision: alternating
// runs of non-digits (compared character by character with dpkgOrder) and
// digits (compared as numbers of any length).
func dpkgPartCompare(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			var ca, cb byte
			if i < len(a) {
				ca = a[i]
			}
			if j < len(b) {
				cb = b[j]
			}
			oa, ob := dpkgOrder(ca, i >= len(a)), dpkgOrder(cb, j >= len(b))
			if oa != ob {
				return sign(oa - ob)
			}
			i++
			j++
		}
		da, ni := digitRun(a, i)
		db, nj := digitRun(b, j)
		if c := compareDigits(da, db); c != 0 {
			return c
		}
		i, j = ni, nj
	}
	return 0
}

// digitRun returns the digits of s starting at i without leading zeros, and
// the index after the run.
func digitRun(s string, i int) (string, int) {
	for i < len(s) && s[i] == '0' {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[start:i], i
}
