package report

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/stockade-dev/stockade/internal/sarif"
	"github.com/stockade-dev/stockade/internal/textcell"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// TableOptions tune WriteTable.
type TableOptions struct {
	// Color adds ANSI colours; the caller sets it only for a terminal whose
	// user did not opt out (NO_COLOR).
	Color bool
}

const ansiReset = "\x1b[0m"

func severityColor(s scan.Severity) string {
	switch s {
	case scan.SeverityCritical:
		return "\x1b[1;31m"
	case scan.SeverityImportant:
		return "\x1b[31m"
	case scan.SeverityModerate:
		return "\x1b[33m"
	case scan.SeverityLow:
		return "\x1b[36m"
	}
	return ""
}

// WriteTable writes a header naming the image, one row per finding (most
// severe first) and the summary line.
func WriteTable(w io.Writer, img *scan.Image, opt TableOptions) error {
	ew := &textcell.Writer{W: w}
	ew.Printf("Image:   %s\n", textcell.Clean(cmp.Or(img.FullName, img.Name)))
	if img.Digest != "" {
		ew.Printf("Digest:  %s\n", textcell.Clean(img.Digest))
	}
	if img.OS != nil {
		ew.Printf("OS:      %s\n", textcell.Clean(osName(img.OS.PrettyName, img.OS.ID, img.OS.VersionID)))
	}
	if !img.ScanTime.IsZero() {
		ew.Printf("Scanned: %s\n", img.ScanTime.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	findings := Findings(img)
	if len(findings) > 0 {
		header := []string{"SEVERITY", "VULNERABILITY", "CVSS", "COMPONENT", "VERSION", "FIXED BY", "PATH"}
		rows := make([][]string, len(findings))
		widths := make([]int, len(header))
		for i, h := range header {
			widths[i] = textcell.Width(h)
		}
		for i, f := range findings {
			cvss := "-"
			if f.Vuln.CVSS > 0 {
				cvss = strconv.FormatFloat(f.Vuln.CVSS, 'f', 1, 64)
			}
			rows[i] = []string{
				string(f.Vuln.Severity), f.Vuln.ID, cvss, f.Component.Name, f.Component.Version,
				cmp.Or(f.Vuln.FixedBy, "-"), f.Component.Path,
			}
			for j, cell := range rows[i] {
				rows[i][j] = textcell.Clean(cell)
				widths[j] = max(widths[j], textcell.Width(rows[i][j]))
			}
		}
		ew.Printf("\n")
		writeRow(ew, header, widths, "")
		for i, r := range rows {
			color := ""
			if opt.Color {
				color = severityColor(findings[i].Vuln.Severity)
			}
			writeRow(ew, r, widths, color)
		}
	}
	ew.Printf("\n%s\n", Summarize(img))
	for _, n := range img.Notes {
		ew.Printf("note: %s\n", textcell.Clean(n))
	}
	return ew.Err
}

func writeRow(ew *textcell.Writer, cells []string, widths []int, color string) {
	var b strings.Builder
	for i, c := range cells {
		if i == 0 && color != "" {
			b.WriteString(color + textcell.Pad(c, widths[i]) + ansiReset)
		} else if i == len(cells)-1 {
			b.WriteString(c)
		} else {
			b.WriteString(textcell.Pad(c, widths[i]))
		}
		if i < len(cells)-1 {
			b.WriteString("  ")
		}
	}
	ew.Printf("%s\n", strings.TrimRight(b.String(), " "))
}

func osName(pretty, id, version string) string {
	if pretty != "" {
		return pretty
	}
	return strings.TrimSpace(id + " " + version)
}

// WriteJSON writes the scan result as it is (the components with their
// vulnerabilities), indented by two spaces: the same document Central's
// POST /v1/images/scan answers.
func WriteJSON(w io.Writer, img *scan.Image) error {
	out := *img
	if out.Components == nil {
		out.Components = []scan.Component{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		return fmt.Errorf("write JSON scan result: %w", err)
	}
	return nil
}

// CSVHeader is the first row WriteCSV writes.
func CSVHeader() []string {
	return []string{"image", "component", "version", "ecosystem", "source", "path", "layer",
		"vulnerability", "aliases", "severity", "cvss", "fixed_by", "link"}
}

// WriteCSV writes a header row and one row per finding. Cells that a
// spreadsheet would take for a formula (starting with = + - @ or a tab)
// get a leading single quote.
func WriteCSV(w io.Writer, img *scan.Image) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader()); err != nil {
		return fmt.Errorf("write CSV scan result: %w", err)
	}
	name := cmp.Or(img.FullName, img.Name)
	for _, f := range Findings(img) {
		c, v := f.Component, f.Vuln
		cvss := ""
		if v.CVSS > 0 {
			cvss = strconv.FormatFloat(v.CVSS, 'f', 1, 64)
		}
		src := c.SourceName
		if src != "" && c.SourceVersion != "" {
			src += " " + c.SourceVersion
		}
		row := []string{name, c.Name, c.Version, string(c.Ecosystem), src, c.Path, c.Layer,
			v.ID, strings.Join(v.Aliases, " "), string(v.Severity), cvss, v.FixedBy, v.Link}
		for i := range row {
			row[i] = textcell.Inert(row[i])
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write CSV scan result: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write CSV scan result: %w", err)
	}
	return nil
}

// SARIFOptions tune WriteSARIF.
type SARIFOptions struct {
	// ToolVersion is the stockade version in the log's tool driver.
	ToolVersion string
}

// SARIFSchema is the schema URI of the logs WriteSARIF writes.
const SARIFSchema = sarif.Schema

func sarifLevel(s scan.Severity) string {
	switch s {
	case scan.SeverityCritical, scan.SeverityImportant:
		return "error"
	case scan.SeverityModerate:
		return "warning"
	}
	return "note"
}

// securitySeverity is the score GitHub code scanning ranks results by: the
// CVSS score when known, else a score in the middle of the severity's band.
func securitySeverity(v *scan.Vuln) string {
	if v.CVSS > 0 {
		return strconv.FormatFloat(v.CVSS, 'f', 1, 64)
	}
	switch v.Severity {
	case scan.SeverityCritical:
		return "9.5"
	case scan.SeverityImportant:
		return "8.0"
	case scan.SeverityModerate:
		return "5.5"
	case scan.SeverityLow:
		return "2.0"
	}
	return ""
}

// WriteSARIF writes the findings as a SARIF 2.1.0 log: one rule per
// vulnerability id, one result per finding, located at the file inside the
// image that declares the component (the package database, the binary, the
// jar), with the component as a logical location.
func WriteSARIF(w io.Writer, img *scan.Image, opt SARIFOptions) error {
	driver := sarif.Driver{Name: "stockade", InformationURI: "https://github.com/stockade-dev/stockade", Version: opt.ToolVersion, Rules: []sarif.Rule{}}
	ruleIndex := map[string]int{}
	results := []sarif.Result{}
	image := cmp.Or(img.FullName, img.Name)
	for _, f := range Findings(img) {
		c, v := f.Component, f.Vuln
		idx, ok := ruleIndex[v.ID]
		if !ok {
			idx = len(driver.Rules)
			ruleIndex[v.ID] = idx
			driver.Rules = append(driver.Rules, sarif.Rule{
				ID:                   v.ID,
				Name:                 v.ID,
				ShortDescription:     sarif.Text{Text: cmp.Or(v.Summary, v.ID)},
				HelpURI:              v.Link,
				DefaultConfiguration: sarif.Configuration{Level: sarifLevel(v.Severity)},
				Properties:           sarif.RuleProperties{Severity: string(v.Severity), SecuritySeverity: securitySeverity(v), Tags: []string{"security", "vulnerability"}},
			})
		}
		msg := fmt.Sprintf("%s %s in %s is affected by %s (%s)", c.Name, c.Version, image, v.ID, v.Severity)
		if v.FixedBy != "" {
			msg += "; fixed in " + v.FixedBy
		} else {
			msg += "; no fix available"
		}
		results = append(results, sarif.Result{
			RuleID:    v.ID,
			RuleIndex: idx,
			Level:     sarifLevel(v.Severity),
			Message:   sarif.Text{Text: msg},
			Locations: []sarif.Location{{
				PhysicalLocation: sarif.PhysicalLocation{ArtifactLocation: sarif.ArtifactLocation{URI: (&url.URL{Path: c.Path}).String()}},
				LogicalLocations: []sarif.LogicalLocation{{
					Name: c.Name, FullyQualifiedName: cmp.Or(c.PURL, c.Name+"@"+c.Version), Kind: "package",
				}},
			}},
		})
	}
	run := sarif.Run{Tool: sarif.Tool{Driver: driver}, Results: results}
	if img.Digest != "" {
		run.Properties = map[string]string{"image": image, "digest": img.Digest}
	}
	doc := sarif.Log{Schema: SARIFSchema, Version: "2.1.0", Runs: []sarif.Run{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write SARIF scan result: %w", err)
	}
	return nil
}
