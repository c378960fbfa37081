package vulndb

import (
	"regexp"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// SplitEcosystem splits an OSV ecosystem into its name and release, the way
// the index stores them: "Debian:12" → ("Debian", "12"), "Alpine:v3.19" →
// ("Alpine", "v3.19"), "Ubuntu:22.04:LTS" → ("Ubuntu", "22.04"),
// "Ubuntu:Pro:18.04:LTS" → ("Ubuntu", "Pro:18.04"), "Go" → ("Go", "").
func SplitEcosystem(eco string) (catalog.Ecosystem, string) {
	name, release, _ := strings.Cut(eco, ":")
	return catalog.Ecosystem(name), NormalizeRelease(catalog.Ecosystem(name), release)
}

var alpineRelease = regexp.MustCompile(`^v?(\d+)\.(\d+)`)

// DebianRelease maps a Debian codename ("bookworm") to its release ("12");
// false for a name it does not know. sid has no number and keeps its name.
func DebianRelease(codename string) (string, bool) {
	switch strings.ToLower(codename) {
	case "buzz":
		return "1.1", true
	case "rex":
		return "1.2", true
	case "bo":
		return "1.3", true
	case "hamm":
		return "2.0", true
	case "slink":
		return "2.1", true
	case "potato":
		return "2.2", true
	case "woody":
		return "3.0", true
	case "sarge":
		return "3.1", true
	case "etch":
		return "4", true
	case "lenny":
		return "5", true
	case "squeeze":
		return "6", true
	case "wheezy":
		return "7", true
	case "jessie":
		return "8", true
	case "stretch":
		return "9", true
	case "buster":
		return "10", true
	case "bullseye":
		return "11", true
	case "bookworm":
		return "12", true
	case "trixie":
		return "13", true
	case "forky":
		return "14", true
	case "duke":
		return "15", true
	case "sid":
		return "sid", true
	}
	return "", false
}

// NormalizeRelease turns what an image's OS says (VERSION_ID, codename) into
// the release form the feeds use: Alpine "3.19.1" → "v3.19", Debian
// "bookworm" or "12.5" → "12", Ubuntu "22.04:LTS" → "22.04".
func NormalizeRelease(eco catalog.Ecosystem, release string) string {
	release = strings.TrimSpace(release)
	if release == "" {
		return ""
	}
	switch eco {
	case catalog.Alpine:
		if m := alpineRelease.FindStringSubmatch(release); m != nil {
			return "v" + m[1] + "." + m[2]
		}
		if release == "edge" {
			return "edge"
		}
	case catalog.Debian:
		if r, ok := DebianRelease(release); ok {
			return r
		}
		// Point releases ("12.5") are the same release.
		if major, _, ok := strings.Cut(release, "."); ok && major != "" && allDigits(major) {
			n := major
			if n == "1" || n == "2" || n == "3" {
				return release // the old two-part releases
			}
			return n
		}
	case catalog.Ubuntu:
		return strings.TrimSuffix(release, ":LTS")
	case catalog.RedHat, catalog.Rocky, catalog.AlmaLinux:
		// OSV names Red Hat streams "enterprise_linux:9::appstream" (Rocky
		// and Alma plain "9"), images say VERSION_ID "9.4": both are the
		// major release, the unit errata are published for.
		if major := rpmMajor(release); major != "" {
			return major
		}
	}
	return release
}

// rpmMajor is the first run of digits in a Red Hat-family release string.
func rpmMajor(release string) string {
	start := strings.IndexFunc(release, func(r rune) bool { return r >= '0' && r <= '9' })
	if start < 0 {
		return ""
	}
	end := start
	for end < len(release) && release[end] >= '0' && release[end] <= '9' {
		end++
	}
	return release[start:end]
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// NormalizeName puts a package name in the form the index keys it by. Only
// PyPI names need it (PEP 503: case-insensitive, runs of "-", "_", "."
// equal); every other ecosystem compares names exactly.
func NormalizeName(eco catalog.Ecosystem, name string) string {
	if eco != catalog.PyPI {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteByte(c)
	}
	return b.String()
}
