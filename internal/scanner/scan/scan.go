// Package scan holds the result of scanning one image: its metadata from the
// registry, its catalog, and the vulnerabilities that affect each component.
// It is what the CLI prints, what Central stores, and what the policy
// engine's image criteria read.
package scan

import (
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// Image is a scanned image.
type Image struct {
	// Name is the reference as asked for ("nginx:1.25"), FullName its
	// normalized form ("docker.io/library/nginx:1.25").
	Name     string `json:"name"`
	FullName string `json:"fullName"`
	Registry string `json:"registry"`
	Remote   string `json:"remote"`
	Tag      string `json:"tag,omitempty"`
	// Digest is the manifest digest the tag resolved to (for a multi-arch
	// index, the digest of the chosen platform's manifest); IndexDigest is
	// the index's digest when there was one.
	Digest      string `json:"digest"`
	IndexDigest string `json:"indexDigest,omitempty"`
	Platform    string `json:"platform,omitempty"` // "linux/amd64"

	Metadata Metadata    `json:"metadata"`
	OS       *catalog.OS `json:"os,omitempty"`
	// Components are the packages found, each with the vulnerabilities
	// affecting it.
	Components []Component `json:"components"`

	ScanTime time.Time `json:"scanTime"`
	// Notes are problems that did not stop the scan.
	Notes []string `json:"notes,omitempty"`
}

// Metadata is what the image config says.
type Metadata struct {
	Created      time.Time         `json:"created,omitzero"`
	User         string            `json:"user,omitempty"`
	Env          []string          `json:"env,omitempty"`
	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Cmd          []string          `json:"cmd,omitempty"`
	WorkingDir   string            `json:"workingDir,omitempty"`
	ExposedPorts []string          `json:"exposedPorts,omitempty"` // "22/tcp"
	Volumes      []string          `json:"volumes,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	// Layers lists the history with the Dockerfile line that made each step;
	// empty layers (ENV, LABEL, …) have no digest.
	Layers []Layer `json:"layers"`
}

// Layer is one history step of the image.
type Layer struct {
	Instruction string    `json:"instruction"` // RUN, COPY, ADD, ENV, EXPOSE, USER, …
	Value       string    `json:"value"`       // the rest of the Dockerfile line
	Created     time.Time `json:"created,omitzero"`
	Digest      string    `json:"digest,omitempty"`
	Size        int64     `json:"size,omitempty"`
	Empty       bool      `json:"empty,omitempty"`
}

// Component is a package with its vulnerabilities.
type Component struct {
	catalog.Component
	Vulns []Vuln `json:"vulns,omitempty"`
}

// Severity of a vulnerability, with ACS's names for image findings.
type Severity string

// Vulnerability severities, lowest first.
const (
	SeverityUnknown   Severity = "UNKNOWN"
	SeverityLow       Severity = "LOW"
	SeverityModerate  Severity = "MODERATE"
	SeverityImportant Severity = "IMPORTANT"
	SeverityCritical  Severity = "CRITICAL"
)

// Rank orders severities: UNKNOWN 0 … CRITICAL 4.
func (s Severity) Rank() int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityModerate:
		return 2
	case SeverityImportant:
		return 3
	case SeverityCritical:
		return 4
	}
	return 0
}

// Vuln is one vulnerability affecting a component.
type Vuln struct {
	ID       string   `json:"id"`                // "CVE-2023-4911", "GO-2024-2687", "GHSA-…"
	Aliases  []string `json:"aliases,omitempty"` // other ids of the same vulnerability
	Summary  string   `json:"summary,omitempty"`
	Link     string   `json:"link,omitempty"`
	Severity Severity `json:"severity"`
	// CVSS is the CVSS v3 base score (from the vector when only a vector is
	// known), 0 when unknown; NVDCVSS is NVD's score when NVD data was imported.
	CVSS       float64 `json:"cvss,omitempty"`
	CVSSVector string  `json:"cvssVector,omitempty"`
	NVDCVSS    float64 `json:"nvdCvss,omitempty"`
	// FixedBy is the first version that fixes it; empty when no fix exists.
	FixedBy   string    `json:"fixedBy,omitempty"`
	Published time.Time `json:"published,omitzero"`
	// FirstSeenInImage and FirstSeenInSystem are when Central first saw the
	// vulnerability in this image and in any image (zero from the CLI).
	FirstSeenInImage  time.Time `json:"firstSeenInImage,omitzero"`
	FirstSeenInSystem time.Time `json:"firstSeenInSystem,omitzero"`
}
