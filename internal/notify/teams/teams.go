// Package teams posts Stockade alerts to a Microsoft Teams incoming webhook
// as an Office 365 connector card (MessageCard).
//
// What Teams expects: a POST of `Content-Type: application/json` to the
// webhook URL (the URL is the secret). The body is a MessageCard:
// `@type: MessageCard`, `@context: https://schema.org/extensions`, a
// `summary` (the notification line; Teams refuses a card without summary or
// text), `themeColor` (hex without '#'), `title`, `text`, `sections` whose
// `facts` are name/value pairs, and `potentialAction` with an `OpenUri`
// action that opens the alert in the dashboard when Stockade knows its
// address. The delivery ID goes in `correlationId`, the card's tracing key.
// Teams answers 200 with the body `1`; the connector service sometimes
// answers 200 with "Webhook message delivery failed with error: …" when
// Teams itself refused (429 when throttled), and Send treats that as a
// failure worth retrying.
//
// Card text is markdown: user content has `&`, `<`, `>` replaced by HTML
// entities and the markdown marks \ * _ ` [ ] escaped with a backslash, so
// a policy name or violation cannot inject links or markup. The summary (the
// plain notification line) is left as written.
//
// The webhook URL is the config's labelDefault; when labelKey names an
// annotation set on the deployment (or its namespace), that annotation's
// value — an https:// webhook URL — is used instead.
//
// Colours by severity: Critical B00020 (red), High F57C00 (orange), Medium
// FBC02D (yellow), Low 1E88E5 (blue), unknown 9E9E9E (grey); a storm summary
// takes the colour of the worst severity it folded.
//
// Teams takes test messages, NEW alerts and storm summaries; resolved and
// re-opened alerts and audit events are not sent (Wants says so).
package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// Bounds that keep one card readable and well under Teams' 28 KB limit.
const (
	maxViolations  = 10
	maxPolicies    = 10
	maxLine        = 300
	maxDescription = 1000
)

// Notifier delivers to one Teams incoming webhook. It is safe for
// concurrent use.
type Notifier struct {
	uiEndpoint string
	labelKey   string
	webhook    *url.URL
	client     *http.Client
}

// New checks cfg (a "teams" notifier: labelDefault is the webhook URL,
// labelKey an optional annotation that overrides it) and returns a ready
// Notifier.
func New(cfg notifier.Config) (*Notifier, error) {
	if cfg.Type != "" && cfg.Type != notifier.TypeTeams {
		return nil, notifier.Invalid("type", "want %q, got %q", notifier.TypeTeams, cfg.Type)
	}
	u, err := notifier.CheckURL("labelDefault", cfg.LabelDefault)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := notifier.TLSConfig("", false)
	if err != nil {
		return nil, fmt.Errorf("teams TLS configuration: %w", err)
	}
	return &Notifier{
		uiEndpoint: cfg.UIEndpoint,
		labelKey:   strings.TrimSpace(cfg.LabelKey),
		webhook:    u,
		client:     notifier.HTTPClient(tlsCfg),
	}, nil
}

// Wants says Teams takes test messages, NEW alerts and storm summaries.
func (n *Notifier) Wants(kind notifier.Kind, event notifier.Event) bool {
	return notifier.Takes(kind, event, notifier.EventNew)
}

// Send posts m as a MessageCard to the webhook: the annotation's when the
// alert carries one, else the configured one.
func (n *Notifier) Send(ctx context.Context, m *notifier.Message) error {
	if m == nil {
		return notifier.Fail("teams: no message")
	}
	if !n.Wants(m.Kind, m.Event) {
		return notifier.Fail("teams does not take %s messages (event %q)", m.Kind, m.Event)
	}
	var (
		c      card
		target = n.webhook
	)
	switch m.Kind {
	case notifier.KindTest:
		a := m.Alert
		if a == nil {
			a = notifier.SampleAlert(m.Time, n.uiEndpoint)
		}
		c = alertCard(a, true)
	case notifier.KindAlert:
		if m.Alert == nil {
			return notifier.Fail("teams: alert message %s carries no alert", m.ID)
		}
		u, err := notifier.WebhookFor("teams", m.Alert, n.labelKey, n.webhook)
		if err != nil {
			return err
		}
		target = u
		c = alertCard(m.Alert, false)
	case notifier.KindSummary:
		if m.Summary == nil {
			return notifier.Fail("teams: summary message %s carries no summary", m.ID)
		}
		c = summaryCard(m.Summary)
	}
	c.CorrelationID = m.ID
	body, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode teams card: %w", err)
	}
	return n.post(ctx, target, body)
}

func (n *Notifier) post(ctx context.Context, u *url.URL, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return notifier.Fail("teams: build request to %s: %v", u.Host, err)
	}
	req.Header.Set("Content-Type", "application/json")
	answer, err := notifier.Do(ctx, n.client, req, notifier.MaxAnswer)
	if err != nil {
		return fmt.Errorf("post to Teams: %w", err)
	}
	// The connector service relays Teams' own refusal inside a 200.
	if a := strings.TrimSpace(string(answer)); strings.HasPrefix(a, "Webhook message delivery failed") {
		a = clip(oneLine(a), 512)
		e := &notifier.Error{Status: http.StatusOK, Message: fmt.Sprintf("%s accepted the card but Teams did not deliver it: %s", u.Host, a)}
		if strings.Contains(a, "HTTP error 429") {
			e.Status = http.StatusTooManyRequests
		}
		return fmt.Errorf("post to Teams: %w", e)
	}
	return nil
}

// card is a MessageCard (Office 365 connector card).
type card struct {
	Type            string    `json:"@type"`
	Context         string    `json:"@context"`
	CorrelationID   string    `json:"correlationId,omitempty"`
	Summary         string    `json:"summary"`
	ThemeColor      string    `json:"themeColor"`
	Title           string    `json:"title"`
	Text            string    `json:"text,omitempty"`
	Sections        []section `json:"sections,omitempty"`
	PotentialAction []action  `json:"potentialAction,omitempty"`
}

type section struct {
	Title            string `json:"title,omitempty"`
	ActivityTitle    string `json:"activityTitle,omitempty"`
	ActivitySubtitle string `json:"activitySubtitle,omitempty"`
	Text             string `json:"text,omitempty"`
	Facts            []fact `json:"facts,omitempty"`
	Markdown         bool   `json:"markdown"`
}

type fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// action is an OpenUri action.
type action struct {
	Type    string   `json:"@type"`
	Name    string   `json:"name"`
	Targets []target `json:"targets"`
}

type target struct {
	OS  string `json:"os"`
	URI string `json:"uri"`
}

func newCard(summary, title, color, link string) card {
	c := card{
		Type: "MessageCard", Context: "https://schema.org/extensions",
		Summary: summary, Title: title, ThemeColor: color,
	}
	if link != "" {
		c.PotentialAction = []action{{
			Type: "OpenUri", Name: "View in Stockade",
			Targets: []target{{OS: "default", URI: link}},
		}}
	}
	return c
}

func alertCard(a *notifier.Alert, test bool) card {
	sev := notifier.SeverityTitle(a.Policy.Severity)
	policy := clip(oneLine(a.Policy.Name), maxLine)
	summary := fmt.Sprintf("%s policy %s violated by %s", sev, policy, entityText(a))
	title := "Policy violation: " + escape(policy)
	if test {
		summary = "Test message from Stockade: " + summary
		title = "Test message: " + escape(policy)
	}
	c := newCard(clip(summary, maxLine), title, color(a.Policy.Severity), a.Link)
	text := escape(clip(a.Policy.Description, maxDescription))
	if test {
		text = "This is a test message from Stockade to check this Teams integration. No action is needed."
	}
	c.Text = text
	facts := []fact{
		{Name: "Policy", Value: escape(policy)},
		{Name: "Severity", Value: sev},
	}
	if d := a.Deployment; d != nil {
		facts = append(facts,
			fact{Name: "Cluster", Value: orDash(d.ClusterName)},
			fact{Name: "Namespace", Value: orDash(d.Namespace)},
			fact{Name: "Deployment", Value: orDash(d.Name)},
		)
	}
	if a.Image != "" {
		facts = append(facts, fact{Name: "Image", Value: orDash(a.Image)})
	}
	facts = append(facts, fact{Name: "Stage", Value: orDash(a.LifecycleStage)})
	if a.Enforcement != "" {
		facts = append(facts, fact{Name: "Enforcement", Value: orDash(a.Enforcement)})
	}
	if !a.Time.IsZero() {
		facts = append(facts, fact{Name: "Time", Value: a.Time.UTC().Format(time.RFC3339)})
	}
	c.Sections = []section{
		{ActivityTitle: escape(clip(entityText(a), maxLine)), Facts: facts, Markdown: true},
		{Title: "Violations", Text: violationsText(a.Violations), Markdown: true},
	}
	if a.Policy.Remediation != "" {
		c.Sections = append(c.Sections, section{Title: "Remediation", Text: escape(clip(a.Policy.Remediation, maxDescription)), Markdown: true})
	}
	return c
}

func summaryCard(s *notifier.Summary) card {
	summary := fmt.Sprintf("Alert storm: %d more alerts were folded into this summary", s.Count)
	var facts []fact
	for _, sev := range notifier.Severities() {
		if n := s.BySeverity[sev]; n > 0 {
			facts = append(facts, fact{Name: notifier.SeverityTitle(sev), Value: strconv.Itoa(n)})
		}
	}
	facts = append(facts,
		fact{Name: "From", Value: s.From.UTC().Format(time.RFC3339)},
		fact{Name: "To", Value: s.To.UTC().Format(time.RFC3339)},
	)
	c := newCard(summary, fmt.Sprintf("%d alerts folded during an alert storm", s.Count), color(notifier.WorstSeverity(s.BySeverity)), s.Link)
	c.Text = fmt.Sprintf("Stockade's rate limit for this notifier folded %d alerts raised between %s and %s into this summary.",
		s.Count, s.From.UTC().Format(time.RFC3339), s.To.UTC().Format(time.RFC3339))
	c.Sections = []section{{Title: "Alerts by severity", Facts: facts, Markdown: true}}
	if len(s.TopPolicies) > 0 {
		var top []fact
		for i, p := range s.TopPolicies {
			if i == maxPolicies {
				top = append(top, fact{Name: "…", Value: fmt.Sprintf("and %d more policies", len(s.TopPolicies)-maxPolicies)})
				break
			}
			top = append(top, fact{Name: escape(clip(oneLine(p.Name), maxLine)), Value: strconv.Itoa(p.Count)})
		}
		c.Sections = append(c.Sections, section{Title: "Top policies", Facts: top, Markdown: true})
	}
	return c
}

func color(severity string) string {
	switch severity {
	case "CRITICAL_SEVERITY":
		return "B00020"
	case "HIGH_SEVERITY":
		return "F57C00"
	case "MEDIUM_SEVERITY":
		return "FBC02D"
	case "LOW_SEVERITY":
		return "1E88E5"
	}
	return "9E9E9E"
}

// entityText names what violated, unescaped.
func entityText(a *notifier.Alert) string {
	if d := a.Deployment; d != nil {
		return fmt.Sprintf("deployment %s in namespace %s of cluster %s",
			oneLine(d.Name), oneLine(d.Namespace), oneLine(d.ClusterName))
	}
	if a.Image != "" {
		return "image " + oneLine(a.Image)
	}
	return "an unknown entity"
}

func violationsText(vs []notifier.Violation) string {
	return notifier.Bullets(len(vs), maxViolations, "- ", func(i int) string {
		return escape(clip(oneLine(vs[i].Message), maxLine))
	})
}

// escape keeps user content literal in Teams' markdown and HTML.
func escape(s string) string {
	return strings.NewReplacer(
		"&", "&amp;", "<", "&lt;", ">", "&gt;",
		`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`,
	).Replace(s)
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return escape(clip(oneLine(s), maxLine))
}

// oneLine folds runs of white space (newlines too) into one space.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clip keeps at most n runes of s, marking the cut.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
