package pagerduty_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/notify/notifytest"
	"github.com/stockade-dev/stockade/internal/notify/pagerduty"
)

// A real integration key is 32 characters; PagerDuty refuses other lengths.
const routingKey = "R0UT1NGKEYSECRET0123456789abcdef"

var sent = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// Structs mirroring the documented Events API v2 event.
type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload"`
	Links       []pdLink   `json:"links"`
	Client      string     `json:"client"`
	ClientURL   string     `json:"client_url"`
}

type pdPayload struct {
	Summary       string          `json:"summary"`
	Source        string          `json:"source"`
	Severity      string          `json:"severity"`
	Timestamp     string          `json:"timestamp"`
	Component     string          `json:"component"`
	Group         string          `json:"group"`
	Class         string          `json:"class"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// Stockade's custom_details, as documented in the package comment.
type alertDetails struct {
	Test              bool     `json:"test"`
	Event             string   `json:"event"`
	Policy            string   `json:"policy"`
	Severity          string   `json:"severity"`
	Description       string   `json:"description"`
	Rationale         string   `json:"rationale"`
	Remediation       string   `json:"remediation"`
	Categories        []string `json:"categories"`
	LifecycleStage    string   `json:"lifecycle_stage"`
	Cluster           string   `json:"cluster"`
	Namespace         string   `json:"namespace"`
	Deployment        string   `json:"deployment"`
	DeploymentType    string   `json:"deployment_type"`
	Images            []string `json:"images"`
	Violations        []string `json:"violations"`
	ViolationsOmitted int      `json:"violations_omitted"`
	Enforcement       string   `json:"enforcement"`
	AlertID           string   `json:"alert_id"`
	FirstOccurred     string   `json:"first_occurred"`
	DeliveryID        string   `json:"delivery_id"`
	Link              string   `json:"link"`
}

type summaryDetails struct {
	Count              int                    `json:"count"`
	From               string                 `json:"from"`
	To                 string                 `json:"to"`
	BySeverity         map[string]int         `json:"by_severity"`
	TopPolicies        []notifier.PolicyCount `json:"top_policies"`
	TopPoliciesOmitted int                    `json:"top_policies_omitted"`
	DeliveryID         string                 `json:"delivery_id"`
	Link               string                 `json:"link"`
}

// pd is a local Events API v2: it validates events as PagerDuty documents
// them, tracks which incidents are open, and can refuse on demand.
type pd struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	events []pdEvent
	open   map[string]bool
	refuse func(w http.ResponseWriter, ev pdEvent) bool
}

func newPD(t *testing.T) *pd {
	t.Helper()
	p := &pd{t: t, open: map[string]bool{}}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	answer := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	invalid := func(errs ...string) {
		answer(http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": errs})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
		answer(http.StatusNotFound, map[string]any{"status": "not found"})
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		p.t.Errorf("Content-Type = %q", ct)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		p.t.Errorf("read: %v", err)
		return
	}
	var ev pdEvent
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&ev); err != nil {
		p.t.Errorf("event: %v\n%s", err, body)
		invalid("Event object is not valid JSON: " + err.Error())
		return
	}
	var errs []string
	if len(ev.RoutingKey) != 32 {
		errs = append(errs, "Length of 'routing_key' is incorrect (should be 32 characters)")
	}
	if ev.DedupKey == "" || len(ev.DedupKey) > 255 {
		errs = append(errs, "'dedup_key' is missing or too long")
	}
	switch ev.EventAction {
	case "trigger":
		errs = append(errs, checkPayload(ev.Payload)...)
		for _, l := range ev.Links {
			if l.Href == "" {
				errs = append(errs, "'links.href' is missing")
			}
		}
	case "resolve":
		var keys map[string]json.RawMessage
		_ = json.Unmarshal(body, &keys)
		if len(keys) != 3 {
			p.t.Errorf("resolve carries more than routing_key, event_action, dedup_key: %s", body)
		}
	default:
		errs = append(errs, "'event_action' is invalid")
	}
	if len(errs) > 0 {
		invalid(errs...)
		return
	}
	if p.refuse != nil && p.refuse(w, ev) {
		return
	}
	p.mu.Lock()
	p.events = append(p.events, ev)
	p.open[ev.DedupKey] = ev.EventAction == "trigger"
	p.mu.Unlock()
	answer(http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
}

func checkPayload(p *pdPayload) []string {
	if p == nil {
		return []string{"'payload' is missing"}
	}
	var errs []string
	if p.Summary == "" || len([]rune(p.Summary)) > 1024 {
		errs = append(errs, "'payload.summary' is missing or longer than 1024 characters")
	}
	if p.Source == "" {
		errs = append(errs, "'payload.source' is missing or blank")
	}
	if !slices.Contains([]string{"critical", "error", "warning", "info"}, p.Severity) {
		errs = append(errs, "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')")
	}
	if _, err := time.Parse(time.RFC3339Nano, p.Timestamp); p.Timestamp != "" && err != nil {
		errs = append(errs, "'payload.timestamp' is not a valid ISO 8601 timestamp")
	}
	return errs
}

func (p *pd) take(t *testing.T, n int) []pdEvent {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.events) != n {
		t.Fatalf("PagerDuty received %d events, want %d", len(p.events), n)
	}
	evs := p.events
	p.events = nil
	return evs
}

func (p *pd) isOpen(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open[key]
}

// newNotifier returns a Notifier sending to p through pagerduty.endpoint.
func newNotifier(t *testing.T, p *pd, key string) *pagerduty.Notifier {
	t.Helper()
	n, err := pagerduty.New(config(p.srv.URL+"/v2/enqueue", key))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

func config(endpoint, key string) notifier.Config {
	return notifier.Config{
		ID: "n1", Name: "pd", Type: notifier.TypePagerDuty, UIEndpoint: "https://central.example",
		PagerDuty: &notifier.PagerDuty{APIKey: key, Endpoint: endpoint},
	}
}

func alert() *notifier.Alert {
	return &notifier.Alert{
		ID: "a6f1c7e2-0000-4000-8000-000000000001", State: "ACTIVE", LifecycleStage: "DEPLOY",
		Policy: notifier.Policy{
			ID: "p1", Name: "Privileged container", Severity: "CRITICAL_SEVERITY",
			Description: "Alert on privileged containers.", Rationale: "Privileged containers own the node.",
			Remediation: "Drop privileged: true.", Categories: []string{"Privileges", "Docker CIS"},
		},
		Deployment: &notifier.Deployment{
			ID: "d1", Name: "web", Namespace: "shop", ClusterName: "prod", Type: "Deployment",
			Containers: []notifier.Container{{Name: "web", Image: "registry.example/web:2"}},
		},
		Violations:    []notifier.Violation{{Message: "Container 'web' is privileged"}},
		Enforcement:   "SCALE_TO_ZERO_ENFORCEMENT",
		FirstOccurred: sent.Add(-time.Hour), Time: sent,
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name  string
		cfg   notifier.Config
		field string
	}{
		{"no block", notifier.Config{Type: notifier.TypePagerDuty}, "pagerduty"},
		{"no key", config("", ""), "pagerduty.apiKey"},
		{"key with space", config("", routingKey+" x"), "pagerduty.apiKey"},
		{"endpoint not http", config("ftp://pd.example/v2/enqueue", routingKey), "pagerduty.endpoint"},
		{"endpoint without host", config("https://", routingKey), "pagerduty.endpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pagerduty.New(tc.cfg)
			if !errors.Is(err, notifier.ErrInvalid) || !strings.HasPrefix(err.Error(), tc.field+":") {
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, tc.field)
			}
			if strings.Contains(err.Error(), routingKey) {
				t.Errorf("err holds the key: %q", err)
			}
		})
	}
}

func TestDefaultEndpoint(t *testing.T) {
	n, err := pagerduty.New(config("", routingKey))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no network: the error names the host it would have reached
	err = n.Send(ctx, &notifier.Message{ID: "m", Kind: notifier.KindAlert, Event: notifier.EventNew, Alert: alert()})
	if err == nil || !strings.Contains(err.Error(), "events.pagerduty.com") {
		t.Fatalf("err = %v", err)
	}
}

func TestWants(t *testing.T) {
	n, err := pagerduty.New(config("", routingKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind  notifier.Kind
		event notifier.Event
		want  bool
	}{
		{notifier.KindTest, "", true},
		{notifier.KindAlert, notifier.EventNew, true},
		{notifier.KindAlert, notifier.EventReopened, true},
		{notifier.KindAlert, notifier.EventResolved, true},
		{notifier.KindAlert, "OTHER", false},
		{notifier.KindSummary, "", true},
		{notifier.KindAudit, "", false},
	} {
		if got := n.Wants(tc.kind, tc.event); got != tc.want {
			t.Errorf("Wants(%s, %s) = %v", tc.kind, tc.event, got)
		}
	}
	err = n.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindAudit, Audit: &notifier.Audit{}})
	if !notifier.Permanent(err) {
		t.Errorf("audit: %v", err)
	}
}

func TestTestMessageLeavesNothingOpen(t *testing.T) {
	p := newPD(t)
	n := newNotifier(t, p, routingKey)
	m := &notifier.Message{ID: "test-1", Kind: notifier.KindTest, Time: sent, Alert: notifier.SampleAlert(sent, "https://central.example")}
	if err := n.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	evs := p.take(t, 2)
	if evs[0].EventAction != "trigger" || evs[1].EventAction != "resolve" || evs[0].DedupKey != evs[1].DedupKey {
		t.Fatalf("events = %s %s, %s %s", evs[0].EventAction, evs[0].DedupKey, evs[1].EventAction, evs[1].DedupKey)
	}
	if evs[0].DedupKey != "stockade-test-test-1" || p.isOpen(evs[0].DedupKey) {
		t.Errorf("dedup key %q open=%v", evs[0].DedupKey, p.isOpen(evs[0].DedupKey))
	}
	pl := evs[0].Payload
	if !strings.HasPrefix(pl.Summary, "[Test] Stockade test message") || pl.Severity != "info" {
		t.Errorf("payload = %+v", pl)
	}
	var d alertDetails
	notifytest.DecodeStrict(t, pl.CustomDetails, &d)
	if !d.Test || d.Event != "" || d.Violations[0] != "This is a test message from Stockade." {
		t.Errorf("details = %+v", d)
	}
}

func TestTestResolveFails(t *testing.T) {
	p := newPD(t)
	p.refuse = func(w http.ResponseWriter, ev pdEvent) bool {
		if ev.EventAction != "resolve" {
			return false
		}
		w.WriteHeader(http.StatusInternalServerError)
		return true
	}
	err := newNotifier(t, p, routingKey).Send(context.Background(), &notifier.Message{ID: "t", Kind: notifier.KindTest, Time: sent})
	if err == nil || !strings.Contains(err.Error(), "opened but not resolved") || !strings.Contains(err.Error(), "500") {
		t.Fatalf("err = %v", err)
	}
}

func TestAlertEvents(t *testing.T) {
	p := newPD(t)
	n := newNotifier(t, p, routingKey)
	ctx := context.Background()
	a := alert()

	if err := n.Send(ctx, &notifier.Message{ID: "m1", Kind: notifier.KindAlert, Event: notifier.EventNew, Time: sent, Alert: a}); err != nil {
		t.Fatalf("NEW: %v", err)
	}
	ev := p.take(t, 1)[0]
	if ev.RoutingKey != routingKey || ev.EventAction != "trigger" || ev.DedupKey != a.ID || !p.isOpen(a.ID) {
		t.Errorf("event = %+v", ev)
	}
	if ev.Client != "Stockade" || ev.ClientURL != "https://central.example/main/violations" {
		t.Errorf("client = %q %q", ev.Client, ev.ClientURL)
	}
	if len(ev.Links) != 1 || ev.Links[0].Href != "https://central.example/main/violations/"+a.ID || ev.Links[0].Text == "" {
		t.Errorf("links = %+v", ev.Links)
	}
	pl := ev.Payload
	want := pdPayload{
		Summary: "[Critical] Privileged container: Deployment shop/web in cluster prod", Source: "prod/shop/web",
		Severity: "critical", Timestamp: "2024-05-01T12:00:00Z", Component: "web", Group: "prod/shop", Class: "Privileges, Docker CIS",
	}
	got := *pl
	got.CustomDetails = nil
	if got.Summary != want.Summary || got.Source != want.Source || got.Severity != want.Severity || got.Timestamp != want.Timestamp ||
		got.Component != want.Component || got.Group != want.Group || got.Class != want.Class {
		t.Errorf("payload =\n %+v\nwant\n %+v", got, want)
	}
	var d alertDetails
	notifytest.DecodeStrict(t, pl.CustomDetails, &d)
	if d.Event != "NEW" || d.Policy != "Privileged container" || d.Severity != "CRITICAL_SEVERITY" || d.AlertID != a.ID ||
		d.Namespace != "shop" || d.Cluster != "prod" || d.Deployment != "web" || d.Images[0] != "registry.example/web:2" ||
		d.Rationale == "" || d.Remediation == "" || d.DeliveryID != "m1" || d.FirstOccurred != "2024-05-01T11:00:00Z" ||
		len(d.Violations) != 1 || d.Enforcement != "SCALE_TO_ZERO_ENFORCEMENT" {
		t.Errorf("details = %+v", d)
	}

	if err := n.Send(ctx, &notifier.Message{ID: "m2", Kind: notifier.KindAlert, Event: notifier.EventResolved, Time: sent, Alert: a}); err != nil {
		t.Fatalf("RESOLVED: %v", err)
	}
	ev = p.take(t, 1)[0]
	if ev.EventAction != "resolve" || ev.DedupKey != a.ID || ev.Payload != nil || ev.Links != nil || ev.Client != "" || p.isOpen(a.ID) {
		t.Errorf("resolve = %+v", ev)
	}

	if err := n.Send(ctx, &notifier.Message{ID: "m3", Kind: notifier.KindAlert, Event: notifier.EventReopened, Time: sent, Alert: a}); err != nil {
		t.Fatalf("REOPENED: %v", err)
	}
	ev = p.take(t, 1)[0]
	if ev.EventAction != "trigger" || ev.DedupKey != a.ID || !strings.HasPrefix(ev.Payload.Summary, "[Critical] Reopened: ") || !p.isOpen(a.ID) {
		t.Errorf("reopen = %+v", ev)
	}
	notifytest.DecodeStrict(t, ev.Payload.CustomDetails, &d)
	if d.Event != "REOPENED" {
		t.Errorf("event = %q", d.Event)
	}
}

func TestSeverityAndLimits(t *testing.T) {
	p := newPD(t)
	n := newNotifier(t, p, routingKey)
	for sev, want := range map[string]string{
		"CRITICAL_SEVERITY": "critical", "HIGH_SEVERITY": "error", "MEDIUM_SEVERITY": "warning",
		"LOW_SEVERITY": "info", "UNSET_SEVERITY": "warning",
	} {
		a := alert()
		a.Policy.Severity = sev
		if err := n.Send(context.Background(), &notifier.Message{ID: "m", Kind: notifier.KindAlert, Event: notifier.EventNew, Alert: a}); err != nil {
			t.Fatal(err)
		}
		if got := p.take(t, 1)[0].Payload.Severity; got != want {
			t.Errorf("%s → %s, want %s", sev, got, want)
		}
	}

	a := alert()
	a.Policy.Name = strings.Repeat("ü", 1500)
	a.Deployment = nil
	a.Image = "registry.example/build:1"
	for range 150 {
		a.Violations = append(a.Violations, notifier.Violation{Message: "CVE-2024-0001 in openssl"})
	}
	if err := n.Send(context.Background(), &notifier.Message{ID: "m", Kind: notifier.KindAlert, Event: notifier.EventNew, Alert: a}); err != nil {
		t.Fatalf("long alert: %v", err)
	}
	ev := p.take(t, 1)[0]
	if len(ev.Payload.Summary) > 1024 || !strings.HasSuffix(ev.Payload.Summary, "…") {
		t.Errorf("summary is %d bytes", len(ev.Payload.Summary))
	}
	if ev.Payload.Source != a.Image || ev.Payload.Group != "" {
		t.Errorf("image alert source %q group %q", ev.Payload.Source, ev.Payload.Group)
	}
	var d alertDetails
	notifytest.DecodeStrict(t, ev.Payload.CustomDetails, &d)
	if len(d.Violations) != 100 || d.ViolationsOmitted != 51 {
		t.Errorf("violations %d, omitted %d", len(d.Violations), d.ViolationsOmitted)
	}
}

func TestSummary(t *testing.T) {
	p := newPD(t)
	n := newNotifier(t, p, routingKey)
	s := &notifier.Summary{
		Count: 340, From: sent.Add(-5 * time.Minute), To: sent,
		BySeverity:  map[string]int{"HIGH_SEVERITY": 300, "LOW_SEVERITY": 40, "CRITICAL_SEVERITY": 0},
		TopPolicies: []notifier.PolicyCount{{Name: "Latest tag", Count: 200}, {Name: "No resource limits", Count: 140}},
	}
	if err := n.Send(context.Background(), &notifier.Message{ID: "s1", Kind: notifier.KindSummary, Time: sent, Summary: s}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	ev := p.take(t, 1)[0]
	if ev.EventAction != "trigger" || ev.DedupKey != "stockade-storm-20240501T115500Z-20240501T120000Z" {
		t.Errorf("action %s key %s", ev.EventAction, ev.DedupKey)
	}
	if ev.Payload.Severity != "error" || ev.Payload.Summary != `Alert storm: 340 more alerts folded, most from "Latest tag"` || ev.Payload.Source != "central.example" {
		t.Errorf("payload = %+v", ev.Payload)
	}
	var d summaryDetails
	notifytest.DecodeStrict(t, ev.Payload.CustomDetails, &d)
	if d.Count != 340 || d.BySeverity["HIGH_SEVERITY"] != 300 || len(d.TopPolicies) != 2 || d.Link != "https://central.example/main/violations" || d.From != "2024-05-01T11:55:00Z" {
		t.Errorf("details = %+v", d)
	}
}

func TestRefusals(t *testing.T) {
	reply := func(status int, body string, header ...string) func(w http.ResponseWriter, _ pdEvent) bool {
		return func(w http.ResponseWriter, _ pdEvent) bool {
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
		key        string
		refuse     func(w http.ResponseWriter, ev pdEvent) bool
		want       []string
		permanent  bool
		retryAfter time.Duration
	}{
		{name: "invalid routing key", key: "short-SECRET-key",
			want:      []string{"refused the trigger event (400 Bad Request): Event object is invalid: Length of 'routing_key' is incorrect", "check pagerduty.apiKey"},
			permanent: true},
		{name: "key echoed in errors", key: routingKey,
			refuse:    reply(400, `{"status":"invalid event","message":"Event object is invalid","errors":["'routing_key' `+routingKey+` is disabled","'payload.source' is missing"]}`),
			want:      []string{"is disabled; 'payload.source' is missing"},
			permanent: true},
		{name: "throttled", key: routingKey, refuse: reply(429, `{"status":"throttle exceeded","message":"Requests for this service are arriving too quickly. Please retry later."}`, "Retry-After", "5"),
			want: []string{"(429 Too Many Requests): Requests for this service are arriving too quickly"}, retryAfter: 5 * time.Second},
		{name: "server error", key: routingKey, refuse: reply(500, `oops`), want: []string{"500 Internal Server Error", "oops"}},
		{name: "success answer with other status", key: routingKey, refuse: reply(202, `{"status":"invalid event","message":"Event object is invalid"}`),
			want: []string{"did not take the trigger event: Event object is invalid"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPD(t)
			p.refuse = tc.refuse
			n := newNotifier(t, p, tc.key)
			err := n.Send(context.Background(), &notifier.Message{ID: "m", Kind: notifier.KindAlert, Event: notifier.EventNew, Alert: alert()})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q\nwant %q", err, w)
				}
			}
			if notifier.Permanent(err) != tc.permanent || notifier.RetryAfter(err) != tc.retryAfter {
				t.Errorf("Permanent = %v RetryAfter = %v", notifier.Permanent(err), notifier.RetryAfter(err))
			}
			notifytest.NoSecret(t, err, tc.key)
		})
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	n, err := pagerduty.New(config("http://"+addr+"/v2/enqueue", routingKey))
	if err != nil {
		t.Fatal(err)
	}
	err = n.Send(context.Background(), &notifier.Message{ID: "m", Kind: notifier.KindTest, Time: sent})
	if err == nil || notifier.Permanent(err) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v", err)
	}
	notifytest.NoSecret(t, err, routingKey)
}
