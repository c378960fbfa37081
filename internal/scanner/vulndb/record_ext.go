package vulndb

import "strings"

// PackageKindKey is the key in Affected.DatabaseSpecific that says what
// kind of package name the entry carries; PackageKindSource means a source
// package (Debian tracker, Alpine secdb origin), which the matcher compares
// with a component's SourceName.
const (
	PackageKindKey    = "package_kind"
	PackageKindSource = "source"
)

// SourcePackage reports whether the entry names a source package rather than
// a binary one: entries imported from the Debian tracker and Alpine secdb
// say so, and OSV's Debian, Ubuntu and Alpine records are keyed by source
// package too.
func (a Affected) SourcePackage() bool {
	if k, ok := a.DatabaseSpecific[PackageKindKey].(string); ok {
		return k == PackageKindSource
	}
	eco, _, _ := strings.Cut(a.Package.Ecosystem, ":")
	switch eco {
	case "Debian", "Ubuntu", "Alpine":
		return true
	}
	return false
}

// CVEs are the CVE ids the record is about: its id when that is a CVE, its
// CVE aliases, and the CVE inside ids like UBUNTU-CVE-2023-4911 or
// DEBIAN-CVE-2023-4911. They are the keys of NVD's scores.
func (r *Record) CVEs() []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if strings.HasPrefix(s, "CVE-") && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(r.ID)
	for _, a := range r.Aliases {
		add(a)
	}
	if m := embeddedCVE.FindString(r.ID); m != "" {
		add(m)
	}
	return out
}
