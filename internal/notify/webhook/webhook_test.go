package webhook

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/notify/notifytest"
)

// secretPath is what makes a webhook URL a secret; no error may repeat it.
const secretPath = "/hooks/stockade/s3cr3tPathT0k3n"

func ok(w http.ResponseWriter) { _, _ = io.WriteString(w, `{"notifytest.Request":true}`) }

// The body the package comment documents; decoding into it with
// DisallowUnknownFields fails on any key it does not name. The extra fields
// the tests configure are "team" and "env".
type wireBody struct {
	Alert   *wireAlert   `json:"alert"`
	Summary *wireSummary `json:"summary"`
	Audit   *wireAudit   `json:"audit"`
	Team    string       `json:"team"`
	Env     string       `json:"env"`
}

type wireAlert struct {
	ID             string          `json:"id"`
	State          string          `json:"state"`
	LifecycleStage string          `json:"lifecycleStage"`
	Policy         wirePolicy      `json:"policy"`
	Deployment     *wireDeployment `json:"deployment"`
	Image          string          `json:"image"`
	Violations     []wireViolation `json:"violations"`
	Enforcement    string          `json:"enforcement"`
	FirstOccurred  time.Time       `json:"firstOccurred"`
	Time           time.Time       `json:"time"`
	Link           string          `json:"link"`
	Event          string          `json:"event"`
	Test           bool            `json:"test"`
}

type wirePolicy struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Severity    string   `json:"severity"`
	Description string   `json:"description"`
	Rationale   string   `json:"rationale"`
	Remediation string   `json:"remediation"`
	Categories  []string `json:"categories"`
}

type wireDeployment struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	Namespace            string            `json:"namespace"`
	ClusterName          string            `json:"clusterName"`
	Type                 string            `json:"type"`
	Labels               map[string]string `json:"labels"`
	Annotations          map[string]string `json:"annotations"`
	NamespaceAnnotations map[string]string `json:"namespaceAnnotations"`
	Containers           []struct {
		Name  string `json:"name"`
		Image string `json:"image"`
	} `json:"containers"`
}

type wireViolation struct {
	Message string `json:"message"`
}

type wireSummary struct {
	Count       int            `json:"count"`
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	BySeverity  map[string]int `json:"bySeverity"`
	TopPolicies []struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	} `json:"topPolicies"`
	Link string `json:"link"`
}

type wireAudit struct {
	Time        time.Time `json:"time"`
	User        string    `json:"user"`
	Role        string    `json:"role"`
	Method      string    `json:"method"`
	Path        string    `json:"path"`
	Status      int       `json:"status"`
	SourceIP    string    `json:"sourceIp"`
	Interaction string    `json:"interaction"`
}

// decode checks the request is what the package documents and returns the
// body; exactly one of alert, summary and audit must be set.
func decode(t *testing.T, r notifytest.Request, id string) wireBody {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method %s, want POST", r.Method)
	}
	if r.Path != secretPath {
		t.Errorf("path %s, want the endpoint's", r.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if got := r.Header.Get("X-Stockade-Delivery"); got != id {
		t.Errorf("X-Stockade-Delivery %q, want %q", got, id)
	}
	var b wireBody
	notifytest.DecodeStrict(t, r.Body, &b)
	set := 0
	for _, ok := range []bool{b.Alert != nil, b.Summary != nil, b.Audit != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		t.Errorf("%d of alert/summary/audit set, want exactly 1:\n%s", set, r.Body)
	}
	return b
}

func config(endpoint string) notifier.Config {
	return notifier.Config{
		ID: "n1", Name: "soc webhook", Type: notifier.TypeGeneric, UIEndpoint: "https://stockade.example",
		Generic: &notifier.Generic{
			Endpoint: endpoint,
			Username: "stockade", Password: "hunter2-passw0rd",
			Headers:     []notifier.KeyValue{{Key: "X-Api-Key", Value: "k3y-s3cret-value"}},
			ExtraFields: []notifier.KeyValue{{Key: "team", Value: "platform"}, {Key: "env", Value: "prod"}},
		},
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

func sampleAlert() *notifier.Alert {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &notifier.Alert{
		ID: "a-1", State: "ACTIVE", LifecycleStage: "DEPLOY",
		Policy: notifier.Policy{ID: "p-1", Name: "Privileged container", Severity: "HIGH_SEVERITY", Categories: []string{"Privileges"}},
		Deployment: &notifier.Deployment{
			ID: "d-1", Name: "payments", Namespace: "shop", ClusterName: "prod-eu", Type: "Deployment",
			Containers: []notifier.Container{{Name: "app", Image: "registry.example/pay:2"}},
		},
		Violations:    []notifier.Violation{{Message: "container app is privileged"}, {Message: "runs as root"}},
		Enforcement:   "SCALE_TO_ZERO",
		FirstOccurred: now.Add(-time.Hour), Time: now,
		Link: notifier.AlertLink("https://stockade.example", "a-1"),
	}
}

func alertMsg(event notifier.Event) *notifier.Message {
	a := sampleAlert()
	return &notifier.Message{ID: "m-" + string(event), Kind: notifier.KindAlert, Event: event, Time: a.Time, Alert: a}
}

func caPEM(srv *httptest.Server) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}

func TestNewRefusesBadConfig(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *notifier.Config)
		want   string
	}{
		{"no generic block", func(c *notifier.Config) { c.Generic = nil }, "generic: required"},
		{"wrong type", func(c *notifier.Config) { c.Type = notifier.TypeSlack }, "type: want \"generic\""},
		{"missing endpoint", func(c *notifier.Config) { c.Generic.Endpoint = "" }, "generic.endpoint: required"},
		{"wrong scheme", func(c *notifier.Config) { c.Generic.Endpoint = "ftp://hooks.example" + secretPath }, "generic.endpoint: want an http:// or https:// URL"},
		{"no host", func(c *notifier.Config) { c.Generic.Endpoint = "https://" + secretPath }, "generic.endpoint: URL has no host"},
		{"bad CA PEM", func(c *notifier.Config) {
			c.Generic.CACert = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
		}, "generic.caCert: no PEM certificate found"},
		{"bad CA PEM with skipTLSVerify", func(c *notifier.Config) { c.Generic.CACert = "garbage"; c.Generic.SkipTLSVerify = true }, "generic.caCert: no PEM certificate found"},
		{"password without user", func(c *notifier.Config) { c.Generic.Username = "" }, "generic.username: required when a password is set"},
		{"colon in user", func(c *notifier.Config) { c.Generic.Username = "a:b" }, "generic.username: basic auth user names cannot hold ':'"},
		{"empty header name", func(c *notifier.Config) { c.Generic.Headers[0].Key = "" }, "generic.headers[0].key: required"},
		{"bad header name", func(c *notifier.Config) { c.Generic.Headers[0].Key = "X Api Key" }, "generic.headers[0].key: \"X Api Key\" is not a valid HTTP header name"},
		{"reserved header", func(c *notifier.Config) { c.Generic.Headers[0].Key = "content-type" }, "generic.headers[0].key: Content-Type is set by Stockade"},
		{"delivery header", func(c *notifier.Config) { c.Generic.Headers[0].Key = "X-Stockade-Delivery" }, "generic.headers[0].key: X-Stockade-Delivery is set by Stockade"},
		{"authorization with basic auth", func(c *notifier.Config) { c.Generic.Headers[0].Key = "Authorization" }, "generic.headers[0].key: Authorization conflicts with generic.username"},
		{"header value with a line break", func(c *notifier.Config) { c.Generic.Headers[0].Value = "k3y-s3cret-value\r\nX-Evil: 1" }, "generic.headers[0].value: holds a control character"},
		{"extra field named alert", func(c *notifier.Config) { c.Generic.ExtraFields[1].Key = "alert" }, "generic.extraFields[1].key: \"alert\" is where the message goes"},
		{"extra field named Audit", func(c *notifier.Config) { c.Generic.ExtraFields[0].Key = "Audit" }, "generic.extraFields[0].key: \"Audit\" is where the message goes"},
		{"extra field named summary", func(c *notifier.Config) { c.Generic.ExtraFields[0].Key = "summary" }, "generic.extraFields[0].key: \"summary\" is where the message goes"},
		{"empty extra field key", func(c *notifier.Config) { c.Generic.ExtraFields[1].Key = " " }, "generic.extraFields[1].key: required"},
		{"duplicate extra field", func(c *notifier.Config) { c.Generic.ExtraFields[1].Key = "team" }, "generic.extraFields[1].key: \"team\" is already extraFields[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config("https://hooks.example" + secretPath)
			c.change(&cfg)
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
			for _, secret := range []string{"s3cr3t", "hunter2"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds a secret", err)
				}
			}
		})
	}
}

func TestWants(t *testing.T) {
	cfg := config("https://hooks.example" + secretPath)
	off := newNotifier(t, cfg)
	cfg.Generic.AuditLoggingEnabled = true
	on := newNotifier(t, cfg)
	for _, n := range []*Notifier{off, on} {
		for _, k := range []struct {
			kind  notifier.Kind
			event notifier.Event
		}{
			{notifier.KindTest, ""}, {notifier.KindSummary, ""},
			{notifier.KindAlert, notifier.EventNew}, {notifier.KindAlert, notifier.EventResolved}, {notifier.KindAlert, notifier.EventReopened},
		} {
			if !n.Wants(k.kind, k.event) {
				t.Errorf("Wants(%s, %q) = false", k.kind, k.event)
			}
		}
		if n.Wants(notifier.KindAlert, "DELETED") {
			t.Error("Wants an unknown alert event")
		}
	}
	if off.Wants(notifier.KindAudit, "") {
		t.Error("Wants audit events without auditLoggingEnabled")
	}
	if !on.Wants(notifier.KindAudit, "") {
		t.Error("does not want audit events with auditLoggingEnabled")
	}
}

func TestSendAlertEvents(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	for _, ev := range []notifier.Event{notifier.EventNew, notifier.EventResolved, notifier.EventReopened} {
		t.Run(string(ev), func(t *testing.T) {
			m := alertMsg(ev)
			if err := n.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := p.Next(t)
			user, pass, hasAuth := (&http.Request{Header: r.Header}).BasicAuth()
			if !hasAuth || user != "stockade" || pass != "hunter2-passw0rd" {
				t.Errorf("basic auth %q/%q (%v), want the configured credentials", user, pass, hasAuth)
			}
			if got := r.Header.Get("X-Api-Key"); got != "k3y-s3cret-value" {
				t.Errorf("X-Api-Key %q, want the configured header", got)
			}
			b := decode(t, r, m.ID)
			if b.Alert == nil {
				t.Fatal("no alert in the body")
			}
			if b.Team != "platform" || b.Env != "prod" {
				t.Errorf("extra fields team=%q env=%q", b.Team, b.Env)
			}
			a := b.Alert
			if a.Event != string(ev) || a.Test {
				t.Errorf("event %q test %v, want %s and no test flag", a.Event, a.Test, ev)
			}
			if a.ID != "a-1" || a.Policy.Name != "Privileged container" || a.Policy.Severity != "HIGH_SEVERITY" ||
				a.Deployment == nil || a.Deployment.Namespace != "shop" || len(a.Deployment.Containers) != 1 ||
				len(a.Violations) != 2 || a.Violations[1].Message != "runs as root" || a.Enforcement != "SCALE_TO_ZERO" ||
				!a.Time.Equal(m.Alert.Time) || a.Link != "https://stockade.example/main/violations/a-1" {
				t.Errorf("alert did not round-trip: %+v", a)
			}
		})
	}
}

func TestSendTestMessage(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	cfg := config(p.URL + secretPath)
	cfg.Generic.Username, cfg.Generic.Password, cfg.Generic.Headers = "", "", nil
	n := newNotifier(t, cfg)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	m := &notifier.Message{ID: "t-1", Kind: notifier.KindTest, Time: now, Alert: notifier.SampleAlert(now, cfg.UIEndpoint)}
	if err := n.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := p.Next(t)
	if r.Header.Get("Authorization") != "" {
		t.Error("sent an Authorization header without a username")
	}
	b := decode(t, r, "t-1")
	if b.Alert == nil || !b.Alert.Test || b.Alert.Event != "NEW" {
		t.Fatalf("test alert %+v, want test=true event=NEW", b.Alert)
	}
	if b.Alert.Policy.Name != "Stockade test message" || b.Alert.Violations[0].Message != "This is a test message from Stockade." {
		t.Errorf("test alert content %+v", b.Alert)
	}
}

func TestSendSummary(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s := &notifier.Summary{
		Count: 57, From: from, To: from.Add(5 * time.Minute),
		BySeverity:  map[string]int{"HIGH_SEVERITY": 40, "LOW_SEVERITY": 17},
		TopPolicies: []notifier.PolicyCount{{Name: "Privileged container", Count: 40}, {Name: "Latest tag", Count: 17}},
		Link:        "https://stockade.example/main/violations",
	}
	if err := n.Send(context.Background(), &notifier.Message{ID: "s-1", Kind: notifier.KindSummary, Summary: s}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	b := decode(t, p.Next(t), "s-1")
	if b.Summary == nil {
		t.Fatal("no summary in the body")
	}
	got := b.Summary
	if got.Count != 57 || !got.From.Equal(from) || got.BySeverity["HIGH_SEVERITY"] != 40 ||
		len(got.TopPolicies) != 2 || got.TopPolicies[0].Name != "Privileged container" || got.Link != s.Link {
		t.Errorf("summary did not round-trip: %+v", got)
	}
	if b.Team != "platform" {
		t.Errorf("extra field team=%q", b.Team)
	}
}

func TestSendAudit(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	cfg := config(p.URL + secretPath)
	cfg.Generic.AuditLoggingEnabled = true
	n := newNotifier(t, cfg)
	at := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	audit := &notifier.Audit{Time: at, User: "alice@example.com", Role: "Admin", Method: "DELETE",
		Path: "/v1/policies/p-1", Status: 200, SourceIP: "10.0.0.7", Interaction: "DELETE"}
	if err := n.Send(context.Background(), &notifier.Message{ID: "au-1", Kind: notifier.KindAudit, Time: at, Audit: audit}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	b := decode(t, p.Next(t), "au-1")
	if b.Audit == nil {
		t.Fatal("no audit in the body")
	}
	if *b.Audit != (wireAudit{Time: at, User: "alice@example.com", Role: "Admin", Method: "DELETE",
		Path: "/v1/policies/p-1", Status: 200, SourceIP: "10.0.0.7", Interaction: "DELETE"}) {
		t.Errorf("audit did not round-trip: %+v", b.Audit)
	}
	if b.Env != "prod" {
		t.Errorf("extra field env=%q", b.Env)
	}
}

func TestAuditRefusedWhenDisabled(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	err := n.Send(context.Background(), &notifier.Message{ID: "au-1", Kind: notifier.KindAudit, Audit: &notifier.Audit{User: "alice"}})
	if err == nil || !notifier.Permanent(err) || !strings.Contains(err.Error(), "generic.auditLoggingEnabled") {
		t.Errorf("Send audit without audit logging: %v, want a permanent error naming generic.auditLoggingEnabled", err)
	}
	for _, m := range []*notifier.Message{
		{ID: "x", Kind: notifier.KindAlert, Event: notifier.EventNew},
		{ID: "x", Kind: notifier.KindSummary},
		{ID: "x", Kind: "bogus"},
	} {
		if err := n.Send(context.Background(), m); err == nil || !notifier.Permanent(err) {
			t.Errorf("Send(%s) = %v, want a permanent error", m.Kind, err)
		}
	}
	p.None(t)
}

func TestTLS(t *testing.T) {
	p := notifytest.NewPeer(t, true, ok)
	t.Run("custom CA", func(t *testing.T) {
		cfg := config(p.URL + secretPath)
		cfg.Generic.CACert = caPEM(p.Server)
		n := newNotifier(t, cfg)
		if err := n.Send(context.Background(), alertMsg(notifier.EventNew)); err != nil {
			t.Fatalf("Send with the server's CA: %v", err)
		}
		decode(t, p.Next(t), "m-NEW")
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		n := newNotifier(t, config(p.URL+secretPath))
		err := n.Send(context.Background(), alertMsg(notifier.EventNew))
		if err == nil {
			t.Fatal("Send trusted a certificate no CA vouches for")
		}
		host := strings.TrimPrefix(p.URL, "https://")
		for _, want := range []string{host, "certificate signed by unknown authority", "generic.caCert"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %q holds a secret", err)
		}
		p.None(t)
	})
	t.Run("skipTLSVerify", func(t *testing.T) {
		cfg := config(p.URL + secretPath)
		cfg.Generic.SkipTLSVerify = true
		n := newNotifier(t, cfg)
		if err := n.Send(context.Background(), alertMsg(notifier.EventResolved)); err != nil {
			t.Fatalf("Send with skipTLSVerify: %v", err)
		}
		decode(t, p.Next(t), "m-RESOLVED")
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
		{"server error", notifytest.Refuse(500, "database is down"), false, 0, []string{"500", "database is down"}},
		{"bad request", notifytest.Refuse(400, `{"error":"field alert.policy missing"}`), true, 0, []string{"400", "field alert.policy missing"}},
		{"unauthorized", notifytest.Refuse(401, "bad credentials"), false, 0, []string{"401", "bad credentials"}},
		{"throttled", notifytest.Refuse(429, "slow down", "Retry-After", "20"), false, 20 * time.Second, []string{"429", "slow down"}},
		{"unavailable", notifytest.Refuse(503, "maintenance", "Retry-After", "5"), false, 5 * time.Second, []string{"503", "maintenance"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := notifytest.NewPeer(t, false, c.answer)
			n := newNotifier(t, config(p.URL+secretPath))
			err := n.Send(context.Background(), alertMsg(notifier.EventNew))
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
		})
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	// A receiver that quotes back everything it was sent.
	p := notifytest.NewPeer(t, false, notifytest.Refuse(403, "refused "+secretPath+" for user stockade with password hunter2-passw0rd and key k3y-s3cret-value"))
	n := newNotifier(t, config(p.URL+secretPath))
	err := n.Send(context.Background(), alertMsg(notifier.EventNew))
	if err == nil {
		t.Fatal("Send succeeded")
	}
	if !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "for user stockade") {
		t.Errorf("error %q lost the remote's message", err)
	}
	for _, secret := range []string{"s3cr3tPathT0k3n", "hunter2-passw0rd", "k3y-s3cret-value"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q holds the secret %q", err, secret)
		}
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
	err = n.Send(context.Background(), alertMsg(notifier.EventNew))
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
		t.Errorf("error %q holds the endpoint's secret path", err)
	}
}
