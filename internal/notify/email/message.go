package email

import (
	"bytes"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// maxSubject bounds the subject in runes, so its header line stays under
// SMTP's 998-octet limit once folded.
const maxSubject = 200

// header is what a message's header says beyond From and the MIME fields.
type header struct {
	to      []*mail.Address
	subject string
	date    time.Time
	id      string // <…@stockade>
}

// compose builds the RFC 5322 message: headers, then a
// multipart/alternative body of text and HTML (text alone when html is
// empty), every line CRLF-terminated and every part quoted-printable.
func (n *Notifier) compose(h header, text, html string) ([]byte, error) {
	var buf bytes.Buffer
	writeHeader := func(k, v string) {
		buf.WriteString(k)
		buf.WriteString(": ")
		buf.WriteString(v)
		buf.WriteString("\r\n")
	}
	writeHeader("From", n.from.String())
	to := make([]string, len(h.to))
	for i, a := range h.to {
		to[i] = a.String()
	}
	writeHeader("To", strings.Join(to, ",\r\n "))
	writeHeader("Subject", encodeSubject(h.subject))
	writeHeader("Date", h.date.Format(time.RFC1123Z))
	writeHeader("Message-ID", h.id)
	writeHeader("Auto-Submitted", "auto-generated")
	writeHeader("MIME-Version", "1.0")

	if html == "" {
		writeHeader("Content-Type", `text/plain; charset="utf-8"`)
		writeHeader("Content-Transfer-Encoding", "quoted-printable")
		buf.WriteString("\r\n")
		if err := writeQP(&buf, text); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	writeHeader("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	buf.WriteString("\r\n")
	for _, p := range []struct{ ctype, s string }{{"text/plain", text}, {"text/html", html}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.ctype + `; charset="utf-8"`},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("compose %s part: %w", p.ctype, err)
		}
		if err := writeQP(w, p.s); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("compose multipart body: %w", err)
	}
	buf.Write(body.Bytes())
	return buf.Bytes(), nil
}

// writeQP writes s quoted-printable with CRLF line breaks.
func writeQP(w interface{ Write([]byte) (int, error) }, s string) error {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(s)); err != nil {
		return fmt.Errorf("encode body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("encode body: %w", err)
	}
	return nil
}

// encodeSubject makes s a safe header value: no line breaks or control
// characters (a header cannot be injected), at most maxSubject runes, and
// RFC 2047 encoded words folded onto continuation lines when s is not
// plain ASCII.
func encodeSubject(s string) string {
	s = truncateRunes(headerSafe(s), maxSubject)
	enc := mime.QEncoding.Encode("utf-8", s)
	if enc == s {
		return s
	}
	return strings.ReplaceAll(enc, " =?", "\r\n =?")
}

// headerSafe strips what could end a header line or confuse a reader:
// CR, LF and every other control character become spaces; runs of spaces
// collapse.
func headerSafe(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// content is one rendered message.
type content struct {
	subject, text, html string
}

// maxViolations bounds the violations one mail lists.
const maxViolations = 50

// alertView is what the templates show of an alert.
type alertView struct {
	Test        bool
	Event       string
	Policy      string
	Severity    string
	Color       string
	Description string
	Rationale   string
	Remediation string
	Entity      []field
	Violations  []string
	More        int
	Link        string
}

type field struct{ Name, Value string }

func (n *Notifier) renderAlert(a *notifier.Alert, event notifier.Event, test bool) (content, error) {
	v := alertView{
		Test:        test,
		Policy:      a.Policy.Name,
		Severity:    notifier.SeverityTitle(a.Policy.Severity),
		Color:       severityColor(a.Policy.Severity),
		Description: a.Policy.Description,
		Rationale:   a.Policy.Rationale,
		Remediation: a.Policy.Remediation,
		Link:        a.Link,
	}
	if v.Link == "" {
		v.Link = notifier.AlertLink(n.ui, a.ID)
	}
	switch event {
	case notifier.EventResolved:
		v.Event = "Resolved"
	case notifier.EventReopened:
		v.Event = "Reopened"
	}
	where := a.Image
	if d := a.Deployment; d != nil {
		where = d.ClusterName + "/" + d.Namespace + "/" + d.Name
		v.Entity = append(v.Entity,
			field{"Cluster", d.ClusterName},
			field{"Namespace", d.Namespace})
		name := d.Name
		if d.Type != "" {
			name += " (" + d.Type + ")"
		}
		v.Entity = append(v.Entity, field{"Deployment", name})
		for _, c := range d.Containers {
			v.Entity = append(v.Entity, field{"Container " + c.Name, c.Image})
		}
	}
	if a.Image != "" {
		v.Entity = append(v.Entity, field{"Image", a.Image})
	}
	if a.LifecycleStage != "" {
		v.Entity = append(v.Entity, field{"Lifecycle stage", a.LifecycleStage})
	}
	if a.Enforcement != "" {
		v.Entity = append(v.Entity, field{"Enforcement", a.Enforcement})
	}
	if !a.FirstOccurred.IsZero() {
		v.Entity = append(v.Entity, field{"First seen", a.FirstOccurred.UTC().Format(time.RFC3339)})
	}
	for i, vi := range a.Violations {
		if i == maxViolations {
			v.More = len(a.Violations) - maxViolations
			break
		}
		v.Violations = append(v.Violations, vi.Message)
	}

	subject := "[Stockade] "
	if test {
		subject += "Test message: "
	}
	if v.Event != "" {
		subject += v.Event + ": "
	}
	subject += v.Severity + " policy violation: " + v.Policy
	if where != "" {
		subject += " in " + where
	}

	var t strings.Builder
	if test {
		t.WriteString("This is a test message from Stockade, sent to check this notifier's configuration.\n\n")
	}
	if v.Event != "" {
		fmt.Fprintf(&t, "Alert %s.\n\n", strings.ToLower(v.Event))
	}
	fmt.Fprintf(&t, "Policy: %s\nSeverity: %s\n", v.Policy, v.Severity)
	for _, f := range v.Entity {
		fmt.Fprintf(&t, "%s: %s\n", f.Name, f.Value)
	}
	t.WriteString("\nViolations:\n")
	for _, m := range v.Violations {
		fmt.Fprintf(&t, "  - %s\n", m)
	}
	if v.More > 0 {
		fmt.Fprintf(&t, "  … and %d more\n", v.More)
	}
	for _, p := range []field{{"Description", v.Description}, {"Rationale", v.Rationale}, {"Remediation", v.Remediation}} {
		if p.Value != "" {
			fmt.Fprintf(&t, "\n%s:\n%s\n", p.Name, p.Value)
		}
	}
	if v.Link != "" {
		fmt.Fprintf(&t, "\nView the alert: %s\n", v.Link)
	}

	var h bytes.Buffer
	if err := n.html.ExecuteTemplate(&h, "alert", v); err != nil {
		return content{}, fmt.Errorf("render alert html: %w", err)
	}
	return content{subject: subject, text: t.String(), html: h.String()}, nil
}

// summaryView is what the templates show of a storm summary.
type summaryView struct {
	Count      int
	From, To   string
	BySeverity []field
	Top        []notifier.PolicyCount
	Link       string
}

func (n *Notifier) renderSummary(s *notifier.Summary) (content, error) {
	v := summaryView{Count: s.Count, Top: s.TopPolicies, Link: s.Link}
	if v.Link == "" {
		v.Link = notifier.ViolationsLink(n.ui)
	}
	if !s.From.IsZero() {
		v.From = s.From.UTC().Format(time.RFC3339)
	}
	if !s.To.IsZero() {
		v.To = s.To.UTC().Format(time.RFC3339)
	}
	for _, sev := range notifier.Severities() {
		if c := s.BySeverity[sev]; c > 0 {
			v.BySeverity = append(v.BySeverity, field{notifier.SeverityTitle(sev), fmt.Sprint(c)})
		}
	}
	other := 0
	for sev, c := range s.BySeverity {
		if notifier.SeverityTitle(sev) == "Unknown" {
			other += c
		}
	}
	if other > 0 {
		v.BySeverity = append(v.BySeverity, field{"Unknown", fmt.Sprint(other)})
	}
	if len(v.Top) > maxViolations {
		v.Top = v.Top[:maxViolations]
	}

	subject := fmt.Sprintf("[Stockade] Alert storm: %d more alerts folded", s.Count)
	var t strings.Builder
	fmt.Fprintf(&t, "%d more alerts were folded during an alert storm", s.Count)
	if v.From != "" && v.To != "" {
		fmt.Fprintf(&t, " between %s and %s", v.From, v.To)
	}
	t.WriteString(".\n")
	if len(v.BySeverity) > 0 {
		t.WriteString("\nBy severity:\n")
		for _, f := range v.BySeverity {
			fmt.Fprintf(&t, "  %s: %s\n", f.Name, f.Value)
		}
	}
	if len(v.Top) > 0 {
		t.WriteString("\nTop policies:\n")
		for _, p := range v.Top {
			fmt.Fprintf(&t, "  %s: %d\n", p.Name, p.Count)
		}
	}
	if v.Link != "" {
		fmt.Fprintf(&t, "\nView the violations: %s\n", v.Link)
	}
	var h bytes.Buffer
	if err := n.html.ExecuteTemplate(&h, "summary", v); err != nil {
		return content{}, fmt.Errorf("render summary html: %w", err)
	}
	return content{subject: subject, text: t.String(), html: h.String()}, nil
}

func severityColor(s string) string {
	switch s {
	case "CRITICAL_SEVERITY":
		return "#a30000"
	case "HIGH_SEVERITY":
		return "#c9190b"
	case "MEDIUM_SEVERITY":
		return "#ec7a08"
	case "LOW_SEVERITY":
		return "#f0ab00"
	}
	return "#6a6e73"
}

// htmlTemplate is escaped by html/template: every value from an alert is
// text, and a link that is not http(s) renders as a harmless "#ZgotmplZ".
const htmlTemplate = `{{define "alert"}}<!DOCTYPE html>
<html><body style="font-family: sans-serif; font-size: 14px;">
{{if .Test}}<p><strong>This is a test message from Stockade</strong>, sent to check this notifier's configuration.</p>
{{end}}{{if .Event}}<p>Alert {{.Event}}.</p>
{{end}}<h2 style="margin: 0 0 8px 0;"><span style="color: {{.Color}};">{{.Severity}}</span> policy violation: {{.Policy}}</h2>
<table cellpadding="4" style="border-collapse: collapse;">
<tr><th align="left">Policy</th><td>{{.Policy}}</td></tr>
<tr><th align="left">Severity</th><td>{{.Severity}}</td></tr>
{{range .Entity}}<tr><th align="left">{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
<h3>Violations</h3>
<ul>
{{range .Violations}}<li style="white-space: pre-line;">{{.}}</li>
{{end}}{{if .More}}<li>… and {{.More}} more</li>
{{end}}</ul>
{{if .Description}}<h3>Description</h3>
<p style="white-space: pre-line;">{{.Description}}</p>
{{end}}{{if .Rationale}}<h3>Rationale</h3>
<p style="white-space: pre-line;">{{.Rationale}}</p>
{{end}}{{if .Remediation}}<h3>Remediation</h3>
<p style="white-space: pre-line;">{{.Remediation}}</p>
{{end}}{{if .Link}}<p><a href="{{.Link}}">View the alert in Stockade</a></p>
{{end}}</body></html>
{{end}}{{define "summary"}}<!DOCTYPE html>
<html><body style="font-family: sans-serif; font-size: 14px;">
<h2 style="margin: 0 0 8px 0;">Alert storm: {{.Count}} more alerts folded</h2>
<p>{{.Count}} more alerts were folded during an alert storm{{if and .From .To}} between {{.From}} and {{.To}}{{end}}.</p>
{{if .BySeverity}}<h3>By severity</h3>
<table cellpadding="4" style="border-collapse: collapse;">
{{range .BySeverity}}<tr><th align="left">{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
{{end}}{{if .Top}}<h3>Top policies</h3>
<table cellpadding="4" style="border-collapse: collapse;">
{{range .Top}}<tr><td>{{.Name}}</td><td align="right">{{.Count}}</td></tr>
{{end}}</table>
{{end}}{{if .Link}}<p><a href="{{.Link}}">View the violations in Stockade</a></p>
{{end}}</body></html>
{{end}}`
