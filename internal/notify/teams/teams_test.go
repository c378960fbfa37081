package teams

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
const secretPath = "/webhookb2/0a1b2c3d@e4f5/IncomingWebhook/s3cr3tW3bh00kT0k3n/9f8e7d"

func ok(w http.ResponseWriter) { _, _ = io.WriteString(w, "1") }

// The documented MessageCard schema (with OpenUri as the only action type
// Stockade uses); decoding into it with DisallowUnknownFields fails on any
// field the card format does not define.
type messageCard struct {
	Type             string        `json:"@type"`
	Context          string        `json:"@context"`
	CorrelationID    string        `json:"correlationId"`
	ExpectedActors   []string      `json:"expectedActors"`
	Originator       string        `json:"originator"`
	Summary          string        `json:"summary"`
	ThemeColor       string        `json:"themeColor"`
	HideOriginalBody bool          `json:"hideOriginalBody"`
	Title            string        `json:"title"`
	Text             string        `json:"text"`
	Sections         []cardSection `json:"sections"`
	PotentialAction  []openURI     `json:"potentialAction"`
}

type cardSection struct {
	Title            string            `json:"title"`
	StartGroup       bool              `json:"startGroup"`
	ActivityImage    string            `json:"activityImage"`
	ActivityTitle    string            `json:"activityTitle"`
	ActivitySubtitle string            `json:"activitySubtitle"`
	ActivityText     string            `json:"activityText"`
	HeroImage        json.RawMessage   `json:"heroImage"`
	Text             string            `json:"text"`
	Facts            []cardFact        `json:"facts"`
	Images           []json.RawMessage `json:"images"`
	PotentialAction  []openURI         `json:"potentialAction"`
	Markdown         *bool             `json:"markdown"`
}

type cardFact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type openURI struct {
	Type    string `json:"@type"`
	Name    string `json:"name"`
	Targets []struct {
		OS  string `json:"os"`
		URI string `json:"uri"`
	} `json:"targets"`
}

// decode checks the request is what Teams documents and returns the card.
func decode(t *testing.T, r notifytest.Request) messageCard {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var c messageCard
	notifytest.DecodeStrict(t, r.Body, &c)
	if c.Type != "MessageCard" || c.Context != "https://schema.org/extensions" {
		t.Errorf("@type %q @context %q", c.Type, c.Context)
	}
	if c.Summary == "" {
		t.Error("summary is empty: Teams refuses a card without summary or text")
	}
	if len(c.ThemeColor) != 6 || strings.Trim(c.ThemeColor, "0123456789ABCDEFabcdef") != "" {
		t.Errorf("themeColor %q is not RRGGBB", c.ThemeColor)
	}
	for _, a := range c.PotentialAction {
		if a.Type != "OpenUri" || a.Name == "" || len(a.Targets) == 0 {
			t.Errorf("action %+v is not a complete OpenUri", a)
		}
		for _, tg := range a.Targets {
			if tg.OS != "default" || !strings.HasPrefix(tg.URI, "https://") {
				t.Errorf("OpenUri target %+v", tg)
			}
		}
	}
	if len(r.Body) > 28<<10 {
		t.Errorf("card is %d bytes, over Teams' 28 KB", len(r.Body))
	}
	return c
}

// factOf returns the value of the fact called name in any section.
func factOf(t *testing.T, c messageCard, name string) string {
	t.Helper()
	for _, s := range c.Sections {
		for _, f := range s.Facts {
			if f.Name == name {
				return f.Value
			}
		}
	}
	t.Fatalf("no fact %q in %+v", name, c.Sections)
	return ""
}

func sectionText(t *testing.T, c messageCard, title string) string {
	t.Helper()
	for _, s := range c.Sections {
		if s.Title == title {
			return s.Text
		}
	}
	t.Fatalf("no section %q", title)
	return ""
}

func config(url string) notifier.Config {
	return notifier.Config{
		ID: "n1", Name: "team channel", Type: notifier.TypeTeams,
		UIEndpoint: "https://stockade.example", LabelKey: "stockade.io/teams-webhook", LabelDefault: url,
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
			ID: "p-1", Name: "Privileged <container> & *friends*", Severity: severity,
			Description: "Runs with [all](https://evil.example) privileges", Remediation: "Drop privileged: true.",
		},
		Deployment: &notifier.Deployment{
			ID: "d-1", Name: "payments", Namespace: "shop", ClusterName: "prod-eu", Type: "Deployment",
		},
		FirstOccurred: now, Time: now,
		Link: notifier.AlertLink("https://stockade.example", "a-1"),
	}
	for i := range violations {
		a.Violations = append(a.Violations, notifier.Violation{Message: fmt.Sprintf("container <c%d> runs as_root", i)})
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
		{"missing URL", "", notifier.TypeTeams, "labelDefault: required"},
		{"wrong scheme", "ftp://contoso.webhook.office.com" + secretPath, notifier.TypeTeams, "labelDefault: want an http:// or https:// URL"},
		{"no host", "https://" + secretPath, notifier.TypeTeams, "labelDefault: URL has no host"},
		{"not a URL", "https://contoso.webhook.office.com/%zz" + secretPath, notifier.TypeTeams, "labelDefault: not a URL"},
		{"wrong type", "https://contoso.webhook.office.com" + secretPath, notifier.TypeSlack, "type: want \"teams\""},
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
	n := newNotifier(t, config("https://contoso.webhook.office.com"+secretPath))
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
	a := sampleAlert("CRITICAL_SEVERITY", 12)
	if err := n.Send(context.Background(), alertMsg(a)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := p.Next(t)
	if r.Path != secretPath {
		t.Errorf("posted to %s, want the webhook path", r.Path)
	}
	c := decode(t, r)
	if c.ThemeColor != "B00020" {
		t.Errorf("critical themeColor %s, want B00020", c.ThemeColor)
	}
	if c.CorrelationID != "m-1" {
		t.Errorf("correlationId %q, want the delivery ID", c.CorrelationID)
	}
	if c.Summary != "Critical policy Privileged <container> & *friends* violated by deployment payments in namespace shop of cluster prod-eu" {
		t.Errorf("summary %q", c.Summary)
	}
	wantPolicy := `Privileged &lt;container&gt; &amp; \*friends\*`
	if c.Title != "Policy violation: "+wantPolicy || factOf(t, c, "Policy") != wantPolicy {
		t.Errorf("policy not escaped: title %q, fact %q", c.Title, factOf(t, c, "Policy"))
	}
	if c.Text != `Runs with \[all\](https://evil.example) privileges` {
		t.Errorf("text %q: description markdown not escaped", c.Text)
	}
	for name, want := range map[string]string{
		"Severity": "Critical", "Cluster": "prod-eu", "Namespace": "shop", "Deployment": "payments",
		"Stage": "DEPLOY", "Time": "2026-03-01T12:00:00Z",
	} {
		if got := factOf(t, c, name); got != want {
			t.Errorf("fact %s = %q, want %q", name, got, want)
		}
	}
	lines := strings.Split(sectionText(t, c, "Violations"), "\n")
	if len(lines) != 11 || lines[0] != `- container &lt;c0&gt; runs as\_root` || lines[10] != "… and 2 more" {
		t.Errorf("violations %q, want 10 escaped items and \"… and 2 more\"", lines)
	}
	if got := sectionText(t, c, "Remediation"); got != "Drop privileged: true." {
		t.Errorf("remediation %q", got)
	}
	if len(c.PotentialAction) != 1 || c.PotentialAction[0].Targets[0].URI != a.Link {
		t.Errorf("potentialAction %+v, want one OpenUri to %s", c.PotentialAction, a.Link)
	}
}

func TestNoLinkNoAction(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	a := sampleAlert("LOW_SEVERITY", 1)
	a.Link = ""
	if err := n.Send(context.Background(), alertMsg(a)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if c := decode(t, p.Next(t)); len(c.PotentialAction) != 0 {
		t.Errorf("card without an alert link has actions %+v", c.PotentialAction)
	}
}

func TestSeverityColors(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	for sev, want := range map[string]string{
		"CRITICAL_SEVERITY": "B00020", "HIGH_SEVERITY": "F57C00", "MEDIUM_SEVERITY": "FBC02D",
		"LOW_SEVERITY": "1E88E5", "": "9E9E9E",
	} {
		if err := n.Send(context.Background(), alertMsg(sampleAlert(sev, 1))); err != nil {
			t.Fatalf("Send %s: %v", sev, err)
		}
		c := decode(t, p.Next(t))
		if c.ThemeColor != want {
			t.Errorf("%q: themeColor %s, want %s", sev, c.ThemeColor, want)
		}
		if got := factOf(t, c, "Severity"); got != notifier.SeverityTitle(sev) {
			t.Errorf("%q: severity fact %q", sev, got)
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
	c := decode(t, p.Next(t))
	if !strings.HasPrefix(c.Summary, "Test message from Stockade") || !strings.HasPrefix(c.Title, "Test message") {
		t.Errorf("summary %q / title %q do not say it is a test", c.Summary, c.Title)
	}
	if !strings.Contains(c.Text, "test message") {
		t.Errorf("text %q does not say it is a test", c.Text)
	}
	if got := sectionText(t, c, "Violations"); got != "- This is a test message from Stockade." {
		t.Errorf("violations %q", got)
	}
	if factOf(t, c, "Namespace") != "stockade-test" {
		t.Errorf("namespace fact %q", factOf(t, c, "Namespace"))
	}
	if len(c.PotentialAction) != 1 || c.PotentialAction[0].Targets[0].URI != "https://stockade.example/main/violations" {
		t.Errorf("potentialAction %+v", c.PotentialAction)
	}
}

func TestSendSummary(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s := &notifier.Summary{
		Count: 57, From: from, To: from.Add(5 * time.Minute),
		BySeverity: map[string]int{"MEDIUM_SEVERITY": 40, "LOW_SEVERITY": 17},
		Link:       "https://stockade.example/main/violations",
	}
	for i := range 11 {
		s.TopPolicies = append(s.TopPolicies, notifier.PolicyCount{Name: fmt.Sprintf("policy_%d", i), Count: 11 - i})
	}
	if err := n.Send(context.Background(), &notifier.Message{ID: "s-1", Kind: notifier.KindSummary, Summary: s}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	c := decode(t, p.Next(t))
	if !strings.Contains(c.Summary, "57 more alerts") || !strings.Contains(c.Title, "57 alerts folded during an alert storm") {
		t.Errorf("summary %q title %q", c.Summary, c.Title)
	}
	if c.ThemeColor != "FBC02D" {
		t.Errorf("themeColor %s, want the worst severity's (medium) FBC02D", c.ThemeColor)
	}
	if factOf(t, c, "Medium") != "40" || factOf(t, c, "Low") != "17" || factOf(t, c, "From") != "2026-03-01T10:00:00Z" {
		t.Errorf("facts %+v", c.Sections)
	}
	if factOf(t, c, `policy\_0`) != "11" || factOf(t, c, "…") != "and 1 more policies" {
		t.Errorf("top policies %+v", c.Sections)
	}
	if len(c.PotentialAction) != 1 || c.PotentialAction[0].Targets[0].URI != s.Link {
		t.Errorf("potentialAction %+v", c.PotentialAction)
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
		a.Deployment.Annotations = map[string]string{"stockade.io/teams-webhook": team.URL + "/webhookb2/team-deploy"}
		a.Deployment.NamespaceAnnotations = map[string]string{"stockade.io/teams-webhook": team.URL + "/webhookb2/team-ns"}
		if err := n.Send(context.Background(), alertMsg(a)); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if r := team.Next(t); r.Path != "/webhookb2/team-deploy" {
			t.Errorf("team peer got path %s, want the deployment's annotation to win", r.Path)
		}
		def.None(t)
	})
	t.Run("namespace annotation", func(t *testing.T) {
		a := sampleAlert("HIGH_SEVERITY", 1)
		a.Deployment.NamespaceAnnotations = map[string]string{"stockade.io/teams-webhook": team.URL + "/webhookb2/team-ns"}
		if err := n.Send(context.Background(), alertMsg(a)); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if r := team.Next(t); r.Path != "/webhookb2/team-ns" {
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
		a.Deployment.Annotations = map[string]string{"stockade.io/teams-webhook": def.URL + "/webhookb2/ann0tati0nS3cret"}
		err := n.Send(context.Background(), alertMsg(a))
		if err == nil || !notifier.Permanent(err) {
			t.Fatalf("Send to an http:// annotation: err %v, want a permanent error", err)
		}
		if !strings.Contains(err.Error(), "stockade.io/teams-webhook") || !strings.Contains(err.Error(), "https://") {
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
		{"bad card", notifytest.Refuse(400, "Summary or Text is required."), true, 0, []string{"400", "Summary or Text is required."}},
		{"too large", notifytest.Refuse(413, "Webhook message is too large"), true, 0, []string{"413", "too large"}},
		{"throttled", notifytest.Refuse(429, "Too many requests", "Retry-After", "12"), false, 12 * time.Second, []string{"429", "Too many requests"}},
		{"refusal inside a 200", notifytest.Refuse(200, "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0"),
			false, 0, []string{"Teams did not deliver it", "HTTP error 429"}},
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
	p := notifytest.NewPeer(t, false, notifytest.Refuse(404, "no webhook at https://contoso.webhook.office.com"+secretPath+" anymore"))
	n := newNotifier(t, config(p.URL+secretPath))
	err := n.Send(context.Background(), alertMsg(sampleAlert("LOW_SEVERITY", 1)))
	if err == nil {
		t.Fatal("Send succeeded")
	}
	if !strings.Contains(err.Error(), "no webhook at") || !strings.Contains(err.Error(), "anymore") {
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
		{ID: "x", Kind: notifier.KindAlert, Event: notifier.EventReopened, Alert: sampleAlert("LOW_SEVERITY", 1)},
		{ID: "x", Kind: notifier.KindAlert, Event: notifier.EventNew},
		{ID: "x", Kind: notifier.KindSummary},
	} {
		if err := n.Send(context.Background(), m); err == nil || !notifier.Permanent(err) {
			t.Errorf("Send(%s %q) = %v, want a permanent error", m.Kind, m.Event, err)
		}
	}
	p.None(t)
}
