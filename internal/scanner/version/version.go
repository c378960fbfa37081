// Package version orders package versions the way each ecosystem's own
// tools do: dpkg for Debian and Ubuntu, apk-tools for Alpine, rpm for the Red
// Hat family, SemVer for Go, npm and crates.io, PEP 440 for PyPI and Maven's
// ComparableVersion for Maven.
//
// The one idea: a version string only has an order within its scheme, so
// every comparison names the ecosystem, and a string the scheme cannot parse
// is an error (*InvalidError), never a guess.
package version

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// MaxLen bounds the length of a version string; longer input is invalid.
// Real versions are far shorter; the bound keeps hostile input cheap.
const MaxLen = 1024

// Scheme is a version ordering shared by one or more ecosystems.
type Scheme int

// Version schemes.
const (
	Dpkg   Scheme = iota + 1 // Debian, Ubuntu
	APK                      // Alpine, Wolfi, Chainguard
	RPM                      // Red Hat, Rocky Linux, AlmaLinux, SUSE, …
	SemVer                   // npm, crates.io
	Go                       // Go modules and the Go toolchain
	PEP440                   // PyPI
	Maven                    // Maven
)

// ErrUnsupported is returned for an ecosystem without a known scheme.
var ErrUnsupported = errors.New("unsupported ecosystem")

// InvalidError reports a version string its scheme cannot parse.
type InvalidError struct {
	Scheme  Scheme
	Version string
	Err     error
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("invalid %s version %q: %v", e.Scheme, e.Version, e.Err)
}

func (e *InvalidError) Unwrap() error { return e.Err }

func invalid(s Scheme, v string, err error) error {
	return &InvalidError{Scheme: s, Version: v, Err: err}
}

// String names the scheme.
func (s Scheme) String() string {
	switch s {
	case Dpkg:
		return "dpkg"
	case APK:
		return "apk"
	case RPM:
		return "rpm"
	case SemVer:
		return "semver"
	case Go:
		return "go"
	case PEP440:
		return "pep440"
	case Maven:
		return "maven"
	}
	return fmt.Sprintf("scheme(%d)", int(s))
}

// SchemeFor returns the scheme of an ecosystem. An OSV ecosystem with a
// release suffix ("Debian:12", "Alpine:v3.19") has the scheme of its base.
func SchemeFor(eco catalog.Ecosystem) (Scheme, error) {
	base, _, _ := strings.Cut(string(eco), ":")
	switch catalog.Ecosystem(base) {
	case catalog.Debian, catalog.Ubuntu:
		return Dpkg, nil
	case catalog.Alpine, "Wolfi", "Chainguard":
		return APK, nil
	case catalog.RedHat, catalog.Rocky, catalog.AlmaLinux, "openSUSE", "SUSE", "Mageia", "openEuler", "Photon OS":
		return RPM, nil
	case catalog.Npm, catalog.CratesIO:
		return SemVer, nil
	case catalog.Go:
		return Go, nil
	case catalog.PyPI:
		return PEP440, nil
	case catalog.Maven:
		return Maven, nil
	}
	return 0, fmt.Errorf("%w %q", ErrUnsupported, string(eco))
}

// Compare orders two versions of a package of the ecosystem: -1 if a sorts
// before b, 0 if they are equal in the ecosystem's order, +1 otherwise.
func Compare(eco catalog.Ecosystem, a, b string) (int, error) {
	s, err := SchemeFor(eco)
	if err != nil {
		return 0, err
	}
	return s.Compare(a, b)
}

// Validate reports whether v is a valid version in the ecosystem.
func Validate(eco catalog.Ecosystem, v string) error {
	s, err := SchemeFor(eco)
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// Compare orders two versions in the scheme: -1, 0 or +1.
func (s Scheme) Compare(a, b string) (int, error) {
	if len(a) > MaxLen {
		return 0, invalid(s, a[:32]+"…", errTooLong)
	}
	if len(b) > MaxLen {
		return 0, invalid(s, b[:32]+"…", errTooLong)
	}
	switch s {
	case Dpkg:
		return compareDpkg(a, b)
	case APK:
		return compareAPK(a, b)
	case RPM:
		return compareRPM(a, b)
	case SemVer:
		return compareSemVer(a, b)
	case Go:
		return compareGo(a, b)
	case PEP440:
		return comparePEP440(a, b)
	case Maven:
		return compareMaven(a, b)
	}
	return 0, fmt.Errorf("%w: %s", ErrUnsupported, s)
}

// Validate reports whether v is a valid version in the scheme.
func (s Scheme) Validate(v string) error {
	// Comparing a version with itself parses it once per side; the schemes
	// are cheap enough that a separate validator would only duplicate them.
	_, err := s.Compare(v, v)
	return err
}

var errTooLong = fmt.Errorf("longer than %d bytes", MaxLen)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// compareDigits orders two runs of decimal digits without leading zeros
// as numbers of any length.
func compareDigits(a, b string) int {
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

// trimZeros drops leading zeros from a digit run ("007" → "7", "0" → "").
func trimZeros(s string) string {
	return strings.TrimLeft(s, "0")
}

// parseUint parses a decimal number that fits in 63 bits.
func parseUint(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, fmt.Errorf("not a number: %q", s)
		}
		if n > (1<<63-1)/10 {
			return 0, fmt.Errorf("number too large: %q", s)
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, nil
}
