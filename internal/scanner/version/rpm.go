package version

import (
	"errors"
	"fmt"
	"strings"
)

// rpmEVR is [epoch:]version[-release]. A missing epoch is 0; a missing
// release sorts before any release (rpm's rpmverCmp).
type rpmEVR struct {
	epoch      string // digits without leading zeros
	version    string
	release    string
	hasRelease bool
}

func parseRPM(s string) (rpmEVR, error) {
	var v rpmEVR
	if s == "" {
		return v, errors.New("empty version")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return v, fmt.Errorf("invalid character %q", c)
		}
	}
	// The epoch is a run of digits ended by ':'; rpm splits there only.
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i < len(s) && s[i] == ':' {
		v.epoch = trimZeros(s[:i])
		s = s[i+1:]
	}
	if strings.IndexByte(s, ':') >= 0 {
		return v, errors.New("epoch is not a number")
	}
	if j := strings.LastIndexByte(s, '-'); j >= 0 {
		v.release, v.hasRelease = s[j+1:], true
		s = s[:j]
		if v.release == "" {
			return v, errors.New("empty release after '-'")
		}
	}
	if s == "" {
		return v, errors.New("empty version part")
	}
	v.version = s
	return v, nil
}

func compareRPM(a, b string) (int, error) {
	va, err := parseRPM(a)
	if err != nil {
		return 0, invalid(RPM, a, err)
	}
	vb, err := parseRPM(b)
	if err != nil {
		return 0, invalid(RPM, b, err)
	}
	if c := compareDigits(va.epoch, vb.epoch); c != 0 {
		return c, nil
	}
	if c := rpmvercmp(va.version, vb.version); c != 0 {
		return c, nil
	}
	switch {
	case va.hasRelease && vb.hasRelease:
		return rpmvercmp(va.release, vb.release), nil
	case va.hasRelease:
		return 1, nil
	case vb.hasRelease:
		return -1, nil
	}
	return 0, nil
}

// rpmvercmp compares one version or release field the way rpm does:
// separators (anything but letters, digits, '~' and '^') only split
// segments; '~' sorts before everything including the end, '^' after the
// end but before any further segment; numeric segments are newer than
// alphabetic ones and compare as numbers.
func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isAlnum(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !isAlnum(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		ta, tb := at(a, i, '~'), at(b, j, '~')
		if ta || tb {
			if !ta {
				return 1
			}
			if !tb {
				return -1
			}
			i++
			j++
			continue
		}
		ca, cb := at(a, i, '^'), at(b, j, '^')
		if ca || cb {
			switch {
			case i >= len(a):
				return -1
			case j >= len(b):
				return 1
			case !ca:
				return 1
			case !cb:
				return -1
			}
			i++
			j++
			continue
		}
		if i >= len(a) || j >= len(b) {
			break
		}
		si, sj := i, j
		numeric := isDigit(a[i])
		if numeric {
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
		} else {
			for i < len(a) && isAlpha(a[i]) {
				i++
			}
			for j < len(b) && isAlpha(b[j]) {
				j++
			}
		}
		if sj == j {
			// Segments of different types: numeric is newer.
			if numeric {
				return 1
			}
			return -1
		}
		var c int
		if numeric {
			c = compareDigits(trimZeros(a[si:i]), trimZeros(b[sj:j]))
		} else {
			c = strings.Compare(a[si:i], b[sj:j])
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case i >= len(a) && j >= len(b):
		return 0
	case i < len(a):
		return 1
	}
	return -1
}

func at(s string, i int, c byte) bool { return i < len(s) && s[i] == c }
