package slack

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/notify/notifytest"
)

// secretPath is what makes a webhook URL a secret; no error may repeat it.
const secretPath = "/services/T0STOCK/B0ADE/s3cr3tW3bh00kT0k3n"

func ok(w http.ResponseWriter) { _, _ = io.WriteString(w, "ok") }

// Slack's documented incoming-webhook payload; decoding into it with
// DisallowUnknownFields fails on any field Slack does not define.
type slackMessage struct {
	Text        string            `json:"text"`
	Blocks      []json.RawMessage `json:"blocks"`
	Attachments []slackAttachment `json:"attachments"`
	ThreadTS    string            `json:"thread_ts"`
	Mrkdwn      *bool             `json:"mrkdwn"`
	Username    string            `json:"username"`
	IconEmoji   string            `json:"icon_emoji"`
	IconURL     string            `json:"icon_url"`
	Channel     string            `json:"channel"`
}

type slackAttachment struct {
	Fallback   string       `json:"fallback"`
	Color      string       `json:"color"`
	Pretext    string       `json:"pretext"`
	AuthorName string       `json:"author_name"`
	AuthorLink string       `json:"author_link"`
	AuthorIcon string       `json:"author_icon"`
	Title      string       `json:"title"`
	TitleLink  string       `json:"title_link"`
	Text       string       `json:"text"`
	Fields     []slackField `json:"fields"`
	ImageURL   string       `json:"image_url"`
	ThumbURL   string       `json:"thumb_url"`
	Footer     string       `json:"footer"`
	FooterIcon string       `json:"footer_icon"`
	Ts         json.Number  `json:"ts"`
	MrkdwnIn   []string     `json:"mrkdwn_in"`
}

type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

// decode checks the request is what Slack documents and returns its body.
func decode(t *testing.T, r notifytest.Request) slackMessage {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var m slackMessage
	notifytest.DecodeStrict(t, r.Body, &m)
	if m.Text == "" {
		t.Error("text (the notification line and fallback) is empty")
	}
	if len(m.Attachments) != 1 {
		t.Fatalf("got %d attachments, want 1", len(m.Attachments))
	}
	at := m.Attachments[0]
	if at.Fallback == "" {
		t.Error("attachment has no fallback")
	}
	if !strings.HasPrefix(at.Color, "#") || len(at.Color) != 7 {
		t.Errorf("color %q is not #RRGGBB", at.Color)
	}
	for _, f := range at.MrkdwnIn {
		if f != "text" && f != "pretext" && f != "fields" {
			t.Errorf("mrkdwn_in names %q, which Slack does not take", f)
		}
	}
	for _, f := range at.Fields {
		if f.Title == "" || f.Value == "" {
			t.Errorf("field %+v has an empty title or value", f)
		}
	}
	return m
}

func fieldOf(t *testing.T, at slackAttachment, title string) string {
	t.Helper()
	for _, f := range at.Fields {
		if f.Title == title {
			return f.Value
		}
	}
	t.Fatalf("no field %q in %+v", title, at.Fields)
	return ""
}

func config(url string) notifier.Config {
	return notifier.Config{
		ID: "n1", Name: "team slack", Type: notifier.TypeSlack,
		UIEndpoint: "https://stockade.example", LabelKey: "stockade.io/slack-webhook", LabelDefault: url,
	}
}

func newNotifier(t *testing.T, cfg notifier.Config) *Notifier {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

func sampleAlert(severity string, violations int) *notifier.Alert {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := &notifier.Alert{
		ID: "a-1", State: "ACTIVE", LifecycleStage: "DEPLOY",
		Policy: notifier.Policy{
			ID: "p-1", Name: "Privileged <container> & friends", Severity: severity,
			Description: "Runs with *all* privileges", Remediation: "Drop privileged: true.",
		},
		Deployment: &notifier.Deployment{
			ID: "d-1", Name: "payments", Namespace: "shop", ClusterName: "prod-eu", Type: "Deployment",
		},
		FirstOccurred: now, Time: now,
		Link: notifier.AlertLink("https://stockade.example", "a-1"),
	}
	for i := range violations {
		a.Violations = append(a.Violations, notifier.Violation{Message: fmt.Sprintf("container <c%d> is privileged & root", i)})
	}
	return a
}

func alertMsg(a *notifier.Alert) *notifier.Message {
	return &notifier.Message{ID: "m-1", Kind: notifier.KindAlert, Event: notifier.EventNew, Time: a.Time, Alert: a}
}

func TestNewRefusesBadConfig(t *testing.T) {
	cases := []struct {
		name, url, typ, want string
	}{
		{"missing URL", "", notifier.TypeSlack, "labelDefault: required"},
		{"blank URL", "   ", notifier.TypeSlack, "labelDefault: required"},
		{"wrong scheme", "ftp://hooks.slack.com" + secretPath, notifier.TypeSlack, "labelDefault: want an http:// or https:// URL"},
		{"no host", "https://" + secretPath, notifier.TypeSlack, "labelDefault: URL has no host"},
		{"not a URL", "https://hooks.slack.com/%zz" + secretPath, notifier.TypeSlack, "labelDefault: not a URL"},
		{"wrong type", "https://hooks.slack.com" + secretPath, notifier.TypeTeams, "type: want \"slack\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config(c.url)
			cfg.Type = c.typ
			_, err := New(cfg)
			if err == nil {
				t.Fatal("New accepted a bad config")
			}
			if !errors.Is(err, notifier.ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q repeats the webhook secret", err)
			}
		})
	}
}

func TestWants(t *testing.T) {
	n := newNotifier(t, config("https://hooks.slack.com"+secretPath))
	cases := []struct {
		kind  notifier.Kind
		event notifier.Event
		want  bool
	}{
		{notifier.KindTest, "", true},
		{notifier.KindAlert, notifier.EventNew, true},
		{notifier.KindAlert, notifier.EventResolved, false},
		{notifier.KindAlert, notifier.EventReopened, false},
		{notifier.KindSummary, "", true},
		{notifier.KindAudit, "", false},
	}
	for _, c := range cases {
		if got := n.Wants(c.kind, c.event); got != c.want {
			t.Errorf("Wants(%s, %q) = %v, want %v", c.kind, c.event, got, c.want)
		}
	}
}

func TestSendAlertFormat(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	a := sampleAlert("CRITICAL_SEVERITY", 13)
	if err := n.Send(context.Background(), alertMsg(a)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := p.Next(t)
	if r.Path != secretPath {
		t.Errorf("posted to %s, want the webhook path", r.Path)
	}
	m := decode(t, r)
	at := m.Attachments[0]
	if at.Color != "#B00020" {
		t.Errorf("critical color %s, want #B00020", at.Color)
	}
	if at.TitleLink != a.Link {
		t.Errorf("title_link %q, want %q", at.TitleLink, a.Link)
	}
	wantPolicy := "Privileged &lt;container&gt; &amp; friends"
	if !strings.Contains(at.Title, wantPolicy) || fieldOf(t, at, "Policy") != wantPolicy {
		t.Errorf("policy not escaped: title %q, field %q", at.Title, fieldOf(t, at, "Policy"))
	}
	if !strings.Contains(m.Text, "*"+wantPolicy+"*") || !strings.Contains(m.Text, "Critical") {
		t.Errorf("text %q lacks the bold escaped policy or the severity", m.Text)
	}
	if !strings.Contains(m.Text, "<"+a.Link+"|") {
		t.Errorf("text %q has no link to the alert", m.Text)
	}
	for title, want := range map[string]string{
		"Severity": "Critical", "Cluster": "prod-eu", "Namespace": "shop", "Deployment": "payments", "Stage": "DEPLOY",
		"Remediation": "Drop privileged: true.",
	} {
		if got := fieldOf(t, at, title); got != want {
			t.Errorf("field %s = %q, want %q", title, got, want)
		}
	}
	v := fieldOf(t, at, "Violations")
	lines := strings.Split(v, "\n")
	if len(lines) != 11 {
		t.Fatalf("violations field has %d lines, want 10 and a tail:\n%s", len(lines), v)
	}
	if lines[0] != "• container &lt;c0&gt; is privileged &amp; root" {
		t.Errorf("first violation %q not escaped", lines[0])
	}
	if lines[10] != "… and 3 more" {
		t.Errorf("tail %q, want \"… and 3 more\"", lines[10])
	}
	if strings.Contains(string(r.Body), "<c0>") || strings.Contains(string(r.Body), "<container>") {
		t.Error("raw < > from user content reached Slack")
	}
	if at.Ts.String() != fmt.Sprint(a.Time.Unix()) {
		t.Errorf("ts %s, want %d", at.Ts, a.Time.Unix())
	}
	if !contains(at.MrkdwnIn, "fields") {
		t.Errorf("mrkdwn_in %v does not name fields", at.MrkdwnIn)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestSeverityColors(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	for sev, want := range map[string]string{
		"CRITICAL_SEVERITY": "#B00020", "HIGH_SEVERITY": "#F57C00", "MEDIUM_SEVERITY": "#FBC02D",
		"LOW_SEVERITY": "#1E88E5", "": "#9E9E9E",
	} {
		if err := n.Send(context.Background(), alertMsg(sampleAlert(sev, 1))); err != nil {
			t.Fatalf("Send %s: %v", sev, err)
		}
		at := decode(t, p.Next(t)).Attachments[0]
		if at.Color != want {
			t.Errorf("%q: color %s, want %s", sev, at.Color, want)
		}
		if got := fieldOf(t, at, "Severity"); got != notifier.SeverityTitle(sev) {
			t.Errorf("%q: severity field %q", sev, got)
		}
	}
}

func TestSendTestMessage(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	cfg := config(p.URL + secretPath)
	n := newNotifier(t, cfg)
	now := time.Now()
	m := &notifier.Message{ID: "t-1", Kind: notifier.KindTest, Time: now, Alert: notifier.SampleAlert(now, cfg.UIEndpoint)}
	if err := n.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	s := decode(t, p.Next(t))
	at := s.Attachments[0]
	if !strings.HasPrefix(s.Text, "Test message from Stockade") || !strings.HasPrefix(at.Fallback, "Test message") {
		t.Errorf("text %q / fallback %q do not say it is a test", s.Text, at.Fallback)
	}
	if !strings.Contains(at.Pretext, "test message") || !strings.HasPrefix(at.Title, "Test message") {
		t.Errorf("pretext %q / title %q do not say it is a test", at.Pretext, at.Title)
	}
	if at.TitleLink != "https://stockade.example/main/violations" {
		t.Errorf("title_link %q", at.TitleLink)
	}
	if got := fieldOf(t, at, "Violations"); got != "• This is a test message from Stockade." {
		t.Errorf("violations %q", got)
	}
}

func TestSendSummary(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s := &notifier.Summary{
		Count: 57, From: from, To: from.Add(5 * time.Minute),
		BySeverity: map[string]int{"HIGH_SEVERITY": 40, "LOW_SEVERITY": 17},
		Link:       "https://stockade.example/main/violations",
	}
	for i := range 12 {
		s.TopPolicies = append(s.TopPolicies, notifier.PolicyCount{Name: fmt.Sprintf("policy <%d>", i), Count: 12 - i})
	}
	if err := n.Send(context.Background(), &notifier.Message{ID: "s-1", Kind: notifier.KindSummary, Summary: s}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := decode(t, p.Next(t))
	at := m.Attachments[0]
	if !strings.Contains(m.Text, "57 more alerts") || !strings.Contains(m.Text, "2026-03-01T10:00:00Z") {
		t.Errorf("text %q", m.Text)
	}
	if at.Color != "#F57C00" {
		t.Errorf("summary color %s, want the worst severity's (high) #F57C00", at.Color)
	}
	if at.TitleLink != s.Link || !strings.Contains(at.Title, "57 alerts folded during an alert storm") {
		t.Errorf("title %q link %q", at.Title, at.TitleLink)
	}
	if fieldOf(t, at, "High") != "40" || fieldOf(t, at, "Low") != "17" {
		t.Errorf("severity counts wrong: %+v", at.Fields)
	}
	top := strings.Split(fieldOf(t, at, "Top policies"), "\n")
	if len(top) != 11 || top[0] != "• policy &lt;0&gt;: 12" || top[10] != "… and 2 more policies" {
		t.Errorf("top policies %q", top)
	}
}

func TestAnnotationOverridesWebhook(t *testing.T) {
	def := notifytest.NewPeer(t, false, ok)
	team := notifytest.NewPeer(t, true, ok)
	n := newNotifier(t, config(def.URL+secretPath))
	// The team's peer is a TLS server with its own CA: trust it for this test.
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: team.Certificate().Raw}))
	tlsCfg, err := notifier.TLSConfig(caPEM, false)
	if err != nil {
		t.Fatal(err)
	}
	n.client = notifier.HTTPClient(tlsCfg)

	t.Run("deployment annotation", func(t *testing.T) {
		a := sampleAlert("HIGH_SEVERITY", 1)
		a.Deployment.Annotations = map[string]string{"stockade.io/slack-webhook": team.URL + "/services/TEAM/deploy"}
		if err := n.Send(context.Background(), alertMsg(a)); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if r := team.Next(t); r.Path != "/services/TEAM/deploy" {
			t.Errorf("team peer got path %s", r.Path)
		}
		def.None(t)
	})
	t.Run("namespace annotation", func(t *testing.T) {
		a := sampleAlert("HIGH_SEVERITY", 1)
		a.Deployment.NamespaceAnnotations = map[string]string{"stockade.io/slack-webhook": team.URL + "/services/TEAM/ns"}
		if err := n.Send(context.Background(), alertMsg(a)); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if r := team.Next(t); r.Path != "/services/TEAM/ns" {
			t.Errorf("team peer got path %s", r.Path)
		}
		def.None(t)
	})
	t.Run("no annotation uses labelDefault", func(t *testing.T) {
		if err := n.Send(context.Background(), alertMsg(sampleAlert("HIGH_SEVERITY", 1))); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if r := def.Next(t); r.Path != secretPath {
			t.Errorf("default peer got path %s", r.Path)
		}
		team.None(t)
	})
	t.Run("http annotation refused", func(t *testing.T) {
		a := sampleAlert("HIGH_SEVERITY", 1)
		a.Deployment.Annotations = map[string]string{"stockade.io/slack-webhook": def.URL + "/services/ann0tati0nS3cret"}
		err := n.Send(context.Background(), alertMsg(a))
		if err == nil || !notifier.Permanent(err) {
			t.Fatalf("Send to an http:// annotation: err %v, want a permanent error", err)
		}
		if !strings.Contains(err.Error(), "stockade.io/slack-webhook") || !strings.Contains(err.Error(), "https://") {
			t.Errorf("error %q does not name the annotation and the https requirement", err)
		}
		if strings.Contains(err.Error(), "ann0tati0nS3cret") {
			t.Errorf("error %q repeats the annotation's URL", err)
		}
		def.None(t)
		team.None(t)
	})
}

func TestSendErrors(t *testing.T) {
	cases := []struct {
		name       string
		answer     func(http.ResponseWriter)
		permanent  bool
		retryAfter time.Duration
		want       []string
	}{
		{"server error", notifytest.Refuse(500, "upstream exploded"), false, 0, []string{"500", "upstream exploded"}},
		{"invalid payload", notifytest.Refuse(400, "invalid_payload"), true, 0, []string{"400", "invalid_payload", "could not read the message"}},
		{"invalid token", notifytest.Refuse(403, "invalid_token"), false, 0, []string{"403", "invalid_token", "webhook was removed or regenerated"}},
		{"no service", notifytest.Refuse(404, "no_service"), true, 0, []string{"404", "no_service", "webhook is disabled"}},
		{"archived channel", notifytest.Refuse(410, "channel_is_archived"), true, 0, []string{"410", "channel is archived"}},
		{"rate limited", notifytest.Refuse(429, "rate_limited", "Retry-After", "30"), false, 30 * time.Second, []string{"429", "rate-limited"}},
		{"error code in a 200", notifytest.Refuse(200, "no_text"), true, 0, []string{"no text"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := notifytest.NewPeer(t, false, c.answer)
			n := newNotifier(t, config(p.URL+secretPath))
			err := n.Send(context.Background(), alertMsg(sampleAlert("LOW_SEVERITY", 1)))
			if err == nil {
				t.Fatal("Send succeeded against a refusing peer")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if notifier.Permanent(err) != c.permanent {
				t.Errorf("Permanent = %v, want %v (%v)", notifier.Permanent(err), c.permanent, err)
			}
			if got := notifier.RetryAfter(err); got != c.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", got, c.retryAfter)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q holds the webhook secret", err)
			}
		})
	}
}

func TestSecretNotInErrors(t *testing.T) {
	// A peer that quotes the URL it was called on back in its refusal.
	p := notifytest.NewPeer(t, false, notifytest.Refuse(400, "no webhook at https://hooks.example"+secretPath+" for you"))
	n := newNotifier(t, config(p.URL+secretPath))
	err := n.Send(context.Background(), alertMsg(sampleAlert("LOW_SEVERITY", 1)))
	if err == nil {
		t.Fatal("Send succeeded")
	}
	if !strings.Contains(err.Error(), "no webhook at") || !strings.Contains(err.Error(), "for you") {
		t.Errorf("error %q lost the remote's message", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q holds the webhook secret", err)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	n := newNotifier(t, config("http://"+addr+secretPath))
	err = n.Send(context.Background(), alertMsg(sampleAlert("LOW_SEVERITY", 1)))
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	if notifier.Permanent(err) {
		t.Errorf("unreachable host is permanent: %v", err)
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %q does not name the host and the refusal", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q holds the webhook secret", err)
	}
}

func TestSendRefusesWhatItDoesNotTake(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	for _, m := range []*notifier.Message{
		{ID: "x", Kind: notifier.KindAudit, Audit: &notifier.Audit{User: "u"}},
		{ID: "x", Kind: notifier.KindAlert, Event: notifier.EventResolved, Alert: sampleAlert("LOW_SEVERITY", 1)},
		{ID: "x", Kind: notifier.KindAlert, Event: notifier.EventNew},
		{ID: "x", Kind: notifier.KindSummary},
	} {
		if err := n.Send(context.Background(), m); err == nil || !notifier.Permanent(err) {
			t.Errorf("Send(%s %q) = %v, want a permanent error", m.Kind, m.Event, err)
		}
	}
	p.None(t)
}
