package sumologic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/notify/notifytest"
)

// secretPath is what makes a webhook URL a secret; no error may repeat it.
const secretPath = "/receiver/v1/http/ZaVnC4dhaV3s3cr3tS0urc3T0k3n=="

func ok(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }

// The alert object the package comment documents; decoding into it with
// DisallowUnknownFields fails on any key it does not name.
type wireAlert struct {
	ID                string          `json:"id"`
	State             string          `json:"state"`
	LifecycleStage    string          `json:"lifecycleStage"`
	Policy            wirePolicy      `json:"policy"`
	Deployment        *wireDeployment `json:"deployment"`
	Image             string          `json:"image"`
	Violations        []wireViolation `json:"violations"`
	Enforcement       string          `json:"enforcement"`
	FirstOccurred     time.Time       `json:"firstOccurred"`
	Time              time.Time       `json:"time"`
	Link              string          `json:"link"`
	Event             string          `json:"event"`
	Test              bool            `json:"test"`
	ViolationsOmitted int             `json:"violationsOmitted"`
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

// check asserts the request is what a Sumo Logic HTTP source takes.
func check(t *testing.T, r notifytest.Request, category, id string) {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method %s, want POST", r.Method)
	}
	if r.Path != secretPath {
		t.Errorf("path %s, want the source's", r.Path)
	}
	for h, want := range map[string]string{
		"Content-Type": "application/json", "X-Sumo-Category": category, "X-Sumo-Name": "stockade", "X-Stockade-Delivery": id,
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s %q, want %q", h, got, want)
		}
	}
	if len(r.Body) > 1_000_000 {
		t.Errorf("body is %d bytes, over Sumo Logic's 1 MB", len(r.Body))
	}
	if bytes.Count(bytes.TrimSpace(r.Body), []byte("\n")) != 0 {
		t.Error("body is not one JSON object on one line")
	}
}

func strict[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	notifytest.DecodeStrict(t, body, &v)
	return v
}

func config(address string) notifier.Config {
	return notifier.Config{
		ID: "n1", Name: "sumo", Type: notifier.TypeSumoLogic, UIEndpoint: "https://stockade.example",
		SumoLogic: &notifier.SumoLogic{HTTPSourceAddress: address},
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

func sampleAlert(violations int) *notifier.Alert {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := &notifier.Alert{
		ID: "a-1", State: "ACTIVE", LifecycleStage: "RUNTIME",
		Policy: notifier.Policy{ID: "p-1", Name: "Shell spawned", Severity: "CRITICAL_SEVERITY"},
		Deployment: &notifier.Deployment{
			ID: "d-1", Name: "payments", Namespace: "shop", ClusterName: "prod-eu", Type: "Deployment",
		},
		FirstOccurred: now, Time: now,
		Link: notifier.AlertLink("https://stockade.example", "a-1"),
	}
	for i := range violations {
		a.Violations = append(a.Violations, notifier.Violation{Message: fmt.Sprintf("process /bin/sh %06d spawned by node in container app, arguments -c curl http://x", i)})
	}
	return a
}

func alertMsg(event notifier.Event, violations int) *notifier.Message {
	a := sampleAlert(violations)
	return &notifier.Message{ID: "m-" + string(event), Kind: notifier.KindAlert, Event: event, Time: a.Time, Alert: a}
}

func TestNewRefusesBadConfig(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *notifier.Config)
		want   string
	}{
		{"no sumologic block", func(c *notifier.Config) { c.SumoLogic = nil }, "sumologic: required"},
		{"wrong type", func(c *notifier.Config) { c.Type = notifier.TypeSplunk }, "type: want \"sumologic\""},
		{"missing address", func(c *notifier.Config) { c.SumoLogic.HTTPSourceAddress = "" }, "sumologic.httpSourceAddress: required"},
		{"wrong scheme", func(c *notifier.Config) {
			c.SumoLogic.HTTPSourceAddress = "tcp://endpoint1.collection.sumologic.com" + secretPath
		}, "sumologic.httpSourceAddress: want an http:// or https:// URL"},
		{"no host", func(c *notifier.Config) { c.SumoLogic.HTTPSourceAddress = "https://" + secretPath }, "sumologic.httpSourceAddress: URL has no host"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config("https://endpoint1.collection.sumologic.com" + secretPath)
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
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q holds the source's token", err)
			}
		})
	}
}

func TestWants(t *testing.T) {
	n := newNotifier(t, config("https://endpoint1.collection.sumologic.com"+secretPath))
	cases := []struct {
		kind  notifier.Kind
		event notifier.Event
		want  bool
	}{
		{notifier.KindTest, "", true},
		{notifier.KindAlert, notifier.EventNew, true},
		{notifier.KindAlert, notifier.EventResolved, true},
		{notifier.KindAlert, notifier.EventReopened, true},
		{notifier.KindAlert, "DELETED", false},
		{notifier.KindSummary, "", true},
		{notifier.KindAudit, "", false},
	}
	for _, c := range cases {
		if got := n.Wants(c.kind, c.event); got != c.want {
			t.Errorf("Wants(%s, %q) = %v, want %v", c.kind, c.event, got, c.want)
		}
	}
}

func TestSendAlertEvents(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	for _, ev := range []notifier.Event{notifier.EventNew, notifier.EventResolved, notifier.EventReopened} {
		t.Run(string(ev), func(t *testing.T) {
			m := alertMsg(ev, 3)
			if err := n.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := p.Next(t)
			check(t, r, "stockade/alert", m.ID)
			a := strict[wireAlert](t, r.Body)
			if a.Event != string(ev) || a.Test || a.ViolationsOmitted != 0 {
				t.Errorf("event %q test %v omitted %d", a.Event, a.Test, a.ViolationsOmitted)
			}
			if a.ID != "a-1" || a.Policy.Severity != "CRITICAL_SEVERITY" || a.Deployment == nil || a.Deployment.ClusterName != "prod-eu" ||
				len(a.Violations) != 3 || a.LifecycleStage != "RUNTIME" || !a.Time.Equal(m.Alert.Time) || a.Link != m.Alert.Link {
				t.Errorf("alert did not round-trip: %+v", a)
			}
		})
	}
}

func TestSendTestMessage(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	cfg := config(p.URL + secretPath)
	n := newNotifier(t, cfg)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	m := &notifier.Message{ID: "t-1", Kind: notifier.KindTest, Time: now, Alert: notifier.SampleAlert(now, cfg.UIEndpoint)}
	if err := n.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := p.Next(t)
	check(t, r, "stockade/alert", "t-1")
	a := strict[wireAlert](t, r.Body)
	if !a.Test || a.Event != "NEW" || a.Policy.Name != "Stockade test message" {
		t.Errorf("test alert %+v, want test=true event=NEW and the sample policy", a)
	}
}

func TestSendSummary(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s := &notifier.Summary{
		Count: 57, From: from, To: from.Add(5 * time.Minute),
		BySeverity:  map[string]int{"CRITICAL_SEVERITY": 57},
		TopPolicies: []notifier.PolicyCount{{Name: "Shell spawned", Count: 57}},
		Link:        "https://stockade.example/main/violations",
	}
	if err := n.Send(context.Background(), &notifier.Message{ID: "s-1", Kind: notifier.KindSummary, Summary: s}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := p.Next(t)
	check(t, r, "stockade/summary", "s-1")
	got := strict[wireSummary](t, r.Body)
	if got.Count != 57 || !got.To.Equal(s.To) || got.BySeverity["CRITICAL_SEVERITY"] != 57 ||
		len(got.TopPolicies) != 1 || got.TopPolicies[0].Count != 57 || got.Link != s.Link {
		t.Errorf("summary did not round-trip: %+v", got)
	}
}

func TestOversizedAlertKeepsWhatFits(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	const total = 20000 // about 2 MB of violations
	m := alertMsg(notifier.EventNew, total)
	if err := n.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := p.Next(t)
	check(t, r, "stockade/alert", m.ID)
	a := strict[wireAlert](t, r.Body)
	kept := len(a.Violations)
	if kept == 0 || kept == total || kept+a.ViolationsOmitted != total {
		t.Fatalf("kept %d, omitted %d of %d", kept, a.ViolationsOmitted, total)
	}
	if a.Violations[kept-1].Message != m.Alert.Violations[kept-1].Message {
		t.Error("kept violations are not the leading ones")
	}
	// As many as fit: one more would not have.
	if len(r.Body)+len(m.Alert.Violations[kept].Message)+len(`,{"message":""}`) <= 1_000_000 {
		t.Errorf("body is %d bytes with %d violations: another would have fit", len(r.Body), kept)
	}
	if len(m.Alert.Violations) != total {
		t.Error("Send changed the caller's alert")
	}
}

func TestSkipTLSVerify(t *testing.T) {
	p := notifytest.NewPeer(t, true, ok)
	t.Run("verified", func(t *testing.T) {
		n := newNotifier(t, config(p.URL+secretPath))
		err := n.Send(context.Background(), alertMsg(notifier.EventNew, 1))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Send to a self-signed source: %v, want a certificate error", err)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error %q holds the source's token", err)
		}
		p.None(t)
	})
	t.Run("skipped", func(t *testing.T) {
		cfg := config(p.URL + secretPath)
		cfg.SumoLogic.SkipTLSVerify = true
		n := newNotifier(t, cfg)
		if err := n.Send(context.Background(), alertMsg(notifier.EventNew, 1)); err != nil {
			t.Fatalf("Send with skipTLSVerify: %v", err)
		}
		check(t, p.Next(t), "stockade/alert", "m-NEW")
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
		{"server error", notifytest.Refuse(500, "internal error"), false, 0, []string{"500", "internal error"}},
		{"bad request", notifytest.Refuse(400, "Malformed request"), true, 0, []string{"400", "Malformed request"}},
		{"unknown source", notifytest.Refuse(401, "The source is not found or disabled"), false, 0, []string{"401", "source is not found"}},
		{"throttled", notifytest.Refuse(429, "Too many requests", "Retry-After", "9"), false, 9 * time.Second, []string{"429", "Too many requests"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := notifytest.NewPeer(t, false, c.answer)
			n := newNotifier(t, config(p.URL+secretPath))
			err := n.Send(context.Background(), alertMsg(notifier.EventNew, 1))
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

func TestSecretNotInErrors(t *testing.T) {
	p := notifytest.NewPeer(t, false, notifytest.Refuse(404, "no source at https://endpoint1.collection.sumologic.com"+secretPath+" (deleted)"))
	n := newNotifier(t, config(p.URL+secretPath))
	err := n.Send(context.Background(), alertMsg(notifier.EventNew, 1))
	if err == nil {
		t.Fatal("Send succeeded")
	}
	if !strings.Contains(err.Error(), "no source at") || !strings.Contains(err.Error(), "(deleted)") {
		t.Errorf("error %q lost the remote's message", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q holds the source's token", err)
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
	err = n.Send(context.Background(), alertMsg(notifier.EventNew, 1))
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
		t.Errorf("error %q holds the source's token", err)
	}
}

func TestSendRefusesWhatItDoesNotTake(t *testing.T) {
	p := notifytest.NewPeer(t, false, ok)
	n := newNotifier(t, config(p.URL+secretPath))
	for _, m := range []*notifier.Message{
		{ID: "x", Kind: notifier.KindAudit, Audit: &notifier.Audit{User: "u"}},
		{ID: "x", Kind: notifier.KindAlert, Event: notifier.EventNew},
		{ID: "x", Kind: notifier.KindSummary},
	} {
		if err := n.Send(context.Background(), m); err == nil || !notifier.Permanent(err) {
			t.Errorf("Send(%s %q) = %v, want a permanent error", m.Kind, m.Event, err)
		}
	}
	p.None(t)
}
