package central

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/central/notifierapi"
	"github.com/stockade-dev/stockade/internal/central/secret"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/pgtest"
)

// privilegedPolicyID is the built-in "Container running in privileged
// mode" policy.
const privilegedPolicyID = "3f2c8a61-5d0b-4c4e-9b7a-2e61f0c9d514"

// hookPeer is a generic-webhook receiver: it checks the documented request
// (POST, JSON, delivery id, basic auth, the custom header) and keeps every
// body it accepted, by delivery id.
type hookPeer struct {
	srv *httptest.Server

	mu     sync.Mutex
	refuse string // answer 503 with this text while set
	hold   chan struct{}
	bodies map[string][]map[string]json.RawMessage
	order  []string
}

func newHookPeer(t *testing.T) *hookPeer {
	p := &hookPeer{bodies: map[string][]map[string]json.RawMessage{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		id := r.Header.Get("X-Stockade-Delivery")
		if r.Method != http.MethodPost || !ok || user != "stockade" || pass != "hook-pass-7731" ||
			r.Header.Get("X-Api-Key") != "hdr-secret-4410" || id == "" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		refuse, hold := p.refuse, p.hold
		p.mu.Unlock()
		if refuse != "" {
			http.Error(w, refuse, http.StatusServiceUnavailable)
			return
		}
		var doc map[string]json.RawMessage
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = json.Unmarshal(body, &doc)
		}
		if err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		// Held attempts stay unanswered; one whose sender died meanwhile is
		// never acknowledged. (The server notices a closed connection only
		// once the body is read, hence after it.)
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
			if r.Context().Err() != nil {
				return
			}
		}
		p.mu.Lock()
		p.bodies[id] = append(p.bodies[id], doc)
		p.order = append(p.order, id)
		p.mu.Unlock()
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// received returns every accepted body of kind ("alert", "audit",
// "summary"), and fails the test if any delivery arrived twice.
func (p *hookPeer) received(t *testing.T, kind string) []json.RawMessage {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []json.RawMessage
	for _, id := range p.order {
		bs := p.bodies[id]
		if len(bs) != 1 {
			t.Fatalf("delivery %s arrived %d times", id, len(bs))
		}
	}
	for _, id := range p.order {
		if v := p.bodies[id][0][kind]; v != nil {
			out = append(out, v)
		}
	}
	return out
}

func (p *hookPeer) notifier(name string, audit bool) map[string]any {
	return map[string]any{
		"name": name, "type": "generic", "uiEndpoint": "https://stockade.example",
		"generic": map[string]any{
			"endpoint": p.srv.URL + "/hooks/stockade", "username": "stockade", "password": "hook-pass-7731",
			"headers":             []map[string]string{{"key": "X-Api-Key", "value": "hdr-secret-4410"}},
			"extraFields":         []map[string]string{{"key": "cluster", "value": "prod-eu"}},
			"auditLoggingEnabled": audit,
		},
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sendPolicyTo adds notifier id to the built-in privileged policy.
func (c *central) sendPolicyTo(ids ...string) {
	c.t.Helper()
	var pol map[string]any
	c.must(http.StatusOK, c.admin(), "GET", "/v1/policies/"+privilegedPolicyID, nil).json(c.t, &pol)
	pol["notifiers"] = ids
	c.must(http.StatusOK, c.admin(), "PUT", "/v1/policies/"+privilegedPolicyID, pol)
}

func TestNotifiers(t *testing.T) {
	for _, b := range []struct {
		name string
		opts func(t *testing.T) []startOpt
	}{
		{"sqlite", func(*testing.T) []startOpt { return nil }},
		{"postgres", func(t *testing.T) []startOpt { return []startOpt{withDSN(pgtest.NewDatabase(t))} }},
	} {
		t.Run(b.name, func(t *testing.T) { testNotifiers(t, b.opts(t)...) })
	}
}

func testNotifiers(t *testing.T, opts ...startOpt) {
	peer := newHookPeer(t)
	dir := t.TempDir()
	c := start(t, dir, opts...)
	admin := c.admin()

	// Bad configuration names the field; the test button reports the
	// remote's refusal in its own words.
	r := c.must(http.StatusBadRequest, admin, "POST", "/v1/notifiers", map[string]any{"name": "x", "type": "generic", "generic": map[string]any{"endpoint": "ftp://x"}})
	if !strings.Contains(string(r.body), "generic.endpoint") {
		t.Errorf("bad endpoint: %s", r.body)
	}
	c.must(http.StatusBadRequest, admin, "POST", "/v1/notifiers", map[string]any{"name": "x", "type": "carrier-pigeon"})
	var ok notifierapi.TestResult
	c.must(http.StatusOK, admin, "POST", "/v1/notifiers/test", peer.notifier("hook", false)).json(t, &ok)
	if !ok.OK || len(peer.received(t, "alert")) != 1 {
		t.Fatalf("test = %+v, peer got %d alerts", ok, len(peer.received(t, "alert")))
	}
	peer.mu.Lock()
	peer.refuse = "maintenance until 06:00"
	peer.mu.Unlock()
	r = c.must(http.StatusBadRequest, admin, "POST", "/v1/notifiers/test", peer.notifier("hook", false))
	if !strings.Contains(string(r.body), "maintenance until 06:00") || strings.Contains(string(r.body), "hook-pass-7731") {
		t.Errorf("refused test: %s", r.body)
	}
	peer.mu.Lock()
	peer.refuse = ""
	peer.mu.Unlock()

	// Create: secrets masked in every answer and encrypted at rest.
	var created notifierapi.Notifier
	c.must(http.StatusOK, admin, "POST", "/v1/notifiers", peer.notifier("SecOps hook", true)).json(t, &created)
	if created.ID == "" || created.Generic == nil || created.Generic.Password != notifierapi.Mask || created.Generic.Headers[0].Value != notifierapi.Mask {
		t.Fatalf("created = %+v", created)
	}
	for _, path := range []string{"/v1/notifiers", "/v1/notifiers/" + created.ID} {
		body := string(c.must(http.StatusOK, admin, "GET", path, nil).body)
		if strings.Contains(body, "hook-pass-7731") || strings.Contains(body, "hdr-secret-4410") {
			t.Errorf("GET %s shows a secret: %s", path, body)
		}
	}
	for _, s := range []string{"hook-pass-7731", "hdr-secret-4410"} {
		if found := dataDirHolds(t, dir, s); len(found) > 0 {
			t.Errorf("secret %s is in %v", s, found)
		}
	}
	if !strings.Contains(string(rawNotifier(t, c, created.ID)), secret.Prefix) {
		t.Error("stored notifier holds no ciphertext")
	}
	// An update that sends the masks back keeps the secrets (the peer checks them).
	created.Name = "SecOps webhook"
	c.must(http.StatusOK, admin, "PUT", "/v1/notifiers/"+created.ID, created.Config)

	// A policy that names the notifier: a recorded violation is delivered
	// once, resolving it sends the resolution, and each change made through
	// the API is forwarded as an audit event.
	c.sendPolicyTo(created.ID)
	c.must(http.StatusOK, admin, "POST", "/v1/detect/deploy/yaml", yamlRequest(privilegedPod, true))
	waitUntil(t, "the alert", func() bool { return len(peer.received(t, "alert")) == 2 })
	var got struct {
		ID     string `json:"id"`
		Event  string `json:"event"`
		Link   string `json:"link"`
		Policy struct {
			Name string `json:"name"`
		} `json:"policy"`
		Deployment struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"deployment"`
		Violations []struct {
			Message string `json:"message"`
		} `json:"violations"`
	}
	if err := json.Unmarshal(peer.received(t, "alert")[1], &got); err != nil {
		t.Fatal(err)
	}
	if got.Event != "NEW" || got.Policy.Name != "Container running in privileged mode" || got.Deployment.Name != "priv" ||
		got.Deployment.Namespace != "prod" || len(got.Violations) == 0 || got.Link != "https://stockade.example/main/violations/"+got.ID {
		t.Fatalf("delivered alert = %+v", got)
	}
	c.must(http.StatusOK, admin, "PATCH", "/v1/alerts/"+got.ID, map[string]string{"state": "RESOLVED"})
	waitUntil(t, "the resolution", func() bool { return len(peer.received(t, "alert")) == 3 })
	if !bytes.Contains(peer.received(t, "alert")[2], []byte(`"event":"RESOLVED"`)) {
		t.Errorf("third alert message: %s", peer.received(t, "alert")[2])
	}
	audits := func() string {
		var lines []string
		for _, a := range peer.received(t, "audit") {
			var ev struct {
				User, Method, Path, Interaction string
				Status                          int
			}
			if err := json.Unmarshal(a, &ev); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, ev.User+" "+ev.Interaction+" "+ev.Method+" "+ev.Path)
		}
		return strings.Join(lines, "\n")
	}
	wantAudits := []string{"admin UPDATE PUT /v1/policies/" + privilegedPolicyID, "admin UPDATE PATCH /v1/alerts/"}
	waitUntil(t, "audit events of the policy change and the resolution", func() bool {
		joined := audits()
		for _, want := range wantAudits {
			if !strings.Contains(joined, want) {
				return false
			}
		}
		return true
	})

	// The outbox is visible per notifier.
	var page notifierapi.Deliveries
	c.must(http.StatusOK, admin, "GET", "/v1/notifiers/"+created.ID+"/deliveries?state=DELIVERED&limit=500", nil).json(t, &page)
	if page.Total < 4 {
		t.Errorf("%d delivered messages listed", page.Total)
	}
	c.must(http.StatusBadRequest, admin, "GET", "/v1/notifiers/"+created.ID+"/deliveries?state=LOST", nil)

	// In use by a policy: not deleted. Analysts read but do not change.
	c.must(http.StatusConflict, admin, "DELETE", "/v1/notifiers/"+created.ID, nil)
	_, analyst := c.token("reader", "Analyst", nil)
	c.must(http.StatusOK, bearer(analyst), "GET", "/v1/notifiers", nil)
	c.must(http.StatusForbidden, bearer(analyst), "POST", "/v1/notifiers/test", peer.notifier("x", false))
	c.sendPolicyTo()
	c.must(http.StatusNoContent, admin, "DELETE", "/v1/notifiers/"+created.ID, nil)
}

func rawNotifier(t *testing.T, c *central, id string) []byte {
	t.Helper()
	var body []byte
	err := c.srv.store.InTx(t.Context(), func(tx *store.Tx) error {
		return tx.QueryRowContext(t.Context(), `SELECT body FROM notifiers WHERE id = ?`, id).Scan(&body)
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}
