package vulndb

import (
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// SeverityForScore maps a CVSS base score to a severity: below 4 LOW,
// below 7 MODERATE, below 9 IMPORTANT, else CRITICAL.
func SeverityForScore(score float64) scan.Severity {
	switch {
	case score < 4:
		return scan.SeverityLow
	case score < 7:
		return scan.SeverityModerate
	case score < 9:
		return scan.SeverityImportant
	}
	return scan.SeverityCritical
}

// SeverityForLabel maps a feed's own severity word to a severity: GHSA
// (LOW, MODERATE, HIGH, CRITICAL), NVD (NONE … CRITICAL), Debian urgency
// (unimportant, low, medium, high; "**" marks are ignored), Ubuntu
// priority (negligible … critical) and Red Hat (Low … Critical). Words that
// say nothing ("not yet assigned", "end-of-life") are UNKNOWN.
func SeverityForLabel(label string) scan.Severity {
	switch strings.ToLower(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(label), "*"))) {
	case "none", "negligible", "unimportant", "low":
		return scan.SeverityLow
	case "moderate", "medium":
		return scan.SeverityModerate
	case "high", "important":
		return scan.SeverityImportant
	case "critical":
		return scan.SeverityCritical
	}
	return scan.SeverityUnknown
}

// Rating is a record's severity and, when it has a CVSS v3 vector, the
// vector and its base score.
type Rating struct {
	Severity scan.Severity
	Score    float64
	Vector   string
}

// SeverityFor rates a record: from its CVSS v3 vector when it has a valid
// one (the score is computed from the vector), else from the feed's label
// (database_specific.severity, as GHSA and the Debian tracker import set
// it, or an Ubuntu priority in severity[]), else UNKNOWN.
func SeverityFor(r *Record) Rating {
	for _, s := range r.Severity {
		if s.Type != "CVSS_V3" {
			continue
		}
		score, err := CVSSScore(s.Score)
		if err != nil {
			continue
		}
		return Rating{Severity: SeverityForScore(score), Score: score, Vector: s.Score}
	}
	if label, ok := r.DatabaseSpecific["severity"].(string); ok {
		if sev := SeverityForLabel(label); sev != scan.SeverityUnknown {
			return Rating{Severity: sev}
		}
	}
	for _, s := range r.Severity {
		if s.Type == "Ubuntu" {
			if sev := SeverityForLabel(s.Score); sev != scan.SeverityUnknown {
				return Rating{Severity: sev}
			}
		}
	}
	return Rating{Severity: scan.SeverityUnknown}
}
