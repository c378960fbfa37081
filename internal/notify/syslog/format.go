package syslog

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// Syslog severities (RFC 5424 section 6.2.1) used here.
const (
	sevCritical = 2
	sevError    = 3
	sevWarning  = 4
	sevNotice   = 5
	sevInfo     = 6
)

// record is one message before it is written in a format: the RFC 5424
// header values, the CEF header values, and the fields both formats list.
type record struct {
	msgID    string
	time     time.Time
	severity int    // syslog severity
	cefSev   int    // CEF severity 0-10
	sigID    string // CEF Device Event Class ID
	name     string // CEF Name
	fields   []field
	// cut is the index of the field shortened first when the message is too
	// long (the violations), or -1.
	cut int
}

// field is one value with its CEF extension key (label for the custom
// keys cs1…, cn1…, flexString1…) and its LEGACY key; an empty key leaves
// the field out of that format. cefValue, when set, replaces value in CEF
// (timestamps as milliseconds since the epoch).
type field struct {
	cef, label, legacy string
	value, cefValue    string
}

// record turns a message into a record.
func (n *Notifier) record(m *notifier.Message) (*record, error) {
	now := m.Time
	if now.IsZero() {
		now = time.Now()
	}
	var r *record
	switch m.Kind {
	case notifier.KindTest:
		a := m.Alert
		if a == nil {
			a = notifier.SampleAlert(now, n.ui)
		}
		r = n.alertRecord(a, notifier.EventNew, true)
	case notifier.KindAlert:
		if m.Alert == nil {
			return nil, notifier.Fail("syslog: alert message %s carries no alert", m.ID)
		}
		event := m.Event
		if event == "" {
			event = notifier.EventNew
		}
		r = n.alertRecord(m.Alert, event, false)
	case notifier.KindSummary:
		if m.Summary == nil {
			return nil, notifier.Fail("syslog: summary message %s carries no summary", m.ID)
		}
		r = n.summaryRecord(m.Summary)
	case notifier.KindAudit:
		if m.Audit == nil {
			return nil, notifier.Fail("syslog: audit message %s carries no audit event", m.ID)
		}
		if !n.audit {
			return nil, notifier.Fail("syslog: audit logging is not enabled for this notifier")
		}
		r = auditRecord(m.Audit)
	default:
		return nil, notifier.Fail("syslog notifier does not take %q messages", m.Kind)
	}
	r.time = now
	r.fields = append(r.fields,
		field{cef: "flexString2", label: "deliveryId", legacy: "deliveryId", value: m.ID},
		field{cef: "dvchost", value: n.hostname},
	)
	for _, kv := range n.extra {
		r.fields = append(r.fields, field{cef: kv.Key, legacy: kv.Key, value: kv.Value})
	}
	return r, nil
}

func (n *Notifier) alertRecord(a *notifier.Alert, event notifier.Event, test bool) *record {
	r := &record{
		msgID:    "alert",
		severity: syslogSeverity(a.Policy.Severity),
		cefSev:   cefSeverity(a.Policy.Severity),
		sigID:    a.Policy.ID,
		name:     a.Policy.Name,
	}
	if test {
		r.msgID = "test"
	}
	if event == notifier.EventResolved {
		r.severity = sevInfo
	}
	link := a.Link
	if link == "" {
		link = notifier.AlertLink(n.ui, a.ID)
	}
	var cluster, namespace, deployment, images string
	if d := a.Deployment; d != nil {
		cluster, namespace, deployment = d.ClusterName, d.Namespace, d.Name
		seen := map[string]bool{}
		var list []string
		for _, c := range d.Containers {
			if c.Image != "" && !seen[c.Image] {
				seen[c.Image] = true
				list = append(list, c.Image)
			}
		}
		images = strings.Join(list, ",")
	}
	if a.Image != "" {
		images = a.Image
	}
	var v []string
	for _, vi := range a.Violations {
		v = append(v, vi.Message)
	}
	msg := strings.Join(v, "; ")
	if test {
		msg = "Test message from Stockade: " + msg
	}
	r.fields = []field{
		{cef: "rt", legacy: "time", value: rfc3339(a.Time), cefValue: millis(a.Time)},
		{cef: "start", legacy: "firstOccurred", value: rfc3339(a.FirstOccurred), cefValue: millis(a.FirstOccurred)},
		{cef: "externalId", legacy: "alertId", value: a.ID},
		{cef: "cs4", label: "event", legacy: "event", value: string(event)},
		{legacy: "policyId", value: a.Policy.ID},
		{legacy: "policy", value: a.Policy.Name},
		{legacy: "severity", value: a.Policy.Severity},
		{legacy: "state", value: a.State},
		{cef: "cat", legacy: "lifecycleStage", value: a.LifecycleStage},
		{cef: "act", legacy: "enforcement", value: a.Enforcement},
		{cef: "cs1", label: "cluster", legacy: "cluster", value: cluster},
		{cef: "cs2", label: "namespace", legacy: "namespace", value: namespace},
		{cef: "cs3", label: "deployment", legacy: "deployment", value: deployment},
		{cef: "cs5", label: "categories", legacy: "categories", value: strings.Join(a.Policy.Categories, ",")},
		{cef: "cs6", label: "image", legacy: "image", value: images},
		{cef: "msg", legacy: "violations", value: msg},
		{cef: "flexString1", label: "link", legacy: "link", value: link},
	}
	r.cut = cefIndex(r.fields, "msg")
	return r
}

func (n *Notifier) summaryRecord(s *notifier.Summary) *record {
	worst := notifier.WorstSeverity(s.BySeverity)
	var bySev []string
	for _, sev := range notifier.Severities() {
		if c := s.BySeverity[sev]; c > 0 {
			bySev = append(bySev, fmt.Sprintf("%s: %d", notifier.SeverityTitle(sev), c))
		}
	}
	var top []string
	for i, p := range s.TopPolicies {
		if i == 20 {
			break
		}
		top = append(top, fmt.Sprintf("%s (%d)", p.Name, p.Count))
	}
	link := s.Link
	if link == "" {
		link = notifier.ViolationsLink(n.ui)
	}
	r := &record{
		msgID:    "summary",
		severity: syslogSeverity(worst),
		cefSev:   cefSeverity(worst),
		sigID:    "summary",
		name:     "Alert storm summary",
		fields: []field{
			{cef: "start", legacy: "from", value: rfc3339(s.From), cefValue: millis(s.From)},
			{cef: "end", legacy: "to", value: rfc3339(s.To), cefValue: millis(s.To)},
			{cef: "cnt", legacy: "count", value: strconv.Itoa(s.Count)},
			{cef: "cs1", label: "bySeverity", legacy: "bySeverity", value: strings.Join(bySev, ", ")},
			{cef: "cs2", label: "topPolicies", legacy: "topPolicies", value: strings.Join(top, ", ")},
			{cef: "msg", legacy: "msg", value: fmt.Sprintf("%d more alerts were folded during an alert storm", s.Count)},
			{cef: "flexString1", label: "link", legacy: "link", value: link},
		},
	}
	r.cut = cefIndex(r.fields, "msg")
	return r
}

func auditRecord(a *notifier.Audit) *record {
	src := a.SourceIP
	if h, _, err := net.SplitHostPort(src); err == nil {
		src = h
	}
	srcKey := "src"
	if net.ParseIP(src) == nil {
		srcKey = "shost"
	}
	status := ""
	if a.Status != 0 {
		status = strconv.Itoa(a.Status)
	}
	return &record{
		msgID:    "audit",
		severity: sevInfo,
		cefSev:   3,
		sigID:    "audit",
		name:     strings.TrimSpace("API " + a.Interaction),
		fields: []field{
			{cef: "rt", legacy: "time", value: rfc3339(a.Time), cefValue: millis(a.Time)},
			{cef: "act", legacy: "interaction", value: a.Interaction},
			{cef: "suser", legacy: "user", value: a.User},
			{cef: "spriv", legacy: "role", value: a.Role},
			{cef: "requestMethod", legacy: "method", value: a.Method},
			{cef: "request", legacy: "path", value: a.Path},
			{cef: "cn1", label: "status", legacy: "status", value: status},
			{cef: srcKey, legacy: "sourceIp", value: src},
		},
		cut: 5, // the request path
	}
}

// cutEscaped shortens v so that, escaped for n's format, it is at least
// by bytes shorter; escaping can grow a value, so the cut is measured in
// escaped bytes.
func (n *Notifier) cutEscaped(v string, by int) string {
	escLen := func(r rune) int {
		if n.format == FormatCEF {
			return len(cefValue(string(r)))
		}
		return len(legacyValue(string(r))) - 2
	}
	total := 0
	for _, r := range v {
		total += escLen(r)
	}
	budget := total - by
	used := 0
	for i, r := range v {
		if used+escLen(r) > budget {
			return v[:i]
		}
		used += escLen(r)
	}
	return v
}

// cefIndex is the index of the field with CEF key k, or -1.
func cefIndex(fs []field, k string) int {
	for i, f := range fs {
		if f.cef == k {
			return i
		}
	}
	return -1
}

// encode writes r as an RFC 5424 message in n's format, at most n.maxSize
// bytes: the field at r.cut is shortened first, then the whole message.
func (n *Notifier) encode(r *record) []byte {
	head := fmt.Sprintf("<%d>1 %s %s stockade - %s - ", n.facility*8+r.severity,
		r.time.UTC().Format("2006-01-02T15:04:05.000000Z"), n.hostname, r.msgID)
	body := n.body(r)
	if over := len(head) + len(body) - n.maxSize; over > 0 && r.cut >= 0 && r.cut < len(r.fields) {
		f := &r.fields[r.cut]
		f.value = n.cutEscaped(f.value, over+len("…"))
		if f.value != "" {
			f.value += "…"
		}
		body = n.body(r)
	}
	msg := head + body
	if len(msg) > n.maxSize {
		msg = cutBytes(msg, n.maxSize)
		// Never end on half an escape sequence.
		if t := len(msg) - len(strings.TrimRight(msg, `\`)); t%2 == 1 {
			msg = msg[:len(msg)-1]
		}
	}
	return []byte(msg)
}

func (n *Notifier) body(r *record) string {
	var b strings.Builder
	if n.format == FormatCEF {
		b.WriteString("CEF:0|Stockade|Stockade|")
		b.WriteString(cefHeader(n.version))
		b.WriteByte('|')
		b.WriteString(cefHeader(r.sigID))
		b.WriteByte('|')
		b.WriteString(cefHeader(r.name))
		b.WriteByte('|')
		b.WriteString(strconv.Itoa(r.cefSev))
		b.WriteByte('|')
		sep := ""
		for _, f := range r.fields {
			if f.cef == "" || f.value == "" {
				continue
			}
			v := f.value
			if f.cefValue != "" {
				v = f.cefValue
			}
			if f.label != "" {
				fmt.Fprintf(&b, "%s%sLabel=%s", sep, f.cef, cefValue(f.label))
				sep = " "
			}
			fmt.Fprintf(&b, "%s%s=%s", sep, f.cef, cefValue(v))
			sep = " "
		}
		return b.String()
	}
	sep := ""
	for _, f := range r.fields {
		if f.legacy == "" || f.value == "" {
			continue
		}
		fmt.Fprintf(&b, "%s%s=%s", sep, f.legacy, legacyValue(f.value))
		sep = " "
	}
	return b.String()
}

// cefHeader escapes a CEF header value: backslash and pipe; line breaks
// and other control characters, which the header cannot hold, become
// spaces.
func cefHeader(s string) string {
	s = controlsToSpace(s)
	s = strings.ReplaceAll(s, `\`, `\\`)
	return strings.ReplaceAll(s, "|", `\|`)
}

// cefValue escapes a CEF extension value: backslash, equals sign, and line
// breaks as \n and \r; other control characters become spaces.
func cefValue(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '=':
			b.WriteString(`\=`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case unicode.IsControl(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// legacyValue quotes a LEGACY value: "…" with backslash, double quote and
// line breaks escaped as in Go, other control characters as spaces.
func legacyValue(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsControl(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func controlsToSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// cutBytes is the longest prefix of s of at most n bytes that ends on a
// rune boundary.
func cutBytes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func millis(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// syslogSeverity maps a policy severity: Critical → crit, High → err,
// Medium → warning, Low (and unknown) → notice.
func syslogSeverity(s string) int {
	switch s {
	case "CRITICAL_SEVERITY":
		return sevCritical
	case "HIGH_SEVERITY":
		return sevError
	case "MEDIUM_SEVERITY":
		return sevWarning
	}
	return sevNotice
}

// cefSeverity maps a policy severity onto CEF's 0-10 scale (0-3 low, 4-6
// medium, 7-8 high, 9-10 very high).
func cefSeverity(s string) int {
	switch s {
	case "CRITICAL_SEVERITY":
		return 10
	case "HIGH_SEVERITY":
		return 8
	case "MEDIUM_SEVERITY":
		return 5
	case "LOW_SEVERITY":
		return 3
	}
	return 0
}
