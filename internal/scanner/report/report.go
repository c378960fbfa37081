// Package report renders image scan results (scan.Image) for people (a
// table), for scripts (JSON, CSV) and for CI systems (SARIF 2.1.0).
//
// The one idea: a finding is one vulnerability in one component. Every
// renderer lists the findings in the same order — most severe first, then by
// CVSS, id and component — after the same severity filter, so the formats
// tell the same story. Text that comes from the image (package names,
// versions, paths) is untrusted: the table strips control characters, and
// the JSON, CSV and SARIF encoders escape.
package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// Severities lists the severities a filter may name, lowest first.
func Severities() []scan.Severity {
	return []scan.Severity{scan.SeverityUnknown, scan.SeverityLow, scan.SeverityModerate, scan.SeverityImportant, scan.SeverityCritical}
}

// ParseSeverities reads a --severity list ("LOW,MODERATE", "critical"):
// ACS's names, case-insensitive, with "MEDIUM" and "HIGH" accepted for
// MODERATE and IMPORTANT. Each value may itself be comma-separated. An
// empty list is nil, which selects every severity.
func ParseSeverities(values []string) ([]scan.Severity, error) {
	var out []scan.Severity
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.ToUpper(strings.TrimSpace(part))
			if part == "" {
				continue
			}
			var s scan.Severity
			switch part {
			case "MEDIUM":
				s = scan.SeverityModerate
			case "HIGH":
				s = scan.SeverityImportant
			default:
				s = scan.Severity(part)
				if !slices.Contains(Severities(), s) {
					return nil, fmt.Errorf("unknown severity %q (want %s)", part, severityNames())
				}
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

func severityNames() string {
	var names []string
	for _, s := range Severities() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// Filter returns a copy of img whose components keep only the
// vulnerabilities of the given severities; nil or empty keeps all. The
// components themselves are all kept.
func Filter(img *scan.Image, severities []scan.Severity) *scan.Image {
	out := *img
	out.Components = make([]scan.Component, len(img.Components))
	for i, c := range img.Components {
		c.Vulns = slices.Clone(c.Vulns)
		if len(severities) > 0 {
			c.Vulns = slices.DeleteFunc(c.Vulns, func(v scan.Vuln) bool { return !slices.Contains(severities, v.Severity) })
		}
		if len(c.Vulns) == 0 {
			c.Vulns = nil
		}
		out.Components[i] = c
	}
	return &out
}

// Finding is one vulnerability in one component.
type Finding struct {
	Component *scan.Component
	Vuln      *scan.Vuln
}

// Findings lists every component × vulnerability of img, most severe first,
// then by CVSS (highest first), vulnerability id, component name, version
// and path.
func Findings(img *scan.Image) []Finding {
	var out []Finding
	for i := range img.Components {
		c := &img.Components[i]
		for j := range c.Vulns {
			out = append(out, Finding{Component: c, Vuln: &c.Vulns[j]})
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(b.Vuln.Severity.Rank(), a.Vuln.Severity.Rank()),
			cmp.Compare(b.Vuln.CVSS, a.Vuln.CVSS),
			strings.Compare(a.Vuln.ID, b.Vuln.ID),
			strings.Compare(a.Component.Name, b.Component.Name),
			strings.Compare(a.Component.Version, b.Component.Version),
			strings.Compare(a.Component.Path, b.Component.Path),
		)
	})
	return out
}

// Summary counts what a scan found. Vulnerabilities are counted once per id
// however many components they affect (a glibc CVE in libc6 and libc-bin
// is one), at the highest severity any finding gives them; a vulnerability
// is fixable when some affected component has a fixed version.
type Summary struct {
	Vulnerabilities int `json:"vulnerabilities"`
	Critical        int `json:"critical"`
	Important       int `json:"important"`
	Moderate        int `json:"moderate"`
	Low             int `json:"low"`
	Unknown         int `json:"unknown"`
	Fixable         int `json:"fixable"`
	// Affected is the number of components with at least one
	// vulnerability; Components the number of components found.
	Affected   int `json:"affectedComponents"`
	Components int `json:"components"`
}

// Summarize counts the findings of img.
func Summarize(img *scan.Image) Summary {
	s := Summary{Components: len(img.Components)}
	sev := map[string]scan.Severity{}
	fixable := map[string]bool{}
	for _, c := range img.Components {
		if len(c.Vulns) > 0 {
			s.Affected++
		}
		for _, v := range c.Vulns {
			if old, ok := sev[v.ID]; !ok || v.Severity.Rank() > old.Rank() {
				sev[v.ID] = v.Severity
			}
			if v.FixedBy != "" {
				fixable[v.ID] = true
			}
		}
	}
	s.Vulnerabilities, s.Fixable = len(sev), len(fixable)
	for _, v := range sev {
		switch v {
		case scan.SeverityCritical:
			s.Critical++
		case scan.SeverityImportant:
			s.Important++
		case scan.SeverityModerate:
			s.Moderate++
		case scan.SeverityLow:
			s.Low++
		default:
			s.Unknown++
		}
	}
	return s
}

// String is the summary line of the table:
// "16 vulnerabilities (1 critical, 3 important, 9 moderate, 3 low) in 12 components, 15 fixable",
// or "No vulnerabilities found in 91 components".
func (s Summary) String() string {
	if s.Vulnerabilities == 0 {
		return fmt.Sprintf("No vulnerabilities found in %d %s", s.Components, plural(s.Components, "component", "components"))
	}
	counts := fmt.Sprintf("%d critical, %d important, %d moderate, %d low", s.Critical, s.Important, s.Moderate, s.Low)
	if s.Unknown > 0 {
		counts += fmt.Sprintf(", %d unknown", s.Unknown)
	}
	return fmt.Sprintf("%d %s (%s) in %d %s, %d fixable",
		s.Vulnerabilities, plural(s.Vulnerabilities, "vulnerability", "vulnerabilities"), counts,
		s.Affected, plural(s.Affected, "component", "components"), s.Fixable)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
