package version

import (
	"errors"
	"strings"

	"golang.org/x/mod/semver"
)

// SemVer 2.0 ordering comes from golang.org/x/mod/semver, which implements
// the precedence rules exactly (numeric identifiers compared as numbers of
// any length, pre-releases before the release, build metadata ignored).
// It wants a leading "v" and accepts "v1" and "v1.2" shorthands, which
// neither npm nor Cargo allow; canonicalSemVer handles both.

var errNotSemVer = errors.New("not a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD])")

// canonicalSemVer turns an npm or Cargo version into x/mod/semver's form.
// Like npm's semver in strict mode, it accepts a leading "v".
func canonicalSemVer(s string) (string, error) {
	s = strings.TrimPrefix(s, "v")
	core := s
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		core = core[:i]
	}
	if strings.Count(core, ".") != 2 {
		return "", errNotSemVer
	}
	v := "v" + s
	if !semver.IsValid(v) {
		return "", errNotSemVer
	}
	return v, nil
}

func compareSemVer(a, b string) (int, error) {
	ca, err := canonicalSemVer(a)
	if err != nil {
		return 0, invalid(SemVer, a, err)
	}
	cb, err := canonicalSemVer(b)
	if err != nil {
		return 0, invalid(SemVer, b, err)
	}
	return semver.Compare(ca, cb), nil
}

// GoSemVer returns the SemVer form of a Go module or toolchain version:
// module versions as they are ("v1.2.3", pseudo-versions, "+incompatible"),
// OSV's spelling without the "v" ("1.2.3"), and Go toolchain versions
// ("go1.20", "go1.21.3", "go1.21rc2", "go1.18beta1") as the Go vulnerability
// database writes them ("v1.20.0", "v1.21.3", "v1.21.0-rc.2",
// "v1.18.0-beta.1"), ignoring experiments after a space ("go1.22.0
// X:loopvar"). ok is false when s is none of these.
func GoSemVer(s string) (v string, ok bool) {
	if rest, found := strings.CutPrefix(s, "go"); found {
		// Build info may append experiments: "go1.22.0 X:loopvar".
		rest, _, _ = strings.Cut(rest, " ")
		return goToolchainSemVer(rest)
	}
	if !strings.HasPrefix(s, "v") {
		s = "v" + s
	}
	core := s
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		core = core[:i]
	}
	if strings.Count(core, ".") != 2 || !semver.IsValid(s) {
		return "", false
	}
	return s, true
}

// goToolchainSemVer converts the part of a Go toolchain version after "go".
// Releases before Go 1.21 dropped a zero patch ("go1.20"); 1.21 and later
// always have one. Pre-releases are "1.21rc2" and "1.18beta1".
func goToolchainSemVer(s string) (string, bool) {
	num := s
	pre := ""
	for _, tag := range []string{"rc", "beta", "alpha"} {
		if i := strings.Index(s, tag); i > 0 {
			num, pre = s[:i], s[i+len(tag):]
			if pre == "" || !allDigits(pre) {
				return "", false
			}
			pre = "-" + tag + "." + trimZerosKeepOne(pre)
			break
		}
	}
	parts := strings.Split(num, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return "", false
	}
	for _, p := range parts {
		if !allDigits(p) {
			return "", false
		}
	}
	if len(parts) == 2 {
		parts = append(parts, "0")
	}
	v := "v" + strings.Join(parts, ".") + pre
	if !semver.IsValid(v) {
		return "", false
	}
	return v, true
}

func compareGo(a, b string) (int, error) {
	ca, ok := GoSemVer(a)
	if !ok {
		return 0, invalid(Go, a, errNotSemVer)
	}
	cb, ok := GoSemVer(b)
	if !ok {
		return 0, invalid(Go, b, errNotSemVer)
	}
	return semver.Compare(ca, cb), nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func trimZerosKeepOne(s string) string {
	if t := trimZeros(s); t != "" {
		return t
	}
	return "0"
}
