package version

import (
	"errors"
	"fmt"
	"strings"
)

// apk versions (Alpine, Wolfi) follow the grammar and order of apk-tools
// 2.12 and later:
//
//	number{.number}...{letter}{_suffix{number}}...{~hash}{-rN}
//
// A version is a stream of typed tokens. Two versions compare token by token
// while the token types agree; when one stream ends or goes on with a
// different type first, a pre-release suffix (_alpha, _beta, _pre, _rc)
// makes its version the smaller one, and otherwise the version going on with
// the earlier type in apkKind order is the greater one (1.2 < 1.2.1 < 1.2a,
// 1.2 < 1.2-r1 < 1.2_p1). A dotted number with a leading zero compares as a
// string against its counterpart (1.01 < 1.1, 8.2.0015 < 8.2.002).
type apkKind int

// Token kinds in apk-tools' order; the order decides the tail comparison.
const (
	apkFirstNumber  apkKind = iota
	apkNumber               // after '.'
	apkLetter               // one lower-case letter after a number
	apkSuffix               // _alpha … _p
	apkSuffixNumber         // the number right after a suffix
	apkHash                 // ~ followed by hex digits
	apkRevision             // the N of -rN
	apkEnd
)

// apkSuffixes in order; apkSuffixRelease is the rank of "no suffix".
var apkSuffixes = [...]string{"alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p"}

const apkSuffixRelease = 4

var errAPKSyntax = errors.New("not an apk version")

type apkToken struct {
	kind   apkKind
	text   string // the digits, letter, suffix word or hash
	suffix int    // rank in apkSuffixes for apkSuffix
}

// apkScanner yields the tokens of a version; the zero token after the last
// one has kind apkEnd.
type apkScanner struct {
	s   string
	tok apkToken
}

func newAPKScanner(s string) (*apkScanner, error) {
	sc := &apkScanner{s: s}
	sc.tok.kind = apkFirstNumber
	if err := sc.digits(); err != nil {
		return nil, err
	}
	return sc, nil
}

func (sc *apkScanner) digits() error {
	n := 0
	for n < len(sc.s) && isDigit(sc.s[n]) {
		n++
	}
	if n == 0 {
		return fmt.Errorf("%w: expected a number at %q", errAPKSyntax, sc.s)
	}
	sc.tok.text, sc.s = sc.s[:n], sc.s[n:]
	return nil
}

// next reads the token after the current one, checking that it may follow.
func (sc *apkScanner) next() error {
	if sc.s == "" {
		sc.tok = apkToken{kind: apkEnd}
		return nil
	}
	prev := sc.tok.kind
	c := sc.s[0]
	misplaced := fmt.Errorf("%w: %q may not follow here at %q", errAPKSyntax, c, sc.s)
	switch {
	case isLower(c):
		if prev > apkNumber {
			return misplaced
		}
		sc.tok = apkToken{kind: apkLetter, text: sc.s[:1]}
		sc.s = sc.s[1:]
	case c == '.' || isDigit(c):
		if c == '.' {
			if prev > apkNumber {
				return misplaced
			}
			sc.s = sc.s[1:]
		}
		switch prev {
		case apkFirstNumber, apkNumber:
			sc.tok.kind = apkNumber
		case apkSuffix:
			sc.tok.kind = apkSuffixNumber
		default:
			return misplaced
		}
		return sc.digits()
	case c == '_':
		if prev > apkSuffixNumber {
			return misplaced
		}
		n := 1
		for n < len(sc.s) && isLower(sc.s[n]) {
			n++
		}
		word := sc.s[1:n]
		rank := -1
		for i, w := range apkSuffixes {
			if w != "" && w == word {
				rank = i
			}
		}
		if rank < 0 {
			return fmt.Errorf("%w: unknown suffix %q", errAPKSyntax, word)
		}
		sc.tok = apkToken{kind: apkSuffix, text: word, suffix: rank}
		sc.s = sc.s[n:]
	case c == '~':
		if prev >= apkHash {
			return misplaced
		}
		n := 1
		for n < len(sc.s) && isHex(sc.s[n]) {
			n++
		}
		if n == 1 {
			return fmt.Errorf("%w: empty commit hash", errAPKSyntax)
		}
		sc.tok = apkToken{kind: apkHash, text: sc.s[1:n]}
		sc.s = sc.s[n:]
	case c == '-':
		if prev >= apkRevision || !strings.HasPrefix(sc.s, "-r") {
			return misplaced
		}
		sc.s = sc.s[2:]
		sc.tok.kind = apkRevision
		return sc.digits()
	default:
		return misplaced
	}
	return nil
}

// compareAPKTokens compares two tokens of the same kind.
func compareAPKTokens(a, b apkToken) int {
	switch a.kind {
	case apkNumber:
		if a.text[0] == '0' || b.text[0] == '0' {
			return strings.Compare(a.text, b.text)
		}
		return compareDigits(a.text, b.text)
	case apkFirstNumber, apkSuffixNumber, apkRevision:
		return compareDigits(trimZeros(a.text), trimZeros(b.text))
	case apkSuffix:
		return sign(a.suffix - b.suffix)
	}
	// Letters and commit hashes compare as strings.
	return strings.Compare(a.text, b.text)
}

func validateAPK(s string) error {
	if s == "" {
		return errors.New("empty version")
	}
	sc, err := newAPKScanner(s)
	if err != nil {
		return err
	}
	for sc.tok.kind != apkEnd {
		if err := sc.next(); err != nil {
			return err
		}
	}
	return nil
}

func compareAPK(a, b string) (int, error) {
	if err := validateAPK(a); err != nil {
		return 0, invalid(APK, a, err)
	}
	if err := validateAPK(b); err != nil {
		return 0, invalid(APK, b, err)
	}
	// Both are valid, so scanning them again cannot fail.
	sa, _ := newAPKScanner(a)
	sb, _ := newAPKScanner(b)
	for sa.tok.kind == sb.tok.kind && sa.tok.kind != apkEnd {
		if c := compareAPKTokens(sa.tok, sb.tok); c != 0 {
			return c, nil
		}
		_ = sa.next()
		_ = sb.next()
	}
	ka, kb := sa.tok.kind, sb.tok.kind
	switch {
	case ka == kb:
		return 0, nil
	case ka == apkSuffix && sa.tok.suffix < apkSuffixRelease:
		return -1, nil
	case kb == apkSuffix && sb.tok.suffix < apkSuffixRelease:
		return 1, nil
	case ka > kb:
		return -1, nil
	}
	return 1, nil
}

func isHex(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') }
