package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// sample is a scan result as the scanner produces it: a glibc CVE in two
// binary packages of the same source, an unfixed one, a Go module finding,
// and a package with hostile text in its name.
func sample() *scan.Image {
	glibc := scan.Vuln{ID: "CVE-2023-4911", Severity: scan.SeverityImportant, CVSS: 7.8, FixedBy: "2.36-9+deb12u3",
		Link: "https://security-tracker.debian.org/tracker/CVE-2023-4911", Summary: "Looney Tunables"}
	deb := func(name, version string, vulns ...scan.Vuln) scan.Component {
		return scan.Component{Component: catalog.Component{Name: name, Version: version, Ecosystem: catalog.Debian,
			SourceName: "glibc", SourceVersion: version, Path: "var/lib/dpkg/status", Layer: "sha256:aaa",
			PURL: "pkg:deb/debian/" + name + "@" + version + "?arch=amd64&distro=debian-12"}, Vulns: vulns}
	}
	return &scan.Image{
		Name: "registry.example.com/app:1", FullName: "registry.example.com/app:1", Digest: "sha256:0123",
		OS:       &catalog.OS{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
		ScanTime: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Components: []scan.Component{
			deb("libc6", "2.36-9+deb12u1", glibc),
			deb("libc-bin", "2.36-9+deb12u1", glibc, scan.Vuln{ID: "CVE-2010-4756", Severity: scan.SeverityLow}),
			deb("tzdata", "2024a-0+deb12u1"),
			{Component: catalog.Component{Name: "golang.org/x/net", Version: "v0.7.0", Ecosystem: catalog.Go, Path: "usr/local/bin/app",
				PURL: "pkg:golang/golang.org/x/net@v0.7.0"},
				Vulns: []scan.Vuln{{ID: "GO-2023-1988", Aliases: []string{"CVE-2023-3978"}, Severity: scan.SeverityModerate, CVSS: 6.1, FixedBy: "v0.13.0"}}},
			{Component: catalog.Component{Name: "=cmd|evil\x1b[31m", Version: "1", Ecosystem: catalog.Npm, Path: "app/node_modules/x/package.json"},
				Vulns: []scan.Vuln{{ID: "GHSA-xxxx", Severity: scan.SeverityCritical, CVSS: 9.8, FixedBy: "2"}}},
		},
		Notes: []string{"layer sha256:bbb: skipped ../escape"},
	}
}

func TestFindingsOrderAndSummary(t *testing.T) {
	img := sample()
	var got []string
	for _, f := range Findings(img) {
		got = append(got, f.Vuln.ID+" "+f.Component.Name)
	}
	want := []string{
		"GHSA-xxxx =cmd|evil\x1b[31m",
		"CVE-2023-4911 libc-bin",
		"CVE-2023-4911 libc6",
		"GO-2023-1988 golang.org/x/net",
		"CVE-2010-4756 libc-bin",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings\n%q\nwant\n%q", got, want)
	}
	s := Summarize(img)
	if s != (Summary{Vulnerabilities: 4, Critical: 1, Important: 1, Moderate: 1, Low: 1, Fixable: 3, Affected: 4, Components: 5}) {
		t.Errorf("summary %+v", s)
	}
	if want := "4 vulnerabilities (1 critical, 1 important, 1 moderate, 1 low) in 4 components, 3 fixable"; s.String() != want {
		t.Errorf("summary line %q, want %q", s, want)
	}
	none := Summarize(&scan.Image{Components: []scan.Component{{}}})
	if none.String() != "No vulnerabilities found in 1 component" {
		t.Errorf("empty summary %q", none)
	}
}

func TestParseSeveritiesAndFilter(t *testing.T) {
	sev, err := ParseSeverities([]string{"critical,High", " moderate ", "CRITICAL"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sev, []scan.Severity{scan.SeverityCritical, scan.SeverityImportant, scan.SeverityModerate}) {
		t.Errorf("parsed %v", sev)
	}
	if _, err := ParseSeverities([]string{"LOW,SEVERE"}); err == nil || !strings.Contains(err.Error(), `"SEVERE"`) {
		t.Errorf("bad severity: %v", err)
	}
	if sev, err := ParseSeverities(nil); err != nil || sev != nil {
		t.Errorf("empty list: %v, %v", sev, err)
	}

	img := sample()
	f := Filter(img, []scan.Severity{scan.SeverityCritical, scan.SeverityImportant})
	if len(f.Components) != len(img.Components) {
		t.Errorf("filter dropped components")
	}
	if s := Summarize(f); s.Vulnerabilities != 2 || s.Low != 0 || s.Moderate != 0 {
		t.Errorf("filtered summary %+v", s)
	}
	if len(img.Components[1].Vulns) != 2 {
		t.Error("filter changed its input")
	}
	if s := Summarize(Filter(img, nil)); s.Vulnerabilities != 4 {
		t.Errorf("no filter: %+v", s)
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, sample(), TableOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Image:   registry.example.com/app:1\n",
		"OS:      Debian GNU/Linux 12 (bookworm)\n",
		"SEVERITY   VULNERABILITY  CVSS  COMPONENT",
		"CRITICAL   GHSA-xxxx      9.8   =cmd|evil\uFFFD[31m",
		"IMPORTANT  CVE-2023-4911  7.8   libc-bin",
		"LOW        CVE-2010-4756  -     libc-bin",
		"\n4 vulnerabilities (1 critical, 1 important, 1 moderate, 1 low) in 4 components, 3 fixable\n",
		"note: layer sha256:bbb: skipped ../escape\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("table passes an escape sequence from the image through:\n%q", out)
	}
	b.Reset()
	if err := WriteTable(&b, sample(), TableOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\x1b[1;31mCRITICAL") {
		t.Errorf("no colour with Color set:\n%s", b.String())
	}
}

func TestWriteJSONRoundTrips(t *testing.T) {
	var b bytes.Buffer
	img := sample()
	if err := WriteJSON(&b, img); err != nil {
		t.Fatal(err)
	}
	var back scan.Image
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if back.Digest != img.Digest || len(back.Components) != 5 || back.Components[0].Vulns[0].FixedBy != "2.36-9+deb12u3" {
		t.Errorf("round trip lost data: %+v", back)
	}
	b.Reset()
	if err := WriteJSON(&b, &scan.Image{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"components": []`) {
		t.Errorf("empty scan: %s", b.String())
	}
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, sample()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], CSVHeader()) || len(rows) != 6 {
		t.Fatalf("rows %q", rows)
	}
	col := func(name string) int { return slices.Index(CSVHeader(), name) }
	if rows[1][col("component")] != "'=cmd|evil\x1b[31m" {
		t.Errorf("formula cell not neutralized: %q", rows[1][col("component")])
	}
	if r := rows[4]; r[col("vulnerability")] != "GO-2023-1988" || r[col("aliases")] != "CVE-2023-3978" || r[col("cvss")] != "6.1" || r[col("fixed_by")] != "v0.13.0" {
		t.Errorf("Go row %q", r)
	}
	if r := rows[2]; r[col("source")] != "glibc 2.36-9+deb12u1" || r[col("layer")] != "sha256:aaa" {
		t.Errorf("Debian row %q", r)
	}
}

func TestWriteSARIF(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSARIF(&b, sample(), SARIFOptions{ToolVersion: "v1.2.3"}); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name    string `json:"name"`
					Version string `json:"version"`
					Rules   []struct {
						ID         string `json:"id"`
						HelpURI    string `json:"helpUri"`
						Properties struct {
							SecuritySeverity string `json:"security-severity"`
						} `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || log.Schema != SARIFSchema || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Version != "v1.2.3" {
		t.Fatalf("log header %+v", log)
	}
	run := log.Runs[0]
	rules := run.Tool.Driver.Rules
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{"GHSA-xxxx", "CVE-2023-4911", "GO-2023-1988", "CVE-2010-4756"}) {
		t.Errorf("rules %v: one per vulnerability id, most severe first", ids)
	}
	if rules[1].HelpURI == "" || rules[1].Properties.SecuritySeverity != "7.8" || rules[3].Properties.SecuritySeverity != "2.0" {
		t.Errorf("rule properties %+v", rules)
	}
	if len(run.Results) != 5 {
		t.Fatalf("%d results, want one per finding", len(run.Results))
	}
	for _, r := range run.Results {
		if rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s points at rule %d (%s)", r.RuleID, r.RuleIndex, rules[r.RuleIndex].ID)
		}
		if len(r.Locations) != 1 || r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" {
			t.Errorf("result %s has no location", r.RuleID)
		}
	}
	if r := run.Results[1]; r.Level != "error" || r.Locations[0].PhysicalLocation.ArtifactLocation.URI != "var/lib/dpkg/status" ||
		!strings.Contains(r.Message.Text, "fixed in 2.36-9+deb12u3") {
		t.Errorf("glibc result %+v", r)
	}
	if r := run.Results[4]; r.Level != "note" || !strings.Contains(r.Message.Text, "no fix available") {
		t.Errorf("low result %+v", r)
	}
}
