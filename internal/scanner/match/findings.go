package match

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/version"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

// hit is one record that affects a component.
type hit struct {
	rec     *vulndb.Record
	fixedBy string
}

// finding is one vulnerability of a component: the hits that describe the
// same issue (linked by ids and aliases), merged.
type finding struct {
	id      string
	aliases []string
	primary *vulndb.Record
	hits    []hit
	fixedBy string
	// cvss is the best CVSS v3 rating any of the records carries; label is
	// the highest severity a feed's own label gives.
	cvss  vulndb.Rating
	label scan.Severity
	// cve is the CVE whose NVD scoring applies; nvd is that scoring.
	cve string
	nvd *vulndb.CVSS
}

// componentFindings evaluates the records found for a component.
func (m *Matcher) componentFindings(l *lookup, c *catalog.Component, byName map[string][]vulndb.Record) []*finding {
	seen := map[string]bool{}
	var hits []hit
	for _, name := range l.names {
		for i := range byName[name] {
			r := &byName[name][i]
			if seen[r.ID] || r.Withdrawn != nil {
				continue
			}
			seen[r.ID] = true
			if h, ok := m.recordHit(l, c, r); ok {
				hits = append(hits, h)
			}
		}
	}
	return merge(l, hits)
}

// recordHit evaluates the record's entries that are about this component
// in this release; the record affects the component when any of them does.
func (m *Matcher) recordHit(l *lookup, c *catalog.Component, r *vulndb.Record) (hit, bool) {
	h := hit{rec: r}
	affected := false
	for i := range r.Affected {
		a := &r.Affected[i]
		eco, release := vulndb.SplitEcosystem(a.Package.Ecosystem)
		if eco != l.eco || (release != "" && release != l.release) {
			continue
		}
		bySource := isDistro(l.scheme) && a.SourcePackage()
		if !m.namesComponent(l, c, a, bySource) {
			continue
		}
		v, err := evaluate(l.scheme, l.semver, installedFor(l, c, bySource), a)
		if err != nil {
			m.log.Warn("record version does not parse; range skipped",
				"id", r.ID, "package", a.Package.Name, "ecosystem", a.Package.Ecosystem, "error", err)
		}
		if !v.affected {
			continue
		}
		affected = true
		if v.fixedBy != "" && (h.fixedBy == "" || less(l.scheme, v.fixedBy, h.fixedBy)) {
			h.fixedBy = v.fixedBy
		}
	}
	return h, affected
}

// namesComponent reports whether an affected entry names the component:
// by source package or by binary package for distributions, by module,
// package or artifact name elsewhere ("stdlib" also answering to
// "toolchain" for a Go toolchain's own binaries).
func (m *Matcher) namesComponent(l *lookup, c *catalog.Component, a *vulndb.Affected, bySource bool) bool {
	want := vulndb.NormalizeName(l.eco, a.Package.Name)
	switch {
	case bySource:
		return want == vulndb.NormalizeName(l.eco, sourceName(c))
	case l.scheme == version.Go:
		return slices.Contains(l.names, want)
	}
	return want == vulndb.NormalizeName(l.eco, c.Name)
}

func isDistro(s version.Scheme) bool {
	return s == version.Dpkg || s == version.APK || s == version.RPM
}

// merge groups hits that share an id or alias into findings.
func merge(l *lookup, hits []hit) []*finding {
	if len(hits) == 0 {
		return nil
	}
	// Union-find over hits, joined through every identifier they carry.
	parent := make([]int, len(hits))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	for i, h := range hits {
		for _, id := range identifiers(h.rec) {
			if j, ok := owner[id]; ok {
				parent[find(i)] = find(j)
			} else {
				owner[id] = i
			}
		}
	}
	groups := map[int][]hit{}
	var roots []int
	for i, h := range hits {
		r := find(i)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], h)
	}
	out := make([]*finding, 0, len(roots))
	for _, r := range roots {
		out = append(out, newFinding(l, groups[r]))
	}
	slices.SortFunc(out, func(a, b *finding) int { return strings.Compare(a.id, b.id) })
	return out
}

// identifiers are a record's id, its aliases, and the CVE inside a
// distribution id such as DEBIAN-CVE-2023-4911.
func identifiers(r *vulndb.Record) []string {
	ids := append([]string{r.ID}, r.Aliases...)
	if cve := embeddedCVE.FindString(r.ID); cve != "" && cve != r.ID {
		ids = append(ids, cve)
	}
	return ids
}

var embeddedCVE = regexp.MustCompile(`CVE-\d{4}-\d{4,}`)

// newFinding merges the hits of one issue. The id is a CVE when a record
// is one or is a distribution's per-CVE record (DEBIAN-CVE-…,
// UBUNTU-CVE-…); otherwise the record id of the ecosystem's own database
// (GO-, PYSEC-, RUSTSEC-…) before a GHSA id. Every other id and alias is
// kept as an alias.
func newFinding(l *lookup, hits []hit) *finding {
	slices.SortFunc(hits, func(a, b hit) int { return strings.Compare(a.rec.ID, b.rec.ID) })
	f := &finding{hits: hits}
	f.id, f.primary = chooseID(hits)

	all := map[string]bool{}
	for _, h := range hits {
		for _, id := range identifiers(h.rec) {
			all[id] = true
		}
	}
	delete(all, f.id)
	for id := range all {
		f.aliases = append(f.aliases, id)
	}
	slices.Sort(f.aliases)

	f.label = scan.SeverityUnknown
	for _, h := range hits {
		// The fix for the merged issue is the newest any record asks for.
		if h.fixedBy != "" && (f.fixedBy == "" || less(l.scheme, f.fixedBy, h.fixedBy)) {
			f.fixedBy = h.fixedBy
		}
		rt := vulndb.SeverityFor(h.rec)
		if rt.Vector != "" && rt.Score > f.cvss.Score {
			f.cvss = rt
		} else if rt.Vector == "" && rt.Severity.Rank() > f.label.Rank() {
			f.label = rt.Severity
		}
	}
	if strings.HasPrefix(f.id, "CVE-") {
		f.cve = f.id
	} else {
		for _, a := range f.aliases {
			if strings.HasPrefix(a, "CVE-") {
				f.cve = a
				break
			}
		}
	}
	return f
}

func chooseID(hits []hit) (string, *vulndb.Record) {
	for _, h := range hits {
		if strings.HasPrefix(h.rec.ID, "CVE-") {
			return h.rec.ID, h.rec
		}
	}
	for _, h := range hits {
		if cve := embeddedCVE.FindString(h.rec.ID); cve != "" {
			return cve, h.rec
		}
	}
	for _, h := range hits {
		if !strings.HasPrefix(h.rec.ID, "GHSA-") {
			return h.rec.ID, h.rec
		}
	}
	return hits[0].rec.ID, hits[0].rec
}

// vuln turns a finding into what a scan reports. Severity comes from a CVSS
// v3 score (a record's vector, else NVD's), else from a feed's label.
func (f *finding) vuln(eco catalog.Ecosystem) scan.Vuln {
	v := scan.Vuln{
		ID:       f.id,
		Aliases:  f.aliases,
		Summary:  f.summary(),
		Link:     f.link(eco),
		FixedBy:  f.fixedBy,
		Severity: f.label,
	}
	switch {
	case f.cvss.Vector != "":
		v.CVSS, v.CVSSVector, v.Severity = f.cvss.Score, f.cvss.Vector, f.cvss.Severity
	case f.nvd != nil && f.nvd.Score > 0:
		v.CVSS, v.CVSSVector, v.Severity = f.nvd.Score, f.nvd.Vector, vulndb.SeverityForScore(f.nvd.Score)
	}
	if f.nvd != nil {
		v.NVDCVSS = f.nvd.Score
	}
	for _, h := range f.hits {
		if p := h.rec.Published; !p.IsZero() && (v.Published.IsZero() || p.Before(v.Published)) {
			v.Published = p.UTC().Truncate(time.Second)
		}
	}
	return v
}

const maxSummary = 200

func (f *finding) summary() string {
	if f.primary.Summary != "" {
		return f.primary.Summary
	}
	for _, h := range f.hits {
		if h.rec.Summary != "" {
			return h.rec.Summary
		}
	}
	for _, h := range f.hits {
		if d := strings.TrimSpace(h.rec.Details); d != "" {
			d, _, _ = strings.Cut(d, "\n")
			if len(d) > maxSummary {
				d = strings.ToValidUTF8(d[:maxSummary], "") + "…"
			}
			return d
		}
	}
	return ""
}

// link is the first ADVISORY or WEB reference of the primary record (then
// of the others), else the well-known page for the id.
func (f *finding) link(eco catalog.Ecosystem) string {
	recs := []*vulndb.Record{f.primary}
	for _, h := range f.hits {
		if h.rec != f.primary {
			recs = append(recs, h.rec)
		}
	}
	for _, r := range recs {
		for _, ref := range r.References {
			if ref.Type == "ADVISORY" || ref.Type == "WEB" {
				return ref.URL
			}
		}
	}
	return wellKnownLink(f.id, eco)
}

func wellKnownLink(id string, eco catalog.Ecosystem) string {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		switch eco {
		case catalog.Debian:
			return "https://security-tracker.debian.org/tracker/" + id
		case catalog.Ubuntu:
			return "https://ubuntu.com/security/" + id
		case catalog.Alpine:
			return "https://security.alpinelinux.org/vuln/" + id
		}
		return "https://nvd.nist.gov/vuln/detail/" + id
	case strings.HasPrefix(id, "GHSA-"):
		return "https://github.com/advisories/" + id
	case strings.HasPrefix(id, "GO-"):
		return "https://pkg.go.dev/vuln/" + id
	case strings.HasPrefix(id, "RUSTSEC-"):
		return "https://rustsec.org/advisories/" + id
	}
	return "https://osv.dev/vulnerability/" + id
}
