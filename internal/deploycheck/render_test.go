package deploycheck

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/sarif"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/render")

// sampleReport is two objects: a Deployment from a file violating three
// policies (one enforced, one with a control character in its message), and
// a Pod read from standard input violating one.
func sampleReport() *Report {
	return &Report{
		Checked: 4,
		Results: []Result{
			{
				Metadata: Metadata{ID: "a1", AdditionalInfo: AdditionalInfo{Name: "web", Namespace: "default", Type: "Deployment"}},
				Source:   workload.Source{File: "deploy/web.yaml", Line: 12},
				Summary:  Summary{Critical: 1, Medium: 1, Low: 1, Total: 3},
				ViolatedPolicies: []ViolatedPolicy{
					{
						Name: "Latest tag", Severity: "LOW", Description: "Alerts on images tagged latest.",
						Violation:   []string{"Container 'web' uses image 'nginx:latest' with tag 'latest'"},
						Remediation: "Pin images to a version or digest.", PolicyID: "p-latest",
					},
					{
						Name: "Privileged Container", Severity: "CRITICAL", Description: "Alerts on privileged containers.",
						Violation:   []string{"Container 'web' is privileged", "Container 'sidecar' is privileged"},
						Remediation: "Remove securityContext.privileged.", FailingCheck: true, PolicyID: "p-priv",
					},
					{
						Name: "No resource limits", Severity: "MEDIUM", Description: "",
						Violation: []string{"Container 'web\x1b[2J' has no memory limit"},
					},
				},
			},
			{
				Metadata: Metadata{ID: "b2", AdditionalInfo: AdditionalInfo{Name: "debug", Namespace: "tools", Type: "Pod"}},
				Source:   workload.Source{File: "-", Line: 1},
				Summary:  Summary{Critical: 1, Total: 1},
				ViolatedPolicies: []ViolatedPolicy{
					{
						Name: "Privileged Container", Severity: "CRITICAL", Description: "Alerts on privileged containers.",
						Violation:   []string{"Container 'shell' is privileged"},
						Remediation: "Remove securityContext.privileged.", FailingCheck: true, PolicyID: "p-priv",
					},
				},
			},
		},
		Summary: Summary{Critical: 2, Medium: 1, Low: 1, Total: 4},
	}
}

type renderer func(*bytes.Buffer, *Report) error

var renderers = map[string]renderer{
	"txt":       func(b *bytes.Buffer, r *Report) error { return WriteTable(b, r, TableOptions{}) },
	"color.txt": func(b *bytes.Buffer, r *Report) error { return WriteTable(b, r, TableOptions{Color: true}) },
	"json":      func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) },
	"csv":       func(b *bytes.Buffer, r *Report) error { return WriteCSV(b, r) },
	"xml":       func(b *bytes.Buffer, r *Report) error { return WriteJUnit(b, r) },
	"sarif":     func(b *bytes.Buffer, r *Report) error { return WriteSARIF(b, r, SARIFOptions{ToolVersion: "v1.2.3"}) },
}

func TestRenderGolden(t *testing.T) {
	reports := map[string]*Report{
		"violations": sampleReport(),
		"empty":      {Checked: 3, Results: []Result{}},
	}
	for name, r := range reports {
		for ext, render := range renderers {
			t.Run(name+"."+ext, func(t *testing.T) {
				var buf bytes.Buffer
				if err := render(&buf, r); err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", "render", name+"."+ext)
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", golden, buf.Bytes(), want)
				}
			})
		}
	}
}

func TestTableText(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, sampleReport(), TableOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Deployment default/web (deploy/web.yaml:12)\n",
		"Pod tools/debug (stdin:1)\n",
		"2 of 4 objects violate 3 policies; 4 violations: 2 CRITICAL, 1 MEDIUM, 1 LOW (2 enforced)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsRune(out, '\x1b') {
		t.Errorf("colourless table contains an escape character:\n%q", out)
	}
	// Most severe first within an object.
	if strings.Index(out, "Privileged Container") > strings.Index(out, "Latest tag") {
		t.Errorf("CRITICAL policy not listed before LOW:\n%s", out)
	}
	// Continuation lines align under the violation column.
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, "'sidecar'") {
			col := strings.Index(lines[i-1], "Container 'web' is privileged")
			if strings.Index(l, "Container 'sidecar'") != col {
				t.Errorf("continuation line misaligned:\n%s\n%s", lines[i-1], l)
			}
		}
	}

	var colored bytes.Buffer
	if err := WriteTable(&colored, sampleReport(), TableOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(colored.String(), "\x1b[1;31mCRITICAL") {
		t.Errorf("coloured table lacks a red CRITICAL:\n%q", colored.String())
	}
	// The manifest's escape sequence is neutralised in both forms.
	if strings.Contains(colored.String(), "\x1b[2J") {
		t.Errorf("manifest text reached the terminal unescaped")
	}
}

func TestTotals(t *testing.T) {
	one := &Report{Results: []Result{{ViolatedPolicies: []ViolatedPolicy{{Name: "x", Severity: "HIGH"}}}}}
	if got, want := Totals(one), "1 object violates 1 policy; 1 violation: 1 HIGH (none enforced)"; got != want {
		t.Errorf("Totals = %q, want %q", got, want)
	}
	if got, want := Totals(&Report{Checked: 1}), "No policy violations found in 1 object."; got != want {
		t.Errorf("Totals = %q, want %q", got, want)
	}
}

func TestJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []struct {
			Metadata struct {
				ID             string `json:"id"`
				AdditionalInfo struct {
					Name, Namespace, Type string
				} `json:"additionalInfo"`
			} `json:"metadata"`
			Summary          map[string]int   `json:"summary"`
			ViolatedPolicies []map[string]any `json:"violatedPolicies"`
		} `json:"results"`
		Summary map[string]int `json:"summary"`
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("report is not in roxctl's shape: %v", err)
	}
	if len(doc.Results) != 2 || doc.Results[0].Metadata.AdditionalInfo.Type != "Deployment" {
		t.Fatalf("results = %+v", doc.Results)
	}
	if doc.Summary["CRITICAL"] != 2 || doc.Summary["TOTAL"] != 4 {
		t.Errorf("summary = %v", doc.Summary)
	}
	vp := doc.Results[0].ViolatedPolicies[1]
	for _, k := range []string{"name", "severity", "description", "violation", "remediation", "failingCheck"} {
		if _, ok := vp[k]; !ok {
			t.Errorf("violated policy lacks %q: %v", k, vp)
		}
	}
	if len(vp) != 6 {
		t.Errorf("violated policy has extra keys: %v", vp)
	}

	buf.Reset()
	if err := WriteJSON(&buf, &Report{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"results": []`) {
		t.Errorf("empty report does not list empty results: %s", buf.String())
	}
}

func TestCSVRows(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// header + 1 + 2 + 1 violation messages for web + 1 for debug
	if len(rows) != 1+5 {
		t.Fatalf("got %d rows, want 6:\n%v", len(rows), rows)
	}
	if strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Errorf("header = %v", rows[0])
	}
	if got := rows[2]; got[5] != "Privileged Container" || got[7] != "true" || got[4] != "12" || got[3] != "deploy/web.yaml" {
		t.Errorf("row = %v", got)
	}

	// A workload named like a formula stays text in a spreadsheet.
	r := sampleReport()
	r.Results[0].Metadata.AdditionalInfo.Name = "=HYPERLINK(\"http://evil\")"
	buf.Reset()
	if err := WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[1][2]; got != "'=HYPERLINK(\"http://evil\")" {
		t.Errorf("formula-like name written as %q", got)
	}
}

func TestJUnitValid(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("invalid XML: %v\n%s", err, buf.String())
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Name != "deployment-check" {
		t.Fatalf("suites = %+v", doc.Suites)
	}
	s := doc.Suites[0]
	if s.Tests != 4 || s.Failures != 4 || len(s.Cases) != 4 {
		t.Errorf("tests=%d failures=%d cases=%d, want 4 each", s.Tests, s.Failures, len(s.Cases))
	}
	c := s.Cases[1]
	if c.Name != "Privileged Container" || c.Classname != "Deployment default/web" || c.Failure == nil || c.Failure.Type != "CRITICAL" {
		t.Errorf("case = %+v", c)
	}
	if !strings.Contains(c.Failure.Text, "Container 'sidecar' is privileged") {
		t.Errorf("failure text lacks the violation: %q", c.Failure.Text)
	}

	buf.Reset()
	if err := WriteJUnit(&buf, &Report{Checked: 5}); err != nil {
		t.Fatal(err)
	}
	doc = junitSuites{}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if s := doc.Suites[0]; s.Tests != 1 || s.Failures != 0 || s.Cases[0].Failure != nil {
		t.Errorf("passing report: %+v", s)
	}
}

func TestSARIF(t *testing.T) {
	base := t.TempDir()
	r := sampleReport()
	r.Results[0].Source.File = filepath.Join(base, "deploy", "my web.yaml")
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, r, SARIFOptions{ToolVersion: "v1", BaseDir: base}); err != nil {
		t.Fatal(err)
	}
	var log sarif.Log
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("log = %+v", log)
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "stockade" {
		t.Errorf("driver = %q", run.Tool.Driver.Name)
	}
	// Three distinct policies; the privileged one is shared by both objects.
	if len(run.Tool.Driver.Rules) != 3 || len(run.Results) != 4 {
		t.Fatalf("rules=%d results=%d", len(run.Tool.Driver.Rules), len(run.Results))
	}
	levels := map[string]string{}
	for _, rule := range run.Tool.Driver.Rules {
		levels[rule.Name] = rule.DefaultConfiguration.Level
	}
	if levels["Privileged Container"] != "error" || levels["No resource limits"] != "warning" || levels["Latest tag"] != "note" {
		t.Errorf("levels = %v", levels)
	}
	if got := run.Tool.Driver.Rules[2].ID; got != "no-resource-limits" {
		t.Errorf("rule id from name = %q", got)
	}
	res := run.Results[1]
	if res.RuleID != "p-priv" || res.Level != "error" || run.Tool.Driver.Rules[res.RuleIndex].ID != "p-priv" {
		t.Errorf("result = %+v", res)
	}
	loc := res.Locations[0].PhysicalLocation
	if loc.ArtifactLocation.URI != "deploy/my%20web.yaml" || loc.Region == nil || loc.Region.StartLine != 12 {
		t.Errorf("location = %+v", loc)
	}
	if len(run.Results[3].Locations) != 0 {
		t.Errorf("stdin object has a location: %+v", run.Results[3].Locations)
	}
}

func TestSARIFURIOutsideBase(t *testing.T) {
	if got, ok := sarifURI("/elsewhere/x.yaml", "/work/repo"); !ok || got != "file:///elsewhere/x.yaml" {
		t.Errorf("got %q %v", got, ok)
	}
	if got, _ := sarifURI("./a/../b/c.yml", ""); got != "b/c.yml" {
		t.Errorf("got %q", got)
	}
}

// TestRenderCheckedReport renders a report made by Check from the built-in
// policies, so that the renderers see real policy ids and messages.
func TestRenderCheckedReport(t *testing.T) {
	policies, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.NewSet(policies)
	if err != nil {
		t.Fatal(err)
	}
	d := &workload.Deployment{
		ID: "x", Name: "priv", Namespace: "ns", Kind: "Pod", ServiceAccount: "default",
		Containers: []workload.Container{{Name: "c", Privileged: true, SeccompProfileType: "UNCONFINED",
			Image: workload.Image{FullName: "docker.io/library/busybox:1.36", Registry: "docker.io", Remote: "library/busybox", Tag: "1.36"}}},
		Source: workload.Source{File: "pod.yaml", Line: 3},
	}
	r := Check([]*workload.Deployment{d}, set, time.Now())
	if !r.Failed() {
		t.Fatalf("privileged pod did not fail the check: %+v", r)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, r, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	const privID = "3f2c8a61-5d0b-4c4e-9b7a-2e61f0c9d514" // the built-in privileged-container policy
	var privName string
	for _, p := range policies {
		if p.ID == privID {
			privName = p.Name
		}
	}
	if privName == "" || !strings.Contains(buf.String(), "Pod ns/priv (pod.yaml:3)") || !strings.Contains(buf.String(), "CRITICAL  "+privName) {
		t.Errorf("table:\n%s", buf.String())
	}
	buf.Reset()
	if err := WriteSARIF(&buf, r, SARIFOptions{}); err != nil {
		t.Fatal(err)
	}
	var log sarif.Log
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	var ruleIDs []string
	for _, rule := range log.Runs[0].Tool.Driver.Rules {
		ruleIDs = append(ruleIDs, rule.ID)
	}
	if !slices.Contains(ruleIDs, privID) {
		t.Errorf("rules %v lack the privileged policy's id", ruleIDs)
	}
}
