package central

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stockade-dev/stockade/internal/registrytest"
)

// TestConfigEndToEnd drives the configuration pages in Chromium against a
// real Central, a real registry with passwords and a real webhook: an API
// token generated, shown once, used and revoked; a generic webhook
// notifier created and tested (the webhook receives the test message); a
// registry integration created and tested; the sign-in notice and the
// banner changed and shown.
func TestConfigEndToEnd(t *testing.T) {
	p := needBrowser(t)
	reg := registrytest.Start(t, registrytest.WithHtpasswd())
	c := start(t, t.TempDir())

	var (
		mu    sync.Mutex
		tests int
		other []string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Alert *struct {
				Test bool `json:"test"`
			} `json:"alert"`
		}
		data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/e2e-hook" && json.Unmarshal(data, &body) == nil && body.Alert != nil && body.Alert.Test {
			tests++
		} else {
			other = append(other, r.Method+" "+r.URL.Path+" "+string(data))
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hook.Close)

	t.Setenv("STOCKADE_E2E_WEBHOOK", hook.URL+"/e2e-hook")
	t.Setenv("STOCKADE_E2E_REGISTRY", reg.Host)
	t.Setenv("STOCKADE_E2E_REGISTRY_USER", reg.Username)
	t.Setenv("STOCKADE_E2E_REGISTRY_PASSWORD", reg.Password)
	runPlaywright(t, p, c, "config")

	mu.Lock()
	defer mu.Unlock()
	// The form's Test button and the list's Test button each sent one.
	if tests < 2 {
		t.Errorf("the webhook received %d test messages, want 2 or more", tests)
	}
	if len(other) > 0 {
		t.Errorf("the webhook received other requests: %q", other)
	}
}
