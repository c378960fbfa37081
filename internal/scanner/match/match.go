// Package match finds the vulnerabilities that affect an image's packages:
// it looks each component up in the vulnerability database and evaluates
// the records' OSV ranges against the installed version in the ecosystem's
// own version order.
//
// The one idea: distribution feeds are keyed by source package and release.
// A Debian, Ubuntu or Alpine package is looked up by its source package (dpkg
// Source, apk origin) in the image's release ("Debian:12", "Alpine:v3.19"),
// and the fixed versions, being source versions, are compared with the
// component's source version. A fix published for bookworm says nothing
// about bullseye. Language packages are looked up by name in their
// ecosystem; a Go binary's "stdlib" component matches the Go vulnerability
// database's standard-library records.
package match

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/version"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

// DB is what matching needs from the vulnerability database;
// *vulndb.DB implements it.
type DB interface {
	// BulkAffecting returns, per package name as given, the records that
	// are not withdrawn and name the package in the ecosystem, for the
	// release or for no release.
	BulkAffecting(ctx context.Context, eco catalog.Ecosystem, release string, pkgs []string) (map[string][]vulndb.Record, error)
	// NVD returns NVD's CVSS v3 scoring of those CVEs it has.
	NVD(ctx context.Context, cveIDs []string) (map[string]vulndb.CVSS, error)
}

// Matcher matches components against a vulnerability database.
type Matcher struct {
	db  DB
	log *slog.Logger
}

// New returns a matcher over db. Problems that do not stop matching (a
// version that does not parse in its ecosystem, in a component or in a
// record) are logged to log, which may be nil.
func New(db DB, log *slog.Logger) *Matcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Matcher{db: db, log: log}
}

// Match is New(db, nil).Match(ctx, os, comps).
func Match(ctx context.Context, db DB, os *catalog.OS, comps []catalog.Component) ([]scan.Component, error) {
	return New(db, nil).Match(ctx, os, comps)
}

// lookup is where one component's vulnerabilities are looked up and how
// its versions compare.
type lookup struct {
	eco     catalog.Ecosystem // the feed ecosystem, without release
	release string            // normalized release, "" for none
	scheme  version.Scheme    // ECOSYSTEM ranges
	semver  version.Scheme    // SEMVER ranges
	names   []string          // the names to query: source and binary
}

type groupKey struct {
	eco     catalog.Ecosystem
	release string
}

// Match returns the components in the order given, each with the
// vulnerabilities affecting it (sorted by id). Components of ecosystems
// without a version scheme, or whose version does not parse, have none.
// The error is for the database and the context only.
func (m *Matcher) Match(ctx context.Context, os *catalog.OS, comps []catalog.Component) ([]scan.Component, error) {
	out := make([]scan.Component, len(comps))
	lookups := make([]*lookup, len(comps))
	groups := map[groupKey][]string{}
	for i := range comps {
		out[i].Component = comps[i]
		l := m.plan(os, &comps[i])
		if l == nil {
			continue
		}
		lookups[i] = l
		k := groupKey{l.eco, l.release}
		groups[k] = append(groups[k], l.names...)
	}

	found := make(map[groupKey]map[string][]vulndb.Record, len(groups))
	for k, names := range groups {
		slices.Sort(names)
		names = slices.Compact(names)
		recs, err := m.db.BulkAffecting(ctx, k.eco, k.release, names)
		if err != nil {
			return nil, fmt.Errorf("match %s packages: %w", k.eco, err)
		}
		found[k] = recs
	}

	perComp := make([][]*finding, len(comps))
	var cves []string
	for i, l := range lookups {
		if l == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		perComp[i] = m.componentFindings(l, &comps[i], found[groupKey{l.eco, l.release}])
		for _, f := range perComp[i] {
			if f.cve != "" {
				cves = append(cves, f.cve)
			}
		}
	}

	if len(cves) > 0 {
		slices.Sort(cves)
		cves = slices.Compact(cves)
		nvd, err := m.db.NVD(ctx, cves)
		if err != nil {
			return nil, fmt.Errorf("match: %w", err)
		}
		for _, fs := range perComp {
			for _, f := range fs {
				if c, ok := nvd[f.cve]; ok {
					f.nvd = &c
				}
			}
		}
	}
	for i, fs := range perComp {
		if len(fs) == 0 {
			continue
		}
		out[i].Vulns = make([]scan.Vuln, len(fs))
		for j, f := range fs {
			out[i].Vulns[j] = f.vuln(lookups[i].eco)
		}
	}
	return out, nil
}

// plan decides where a component is looked up; nil when it cannot be.
func (m *Matcher) plan(os *catalog.OS, c *catalog.Component) *lookup {
	s, err := version.SchemeFor(c.Ecosystem)
	if err != nil {
		return nil
	}
	l := &lookup{eco: c.Ecosystem, scheme: s, semver: version.SemVer}
	switch s {
	case version.Dpkg, version.APK, version.RPM:
		l.eco, l.release = distro(os, s, c.Ecosystem)
		l.names = []string{sourceName(c)}
		if c.Name != l.names[0] {
			l.names = append(l.names, c.Name)
		}
	case version.Go:
		l.semver = version.Go
		l.names = []string{c.Name}
		if c.Name == stdlib && goToolchainBinary(c.Path) {
			l.names = append(l.names, toolchain)
		}
	default:
		l.names = []string{c.Name}
	}
	if err := s.Validate(installedFor(l, c, true)); err != nil {
		m.log.Warn("component version does not parse; not matched",
			"component", c.Name, "version", c.Version, "ecosystem", c.Ecosystem, "error", err)
		return nil
	}
	return l
}

// installedFor is the version compared with an entry's events: the source
// version for entries keyed by source package, the package's own otherwise.
func installedFor(l *lookup, c *catalog.Component, bySource bool) string {
	if bySource && (l.scheme == version.Dpkg || l.scheme == version.APK || l.scheme == version.RPM) {
		return sourceVersion(c)
	}
	return c.Version
}

func sourceName(c *catalog.Component) string {
	if c.SourceName != "" {
		return c.SourceName
	}
	return c.Name
}

func sourceVersion(c *catalog.Component) string {
	if c.SourceVersion != "" {
		return c.SourceVersion
	}
	return c.Version
}

// The Go vulnerability database's names for the standard library and for
// the go command.
const (
	stdlib    = "stdlib"
	toolchain = "toolchain"
)

// goToolchainBinary reports whether a Go binary is part of a Go toolchain
// (the go command, gofmt, the tools under pkg/tool): the "toolchain"
// records are about those, not about programs built with them, which is
// also how govulncheck sees a binary.
func goToolchainBinary(path string) bool {
	base := path[strings.LastIndexByte(path, '/')+1:]
	dir := strings.TrimSuffix(path, base)
	switch {
	case (base == "go" || base == "gofmt") && strings.HasSuffix(dir, "bin/"):
		return true
	case strings.Contains(path, "pkg/tool/"):
		return true
	}
	return false
}

// distro returns the feed ecosystem and normalized release for a
// distribution package, from the image's OS. A package whose format does
// not belong to the OS (or an image without a known OS) keeps its own
// ecosystem and no release, which matches only release-less records.
func distro(os *catalog.OS, s version.Scheme, own catalog.Ecosystem) (catalog.Ecosystem, string) {
	if os == nil {
		return own, ""
	}
	release := os.VersionID
	var eco catalog.Ecosystem
	switch s {
	case version.Dpkg:
		switch os.ID {
		case "debian":
			eco = catalog.Debian
			if release == "" {
				release = os.VersionCodename // testing and sid have no VERSION_ID
			}
		case "ubuntu":
			eco = catalog.Ubuntu
		}
	case version.APK:
		switch os.ID {
		case "alpine":
			eco = catalog.Alpine
		case "wolfi":
			eco, release = "Wolfi", ""
		case "chainguard":
			eco, release = "Chainguard", ""
		}
	case version.RPM:
		switch os.ID {
		case "rhel":
			eco = catalog.RedHat
		case "rocky":
			eco = catalog.Rocky
		case "almalinux":
			eco = catalog.AlmaLinux
		}
		release, _, _ = strings.Cut(release, ".")
	}
	if eco == "" {
		return own, ""
	}
	return eco, vulndb.NormalizeRelease(eco, release)
}
