package deploycheck

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stockade-dev/stockade/internal/sarif"
	"github.com/stockade-dev/stockade/internal/textcell"
)

// The renderers below write a Report for people (table), for scripts written
// against roxctl (JSON), for spreadsheets (CSV) and for CI systems (JUnit,
// SARIF). Text that comes from manifests (names, violation messages) is
// untrusted: the table strips control characters so that a crafted manifest
// cannot drive the reader's terminal, and the XML and JSON encoders escape.

// TableOptions tunes WriteTable.
type TableOptions struct {
	// Color adds ANSI colours; the caller sets it only when the output is a
	// terminal and the user did not opt out (NO_COLOR).
	Color bool
}

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
)

// severityColor is the colour of each short severity name in the table.
func severityColor(sev string) string {
	switch sev {
	case "CRITICAL":
		return "\x1b[1;31m"
	case "HIGH":
		return "\x1b[31m"
	case "MEDIUM":
		return "\x1b[33m"
	case "LOW":
		return "\x1b[36m"
	}
	return ""
}

// severityRank orders short severity names, CRITICAL highest.
func severityRank(sev string) int {
	switch sev {
	case "CRITICAL":
		return 4
	case "HIGH":
		return 3
	case "MEDIUM":
		return 2
	case "LOW":
		return 1
	}
	return 0
}

// WriteTable writes the report grouped by object: a header naming the object
// and where it was read from, one row per violated policy (most severe
// first) with every violation message, and a totals line.
func WriteTable(w io.Writer, r *Report, opt TableOptions) error {
	// Lines are appended to a buffer flushed in large writes: one write per
	// line would be a system call per line, and fmt per cell allocates
	// more than the check itself on a large report.
	bw := bufio.NewWriterSize(w, 64<<10)
	b := make([]byte, 0, 64<<10)
	flush := func() {
		_, _ = bw.Write(b) // bufio keeps the first error; Flush reports it
		b = b[:0]
	}
	paint := func(b []byte, code, s string) []byte {
		if !opt.Color || code == "" {
			return append(b, s...)
		}
		return append(append(append(b, code...), s...), ansiReset...)
	}
	pad := func(b []byte, s string, width int) []byte {
		b = append(b, s...)
		for n := textcell.Width(s); n < width; n++ {
			b = append(b, ' ')
		}
		return b
	}

	const (
		hSev, hPolicy, hEnforced, hViolation = "SEVERITY", "POLICY", "ENFORCED", "VIOLATION"
	)
	wSev, wPolicy, wEnforced := len(hSev), len(hPolicy), len(hEnforced)
	for _, res := range r.Results {
		for _, vp := range res.ViolatedPolicies {
			wSev = max(wSev, textcell.Width(textcell.Clean(vp.Severity)))
			wPolicy = max(wPolicy, textcell.Width(textcell.Clean(vp.Name)))
		}
	}
	indent := strings.Repeat(" ", 2+wSev+2+wPolicy+2+wEnforced+2)
	var header []byte
	header = append(header, "  "...)
	header = pad(header, hSev, wSev)
	header = append(header, "  "...)
	header = pad(header, hPolicy, wPolicy)
	header = append(header, "  "...)
	header = pad(header, hEnforced, wEnforced)
	header = append(header, "  "+hViolation+"\n"...)

	for i, res := range r.Results {
		if i > 0 {
			b = append(b, '\n')
		}
		b = paint(b, ansiBold, objectHeader(res))
		b = append(b, '\n')
		b = append(b, header...)
		for _, vp := range sortedPolicies(res.ViolatedPolicies) {
			sev := textcell.Clean(vp.Severity)
			enforced, enforcedColor := "-", ""
			if vp.FailingCheck {
				enforced, enforcedColor = "yes", "\x1b[1;31m"
			}
			lines := vp.Violation
			if len(lines) == 0 {
				lines = []string{""}
			}
			b = append(b, "  "...)
			if opt.Color && severityColor(sev) != "" {
				b = paint(b, severityColor(sev), string(pad(nil, sev, wSev)))
			} else {
				b = pad(b, sev, wSev)
			}
			b = append(b, "  "...)
			b = pad(b, textcell.Clean(vp.Name), wPolicy)
			b = append(b, "  "...)
			if opt.Color && enforcedColor != "" {
				b = paint(b, enforcedColor, string(pad(nil, enforced, wEnforced)))
			} else {
				b = pad(b, enforced, wEnforced)
			}
			b = append(b, "  "...)
			b = append(b, textcell.Clean(lines[0])...)
			b = append(b, '\n')
			for _, l := range lines[1:] {
				b = append(b, indent...)
				b = append(b, textcell.Clean(l)...)
				b = append(b, '\n')
			}
		}
		if len(b) > 32<<10 {
			flush()
		}
	}
	if len(r.Results) > 0 {
		b = append(b, '\n')
	}
	b = append(b, Totals(r)...)
	b = append(b, '\n')
	flush()
	return bw.Flush()
}

// Totals is the report's one-line summary, the last line of the table:
// "3 objects violate 7 policies: 1 CRITICAL, 2 HIGH, 3 MEDIUM, 1 LOW (2 enforced)"
// or "No policy violations found in 12 objects." A policy violated by two
// objects counts twice, as in the report's summary.
func Totals(r *Report) string {
	if len(r.Results) == 0 {
		return fmt.Sprintf("No policy violations found in %d %s.", r.Checked, plural(r.Checked, "object", "objects"))
	}
	var counts [5]int // by severityRank
	total, enforced := 0, 0
	for _, res := range r.Results {
		for _, vp := range res.ViolatedPolicies {
			counts[severityRank(vp.Severity)]++
			total++
			if vp.FailingCheck {
				enforced++
			}
		}
	}
	var parts []string
	for _, sev := range []string{"CRITICAL", "HIGH", "MEDIUM", "LOW"} {
		if n := counts[severityRank(sev)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	if n := counts[0]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d of unknown severity", n))
	}
	enf := "none enforced"
	if enforced > 0 {
		enf = fmt.Sprintf("%d enforced", enforced)
	}
	policies := map[string]bool{}
	for _, res := range r.Results {
		for _, vp := range res.ViolatedPolicies {
			policies[vp.Name] = true
		}
	}
	objects := len(r.Results)
	of := ""
	if r.Checked >= objects {
		of = fmt.Sprintf(" of %d", r.Checked)
	}
	return fmt.Sprintf("%d%s %s %d %s; %d %s: %s (%s)",
		objects, of, plural(objects, "object violates", "objects violate"),
		len(policies), plural(len(policies), "policy", "policies"),
		total, plural(total, "violation", "violations"),
		strings.Join(parts, ", "), enf)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// sortedPolicies orders a copy of the policies most severe first, then by name.
func sortedPolicies(vps []ViolatedPolicy) []ViolatedPolicy {
	out := slices.Clone(vps)
	slices.SortStableFunc(out, func(a, b ViolatedPolicy) int {
		if c := cmp.Compare(severityRank(b.Severity), severityRank(a.Severity)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// ObjectName names a result's workload as "Deployment default/web".
func ObjectName(res Result) string {
	info := res.Metadata.AdditionalInfo
	kind := info.Type
	if kind == "" {
		kind = "Object"
	}
	name := info.Name
	if info.Namespace != "" {
		name = info.Namespace + "/" + name
	}
	return textcell.Clean(kind + " " + name)
}

// SourceName locates a result in its input as "deploy.yaml:12", "stdin:3",
// or "" when unknown.
func SourceName(res Result) string {
	f := res.Source.File
	switch f {
	case "":
		return ""
	case "-":
		f = "stdin"
	}
	if res.Source.Line > 0 {
		return fmt.Sprintf("%s:%d", f, res.Source.Line)
	}
	return f
}

func objectHeader(res Result) string {
	if src := SourceName(res); src != "" {
		return ObjectName(res) + " (" + textcell.Clean(src) + ")"
	}
	return ObjectName(res)
}

// WriteJSON writes the report in roxctl's `deployment check --output json`
// shape, indented by two spaces.
func WriteJSON(w io.Writer, r *Report) error {
	// The report is written by hand rather than through encoding/json: its
	// shape is fixed, and reflection plus a separate indentation pass cost
	// more than the whole check on a large corpus. TestWriteJSONMatchesEncoder
	// holds the output byte for byte to what json.Encoder with SetIndent and
	// SetEscapeHTML(false) writes.
	bw := bufio.NewWriterSize(w, 64<<10)
	b := make([]byte, 0, 64<<10)
	flush := func() {
		_, _ = bw.Write(b) // bufio keeps the first error; Flush reports it
		b = b[:0]
	}
	if len(r.Results) == 0 {
		b = append(b, "{\n  \"results\": [],\n"...)
	} else {
		b = append(b, "{\n  \"results\": [\n"...)
		for i := range r.Results {
			b = append(b, "    "...)
			b = appendResult(b, &r.Results[i])
			if i < len(r.Results)-1 {
				b = append(b, ',')
			}
			b = append(b, '\n')
			if len(b) > 32<<10 {
				flush()
			}
		}
		b = append(b, "  ],\n"...)
	}
	b = append(b, "  \"summary\": "...)
	b = appendSummary(b, &r.Summary, "  ")
	b = append(b, "\n}\n"...)
	flush()
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// appendResult writes one result as json.Encoder indents it with prefix
// "    " and indent "  " (without the trailing newline).
func appendResult(b []byte, res *Result) []byte {
	md := &res.Metadata
	b = append(b, "{\n      \"metadata\": {\n        \"id\": "...)
	b = appendJSONString(b, md.ID)
	b = append(b, ",\n        \"additionalInfo\": {\n          \"name\": "...)
	b = appendJSONString(b, md.AdditionalInfo.Name)
	b = append(b, ",\n          \"namespace\": "...)
	b = appendJSONString(b, md.AdditionalInfo.Namespace)
	b = append(b, ",\n          \"type\": "...)
	b = appendJSONString(b, md.AdditionalInfo.Type)
	b = append(b, "\n        }\n      },\n      \"summary\": "...)
	b = appendSummary(b, &res.Summary, "      ")
	b = append(b, ",\n      \"violatedPolicies\": "...)
	if len(res.ViolatedPolicies) == 0 {
		b = append(b, "[]"...)
	} else {
		b = append(b, "[\n"...)
		for i := range res.ViolatedPolicies {
			vp := &res.ViolatedPolicies[i]
			b = append(b, "        {\n          \"name\": "...)
			b = appendJSONString(b, vp.Name)
			b = append(b, ",\n          \"severity\": "...)
			b = appendJSONString(b, vp.Severity)
			b = append(b, ",\n          \"description\": "...)
			b = appendJSONString(b, vp.Description)
			b = append(b, ",\n          \"violation\": "...)
			if len(vp.Violation) == 0 {
				b = append(b, "[]"...)
			} else {
				b = append(b, "[\n"...)
				for j, v := range vp.Violation {
					b = append(b, "            "...)
					b = appendJSONString(b, v)
					if j < len(vp.Violation)-1 {
						b = append(b, ',')
					}
					b = append(b, '\n')
				}
				b = append(b, "          ]"...)
			}
			b = append(b, ",\n          \"remediation\": "...)
			b = appendJSONString(b, vp.Remediation)
			b = append(b, ",\n          \"failingCheck\": "...)
			b = strconv.AppendBool(b, vp.FailingCheck)
			b = append(b, "\n        }"...)
			if i < len(res.ViolatedPolicies)-1 {
				b = append(b, ',')
			}
			b = append(b, '\n')
		}
		b = append(b, "      ]"...)
	}
	return append(b, "\n    }"...)
}

// appendSummary writes a Summary object whose closing brace is at indent.
func appendSummary(b []byte, s *Summary, indent string) []byte {
	b = append(b, '{')
	for i, f := range [...]struct {
		name string
		n    int
	}{{"CRITICAL", s.Critical}, {"HIGH", s.High}, {"MEDIUM", s.Medium}, {"LOW", s.Low}, {"TOTAL", s.Total}} {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		b = append(b, indent...)
		b = append(b, "  \""...)
		b = append(b, f.name...)
		b = append(b, "\": "...)
		b = strconv.AppendInt(b, int64(f.n), 10)
	}
	b = append(b, '\n')
	b = append(b, indent...)
	return append(b, '}')
}

// appendJSONString quotes s as encoding/json does without HTML escaping:
// quote and backslash escaped, control characters as \n, \r, \t, \b, \f
// or \u00XX, invalid UTF-8 as \ufffd, and U+2028/U+2029 escaped (they end
// lines in JavaScript).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// csvHeader is the first row WriteCSV writes.
var csvHeader = []string{"kind", "namespace", "name", "file", "line", "policy", "severity", "failing_check", "violation", "description", "remediation"}

// WriteCSV writes a header row, then one row per violation message (a policy
// violated for three containers gives three rows).
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("write CSV report: %w", err)
	}
	for _, res := range r.Results {
		info := res.Metadata.AdditionalInfo
		line := ""
		if res.Source.Line > 0 {
			line = strconv.Itoa(res.Source.Line)
		}
		for _, vp := range res.ViolatedPolicies {
			msgs := vp.Violation
			if len(msgs) == 0 {
				msgs = []string{""}
			}
			for _, m := range msgs {
				row := []string{info.Type, info.Namespace, info.Name, res.Source.File, line,
					vp.Name, vp.Severity, strconv.FormatBool(vp.FailingCheck), m, vp.Description, vp.Remediation}
				// Names and messages come from the manifests: never let a
				// spreadsheet read one as a formula.
				for i := range row {
					row[i] = textcell.Inert(row[i])
				}
				if err := cw.Write(row); err != nil {
					return fmt.Errorf("write CSV report: %w", err)
				}
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write CSV report: %w", err)
	}
	return nil
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// JUnitSuiteName is the name of the one test suite WriteJUnit writes.
const JUnitSuiteName = "deployment-check"

// WriteJUnit writes the report as JUnit XML: one test suite, one failed test
// case per object and violated policy (classname is the object, name the
// policy, the failure's type its severity). A report without violations
// gives one passing test case, so that CI shows the check ran.
func WriteJUnit(w io.Writer, r *Report) error {
	suite := junitSuite{Name: JUnitSuiteName}
	for _, res := range r.Results {
		object := ObjectName(res)
		for _, vp := range res.ViolatedPolicies {
			// CDATA keeps the lines readable; clean keeps it valid XML
			// (encoding/xml escapes attributes but writes CDATA as is).
			var text strings.Builder
			text.WriteString("\n")
			if src := SourceName(res); src != "" {
				fmt.Fprintf(&text, "%s\n", textcell.Clean(src))
			}
			for _, m := range vp.Violation {
				fmt.Fprintf(&text, "- %s\n", textcell.Clean(m))
			}
			if vp.Remediation != "" {
				fmt.Fprintf(&text, "Remediation: %s\n", textcell.Clean(vp.Remediation))
			}
			enforced := ""
			if vp.FailingCheck {
				enforced = ", enforced"
			}
			suite.Cases = append(suite.Cases, junitCase{
				Name:      vp.Name,
				Classname: object,
				File:      junitFile(res.Source.File),
				Failure: &junitFailure{
					Message: fmt.Sprintf("%s violates %s (%s%s)", object, vp.Name, vp.Severity, enforced),
					Type:    vp.Severity,
					Text:    text.String(),
				},
			})
			suite.Failures++
		}
	}
	if len(suite.Cases) == 0 {
		suite.Cases = append(suite.Cases, junitCase{
			Name:      fmt.Sprintf("%d %s checked", r.Checked, plural(r.Checked, "object", "objects")),
			Classname: JUnitSuiteName,
		})
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: "stockade", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	return nil
}

func junitFile(f string) string {
	if f == "-" {
		return ""
	}
	return f
}

// SARIFOptions tunes WriteSARIF.
type SARIFOptions struct {
	// ToolVersion is stockade's version, recorded as tool.driver.version.
	ToolVersion string
	// BaseDir makes absolute input paths relative (normally the working
	// directory); paths outside it stay absolute file: URIs.
	BaseDir string
}

// sarifLevel maps a severity to a SARIF level.
func sarifLevel(sev string) string {
	switch sev {
	case "CRITICAL", "HIGH":
		return "error"
	case "MEDIUM":
		return "warning"
	}
	return "note"
}

func securitySeverity(sev string) string {
	switch sev {
	case "CRITICAL":
		return "9.5"
	case "HIGH":
		return "8.0"
	case "MEDIUM":
		return "5.5"
	case "LOW":
		return "3.0"
	}
	return ""
}

// RuleID is the SARIF rule id of a violated policy: its policy id, or a slug
// of its name when the id is unknown (reports received from Central carry no
// policy ids).
func RuleID(vp ViolatedPolicy) string {
	if vp.PolicyID != "" {
		return vp.PolicyID
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(vp.Name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// WriteSARIF writes the report as a SARIF 2.1.0 log: one rule per violated
// policy and one result per object and policy, located at the object's first
// line in its file.
func WriteSARIF(w io.Writer, r *Report, opt SARIFOptions) error {
	driver := sarif.Driver{Name: "stockade", InformationURI: "https://github.com/stockade-dev/stockade", Version: opt.ToolVersion, Rules: []sarif.Rule{}}
	ruleIndex := map[string]int{}
	results := []sarif.Result{}
	for _, res := range r.Results {
		object := ObjectName(res)
		var locs []sarif.Location
		if uri, ok := sarifURI(res.Source.File, opt.BaseDir); ok {
			loc := sarif.Location{PhysicalLocation: sarif.PhysicalLocation{ArtifactLocation: sarif.ArtifactLocation{URI: uri}}}
			if res.Source.Line > 0 {
				loc.PhysicalLocation.Region = &sarif.Region{StartLine: res.Source.Line}
			}
			locs = []sarif.Location{loc}
		}
		for _, vp := range res.ViolatedPolicies {
			id := RuleID(vp)
			idx, ok := ruleIndex[id]
			if !ok {
				idx = len(driver.Rules)
				ruleIndex[id] = idx
				rule := sarif.Rule{
					ID:                   id,
					Name:                 vp.Name,
					ShortDescription:     sarif.Text{Text: cmp.Or(vp.Description, vp.Name)},
					DefaultConfiguration: sarif.Configuration{Level: sarifLevel(vp.Severity)},
					Properties:           sarif.RuleProperties{Severity: vp.Severity, SecuritySeverity: securitySeverity(vp.Severity), Tags: []string{"security", "kubernetes"}},
				}
				if vp.Remediation != "" {
					rule.Help = &sarif.Text{Text: vp.Remediation}
				}
				driver.Rules = append(driver.Rules, rule)
			}
			msg := fmt.Sprintf("%s violates policy %q", object, vp.Name)
			if len(vp.Violation) > 0 {
				msg += ": " + strings.Join(vp.Violation, "; ")
			}
			results = append(results, sarif.Result{
				RuleID:    id,
				RuleIndex: idx,
				Level:     sarifLevel(vp.Severity),
				Message:   sarif.Text{Text: msg},
				Locations: locs,
			})
		}
	}
	doc := sarif.Log{Schema: sarif.Schema, Version: "2.1.0", Runs: []sarif.Run{{Tool: sarif.Tool{Driver: driver}, Results: results}}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write SARIF report: %w", err)
	}
	return nil
}

// sarifURI turns an input path into a relative URI with forward slashes, or
// a file: URI when it lies outside baseDir. Standard input has no URI.
func sarifURI(file, baseDir string) (string, bool) {
	if file == "" || file == "-" {
		return "", false
	}
	p := filepath.Clean(file)
	if filepath.IsAbs(p) {
		if baseDir != "" {
			if rel, err := filepath.Rel(baseDir, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return (&url.URL{Path: filepath.ToSlash(rel)}).String(), true
			}
		}
		abs := filepath.ToSlash(p)
		if !strings.HasPrefix(abs, "/") {
			abs = "/" + abs // a Windows drive path: file:///C:/…
		}
		return (&url.URL{Scheme: "file", Path: abs}).String(), true
	}
	return (&url.URL{Path: filepath.ToSlash(p)}).String(), true
}
