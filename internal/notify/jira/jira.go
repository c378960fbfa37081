// Package jira opens a Jira issue for each new Stockade alert through the
// Jira REST API v2.
//
// Jira expects POST {url}/rest/api/2/issue with basic auth (username and
// password, or e-mail and API token on Jira Cloud) and a body
//
//	{"fields": {"project": {"key": "SEC"}, "summary": "…", "description": "<wiki markup>",
//	            "issuetype": {"name": "Bug"}, "priority": {"name": "High"}, "labels": […]}}
//
// and answers 201 {"id","key","self"}. A refusal (400 {"errorMessages":[…],
// "errors":{"field":"message"}}) becomes plain words listing Jira's messages.
//
// The project key comes from the deployment annotation named by labelKey,
// else labelDefault (where ACS keeps it), else jira.project. Policy
// severities map to priorities through jira.priorityMappings over a default
// of CRITICAL → Highest, HIGH → High, MEDIUM → Medium, LOW → Low (Jira's
// stock priority names). When Jira says the priority field cannot be set
// (it is not on the project's create screen), the issue is created again
// without a priority rather than lost. jira.defaultFieldsJson is a JSON
// object of extra fields (components, custom fields…); Stockade's own fields
// win over it, except labels, which are merged.
//
// Jira has no idempotency key, and searching before each create costs a
// query per alert; instead every issue carries the label
// stockade-<first 8 characters of the delivery ID>, so an issue a retried
// delivery created twice is easy to find. The test message creates one
// issue whose summary says it is a test and may be deleted.
package jira

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// DefaultPriorities maps policy severities to Jira priority names when
// jira.priorityMappings does not say otherwise.
func DefaultPriorities() map[string]string {
	return map[string]string{
		"CRITICAL_SEVERITY": "Highest",
		"HIGH_SEVERITY":     "High",
		"MEDIUM_SEVERITY":   "Medium",
		"LOW_SEVERITY":      "Low",
	}
}

const (
	maxSummary = 255 // Jira's limit on an issue summary
	issuePath  = "/rest/api/2/issue"
)

// projectKey is what Jira accepts as a project key (upper case by default;
// instances can allow lower case).
var projectKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,254}$`)

// Notifier creates issues in one Jira instance. It is safe for concurrent use.
type Notifier struct {
	issueURL   string
	host       string
	auth       string // "Basic …"
	secrets    []string
	project    string
	labelKey   string
	issueType  string
	priorities map[string]string
	defaults   map[string]json.RawMessage
	labels     []string // from the default fields
	uiEndpoint string
	client     *http.Client
}

// New checks cfg.Jira and returns a ready Notifier.
func New(cfg notifier.Config) (*Notifier, error) {
	j := cfg.Jira
	if j == nil {
		return nil, notifier.Invalid("jira", "required for a notifier of type %q", notifier.TypeJira)
	}
	u, err := notifier.CheckURL("jira.url", j.URL)
	if err != nil {
		return nil, err
	}
	if u.User != nil {
		return nil, notifier.Invalid("jira.url", "must not hold credentials, set jira.username and jira.password")
	}
	u.RawQuery, u.Fragment = "", ""
	base := strings.TrimRight(u.String(), "/")
	if strings.TrimSpace(j.Username) == "" {
		return nil, notifier.Invalid("jira.username", "required")
	}
	if j.Password == "" {
		return nil, notifier.Invalid("jira.password", "required (a password, or an API token on Jira Cloud)")
	}
	if strings.TrimSpace(j.IssueType) == "" {
		return nil, notifier.Invalid("jira.issueType", "required, for example Bug or Task")
	}
	project, field := strings.TrimSpace(cfg.LabelDefault), "labelDefault"
	if project == "" {
		project, field = strings.TrimSpace(j.Project), "jira.project"
	}
	if project == "" {
		return nil, notifier.Invalid("labelDefault", "the Jira project key is required (labelDefault, or jira.project)")
	}
	if !projectKey.MatchString(project) {
		return nil, notifier.Invalid(field, "%q is not a Jira project key", project)
	}
	priorities := DefaultPriorities()
	seen := map[string]bool{}
	for i, pm := range j.PriorityMappings {
		if _, ok := priorities[pm.Severity]; !ok {
			return nil, notifier.Invalid(fmt.Sprintf("jira.priorityMappings[%d].severity", i),
				"unknown severity %q, want CRITICAL_SEVERITY, HIGH_SEVERITY, MEDIUM_SEVERITY or LOW_SEVERITY", pm.Severity)
		}
		if seen[pm.Severity] {
			return nil, notifier.Invalid(fmt.Sprintf("jira.priorityMappings[%d].severity", i), "%s is mapped twice", pm.Severity)
		}
		seen[pm.Severity] = true
		name := strings.TrimSpace(pm.PriorityName)
		if name == "" {
			return nil, notifier.Invalid(fmt.Sprintf("jira.priorityMappings[%d].priorityName", i), "required")
		}
		priorities[pm.Severity] = name
	}
	defaults, labels, err := parseDefaults(j.DefaultFieldsJSON)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := notifier.TLSConfig(j.CACert, j.SkipTLSVerify)
	if err != nil {
		return nil, notifier.Invalid("jira.caCert", "no PEM certificate found")
	}
	cred := base64.StdEncoding.EncodeToString([]byte(j.Username + ":" + j.Password))
	return &Notifier{
		issueURL:   base + issuePath,
		host:       u.Host,
		auth:       "Basic " + cred,
		secrets:    []string{j.Password, cred},
		project:    project,
		labelKey:   cfg.LabelKey,
		issueType:  strings.TrimSpace(j.IssueType),
		priorities: priorities,
		defaults:   defaults,
		labels:     labels,
		uiEndpoint: cfg.UIEndpoint,
		client:     notifier.HTTPClient(tlsCfg),
	}, nil
}

// parseDefaults reads jira.defaultFieldsJson: a JSON object of fields, with
// labels (if any) an array of strings.
func parseDefaults(raw string) (map[string]json.RawMessage, []string, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, nil, notifier.Invalid("jira.defaultFieldsJson", "not valid JSON at byte %d: %v", se.Offset, err)
		}
		return nil, nil, notifier.Invalid("jira.defaultFieldsJson", "want a JSON object of issue fields")
	}
	var labels []string
	if l, ok := fields["labels"]; ok {
		if err := json.Unmarshal(l, &labels); err != nil {
			return nil, nil, notifier.Invalid("jira.defaultFieldsJson", "labels: want an array of strings")
		}
		for _, s := range labels {
			if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' }) {
				return nil, nil, notifier.Invalid("jira.defaultFieldsJson", "labels: %q is not a Jira label (no spaces)", s)
			}
		}
		delete(fields, "labels")
	}
	return fields, labels, nil
}

// Wants takes tests, new alerts and summaries: an issue is opened once and
// people close it in Jira.
func (n *Notifier) Wants(kind notifier.Kind, event notifier.Event) bool {
	return notifier.Takes(kind, event, notifier.EventNew)
}

// Send creates the issue m stands for.
func (n *Notifier) Send(ctx context.Context, m *notifier.Message) error {
	if m == nil {
		return notifier.Fail("jira: no message to send")
	}
	var is issue
	switch m.Kind {
	case notifier.KindTest:
		a := m.Alert
		if a == nil {
			a = notifier.SampleAlert(m.Time, n.uiEndpoint)
		}
		is = n.alertIssue(a, true)
		is.project = n.project
	case notifier.KindAlert:
		if m.Alert == nil {
			return notifier.Fail("jira: alert message %s carries no alert", m.ID)
		}
		if m.Event != notifier.EventNew {
			return notifier.Fail("jira: alert event %q is not one Jira takes", m.Event)
		}
		is = n.alertIssue(m.Alert, false)
		is.project = n.project
		if p := notifier.Annotation(m.Alert, n.labelKey); p != "" {
			if !projectKey.MatchString(p) {
				return notifier.Fail("jira: annotation %s names %q, which is not a Jira project key", n.labelKey, notifier.Shorten(p, 64))
			}
			is.project = p
		}
	case notifier.KindSummary:
		if m.Summary == nil {
			return notifier.Fail("jira: summary message %s carries no summary", m.ID)
		}
		is = n.summaryIssue(m.Summary)
		is.project = n.project
	case notifier.KindAudit:
		return notifier.Fail("jira: Jira does not take audit events")
	default:
		return notifier.Fail("jira: unknown message kind %q", m.Kind)
	}
	return n.create(ctx, m.ID, is)
}

// issue is what Stockade sets on an issue it creates.
type issue struct {
	project     string
	summary     string
	description string
	severity    string
}

type nameRef struct {
	Name string `json:"name"`
}

type keyRef struct {
	Key string `json:"key"`
}

// answer is what Jira says: the created issue, or why it refused.
type answer struct {
	Key           string            `json:"key"`
	ErrorMessages []string          `json:"errorMessages"`
	Errors        map[string]string `json:"errors"`
}

func (n *Notifier) create(ctx context.Context, id string, is issue) error {
	priority := n.priorities[is.severity]
	a, err := n.post(ctx, id, n.fields(id, is, priority, false))
	if err != nil && a != nil && a.Errors["priority"] != "" {
		// The priority field is not on this project's create screen: an issue
		// without a priority beats a lost alert.
		_, err = n.post(ctx, id, n.fields(id, is, "", true))
	}
	return err
}

// fields is the issue's fields: the defaults, then Stockade's. An empty
// priority keeps the defaults' one unless noPriority.
func (n *Notifier) fields(id string, is issue, priority string, noPriority bool) map[string]any {
	f := make(map[string]any, len(n.defaults)+6)
	for k, v := range n.defaults {
		f[k] = v
	}
	f["project"] = keyRef{Key: is.project}
	f["summary"] = is.summary
	f["description"] = is.description
	f["issuetype"] = nameRef{Name: n.issueType}
	switch {
	case noPriority:
		delete(f, "priority")
	case priority != "":
		f["priority"] = nameRef{Name: priority}
	}
	labels := append([]string{"stockade"}, n.labels...)
	if l := deliveryLabel(id); l != "" {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	f["labels"] = slices.Compact(labels)
	return f
}

// deliveryLabel is stockade-<the first 8 characters of the delivery ID>,
// with anything a Jira label cannot hold replaced.
func deliveryLabel(id string) string {
	if id == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString("stockade-")
	for i, r := range id {
		if i >= 8 {
			break
		}
		if r < 0x80 && (r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

func (n *Notifier) post(ctx context.Context, id string, fields map[string]any) (*answer, error) {
	body, err := json.Marshal(map[string]any{"fields": fields})
	if err != nil {
		return nil, fmt.Errorf("jira: encode issue: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.issueURL, bytes.NewReader(body))
	if err != nil {
		return nil, notifier.Fail("jira: build request for %s: %v", n.host, err)
	}
	req.Header.Set("Authorization", n.auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if id != "" {
		req.Header.Set("X-Stockade-Delivery", id)
	}
	if _, err := notifier.Do(ctx, n.client, req, notifier.MaxAnswer); err != nil {
		return n.refused(err)
	}
	return nil, nil
}

// refused puts a failed create in plain words with Jira's messages, and
// returns Jira's answer when it gave one.
func (n *Notifier) refused(err error) (*answer, error) {
	var de *notifier.Error
	if !errors.As(err, &de) {
		return nil, fmt.Errorf("jira: create issue: %w", err)
	}
	body := de.Body // Jira's answer as written; what is quoted from it is scrubbed below
	de.Scrub(n.secrets...)
	if de.Status == 0 {
		return nil, fmt.Errorf("jira: create issue: %w", err)
	}
	var hint string
	switch de.Status {
	case http.StatusUnauthorized:
		hint = "check jira.username and jira.password (an API token on Jira Cloud)"
	case http.StatusForbidden:
		hint = "the Jira user may not create issues in this project"
	case http.StatusNotFound:
		hint = "check jira.url (include the context path, e.g. https://host/jira)"
	}
	var a answer
	if json.Unmarshal(body, &a) != nil || len(a.ErrorMessages)+len(a.Errors) == 0 {
		if hint != "" {
			return nil, de.WithMessage(notifier.Scrub(fmt.Sprintf("jira: create issue: %s; %s", de.Message, hint), n.secrets...))
		}
		return nil, fmt.Errorf("jira: create issue: %w", err)
	}
	msg := fmt.Sprintf("jira: %s refused the issue (%d %s): %s", n.host, de.Status, http.StatusText(de.Status), describe(a))
	if hint != "" {
		msg += "; " + hint
	}
	return &a, de.WithMessage(notifier.Scrub(msg, n.secrets...))
}

func describe(a answer) string {
	var parts []string
	for _, m := range a.ErrorMessages {
		if s := notifier.PlainLine(m); s != "" {
			parts = append(parts, s)
		}
	}
	keys := make([]string, 0, len(a.Errors))
	for k := range a.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, notifier.PlainLine(k)+": "+notifier.PlainLine(a.Errors[k]))
	}
	if len(parts) > 10 {
		parts = append(parts[:10], fmt.Sprintf("and %d more", len(parts)-10))
	}
	return strings.Join(parts, "; ")
}
