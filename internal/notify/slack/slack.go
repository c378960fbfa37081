// Package slack posts Stockade alerts to a Slack incoming webhook.
//
// What Slack expects: a POST of `Content-Type: application/json` to the
// webhook URL (the URL is the secret: whoever has it can post). The body is a
// message with a `text` line (shown in notifications and used as the
// fallback) and one legacy attachment carrying the alert: a severity
// `color` bar, `title` and `title_link` (the alert in the dashboard),
// `fields` (policy, severity, cluster, namespace, deployment, stage,
// violations) and `mrkdwn_in` naming the parts written in Slack mrkdwn.
// User content is escaped as Slack asks: `&`, `<` and `>` become `&amp;`,
// `&lt;` and `&gt;`, so a policy name or violation text cannot forge a link
// or a mention. Slack answers 200 with the body `ok`; a refusal is a 4xx
// whose body is an error code (`invalid_payload`, `invalid_token`,
// `no_service`, `channel_is_archived`, …) which Send turns into words.
//
// The webhook URL is the config's labelDefault; when labelKey names an
// annotation set on the deployment (or its namespace), that annotation's
// value — an https:// webhook URL — is used instead, so a team can route
// its own namespace to its own channel.
//
// Colours by severity: Critical #B00020 (red), High #F57C00 (orange),
// Medium #FBC02D (yellow), Low #1E88E5 (blue), unknown #9E9E9E (grey).
// A storm summary takes the colour of the worst severity it folded.
//
// Slack takes test messages, NEW alerts and storm summaries; resolved and
// re-opened alerts and audit events are not sent (Wants says so).
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// Bounds that keep one message readable and well under Slack's limits.
const (
	maxViolations  = 10   // violations listed before "and N more"
	maxPolicies    = 10   // top policies listed in a summary
	maxLine        = 300  // runes kept of one violation or policy name
	maxDescription = 1000 // runes kept of the policy description
)

// Notifier delivers to one Slack incoming webhook. It is safe for
// concurrent use.
type Notifier struct {
	uiEndpoint string
	labelKey   string
	webhook    *url.URL
	client     *http.Client
}

// New checks cfg (a "slack" notifier: labelDefault is the webhook URL,
// labelKey an optional annotation that overrides it) and returns a ready
// Notifier.
func New(cfg notifier.Config) (*Notifier, error) {
	if cfg.Type != "" && cfg.Type != notifier.TypeSlack {
		return nil, notifier.Invalid("type", "want %q, got %q", notifier.TypeSlack, cfg.Type)
	}
	u, err := notifier.CheckURL("labelDefault", cfg.LabelDefault)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := notifier.TLSConfig("", false)
	if err != nil {
		return nil, fmt.Errorf("slack TLS configuration: %w", err)
	}
	return &Notifier{
		uiEndpoint: cfg.UIEndpoint,
		labelKey:   strings.TrimSpace(cfg.LabelKey),
		webhook:    u,
		client:     notifier.HTTPClient(tlsCfg),
	}, nil
}

// Wants says Slack takes test messages, NEW alerts and storm summaries.
func (n *Notifier) Wants(kind notifier.Kind, event notifier.Event) bool {
	return notifier.Takes(kind, event, notifier.EventNew)
}

// Send posts m to the webhook: the annotation's when the alert carries one,
// else the configured one.
func (n *Notifier) Send(ctx context.Context, m *notifier.Message) error {
	if m == nil {
		return notifier.Fail("slack: no message")
	}
	if !n.Wants(m.Kind, m.Event) {
		return notifier.Fail("slack does not take %s messages (event %q)", m.Kind, m.Event)
	}
	var (
		msg    message
		target = n.webhook
	)
	switch m.Kind {
	case notifier.KindTest:
		a := m.Alert
		if a == nil {
			a = notifier.SampleAlert(m.Time, n.uiEndpoint)
		}
		msg = alertMessage(a, true)
	case notifier.KindAlert:
		if m.Alert == nil {
			return notifier.Fail("slack: alert message %s carries no alert", m.ID)
		}
		u, err := notifier.WebhookFor("slack", m.Alert, n.labelKey, n.webhook)
		if err != nil {
			return err
		}
		target = u
		msg = alertMessage(m.Alert, false)
	case notifier.KindSummary:
		if m.Summary == nil {
			return notifier.Fail("slack: summary message %s carries no summary", m.ID)
		}
		msg = summaryMessage(m.Summary)
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode slack message: %w", err)
	}
	return n.post(ctx, target, body)
}

func (n *Notifier) post(ctx context.Context, u *url.URL, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return notifier.Fail("slack: build request to %s: %v", u.Host, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	answer, err := notifier.Do(ctx, n.client, req, notifier.MaxAnswer)
	if err != nil {
		if words := explain(err); words != "" {
			return fmt.Errorf("post to Slack: %s: %w", words, err)
		}
		return fmt.Errorf("post to Slack: %w", err)
	}
	// A 2xx whose body is one of Slack's error codes is a refusal all the same.
	if code := strings.TrimSpace(string(answer)); code != "ok" {
		if words := errorWords(code); words != "" {
			return notifier.Fail("post to Slack: %s: %s answered %q", words, u.Host, code)
		}
	}
	return nil
}

// errorWords is a Slack incoming-webhook error code in plain words, or "".
func errorWords(code string) string {
	switch code {
	case "invalid_payload":
		return "Slack could not read the message (invalid_payload)"
	case "no_text":
		return "the message has no text"
	case "invalid_token":
		return "the webhook URL is no longer valid: the webhook was removed or regenerated"
	case "no_service":
		return "the webhook is disabled, removed or the URL is wrong"
	case "no_service_id":
		return "the webhook URL is wrong"
	case "no_team":
		return "the Slack workspace in the webhook URL does not exist"
	case "team_disabled":
		return "the Slack workspace is disabled"
	case "channel_not_found":
		return "the webhook's channel does not exist"
	case "channel_is_archived":
		return "the webhook's channel is archived"
	case "action_prohibited":
		return "a Slack admin restricted posting to this channel"
	case "posting_to_general_channel_denied":
		return "only admins may post to this channel"
	case "user_not_found":
		return "the webhook's user does not exist"
	case "too_many_attachments":
		return "the message has too many attachments"
	case "rate_limited":
		return "Slack rate-limited this webhook"
	}
	return ""
}

// explain is the plain-words meaning of the Slack error code that a refusal
// quotes as its whole body (notifier.Do puts it after the last ": "), or "".
func explain(err error) string {
	var e *notifier.Error
	if !errors.As(err, &e) {
		return ""
	}
	i := strings.LastIndex(e.Message, ": ")
	if i < 0 {
		return ""
	}
	return errorWords(e.Message[i+2:])
}

// message is Slack's incoming-webhook payload.
type message struct {
	Text        string       `json:"text"`
	Attachments []attachment `json:"attachments,omitempty"`
}

// attachment is one legacy (secondary) attachment.
type attachment struct {
	Fallback  string   `json:"fallback"`
	Color     string   `json:"color"`
	Pretext   string   `json:"pretext,omitempty"`
	Title     string   `json:"title"`
	TitleLink string   `json:"title_link,omitempty"`
	Text      string   `json:"text,omitempty"`
	Fields    []field  `json:"fields"`
	MrkdwnIn  []string `json:"mrkdwn_in"`
	Footer    string   `json:"footer,omitempty"`
	Ts        int64    `json:"ts,omitempty"`
}

type field struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

func alertMessage(a *notifier.Alert, test bool) message {
	sev := notifier.SeverityTitle(a.Policy.Severity)
	policy := escape(clip(oneLine(a.Policy.Name), maxLine))
	entity := entityText(a)
	text := fmt.Sprintf("%s policy *%s* violated by %s", sev, policy, entity)
	fallback := fmt.Sprintf("%s policy %s violated by %s", sev, policy, entity)
	title := "Policy violation: " + policy
	pretext := ""
	if test {
		text = "Test message from Stockade: " + text
		fallback = "Test message from Stockade: " + fallback
		title = "Test message: " + policy
		pretext = "This is a test message from Stockade to check this Slack integration. No action is needed."
	}
	fields := []field{
		{Title: "Policy", Value: policy, Short: true},
		{Title: "Severity", Value: sev, Short: true},
	}
	if d := a.Deployment; d != nil {
		fields = append(fields,
			field{Title: "Cluster", Value: orDash(d.ClusterName), Short: true},
			field{Title: "Namespace", Value: orDash(d.Namespace), Short: true},
			field{Title: "Deployment", Value: orDash(d.Name), Short: true},
		)
	}
	if a.Image != "" {
		fields = append(fields, field{Title: "Image", Value: escape(clip(a.Image, maxLine)), Short: true})
	}
	fields = append(fields, field{Title: "Stage", Value: orDash(a.LifecycleStage), Short: true})
	if a.Enforcement != "" {
		fields = append(fields, field{Title: "Enforcement", Value: escape(a.Enforcement), Short: true})
	}
	fields = append(fields, field{Title: "Violations", Value: violationsText(a.Violations), Short: false})
	if a.Policy.Remediation != "" {
		fields = append(fields, field{Title: "Remediation", Value: escape(clip(a.Policy.Remediation, maxDescription)), Short: false})
	}
	if a.Link != "" {
		text += " (<" + a.Link + "|view in Stockade>)"
	}
	return message{
		Text: text,
		Attachments: []attachment{{
			Fallback:  fallback,
			Color:     color(a.Policy.Severity),
			Pretext:   pretext,
			Title:     title,
			TitleLink: a.Link,
			Text:      escape(clip(a.Policy.Description, maxDescription)),
			Fields:    fields,
			MrkdwnIn:  []string{"text", "pretext", "fields"},
			Footer:    "Stockade",
			Ts:        unix(a.Time),
		}},
	}
}

func summaryMessage(s *notifier.Summary) message {
	text := fmt.Sprintf("Alert storm: %d more alerts were folded into this summary between %s and %s",
		s.Count, s.From.UTC().Format(time.RFC3339), s.To.UTC().Format(time.RFC3339))
	fallback := text
	if s.Link != "" {
		text += " (<" + s.Link + "|view in Stockade>)"
	}
	var fields []field
	for _, sev := range notifier.Severities() {
		if c := s.BySeverity[sev]; c > 0 {
			fields = append(fields, field{Title: notifier.SeverityTitle(sev), Value: strconv.Itoa(c), Short: true})
		}
	}
	if len(s.TopPolicies) > 0 {
		var b strings.Builder
		for i, p := range s.TopPolicies {
			if i == maxPolicies {
				fmt.Fprintf(&b, "… and %d more policies", len(s.TopPolicies)-maxPolicies)
				break
			}
			fmt.Fprintf(&b, "• %s: %d\n", escape(clip(oneLine(p.Name), maxLine)), p.Count)
		}
		fields = append(fields, field{Title: "Top policies", Value: strings.TrimRight(b.String(), "\n"), Short: false})
	}
	return message{
		Text: text,
		Attachments: []attachment{{
			Fallback:  fallback,
			Color:     color(notifier.WorstSeverity(s.BySeverity)),
			Title:     fmt.Sprintf("%d alerts folded during an alert storm", s.Count),
			TitleLink: s.Link,
			Fields:    fields,
			MrkdwnIn:  []string{"text", "fields"},
			Footer:    "Stockade",
			Ts:        unix(s.To),
		}},
	}
}

func color(severity string) string {
	switch severity {
	case "CRITICAL_SEVERITY":
		return "#B00020"
	case "HIGH_SEVERITY":
		return "#F57C00"
	case "MEDIUM_SEVERITY":
		return "#FBC02D"
	case "LOW_SEVERITY":
		return "#1E88E5"
	}
	return "#9E9E9E"
}

func entityText(a *notifier.Alert) string {
	if d := a.Deployment; d != nil {
		return fmt.Sprintf("deployment %s in namespace %s of cluster %s",
			orDash(d.Name), orDash(d.Namespace), orDash(d.ClusterName))
	}
	if a.Image != "" {
		return "image " + escape(clip(a.Image, maxLine))
	}
	return "an unknown entity"
}

func violationsText(vs []notifier.Violation) string {
	return notifier.Bullets(len(vs), maxViolations, "• ", func(i int) string {
		return escape(clip(oneLine(vs[i].Message), maxLine))
	})
}

// escape applies Slack's three escapes to user content.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return escape(clip(oneLine(s), maxLine))
}

// oneLine folds runs of white space (newlines too) into one space, so a
// list item stays one item.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clip keeps at most n runes of s, marking the cut.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
