package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/central/outbox"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/notify"
	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// peer is a webhook receiver that records each delivery by its id and
// answers with whatever fail says (0: 200 OK).
type peer struct {
	srv *httptest.Server

	mu        sync.Mutex
	attempts  map[string]int
	delivered map[string]int
	bodies    []map[string]json.RawMessage
	fail      func(id string, attempt int) (status int, body string)
}

func newPeer(t testing.TB) *peer {
	p := &peer{attempts: map[string]int{}, delivered: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Stockade-Delivery")
		body, err := io.ReadAll(r.Body)
		if err != nil || id == "" || r.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.attempts[id]++
		n := p.attempts[id]
		fail := p.fail
		p.mu.Unlock()
		if fail != nil {
			if status, msg := fail(id, n); status != 0 {
				http.Error(w, msg, status)
				return
			}
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(body, &doc); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.delivered[id]++
		p.bodies = append(p.bodies, doc)
		p.mu.Unlock()
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *peer) setFail(f func(id string, attempt int) (int, string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = f
}

// counts returns how many distinct deliveries arrived and the largest number
// of times any one arrived.
func (p *peer) counts() (distinct, most int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range p.delivered {
		most = max(most, n)
	}
	return len(p.delivered), most
}

func (p *peer) config(id string) notifier.Config {
	return notifier.Config{ID: id, Name: "hook " + id, Type: notifier.TypeGeneric, UIEndpoint: "https://stockade.example",
		Generic: &notifier.Generic{Endpoint: p.srv.URL + "/hook/" + id, AuditLoggingEnabled: true}}
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "", t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func fastOptions() outbox.Options {
	return outbox.Options{Poll: 20 * time.Millisecond, BackoffBase: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond}
}

// start runs an outbox over st until the test ends.
func start(t testing.TB, st *store.Store, opts outbox.Options, cfgs ...notifier.Config) *outbox.Outbox {
	t.Helper()
	o := outbox.New(st, notify.New, opts, nil, slog.New(slog.DiscardHandler))
	o.SetNotifiers(cfgs)
	if b := o.Broken(); len(b) > 0 {
		t.Fatalf("notifiers not usable: %v", b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := o.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return o
}

func alert(i int, severity string) *notifier.Alert {
	now := time.Now().UTC()
	return &notifier.Alert{
		ID: fmt.Sprintf("alert-%05d", i), State: "ACTIVE", LifecycleStage: "DEPLOY",
		Policy:     notifier.Policy{ID: "p1", Name: fmt.Sprintf("Policy %d", i%3), Severity: severity},
		Deployment: &notifier.Deployment{ID: "d", Name: "web", Namespace: "shop", ClusterName: "prod", Type: "Deployment"},
		Violations: []notifier.Violation{{Message: "Container 'web' is privileged"}}, FirstOccurred: now, Time: now,
	}
}

func enqueue(t testing.TB, st *store.Store, o *outbox.Outbox, ids []string, event notifier.Event, alerts ...*notifier.Alert) {
	t.Helper()
	changes := make([]outbox.AlertChange, len(alerts))
	for i, a := range alerts {
		changes[i] = outbox.AlertChange{Notifiers: ids, Event: event, Alert: a}
	}
	err := st.InTx(context.Background(), func(tx *store.Tx) error { return o.EnqueueAlerts(context.Background(), tx, changes) })
	if err != nil {
		t.Fatal(err)
	}
	o.Kick()
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func stats(t testing.TB, st *store.Store, id string) store.DeliveryStats {
	t.Helper()
	all, err := st.DeliveryStatsByNotifier(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s := all[id]; s != nil {
		return *s
	}
	return store.DeliveryStats{}
}

func TestDeliversEveryAlertOnceToEveryNotifier(t *testing.T) {
	st := openStore(t)
	p := newPeer(t)
	o := start(t, st, fastOptions(), p.config("a"), p.config("b"))
	var alerts []*notifier.Alert
	for i := range 300 {
		alerts = append(alerts, alert(i, "HIGH_SEVERITY"))
	}
	// "ghost" is no notifier: listing it in a policy routes nothing.
	enqueue(t, st, o, []string{"a", "b", "ghost", "a"}, notifier.EventNew, alerts...)
	waitFor(t, "600 deliveries", func() bool { n, _ := p.counts(); return n >= 600 })
	waitFor(t, "outbox drained", func() bool {
		return stats(t, st, "a").Delivered == 300 && stats(t, st, "b").Delivered == 300
	})
	if n, most := p.counts(); n != 600 || most != 1 {
		t.Fatalf("peer got %d distinct deliveries, one of them %d times; want 600, each once", n, most)
	}
	// Links are made at send time from the notifier's UI endpoint.
	p.mu.Lock()
	defer p.mu.Unlock()
	var a struct {
		Link  string `json:"link"`
		Event string `json:"event"`
	}
	if err := json.Unmarshal(p.bodies[0]["alert"], &a); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.Link, "https://stockade.example/main/violations/alert-") || a.Event != "NEW" {
		t.Fatalf("alert as delivered: %+v", a)
	}
}

func TestRetriesWithBackoffUntilDelivered(t *testing.T) {
	st := openStore(t)
	p := newPeer(t)
	p.setFail(func(_ string, attempt int) (int, string) {
		if attempt <= 2 {
			return http.StatusServiceUnavailable, "overloaded"
		}
		return 0, ""
	})
	o := start(t, st, fastOptions(), p.config("a"))
	enqueue(t, st, o, []string{"a"}, notifier.EventNew, alert(1, "LOW_SEVERITY"), alert(2, "LOW_SEVERITY"))
	waitFor(t, "delivery after retries", func() bool { return stats(t, st, "a").Delivered == 2 })
	ds, _, err := st.ListDeliveries(context.Background(), store.DeliveryQuery{NotifierID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Attempts != 3 || d.State != store.DeliveryDelivered || d.LastError != "" {
			t.Errorf("delivery %s: %d attempts, state %s, error %q; want 3, DELIVERED, none", d.ID, d.Attempts, d.State, d.LastError)
		}
	}
	if _, most := p.counts(); most != 1 {
		t.Fatalf("a delivery arrived %d times", most)
	}
}

func TestRefusedMessageIsDeadLetteredAndCanBeRetried(t *testing.T) {
	st := openStore(t)
	p := newPeer(t)
	p.setFail(func(string, int) (int, string) { return http.StatusBadRequest, "field policy.severity is unknown" })
	o := start(t, st, fastOptions(), p.config("a"))
	enqueue(t, st, o, []string{"a"}, notifier.EventNew, alert(1, "CRITICAL_SEVERITY"))
	waitFor(t, "dead letter", func() bool { return stats(t, st, "a").Dead == 1 })
	s := stats(t, st, "a")
	if !strings.Contains(s.LastError, "field policy.severity is unknown") || !strings.Contains(s.LastError, "400") {
		t.Fatalf("last error %q does not quote the refusal", s.LastError)
	}
	if strings.Contains(s.LastError, "/hook/a") {
		t.Fatalf("last error %q shows the endpoint path", s.LastError)
	}
	p.setFail(nil)
	n, err := o.Retry(context.Background(), "a", nil)
	if err != nil || n != 1 {
		t.Fatalf("Retry = %d, %v", n, err)
	}
	waitFor(t, "delivery after retry", func() bool { return stats(t, st, "a").Delivered == 1 })
}

func TestFailingMessageDiesWhenItExpires(t *testing.T) {
	st := openStore(t)
	p := newPeer(t)
	p.setFail(func(string, int) (int, string) { return http.StatusInternalServerError, "database down" })
	opts := fastOptions()
	opts.DeadAfter = 300 * time.Millisecond
	o := start(t, st, opts, p.config("a"))
	enqueue(t, st, o, []string{"a"}, notifier.EventNew, alert(1, "HIGH_SEVERITY"))
	waitFor(t, "expiry", func() bool { return stats(t, st, "a").Dead == 1 })
	ds, _, err := st.ListDeliveries(context.Background(), store.DeliveryQuery{NotifierID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].Attempts < 2 || !strings.Contains(ds[0].LastError, "database down") {
		t.Fatalf("dead delivery: %d attempts, error %q", ds[0].Attempts, ds[0].LastError)
	}
}

func TestStormIsFoldedIntoSummaries(t *testing.T) {
	st := openStore(t)
	p := newPeer(t)
	opts := fastOptions()
	opts.Limits = map[string]outbox.Limit{notifier.TypeGeneric: {PerSecond: 2, Burst: 3}}
	o := start(t, st, opts, p.config("a"))
	var alerts []*notifier.Alert
	for i := range 500 {
		sev := "HIGH_SEVERITY"
		if i%5 == 0 {
			sev = "CRITICAL_SEVERITY"
		}
		alerts = append(alerts, alert(i, sev))
	}
	enqueue(t, st, o, []string{"a"}, notifier.EventNew, alerts...)
	// A resolution is never folded away.
	enqueue(t, st, o, []string{"a"}, notifier.EventResolved, alert(0, "HIGH_SEVERITY"))
	waitFor(t, "storm handled", func() bool { s := stats(t, st, "a"); return s.Pending == 0 && s.Delivered > 0 })
	s := stats(t, st, "a")
	p.mu.Lock()
	defer p.mu.Unlock()
	var single, summaries, resolved, summarised int
	for _, b := range p.bodies {
		switch {
		case b["summary"] != nil:
			summaries++
			var sum notifier.Summary
			if err := json.Unmarshal(b["summary"], &sum); err != nil {
				t.Fatal(err)
			}
			summarised += sum.Count
			if sum.Count > 0 && (len(sum.TopPolicies) == 0 || sum.BySeverity["HIGH_SEVERITY"]+sum.BySeverity["CRITICAL_SEVERITY"] != sum.Count) {
				t.Errorf("summary does not add up: %+v", sum)
			}
		case strings.Contains(string(b["alert"]), `"RESOLVED"`):
			resolved++
		default:
			single++
		}
	}
	if single+summarised != 500 || s.Folded != summarised || resolved != 1 {
		t.Fatalf("%d alerts sent singly, %d summarised (%d folded in the store), %d resolutions; want 500 in all and 1 resolution",
			single, summarised, s.Folded, resolved)
	}
	if single > 3 || summaries > 5 {
		t.Fatalf("storm of 500 became %d single messages and %d summaries; the limit allows a burst of 3", single, summaries)
	}
}

func TestOnlyWantedMessagesAreQueued(t *testing.T) {
	st := openStore(t)
	p := newPeer(t)
	slack := notifier.Config{ID: "s", Name: "slack", Type: notifier.TypeSlack, LabelDefault: "https://hooks.slack.example/services/T/B/X"}
	quiet := p.config("q")
	quiet.Generic.AuditLoggingEnabled = false
	o := outbox.New(st, notify.New, fastOptions(), nil, slog.New(slog.DiscardHandler))
	o.SetNotifiers([]notifier.Config{slack, quiet, p.config("loud")})
	ctx := context.Background()
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if err := o.EnqueueAlerts(ctx, tx, []outbox.AlertChange{{Notifiers: []string{"s", "q"}, Event: notifier.EventResolved, Alert: alert(1, "LOW_SEVERITY")}}); err != nil {
			return err
		}
		return o.EnqueueAudit(ctx, tx, &notifier.Audit{Time: time.Now(), User: "admin", Method: "POST", Path: "/v1/policies", Status: 200, Interaction: "CREATE"})
	})
	if err != nil {
		t.Fatal(err)
	}
	ds, _, err := st.ListDeliveries(ctx, store.DeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range ds {
		got[d.NotifierID] += d.Kind + "/" + d.Event + " "
	}
	// Slack takes no resolutions; only "loud" takes audit events.
	if len(got) != 2 || got["q"] != "alert/RESOLVED " || got["loud"] != "audit/ " {
		t.Fatalf("queued: %v", got)
	}
	if !o.AuditsWanted() {
		t.Fatal("AuditsWanted false with an auditing webhook")
	}
}

// A lease left by a process that died is released at start: what it held
// is sent at once, not after the lease would have run out.
func TestStartReleasesLeasesOfADeadProcess(t *testing.T) {
	st := openStore(t)
	p := newPeer(t)
	first := outbox.New(st, notify.New, fastOptions(), nil, slog.New(slog.DiscardHandler))
	first.SetNotifiers([]notifier.Config{p.config("a")})
	enqueue(t, st, first, []string{"a"}, notifier.EventNew, alert(1, "LOW_SEVERITY"))
	if _, err := st.ClaimDeliveries(context.Background(), "a", time.Now(), 10, time.Hour); err != nil {
		t.Fatal(err)
	}
	start(t, st, fastOptions(), p.config("a"))
	waitFor(t, "delivery after restart", func() bool { return stats(t, st, "a").Delivered == 1 })
}

func TestTestSendsASampleAlert(t *testing.T) {
	st := openStore(t)
	p := newPeer(t)
	o := outbox.New(st, notify.New, fastOptions(), nil, slog.New(slog.DiscardHandler))
	if err := o.Test(context.Background(), p.config("a")); err != nil {
		t.Fatal(err)
	}
	p.setFail(func(string, int) (int, string) { return http.StatusUnauthorized, "invalid token" })
	err := o.Test(context.Background(), p.config("a"))
	if err == nil || !strings.Contains(err.Error(), "invalid token") {
		t.Fatalf("Test against a refusing peer = %v", err)
	}
	if n, _ := p.counts(); n != 1 {
		t.Fatalf("peer got %d messages, want 1", n)
	}
}
