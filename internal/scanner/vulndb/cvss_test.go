package vulndb

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// TestCVSSScoreNVDSample checks every vector of the NVD sample against the
// base score recorded beside it, and against NVD's published score where
// there is one.
func TestCVSSScoreNVDSample(t *testing.T) {
	f, err := os.Open(dataPath(t, "vulns/nvd-sample/cvss-v3-sample.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 13 {
		t.Fatalf("sample has %d rows", len(rows))
	}
	published := 0
	for _, row := range rows[1:] {
		cve, vector := row[0], row[1]
		want, err := strconv.ParseFloat(row[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		got, err := CVSSScore(vector)
		if err != nil {
			t.Errorf("%s %s: %v", cve, vector, err)
			continue
		}
		if got != want {
			t.Errorf("%s %s: score %v, want %v", cve, vector, got, want)
		}
		if row[4] != "" {
			published++
			if p, _ := strconv.ParseFloat(row[4], 64); p != got {
				t.Errorf("%s: score %v, NVD published %v", cve, got, p)
			}
		}
		// The sample's severity column uses NVD's words.
		if sev := SeverityForLabel(row[3]); sev != SeverityForScore(got) {
			t.Errorf("%s: severity %s for %v, sample says %s", cve, SeverityForScore(got), got, row[3])
		}
	}
	if published != 4 {
		t.Errorf("%d rows with a published score, want 4", published)
	}
}

// TestCVSSScoreGHSA checks the GHSA samples: the score of each advisory's
// vector must land in the severity band GitHub labels it with.
func TestCVSSScoreGHSA(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(dataPath(t, "vulns/ghsa-sample"), "GHSA-*.json"))
	if err != nil || len(files) != 9 {
		t.Fatalf("ghsa samples: %d files, %v", len(files), err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var r Record
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		label, _ := r.DatabaseSpecific["severity"].(string)
		rating := SeverityFor(&r)
		if rating.Vector == "" || rating.Score == 0 {
			t.Errorf("%s: no score from %v", r.ID, r.Severity)
			continue
		}
		if want := SeverityForLabel(label); rating.Severity != want {
			t.Errorf("%s: %v scores %v (%s), GitHub says %s", r.ID, rating.Vector, rating.Score, rating.Severity, label)
		}
	}
}

func TestCVSSScoreCases(t *testing.T) {
	tests := []struct {
		vector string
		want   float64
	}{
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0},
		{"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6},
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4},
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1},
		{"CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H", 8.2},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1},
		// Temporal and environmental metrics do not change the base score.
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C/CR:H/MAV:L", 9.8},
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},
		{"CVSS:3.0/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8},
	}
	for _, tt := range tests {
		got, err := CVSSScore(tt.vector)
		if err != nil {
			t.Errorf("%s: %v", tt.vector, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: %v, want %v", tt.vector, got, tt.want)
		}
	}
}

func TestCVSSScoreRejects(t *testing.T) {
	for _, v := range []string{
		"",
		"AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", // no version prefix
		"CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P", // v2
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", // v4
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",                        // A missing
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L",                // twice
		"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",                    // bad value
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1",               // unknown metric
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:Q",                // bad temporal value
		"CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
	} {
		if s, err := CVSSScore(v); err == nil {
			t.Errorf("%q: score %v, want an error", v, s)
		}
	}
}

// TestRoundup pins Roundup to the spec's definitions: v3.1 works in
// 1/100000ths, so float noise just above a tenth does not round up; v3.0 is
// a plain ceiling to one decimal.
func TestRoundup(t *testing.T) {
	tests := []struct {
		in, v31, v30 float64
	}{
		{4.0, 4.0, 4.0},
		{4.02, 4.1, 4.1},
		{4.000000001, 4.0, 4.1},
		{4.00001, 4.1, 4.1},
		{0.01, 0.1, 0.1},
		{9.99, 10.0, 10.0},
		{10.0, 10.0, 10.0},
	}
	for _, tt := range tests {
		if got := roundup31(tt.in); got != tt.v31 {
			t.Errorf("roundup31(%v) = %v, want %v", tt.in, got, tt.v31)
		}
		if got := roundup30(tt.in); got != tt.v30 {
			t.Errorf("roundup30(%v) = %v, want %v", tt.in, got, tt.v30)
		}
	}
}

// TestCVSSScoreAllVectors runs every base vector (2,592 of them) through
// both versions: scores are tenths in [0, 10], zero exactly when there is
// no impact, and v3.0's cruder Roundup never scores lower than v3.1's.
func TestCVSSScoreAllVectors(t *testing.T) {
	vals := []struct {
		k  string
		vs []string
	}{
		{"AV", []string{"N", "A", "L", "P"}}, {"AC", []string{"L", "H"}}, {"PR", []string{"N", "L", "H"}},
		{"UI", []string{"N", "R"}}, {"S", []string{"U", "C"}}, {"C", []string{"H", "L", "N"}},
		{"I", []string{"H", "L", "N"}}, {"A", []string{"H", "L", "N"}},
	}
	n := 0
	var walk func(i int, parts []string)
	walk = func(i int, parts []string) {
		if i == len(vals) {
			n++
			base := strings.Join(parts, "/")
			s31, err := CVSSScore("CVSS:3.1/" + base)
			if err != nil {
				t.Fatal(err)
			}
			s30, err := CVSSScore("CVSS:3.0/" + base)
			if err != nil {
				t.Fatal(err)
			}
			noImpact := strings.Contains(base, "C:N/I:N/A:N")
			if s31 < 0 || s31 > 10 || math.Abs(s31*10-math.Round(s31*10)) > 1e-9 || (s31 == 0) != noImpact {
				t.Fatalf("%s: v3.1 score %v", base, s31)
			}
			if s30 < s31 {
				t.Fatalf("%s: v3.0 %v < v3.1 %v", base, s30, s31)
			}
			return
		}
		for _, v := range vals[i].vs {
			walk(i+1, append(parts, vals[i].k+":"+v))
		}
	}
	walk(0, nil)
	if n != 2592 {
		t.Fatalf("%d vectors", n)
	}
}

func TestSeverity(t *testing.T) {
	scores := []struct {
		score float64
		want  scan.Severity
	}{{0, scan.SeverityLow}, {3.9, scan.SeverityLow}, {4.0, scan.SeverityModerate}, {6.9, scan.SeverityModerate},
		{7.0, scan.SeverityImportant}, {8.9, scan.SeverityImportant}, {9.0, scan.SeverityCritical}, {10, scan.SeverityCritical}}
	for _, tt := range scores {
		if got := SeverityForScore(tt.score); got != tt.want {
			t.Errorf("score %v: %s, want %s", tt.score, got, tt.want)
		}
	}
	labels := map[string]scan.Severity{
		"LOW": scan.SeverityLow, "MODERATE": scan.SeverityModerate, "HIGH": scan.SeverityImportant, "CRITICAL": scan.SeverityCritical,
		"unimportant": scan.SeverityLow, "low**": scan.SeverityLow, "medium": scan.SeverityModerate, "high": scan.SeverityImportant,
		"not yet assigned": scan.SeverityUnknown, "end-of-life": scan.SeverityUnknown, "negligible": scan.SeverityLow,
		"Important": scan.SeverityImportant, "": scan.SeverityUnknown,
	}
	for label, want := range labels {
		if got := SeverityForLabel(label); got != want {
			t.Errorf("label %q: %s, want %s", label, got, want)
		}
	}
	// A vector beats a label; a label is used without one; nothing is UNKNOWN.
	r := Record{Severity: []Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"}},
		DatabaseSpecific: map[string]any{"severity": "CRITICAL"}}
	if got := SeverityFor(&r); got.Severity != scan.SeverityModerate || got.Score != 5.3 {
		t.Errorf("vector and label: %+v", got)
	}
	r.Severity = []Severity{{Type: "CVSS_V3", Score: "garbage"}}
	if got := SeverityFor(&r); got.Severity != scan.SeverityCritical || got.Score != 0 {
		t.Errorf("bad vector and label: %+v", got)
	}
	r = Record{Severity: []Severity{{Type: "Ubuntu", Score: "medium"}}}
	if got := SeverityFor(&r); got.Severity != scan.SeverityModerate {
		t.Errorf("ubuntu priority: %+v", got)
	}
	if got := SeverityFor(&Record{}); got.Severity != scan.SeverityUnknown {
		t.Errorf("nothing: %+v", got)
	}
}
