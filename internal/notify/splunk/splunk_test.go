package splunk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/notify/notifytest"
	"github.com/stockade-dev/stockade/internal/notify/splunk"
)

const token = "11111111-SECRET-hec-token-22222222"

var sent = time.Date(2024, 5, 1, 12, 0, 0, 123_000_000, time.UTC)

// Structs mirroring the documented HEC envelope and Stockade's events;
// the peer decodes strictly into them.
type hecEnvelope struct {
	Time       float64         `json:"time"`
	Host       string          `json:"host"`
	Source     string          `json:"source"`
	Sourcetype string          `json:"sourcetype"`
	Event      json.RawMessage `json:"event"`
}

type alertEvent struct {
	Kind              string         `json:"kind"`
	Event             string         `json:"event"`
	Test              bool           `json:"test"`
	DeliveryID        string         `json:"deliveryId"`
	Message           string         `json:"message"`
	Alert             notifier.Alert `json:"alert"`
	Truncated         bool           `json:"truncated"`
	ViolationsOmitted int            `json:"violationsOmitted"`
}

type summaryEvent struct {
	Kind               string           `json:"kind"`
	DeliveryID         string           `json:"deliveryId"`
	Message            string           `json:"message"`
	Summary            notifier.Summary `json:"summary"`
	Truncated          bool             `json:"truncated"`
	TopPoliciesOmitted int              `json:"topPoliciesOmitted"`
}

type auditEvent struct {
	Kind       string         `json:"kind"`
	DeliveryID string         `json:"deliveryId"`
	Message    string         `json:"message"`
	Audit      notifier.Audit `json:"audit"`
	Truncated  bool           `json:"truncated"`
}

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// hec is a local HTTP Event Collector: it checks each request as Splunk
// does and keeps what it accepted; refuse, when set, answers instead.
type hec struct {
	t        *testing.T
	srv      *httptest.Server
	path     string
	mu       sync.Mutex
	got      []hecEnvelope
	rawBytes [][]byte
	refuse   func(w http.ResponseWriter) bool
}

func newHEC(t *testing.T, tls bool) *hec {
	t.Helper()
	h := &hec{t: t, path: "/services/collector/event"}
	if tls {
		h.srv = httptest.NewTLSServer(h)
	} else {
		h.srv = httptest.NewServer(h)
	}
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hec) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	answer := func(status int, text string, code int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"text": text, "code": code})
	}
	switch {
	case r.Method != http.MethodPost:
		answer(http.StatusMethodNotAllowed, "Method not allowed", 0)
		return
	case r.URL.Path != h.path:
		answer(http.StatusNotFound, "The requested URL was not found on this server.", 404)
		return
	case r.Header.Get("Authorization") == "":
		answer(http.StatusUnauthorized, "Token is required", 2)
		return
	case r.Header.Get("Authorization") != "Splunk "+token:
		answer(http.StatusForbidden, "Invalid token", 4)
		return
	}
	if c := r.Header.Get("X-Splunk-Request-Channel"); !guid.MatchString(c) {
		answer(http.StatusBadRequest, "Invalid data channel", 11)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		h.t.Errorf("Content-Type = %q", ct)
	}
	if h.refuse != nil && h.refuse(w) {
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		h.t.Errorf("read body: %v", err)
		return
	}
	var env hecEnvelope
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&env); err != nil {
		h.t.Errorf("envelope: %v\n%s", err, body)
		answer(http.StatusBadRequest, "Invalid data format", 6)
		return
	}
	if len(env.Event) == 0 || string(env.Event) == "null" {
		answer(http.StatusBadRequest, "Event field is required", 12)
		return
	}
	if r.Header.Get("X-Stockade-Delivery") == "" {
		h.t.Errorf("no X-Stockade-Delivery header")
	}
	h.mu.Lock()
	h.got = append(h.got, env)
	h.rawBytes = append(h.rawBytes, body)
	h.mu.Unlock()
	answer(http.StatusOK, "Success", 0)
}

func (h *hec) last(t *testing.T) hecEnvelope {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) == 0 {
		t.Fatal("HEC received nothing")
	}
	return h.got[len(h.got)-1]
}

func config(endpoint string) notifier.Config {
	return notifier.Config{
		ID: "n1", Name: "splunk", Type: notifier.TypeSplunk, UIEndpoint: "https://central.example:8443",
		Splunk: &notifier.Splunk{HTTPToken: token, HTTPEndpoint: endpoint, Insecure: true, AuditLoggingEnabled: true},
	}
}

func mustNew(t *testing.T, cfg notifier.Config) *splunk.Notifier {
	t.Helper()
	n, err := splunk.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

func alert() *notifier.Alert {
	return &notifier.Alert{
		ID: "a6f1c7e2-0000-4000-8000-000000000001", State: "ACTIVE", LifecycleStage: "DEPLOY",
		Policy: notifier.Policy{
			ID: "p1", Name: "Privileged container", Severity: "HIGH_SEVERITY",
			Description: "Alert on privileged containers.", Rationale: "Privileged containers own the node.",
			Remediation: "Drop privileged: true.", Categories: []string{"Privileges"},
		},
		Deployment: &notifier.Deployment{
			ID: "d1", Name: "web", Namespace: "shop", ClusterName: "prod", Type: "Deployment",
			Labels:     map[string]string{"app": "web"},
			Containers: []notifier.Container{{Name: "web", Image: "registry.example/web:2"}},
		},
		Violations:    []notifier.Violation{{Message: "Container 'web' is privileged"}},
		FirstOccurred: sent.Add(-time.Hour), Time: sent,
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	ok := func() notifier.Config { return config("https://splunk.example:8088") }
	cases := []struct {
		name  string
		edit  func(c *notifier.Config)
		field string
	}{
		{"no block", func(c *notifier.Config) { c.Splunk = nil }, "splunk"},
		{"no token", func(c *notifier.Config) { c.Splunk.HTTPToken = " " }, "splunk.httpToken"},
		{"token with newline", func(c *notifier.Config) { c.Splunk.HTTPToken = "abc\nX-Evil: 1" }, "splunk.httpToken"},
		{"no endpoint", func(c *notifier.Config) { c.Splunk.HTTPEndpoint = "" }, "splunk.httpEndpoint"},
		{"endpoint not http", func(c *notifier.Config) { c.Splunk.HTTPEndpoint = "tcp://splunk:8088" }, "splunk.httpEndpoint"},
		{"endpoint without host", func(c *notifier.Config) { c.Splunk.HTTPEndpoint = "https:///x" }, "splunk.httpEndpoint"},
		{"negative truncate", func(c *notifier.Config) { c.Splunk.Truncate = -1 }, "splunk.truncate"},
		{"tiny truncate", func(c *notifier.Config) { c.Splunk.Truncate = 100 }, "splunk.truncate"},
		{"unknown source type", func(c *notifier.Config) { c.Splunk.SourceTypes = map[string]string{"alert": "a", "alerts": "b"} }, "splunk.sourceTypes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok()
			tc.edit(&c)
			_, err := splunk.New(c)
			if !errors.Is(err, notifier.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), tc.field+":") {
				t.Errorf("err = %q, want it to name %s", err, tc.field)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("err holds the token: %q", err)
			}
		})
	}
}

func TestEndpointPath(t *testing.T) {
	for _, tc := range []struct{ name, suffix, path string }{
		{"base URL gets the collector path", "", "/services/collector/event"},
		{"base URL with slash", "/", "/services/collector/event"},
		{"full collector URL", "/services/collector/event", "/services/collector/event"},
		{"other path kept", "/services/collector", "/services/collector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHEC(t, true)
			h.path = tc.path
			n := mustNew(t, config(h.srv.URL+tc.suffix))
			m := &notifier.Message{ID: "m1", Kind: notifier.KindAlert, Event: notifier.EventNew, Time: sent, Alert: alert()}
			if err := n.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
		})
	}
}

func TestSendEachKind(t *testing.T) {
	h := newHEC(t, true)
	cfg := config(h.srv.URL)
	cfg.Splunk.SourceTypes = map[string]string{"audit": "acme:audit"}
	n := mustNew(t, cfg)
	ctx := context.Background()

	check := func(t *testing.T, sourcetype string) hecEnvelope {
		t.Helper()
		env := h.last(t)
		if env.Source != "stockade" || env.Sourcetype != sourcetype || env.Host != "central.example" {
			t.Errorf("source, sourcetype, host = %q, %q, %q", env.Source, env.Sourcetype, env.Host)
		}
		if env.Time != 1714564800.123 {
			t.Errorf("time = %v, want 1714564800.123", env.Time)
		}
		return env
	}

	t.Run("test", func(t *testing.T) {
		m := &notifier.Message{ID: "t1", Kind: notifier.KindTest, Time: sent, Alert: notifier.SampleAlert(sent, cfg.UIEndpoint)}
		if err := n.Send(ctx, m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		var ev alertEvent
		notifytest.DecodeStrict(t, check(t, "stockade:alert").Event, &ev)
		if ev.Kind != "test" || !ev.Test || ev.DeliveryID != "t1" || !strings.Contains(ev.Message, "Test message") {
			t.Errorf("test event = %+v", ev)
		}
		if ev.Alert.Policy.Name != "Stockade test message" || ev.Truncated {
			t.Errorf("alert = %+v", ev.Alert)
		}
	})
	for _, e := range []notifier.Event{notifier.EventNew, notifier.EventResolved, notifier.EventReopened} {
		t.Run("alert "+string(e), func(t *testing.T) {
			a := alert()
			if e == notifier.EventResolved {
				a.State = "RESOLVED"
			}
			m := &notifier.Message{ID: "d-" + string(e), Kind: notifier.KindAlert, Event: e, Time: sent, Alert: a}
			if err := n.Send(ctx, m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			var ev alertEvent
			notifytest.DecodeStrict(t, check(t, "stockade:alert").Event, &ev)
			if ev.Kind != "alert" || ev.Event != string(e) || ev.Test || ev.DeliveryID != m.ID {
				t.Errorf("event = %+v", ev)
			}
			if ev.Alert.ID != a.ID || ev.Alert.State != a.State || ev.Alert.Policy.Severity != "HIGH_SEVERITY" ||
				len(ev.Alert.Violations) != 1 || ev.Alert.Deployment.Labels["app"] != "web" {
				t.Errorf("alert = %+v", ev.Alert)
			}
			if ev.Alert.Link != "https://central.example:8443/main/violations/"+a.ID {
				t.Errorf("link = %q", ev.Alert.Link)
			}
			if !strings.Contains(ev.Message, `"Privileged container"`) || !strings.Contains(ev.Message, "Deployment shop/web in cluster prod") {
				t.Errorf("message = %q", ev.Message)
			}
		})
	}
	t.Run("summary", func(t *testing.T) {
		s := &notifier.Summary{
			Count: 120, From: sent.Add(-5 * time.Minute), To: sent,
			BySeverity:  map[string]int{"HIGH_SEVERITY": 100, "LOW_SEVERITY": 20},
			TopPolicies: []notifier.PolicyCount{{Name: "Privileged container", Count: 90}, {Name: "Latest tag", Count: 30}},
		}
		m := &notifier.Message{ID: "s1", Kind: notifier.KindSummary, Time: sent, Summary: s}
		if err := n.Send(ctx, m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		var ev summaryEvent
		notifytest.DecodeStrict(t, check(t, "stockade:alert").Event, &ev)
		if ev.Kind != "summary" || ev.Summary.Count != 120 || ev.Summary.BySeverity["HIGH_SEVERITY"] != 100 ||
			len(ev.Summary.TopPolicies) != 2 || ev.Message != "120 more alerts folded during an alert storm" {
			t.Errorf("summary event = %+v", ev)
		}
		if ev.Summary.Link != "https://central.example:8443/main/violations" {
			t.Errorf("link = %q", ev.Summary.Link)
		}
	})
	t.Run("audit", func(t *testing.T) {
		au := &notifier.Audit{Time: sent, User: "alice", Method: "POST", Path: "/v1/policies", Status: 200, SourceIP: "10.0.0.7", Interaction: "CREATE"}
		m := &notifier.Message{ID: "au1", Kind: notifier.KindAudit, Time: sent, Audit: au}
		if err := n.Send(ctx, m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		var ev auditEvent
		notifytest.DecodeStrict(t, check(t, "acme:audit").Event, &ev)
		if ev.Kind != "audit" || ev.Audit.User != "alice" || ev.Audit.Path != "/v1/policies" || ev.DeliveryID != "au1" {
			t.Errorf("audit event = %+v", ev)
		}
	})
}

func TestWants(t *testing.T) {
	on := mustNew(t, config("https://splunk.example"))
	offCfg := config("https://splunk.example")
	offCfg.Splunk.AuditLoggingEnabled = false
	off := mustNew(t, offCfg)
	for _, tc := range []struct {
		kind       notifier.Kind
		event      notifier.Event
		on, offGot bool
	}{
		{notifier.KindTest, "", true, true},
		{notifier.KindAlert, notifier.EventNew, true, true},
		{notifier.KindAlert, notifier.EventResolved, true, true},
		{notifier.KindAlert, notifier.EventReopened, true, true},
		{notifier.KindAlert, "SNOOZED", false, false},
		{notifier.KindSummary, "", true, true},
		{notifier.KindAudit, "", true, false},
		{"other", "", false, false},
	} {
		if got := on.Wants(tc.kind, tc.event); got != tc.on {
			t.Errorf("audit on: Wants(%s, %s) = %v", tc.kind, tc.event, got)
		}
		if got := off.Wants(tc.kind, tc.event); got != tc.offGot {
			t.Errorf("audit off: Wants(%s, %s) = %v", tc.kind, tc.event, got)
		}
	}
	err := off.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindAudit, Audit: &notifier.Audit{}})
	if !notifier.Permanent(err) || !strings.Contains(err.Error(), "splunk.auditLoggingEnabled") {
		t.Errorf("audit with logging off: %v", err)
	}
}

func TestTruncate(t *testing.T) {
	h := newHEC(t, false)
	const limit = 4000
	cfg := config(h.srv.URL)
	cfg.Splunk.Truncate = limit
	n := mustNew(t, cfg)

	send := func(t *testing.T, a *notifier.Alert) alertEvent {
		t.Helper()
		m := &notifier.Message{ID: "m", Kind: notifier.KindAlert, Event: notifier.EventNew, Time: sent, Alert: a}
		if err := n.Send(context.Background(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		env := h.last(t)
		if len(env.Event) > limit {
			t.Errorf("event is %d bytes, limit %d", len(env.Event), limit)
		}
		var ev alertEvent
		notifytest.DecodeStrict(t, env.Event, &ev)
		return ev
	}

	t.Run("small alert untouched", func(t *testing.T) {
		ev := send(t, alert())
		if ev.Truncated || ev.ViolationsOmitted != 0 || len(ev.Alert.Violations) != 1 {
			t.Errorf("event = %+v", ev)
		}
	})
	t.Run("many violations: trailing ones dropped", func(t *testing.T) {
		a := alert()
		a.Violations = nil
		for i := range 500 {
			a.Violations = append(a.Violations, notifier.Violation{Message: strings.Repeat("x", 40) + " violation " + string(rune('a'+i%26))})
		}
		before := len(a.Violations)
		ev := send(t, a)
		kept := len(ev.Alert.Violations)
		if !ev.Truncated || kept == 0 || kept+ev.ViolationsOmitted != 500 {
			t.Fatalf("truncated=%v kept=%d omitted=%d", ev.Truncated, kept, ev.ViolationsOmitted)
		}
		for i, v := range ev.Alert.Violations {
			if v != a.Violations[i] {
				t.Fatalf("violation %d = %q, want %q", i, v.Message, a.Violations[i].Message)
			}
		}
		if len(a.Violations) != before {
			t.Error("Send changed the caller's alert")
		}
		// One more violation would not have fit: the search keeps as many as fit.
		if kept > 60 || kept < 40 {
			t.Errorf("kept %d violations of ~55 bytes in %d bytes", kept, limit)
		}
		if ev.Alert.Policy.Rationale != a.Policy.Rationale || ev.Alert.Deployment.Labels["app"] != "web" {
			t.Error("dropping violations was enough; the rest should be whole")
		}
	})
	t.Run("one huge violation is cut", func(t *testing.T) {
		a := alert()
		a.Violations = []notifier.Violation{{Message: strings.Repeat("é", 100_000)}}
		ev := send(t, a)
		if !ev.Truncated || len(ev.Alert.Violations) != 1 || ev.ViolationsOmitted != 0 {
			t.Fatalf("event: truncated=%v violations=%d", ev.Truncated, len(ev.Alert.Violations))
		}
		msg := ev.Alert.Violations[0].Message
		if !strings.HasSuffix(msg, "…") || !strings.HasPrefix(msg, "éé") || len(msg) > limit/8 {
			t.Errorf("cut message: %d bytes, ends %q", len(msg), msg[len(msg)-6:])
		}
	})
	t.Run("huge policy prose and labels go", func(t *testing.T) {
		a := alert()
		a.Policy.Rationale = strings.Repeat("why ", 5000)
		a.Deployment.Annotations = map[string]string{"big": strings.Repeat("<&>", 3000)}
		ev := send(t, a)
		if !ev.Truncated || len(ev.Alert.Violations) != 1 || ev.Alert.Deployment.Annotations != nil {
			t.Errorf("event = %+v", ev)
		}
		if len(ev.Alert.Policy.Rationale) > limit/16 || ev.Alert.Policy.Name != a.Policy.Name {
			t.Errorf("rationale %d bytes, name %q", len(ev.Alert.Policy.Rationale), ev.Alert.Policy.Name)
		}
	})
	t.Run("summary with many policies", func(t *testing.T) {
		s := &notifier.Summary{Count: 5000, From: sent, To: sent, BySeverity: map[string]int{"LOW_SEVERITY": 5000}}
		for range 500 {
			s.TopPolicies = append(s.TopPolicies, notifier.PolicyCount{Name: strings.Repeat("p", 30), Count: 10})
		}
		if err := n.Send(context.Background(), &notifier.Message{ID: "s", Kind: notifier.KindSummary, Time: sent, Summary: s}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		env := h.last(t)
		var ev summaryEvent
		notifytest.DecodeStrict(t, env.Event, &ev)
		if len(env.Event) > limit || !ev.Truncated || len(ev.Summary.TopPolicies)+ev.TopPoliciesOmitted != 500 {
			t.Errorf("summary: %d bytes, truncated=%v, kept %d omitted %d", len(env.Event), ev.Truncated, len(ev.Summary.TopPolicies), ev.TopPoliciesOmitted)
		}
	})
	t.Run("default limit is 10000", func(t *testing.T) {
		h2 := newHEC(t, false)
		n2 := mustNew(t, config(h2.srv.URL))
		a := alert()
		for range 1000 {
			a.Violations = append(a.Violations, notifier.Violation{Message: "Environment variable SECRET_KEY is set"})
		}
		if err := n2.Send(context.Background(), &notifier.Message{ID: "m", Kind: notifier.KindAlert, Event: notifier.EventNew, Time: sent, Alert: a}); err != nil {
			t.Fatal(err)
		}
		env := h2.last(t)
		if len(env.Event) > splunk.DefaultTruncate || len(env.Event) < splunk.DefaultTruncate-200 {
			t.Errorf("event is %d bytes, want just under %d", len(env.Event), splunk.DefaultTruncate)
		}
	})
}

func TestRefusals(t *testing.T) {
	hecAnswer := func(status int, body string, header ...string) func(w http.ResponseWriter) bool {
		return func(w http.ResponseWriter) bool {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return true
		}
	}
	cases := []struct {
		name       string
		refuse     func(w http.ResponseWriter) bool
		token      string
		want       []string
		permanent  bool
		retryAfter time.Duration
	}{
		{name: "bad token", token: "wrong-token", want: []string{"refused the event (403 Forbidden): Invalid token (HEC code 4)", "check splunk.httpToken"}},
		{name: "token echoed back", refuse: hecAnswer(403, `{"text":"Token disabled: `+token+`","code":1}`),
			want: []string{"Token disabled", "(HEC code 1)", "enable the token"}},
		{name: "incorrect index", refuse: hecAnswer(400, `{"text":"Incorrect index","code":7,"invalid-event-number":0}`),
			want: []string{"(400 Bad Request): Incorrect index (HEC code 7)", "index does not exist"}, permanent: true},
		{name: "server error", refuse: hecAnswer(500, `{"text":"Internal server error","code":8}`),
			want: []string{"(500 Internal Server Error): Internal server error (HEC code 8)"}},
		{name: "busy with Retry-After", refuse: hecAnswer(503, `{"text":"Server is busy","code":9}`, "Retry-After", "30"),
			want: []string{"Server is busy"}, retryAfter: 30 * time.Second},
		{name: "429 with Retry-After", refuse: hecAnswer(429, `too many`, "Retry-After", "7"),
			want: []string{"429 Too Many Requests", "too many"}, retryAfter: 7 * time.Second},
		{name: "proxy error page", refuse: hecAnswer(502, `<html>bad gateway</html>`), want: []string{"502 Bad Gateway", "bad gateway"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHEC(t, true)
			h.refuse = tc.refuse
			cfg := config(h.srv.URL)
			if tc.token != "" {
				cfg.Splunk.HTTPToken = tc.token
			}
			n := mustNew(t, cfg)
			err := n.Send(context.Background(), &notifier.Message{ID: "m", Kind: notifier.KindTest, Time: sent})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want %q", err, w)
				}
			}
			if got := notifier.Permanent(err); got != tc.permanent {
				t.Errorf("Permanent = %v", got)
			}
			if got := notifier.RetryAfter(err); got != tc.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", got, tc.retryAfter)
			}
			notifytest.NoSecret(t, err, token)
		})
	}
	t.Run("200 with a non-zero code", func(t *testing.T) {
		h := newHEC(t, false)
		h.refuse = hecAnswer(200, `{"text":"Data channel is missing","code":10}`)
		err := mustNew(t, config(h.srv.URL)).Send(context.Background(), &notifier.Message{ID: "m", Kind: notifier.KindTest, Time: sent})
		if err == nil || !strings.Contains(err.Error(), "Data channel is missing (HEC code 10)") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	n := mustNew(t, config("http://"+addr))
	err = n.Send(context.Background(), &notifier.Message{ID: "m", Kind: notifier.KindTest, Time: sent})
	if err == nil || notifier.Permanent(err) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v, want a retryable error naming %s", err, addr)
	}
	notifytest.NoSecret(t, err, token)
}

func TestTLSVerification(t *testing.T) {
	h := newHEC(t, true)
	cfg := config(h.srv.URL)
	cfg.Splunk.Insecure = false
	err := mustNew(t, cfg).Send(context.Background(), &notifier.Message{ID: "m", Kind: notifier.KindTest, Time: sent})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	cfg.Splunk.Insecure = true
	if err := mustNew(t, cfg).Send(context.Background(), &notifier.Message{ID: "m", Kind: notifier.KindTest, Time: sent}); err != nil {
		t.Fatalf("insecure: %v", err)
	}
}
