// Package vulndb is Stockade's vulnerability database: records imported from
// OSV (every ecosystem), the Debian Security Tracker, Alpine secdb and NVD
// (CVSS enrichment), kept in SQLite (the CLI's file, Central's data
// directory) or in PostgreSQL (Central's database), and queried by
// ecosystem and package.
package vulndb

import "time"

// Record is one vulnerability in OSV form (https://ossf.github.io/osv-schema/).
// Records from other feeds are converted to it on import.
type Record struct {
	ID        string     `json:"id"`
	Aliases   []string   `json:"aliases,omitempty"`
	Related   []string   `json:"related,omitempty"`
	Summary   string     `json:"summary,omitempty"`
	Details   string     `json:"details,omitempty"`
	Published time.Time  `json:"published,omitzero"`
	Modified  time.Time  `json:"modified"`
	Withdrawn *time.Time `json:"withdrawn,omitempty"`
	Severity  []Severity `json:"severity,omitempty"`
	Affected  []Affected `json:"affected,omitempty"`
	// References are links; the first ADVISORY or WEB one is the finding's link.
	References []Reference `json:"references,omitempty"`
	// Source names the feed the record came from ("osv", "debian", "alpine", "nvd").
	Source string `json:"source,omitempty"`
	// DatabaseSpecific carries a feed's own severity label (Debian urgency,
	// GHSA severity) as "severity": "HIGH".
	DatabaseSpecific map[string]any `json:"database_specific,omitempty"`
}

// Severity is a scoring of the vulnerability, e.g. {CVSS_V3, "CVSS:3.1/AV:N/…"}.
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Affected is one package and the versions of it that are vulnerable.
type Affected struct {
	Package  Package  `json:"package"`
	Ranges   []Range  `json:"ranges,omitempty"`
	Versions []string `json:"versions,omitempty"`
	// EcosystemSpecific and DatabaseSpecific are kept as OSV has them.
	EcosystemSpecific map[string]any `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  map[string]any `json:"database_specific,omitempty"`
}

// Package names a package within an ecosystem. Ecosystem may carry a release
// after a colon ("Debian:12", "Alpine:v3.19", "Ubuntu:22.04:LTS").
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	PURL      string `json:"purl,omitempty"`
}

// Range is a version range made of introduced/fixed/last_affected events.
type Range struct {
	Type   string  `json:"type"` // ECOSYSTEM, SEMVER or GIT
	Repo   string  `json:"repo,omitempty"`
	Events []Event `json:"events"`
}

// Event is one boundary of a range; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Reference is a link.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}
