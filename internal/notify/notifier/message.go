package notifier

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Kind is what a message carries.
type Kind string

// Message kinds.
const (
	KindAlert   Kind = "alert"   // a violation, new or changing state
	KindAudit   Kind = "audit"   // a change made through Central's API
	KindSummary Kind = "summary" // many alerts folded into one during a storm
	KindTest    Kind = "test"    // the test button: a sample alert
)

// Event is what happened to an alert.
type Event string

// Alert events. A notifier gets NEW once per alert, and RESOLVED or
// REOPENED only when it says it wants them (Sender.Wants).
const (
	EventNew      Event = "NEW"
	EventResolved Event = "RESOLVED"
	EventReopened Event = "REOPENED"
)

// Message is one delivery. ID is stable across retries of the same delivery
// (the outbox row): receivers that can deduplicate use it as the key.
type Message struct {
	ID      string    `json:"id"`
	Kind    Kind      `json:"kind"`
	Event   Event     `json:"event,omitempty"`
	Time    time.Time `json:"time"`
	Alert   *Alert    `json:"alert,omitempty"`
	Audit   *Audit    `json:"audit,omitempty"`
	Summary *Summary  `json:"summary,omitempty"`
}

// Alert is a violation as notifiers see it, in the shape of ACS's alert.
// Link points at the alert in the dashboard (empty when the notifier has no
// uiEndpoint).
type Alert struct {
	ID             string      `json:"id"`
	State          string      `json:"state"` // ACTIVE, RESOLVED, ATTEMPTED
	LifecycleStage string      `json:"lifecycleStage"`
	Policy         Policy      `json:"policy"`
	Deployment     *Deployment `json:"deployment,omitempty"`
	Image          string      `json:"image,omitempty"` // BUILD alerts on an image
	Violations     []Violation `json:"violations"`
	Enforcement    string      `json:"enforcement,omitempty"`
	FirstOccurred  time.Time   `json:"firstOccurred"`
	Time           time.Time   `json:"time"`
	Link           string      `json:"link,omitempty"`
}

// Policy is the violated policy.
type Policy struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Severity    string   `json:"severity"` // LOW_SEVERITY … CRITICAL_SEVERITY
	Description string   `json:"description,omitempty"`
	Rationale   string   `json:"rationale,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
	Categories  []string `json:"categories,omitempty"`
}

// Deployment is the violating workload.
type Deployment struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	ClusterName string            `json:"clusterName"`
	Type        string            `json:"type"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// NamespaceAnnotations are the namespace's annotations when Central knows them.
	NamespaceAnnotations map[string]string `json:"namespaceAnnotations,omitempty"`
	Containers           []Container       `json:"containers,omitempty"`
}

// Container names a container and its image.
type Container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// Violation is one finding of the policy.
type Violation struct {
	Message string `json:"message"`
}

// Audit is one change made through Central's API.
type Audit struct {
	Time     time.Time `json:"time"`
	User     string    `json:"user"`
	Role     string    `json:"role,omitempty"`
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Status   int       `json:"status"`
	SourceIP string    `json:"sourceIp"`
	// Interaction is CREATE, UPDATE or DELETE.
	Interaction string `json:"interaction"`
}

// Summary stands for alerts a notifier's rate limit folded together.
type Summary struct {
	Count      int            `json:"count"`
	From       time.Time      `json:"from"`
	To         time.Time      `json:"to"`
	BySeverity map[string]int `json:"bySeverity"`
	// TopPolicies are the policies with the most folded alerts, most first.
	TopPolicies []PolicyCount `json:"topPolicies"`
	Link        string        `json:"link,omitempty"`
}

// PolicyCount is a policy and how many alerts it raised.
type PolicyCount struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Sender delivers messages to one configured notifier. Implementations are
// safe for concurrent use.
type Sender interface {
	// Wants says whether this notifier takes messages of kind (and, for
	// alerts, event); Central enqueues only those. Every Sender takes
	// KindTest and alert NEW.
	Wants(kind Kind, event Event) bool
	// Send delivers m once. Its error says in plain words what the remote
	// answered; Permanent(err) says retrying cannot help.
	Send(ctx context.Context, m *Message) error
}

// Takes is the usual Sender.Wants for every kind but audit: tests and
// storm summaries always (Central folds any notifier's alerts into
// summaries during a storm), alerts whose event is one of events, nothing
// else.
func Takes(kind Kind, event Event, events ...Event) bool {
	switch kind {
	case KindTest, KindSummary:
		return true
	case KindAlert:
		return slices.Contains(events, event)
	}
	return false
}

// AlertLink is the dashboard address of an alert, or "" without a UI endpoint.
func AlertLink(uiEndpoint, alertID string) string {
	return uiLink(uiEndpoint, "/main/violations/"+url.PathEscape(alertID))
}

// ViolationsLink is the dashboard's violation list, or "".
func ViolationsLink(uiEndpoint string) string { return uiLink(uiEndpoint, "/main/violations") }

// Origin names Central as the source of what a notifier sends: the host of
// its dashboard address, or "stockade-central" without one.
func Origin(uiEndpoint string) string {
	const central = "stockade-central"
	ui := strings.TrimSpace(uiEndpoint)
	if ui == "" {
		return central
	}
	if !strings.Contains(ui, "://") {
		ui = "https://" + ui
	}
	u, err := url.Parse(ui)
	if err != nil || u.Hostname() == "" {
		return central
	}
	return u.Hostname()
}

func uiLink(uiEndpoint, path string) string {
	base := strings.TrimRight(strings.TrimSpace(uiEndpoint), "/")
	if base == "" {
		return ""
	}
	if !strings.Contains(base, "://") {
		base = "https://" + base
	}
	return base + path
}

// Annotation returns the override for key from the deployment's annotations,
// then its namespace's, or "" (Slack's and Teams' per-namespace webhook, an
// email recipient).
func Annotation(a *Alert, key string) string {
	if a == nil || a.Deployment == nil || key == "" {
		return ""
	}
	if v := strings.TrimSpace(a.Deployment.Annotations[key]); v != "" {
		return v
	}
	return strings.TrimSpace(a.Deployment.NamespaceAnnotations[key])
}

// WebhookFor is the incoming webhook an alert goes to: the URL in the
// labelKey annotation on its deployment (or namespace), or fallback when
// there is none. The annotation must hold an https:// URL: whoever can
// annotate a namespace sets it. Errors are permanent, start with name
// ("slack: annotation …") and name the annotation and the deployment, never
// the URL: it is a secret.
func WebhookFor(name string, a *Alert, labelKey string, fallback *url.URL) (*url.URL, error) {
	v := Annotation(a, labelKey)
	if v == "" {
		return fallback, nil
	}
	where := "deployment"
	if a.Deployment != nil {
		where = fmt.Sprintf("deployment %s/%s", a.Deployment.Namespace, a.Deployment.Name)
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return nil, Fail("%s: annotation %s on %s is not a webhook URL", name, labelKey, where)
	}
	if u.Scheme != "https" {
		return nil, Fail("%s: annotation %s on %s: want an https:// webhook URL, got scheme %q", name, labelKey, where, u.Scheme)
	}
	return u, nil
}

// Entity names what violated, for people: "Deployment shop/web in cluster
// prod", "image registry.example/app:1.0", or "an unnamed entity".
func Entity(a *Alert) string {
	if d := a.Deployment; d != nil {
		kind := d.Type
		if kind == "" {
			kind = "deployment"
		}
		s := fmt.Sprintf("%s %s/%s", kind, d.Namespace, d.Name)
		if d.ClusterName != "" {
			s += " in cluster " + d.ClusterName
		}
		return s
	}
	if a.Image != "" {
		return "image " + a.Image
	}
	return "an unnamed entity"
}

// SampleAlert is the alert a test message carries.
func SampleAlert(now time.Time, uiEndpoint string) *Alert {
	return &Alert{
		ID:             "00000000-0000-0000-0000-000000000000",
		State:          "ACTIVE",
		LifecycleStage: "DEPLOY",
		Policy: Policy{
			ID: "stockade-test", Name: "Stockade test message", Severity: "LOW_SEVERITY",
			Description: "A test message sent from Stockade to check this notifier's configuration.",
			Rationale:   "Checking an integration before an alert depends on it.",
			Remediation: "No action needed.",
			Categories:  []string{"Test"},
		},
		Deployment: &Deployment{
			ID: "00000000-0000-0000-0000-000000000001", Name: "example", Namespace: "stockade-test",
			ClusterName: "test", Type: "Deployment",
			Containers: []Container{{Name: "app", Image: "registry.example/app:1.0"}},
		},
		Violations:    []Violation{{Message: "This is a test message from Stockade."}},
		FirstOccurred: now, Time: now,
		Link: ViolationsLink(uiEndpoint),
	}
}

// Severities lists the policy severities, worst first.
func Severities() []string {
	return []string{"CRITICAL_SEVERITY", "HIGH_SEVERITY", "MEDIUM_SEVERITY", "LOW_SEVERITY"}
}

// WorstSeverity is the worst severity counted (above 0) in bySeverity, or
// "" when none is.
func WorstSeverity(bySeverity map[string]int) string {
	for _, sev := range Severities() {
		if bySeverity[sev] > 0 {
			return sev
		}
	}
	return ""
}

// SeverityTitle is a severity for people: "Critical", "High", "Medium", "Low".
func SeverityTitle(s string) string {
	switch s {
	case "CRITICAL_SEVERITY":
		return "Critical"
	case "HIGH_SEVERITY":
		return "High"
	case "MEDIUM_SEVERITY":
		return "Medium"
	case "LOW_SEVERITY":
		return "Low"
	}
	return "Unknown"
}
