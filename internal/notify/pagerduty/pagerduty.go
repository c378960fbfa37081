// Package pagerduty opens and resolves PagerDuty incidents for Stockade
// alerts through the Events API v2.
//
// PagerDuty expects a POST of JSON to https://events.pagerduty.com/v2/enqueue:
//
//	{"routing_key": "<integration key>", "event_action": "trigger", "dedup_key": "<alert ID>",
//	 "payload": {"summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"},
//	 "links": [{"href", "text"}], "client": "Stockade", "client_url": "…"}
//
// and answers 202 {"status":"success","message":"Event processed","dedup_key":"…"}.
// A resolve carries only routing_key, event_action and dedup_key. A refusal
// (400 {"status":"invalid event","message":"Event object is invalid","errors":[…]})
// becomes plain words listing PagerDuty's errors; 429 is retried.
//
// The alert ID is the dedup key, so a retried trigger never opens a second
// incident, REOPENED triggers the same key again and RESOLVED resolves it.
// Policy severities map to PagerDuty's: CRITICAL → critical, HIGH → error,
// MEDIUM → warning, LOW → info (anything else → warning). A storm summary
// triggers an incident keyed by its time window. The test message triggers
// an incident and resolves it at once, so testing leaves nothing open.
package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// DefaultEndpoint is the Events API v2 enqueue address.
const DefaultEndpoint = "https://events.pagerduty.com/v2/enqueue"

const (
	maxSummary    = 1024 // PagerDuty's limit on payload.summary
	maxDedupKey   = 255  // and on dedup_key
	maxViolations = 100  // violations listed in custom_details
	maxText       = 4096 // bytes of any one text in custom_details
	maxPolicies   = 50   // top policies listed in a summary
)

// Notifier sends to one PagerDuty service. It is safe for concurrent use.
type Notifier struct {
	endpoint   string
	host       string
	routingKey string
	uiEndpoint string
	origin     string
	client     *http.Client
}

// New checks cfg.PagerDuty and returns a ready Notifier.
func New(cfg notifier.Config) (*Notifier, error) {
	p := cfg.PagerDuty
	if p == nil {
		return nil, notifier.Invalid("pagerduty", "required for a notifier of type %q", notifier.TypePagerDuty)
	}
	if err := notifier.CheckToken("pagerduty.apiKey", p.APIKey); err != nil {
		return nil, err
	}
	endpoint := DefaultEndpoint
	if strings.TrimSpace(p.Endpoint) != "" {
		u, err := notifier.CheckURL("pagerduty.endpoint", p.Endpoint)
		if err != nil {
			return nil, err
		}
		endpoint = u.String()
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, notifier.Invalid("pagerduty.endpoint", "not a URL")
	}
	tlsCfg, err := notifier.TLSConfig("", false)
	if err != nil {
		return nil, err
	}
	return &Notifier{
		endpoint:   endpoint,
		host:       u.Host,
		routingKey: p.APIKey,
		uiEndpoint: cfg.UIEndpoint,
		origin:     notifier.Origin(cfg.UIEndpoint),
		client:     notifier.HTTPClient(tlsCfg),
	}, nil
}

// Wants takes tests, new, reopened and resolved alerts, and summaries.
func (n *Notifier) Wants(kind notifier.Kind, event notifier.Event) bool {
	return notifier.Takes(kind, event, notifier.EventNew, notifier.EventReopened, notifier.EventResolved)
}

// Send triggers or resolves the incident m stands for.
func (n *Notifier) Send(ctx context.Context, m *notifier.Message) error {
	if m == nil {
		return notifier.Fail("pagerduty: no message to send")
	}
	at := m.Time
	if at.IsZero() {
		at = time.Now()
	}
	switch m.Kind {
	case notifier.KindTest:
		a := m.Alert
		if a == nil {
			a = notifier.SampleAlert(at, n.uiEndpoint)
		}
		key := dedupKey("stockade-test-" + orDefault(m.ID, at.UTC().Format("20060102T150405.000000000Z")))
		if err := n.post(ctx, m.ID, n.trigger(key, m, a, at)); err != nil {
			return err
		}
		if err := n.post(ctx, m.ID, n.resolve(key)); err != nil {
			return fmt.Errorf("pagerduty: the test incident %s was opened but not resolved, resolve it in PagerDuty: %w", key, err)
		}
		return nil
	case notifier.KindAlert:
		if m.Alert == nil {
			return notifier.Fail("pagerduty: alert message %s carries no alert", m.ID)
		}
		key := dedupKey(m.Alert.ID)
		if key == "" {
			return notifier.Fail("pagerduty: alert message %s has no alert ID for a dedup key", m.ID)
		}
		switch m.Event {
		case notifier.EventNew, notifier.EventReopened:
			return n.post(ctx, m.ID, n.trigger(key, m, m.Alert, at))
		case notifier.EventResolved:
			return n.post(ctx, m.ID, n.resolve(key))
		}
		return notifier.Fail("pagerduty: alert event %q is not one PagerDuty takes", m.Event)
	case notifier.KindSummary:
		if m.Summary == nil {
			return notifier.Fail("pagerduty: summary message %s carries no summary", m.ID)
		}
		return n.post(ctx, m.ID, n.summary(m.Summary, at))
	case notifier.KindAudit:
		return notifier.Fail("pagerduty: PagerDuty does not take audit events")
	}
	return notifier.Fail("pagerduty: unknown message kind %q", m.Kind)
}

// event is an Events API v2 event.
type event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Payload     *payload `json:"payload,omitempty"`
	Links       []link   `json:"links,omitempty"`
	Client      string   `json:"client,omitempty"`
	ClientURL   string   `json:"client_url,omitempty"`
}

type payload struct {
	Summary       string `json:"summary"`
	Source        string `json:"source"`
	Severity      string `json:"severity"`
	Timestamp     string `json:"timestamp,omitempty"`
	Component     string `json:"component,omitempty"`
	Group         string `json:"group,omitempty"`
	Class         string `json:"class,omitempty"`
	CustomDetails any    `json:"custom_details,omitempty"`
}

type link struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

type alertDetails struct {
	Test              bool     `json:"test,omitempty"`
	Event             string   `json:"event,omitempty"`
	Policy            string   `json:"policy"`
	Severity          string   `json:"severity"`
	Description       string   `json:"description,omitempty"`
	Rationale         string   `json:"rationale,omitempty"`
	Remediation       string   `json:"remediation,omitempty"`
	Categories        []string `json:"categories,omitempty"`
	LifecycleStage    string   `json:"lifecycle_stage,omitempty"`
	Cluster           string   `json:"cluster,omitempty"`
	Namespace         string   `json:"namespace,omitempty"`
	Deployment        string   `json:"deployment,omitempty"`
	DeploymentType    string   `json:"deployment_type,omitempty"`
	Images            []string `json:"images,omitempty"`
	Violations        []string `json:"violations"`
	ViolationsOmitted int      `json:"violations_omitted,omitempty"`
	Enforcement       string   `json:"enforcement,omitempty"`
	AlertID           string   `json:"alert_id"`
	FirstOccurred     string   `json:"first_occurred,omitempty"`
	DeliveryID        string   `json:"delivery_id,omitempty"`
	Link              string   `json:"link,omitempty"`
}

type summaryDetails struct {
	Count              int                    `json:"count"`
	From               string                 `json:"from"`
	To                 string                 `json:"to"`
	BySeverity         map[string]int         `json:"by_severity"`
	TopPolicies        []notifier.PolicyCount `json:"top_policies"`
	TopPoliciesOmitted int                    `json:"top_policies_omitted,omitempty"`
	DeliveryID         string                 `json:"delivery_id,omitempty"`
	Link               string                 `json:"link,omitempty"`
}

func (n *Notifier) trigger(key string, m *notifier.Message, a *notifier.Alert, at time.Time) event {
	test := m.Kind == notifier.KindTest
	alertLink := a.Link
	if alertLink == "" && !test {
		alertLink = notifier.AlertLink(n.uiEndpoint, a.ID)
	}
	d := alertDetails{
		Test:           test,
		Policy:         a.Policy.Name,
		Severity:       a.Policy.Severity,
		Description:    notifier.Shorten(a.Policy.Description, maxText),
		Rationale:      notifier.Shorten(a.Policy.Rationale, maxText),
		Remediation:    notifier.Shorten(a.Policy.Remediation, maxText),
		Categories:     a.Policy.Categories,
		LifecycleStage: a.LifecycleStage,
		Enforcement:    a.Enforcement,
		AlertID:        a.ID,
		DeliveryID:     m.ID,
		Link:           alertLink,
		Violations:     []string{},
	}
	if !test {
		d.Event = string(m.Event)
	}
	if !a.FirstOccurred.IsZero() {
		d.FirstOccurred = a.FirstOccurred.UTC().Format(time.RFC3339)
	}
	for i, v := range a.Violations {
		if i == maxViolations {
			d.ViolationsOmitted = len(a.Violations) - i
			break
		}
		d.Violations = append(d.Violations, notifier.Shorten(v.Message, maxText))
	}
	p := &payload{
		Severity: severity(a.Policy.Severity),
		Class:    strings.Join(a.Policy.Categories, ", "),
	}
	if p.Class == "" {
		p.Class = a.LifecycleStage
	}
	if dep := a.Deployment; dep != nil {
		d.Cluster, d.Namespace, d.Deployment, d.DeploymentType = dep.ClusterName, dep.Namespace, dep.Name, dep.Type
		for _, c := range dep.Containers {
			d.Images = append(d.Images, c.Image)
		}
		p.Source = joinNonEmpty("/", dep.ClusterName, dep.Namespace, dep.Name)
		p.Component = dep.Name
		p.Group = joinNonEmpty("/", dep.ClusterName, dep.Namespace)
	} else if a.Image != "" {
		d.Images = []string{a.Image}
		p.Source = a.Image
		p.Component = a.Image
	}
	if p.Source == "" {
		p.Source = n.origin
	}
	p.CustomDetails = d
	when := a.Time
	if when.IsZero() {
		when = at
	}
	p.Timestamp = when.UTC().Format(time.RFC3339Nano)
	prefix := "[" + notifier.SeverityTitle(a.Policy.Severity) + "] "
	switch {
	case test:
		prefix = "[Test] "
	case m.Event == notifier.EventReopened:
		prefix += "Reopened: "
	}
	p.Summary = notifier.Shorten(notifier.PlainLine(prefix+a.Policy.Name+": "+notifier.Entity(a)), maxSummary)

	ev := n.envelope("trigger", key, p)
	if alertLink != "" {
		text := "View the alert in Stockade"
		if test {
			text = "View violations in Stockade"
		}
		ev.Links = []link{{Href: alertLink, Text: text}}
	}
	return ev
}

func (n *Notifier) summary(s *notifier.Summary, at time.Time) event {
	d := summaryDetails{
		Count:       s.Count,
		From:        s.From.UTC().Format(time.RFC3339),
		To:          s.To.UTC().Format(time.RFC3339),
		BySeverity:  s.BySeverity,
		TopPolicies: s.TopPolicies,
		Link:        s.Link,
	}
	if d.BySeverity == nil {
		d.BySeverity = map[string]int{}
	}
	if d.TopPolicies == nil {
		d.TopPolicies = []notifier.PolicyCount{}
	}
	if len(d.TopPolicies) > maxPolicies {
		d.TopPoliciesOmitted = len(d.TopPolicies) - maxPolicies
		d.TopPolicies = d.TopPolicies[:maxPolicies]
	}
	if d.Link == "" {
		d.Link = notifier.ViolationsLink(n.uiEndpoint)
	}
	text := fmt.Sprintf("Alert storm: %d more alerts folded", s.Count)
	if len(s.TopPolicies) > 0 {
		text += fmt.Sprintf(", most from %q", s.TopPolicies[0].Name)
	}
	when := s.To
	if when.IsZero() {
		when = at
	}
	p := &payload{
		Summary:       notifier.Shorten(notifier.PlainLine(text), maxSummary),
		Source:        n.origin,
		Severity:      severity(notifier.WorstSeverity(s.BySeverity)),
		Timestamp:     when.UTC().Format(time.RFC3339Nano),
		Component:     "alerts",
		Class:         "alert storm",
		CustomDetails: d,
	}
	key := "stockade-storm-" + s.From.UTC().Format("20060102T150405Z") + "-" + s.To.UTC().Format("20060102T150405Z")
	ev := n.envelope("trigger", key, p)
	if d.Link != "" {
		ev.Links = []link{{Href: d.Link, Text: "View violations in Stockade"}}
	}
	return ev
}

func (n *Notifier) envelope(action, key string, p *payload) event {
	return event{
		RoutingKey:  n.routingKey,
		EventAction: action,
		DedupKey:    key,
		Payload:     p,
		Client:      "Stockade",
		ClientURL:   notifier.ViolationsLink(n.uiEndpoint),
	}
}

// resolve carries only what PagerDuty needs to close the incident.
func (n *Notifier) resolve(key string) event {
	return event{RoutingKey: n.routingKey, EventAction: "resolve", DedupKey: key}
}

// answer is what the Events API says, on success and on refusal.
type answer struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key"`
	Errors   []string `json:"errors"`
}

func (n *Notifier) post(ctx context.Context, id string, ev event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("pagerduty: encode event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.endpoint, bytes.NewReader(body))
	if err != nil {
		return notifier.Fail("pagerduty: build request for %s: %v", n.host, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if id != "" {
		req.Header.Set("X-Stockade-Delivery", id)
	}
	got, err := notifier.Do(ctx, n.client, req, notifier.MaxAnswer)
	if err != nil {
		return n.refused(ev.EventAction, err)
	}
	var a answer
	if json.Unmarshal(got, &a) == nil && a.Status != "" && a.Status != "success" {
		return fmt.Errorf("pagerduty: %s did not take the %s event: %s", n.host, ev.EventAction, notifier.Scrub(describe(a), n.routingKey))
	}
	return nil
}

// refused puts a failed delivery in plain words with PagerDuty's errors.
func (n *Notifier) refused(action string, err error) error {
	var de *notifier.Error
	if !errors.As(err, &de) {
		return fmt.Errorf("pagerduty: send %s event: %w", action, err)
	}
	body := de.Body // PagerDuty's answer as written; what is quoted from it is scrubbed below
	de.Scrub(n.routingKey)
	var a answer
	if de.Status == 0 || json.Unmarshal(body, &a) != nil || (a.Message == "" && len(a.Errors) == 0) {
		return fmt.Errorf("pagerduty: send %s event: %w", action, err)
	}
	msg := fmt.Sprintf("pagerduty: %s refused the %s event (%d %s): %s", n.host, action, de.Status,
		http.StatusText(de.Status), describe(a))
	if strings.Contains(strings.Join(a.Errors, " "), "routing_key") || de.Status == http.StatusUnauthorized || de.Status == http.StatusForbidden {
		msg += "; check pagerduty.apiKey (the service's Events API v2 integration key)"
	}
	return de.WithMessage(notifier.Scrub(msg, n.routingKey))
}

func describe(a answer) string {
	parts := make([]string, 0, 1+len(a.Errors))
	if s := notifier.PlainLine(a.Message); s != "" {
		parts = append(parts, s)
	}
	errs := make([]string, 0, len(a.Errors))
	for i, e := range a.Errors {
		if i == 10 {
			errs = append(errs, fmt.Sprintf("and %d more", len(a.Errors)-i))
			break
		}
		if s := notifier.PlainLine(e); s != "" {
			errs = append(errs, s)
		}
	}
	if len(errs) > 0 {
		parts = append(parts, strings.Join(errs, "; "))
	}
	if len(parts) == 0 {
		return "status " + notifier.PlainLine(a.Status)
	}
	return strings.Join(parts, ": ")
}

// severity maps a policy severity to a PagerDuty one.
func severity(s string) string {
	switch s {
	case "CRITICAL_SEVERITY":
		return "critical"
	case "HIGH_SEVERITY":
		return "error"
	case "LOW_SEVERITY":
		return "info"
	}
	return "warning"
}

func dedupKey(s string) string { return notifier.Shorten(strings.TrimSpace(s), maxDedupKey) }

func joinNonEmpty(sep string, parts ...string) string {
	kept := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}
