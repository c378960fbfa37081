package client

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// These tests run a real TLS server whose handler injects failures; the
// client's behaviour against Central itself is covered end to end elsewhere.

const secretToken = "s3cr3t-token-value"

// caFile writes the test server's certificate as a PEM file.
func caFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newClient(t *testing.T, srv *httptest.Server, opt Options) *Client {
	t.Helper()
	if opt.Endpoint == "" {
		opt.Endpoint = srv.URL
	}
	if opt.Token == "" && opt.Password == "" {
		opt.Token = secretToken
	}
	if opt.CAFile == "" && !opt.InsecureSkipVerify {
		opt.CAFile = caFile(t, srv)
	}
	c, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	c.backoff = func(int) time.Duration { return time.Millisecond }
	return c
}

// flaky answers status for the first n requests, then 200 with {"ok": true}.
func flaky(n int32, status int, calls *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= n {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":"upstream busy"}`))
			return
		}
		_, _ = w.Write([]byte(`{"policies":[{"id":"a","name":"A","severity":"LOW_SEVERITY"}]}`))
	}
}

func TestRetriesTransientStatus(t *testing.T) {
	for _, status := range []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		var calls atomic.Int32
		srv := httptest.NewTLSServer(flaky(2, status, &calls))
		c := newClient(t, srv, Options{Retries: 3})
		ps, err := c.ListPolicies(context.Background())
		if err != nil {
			t.Fatalf("%d: %v", status, err)
		}
		if len(ps) != 1 || ps[0].Name != "A" || calls.Load() != 3 {
			t.Errorf("%d: policies=%v calls=%d, want 1 policy after 3 calls", status, ps, calls.Load())
		}
		srv.Close()
	}
}

func TestRetriesExhausted(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(flaky(100, http.StatusServiceUnavailable, &calls))
	defer srv.Close()
	c := newClient(t, srv, Options{Retries: 2})
	_, err := c.ListPolicies(context.Background())
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != 503 || apiErr.Attempts != 3 {
		t.Fatalf("err = %#v", err)
	}
	if calls.Load() != 3 {
		t.Errorf("calls = %d, want 3", calls.Load())
	}
	if msg := err.Error(); !strings.Contains(msg, "failed (503): upstream busy") || !strings.Contains(msg, "after 3 attempts") {
		t.Errorf("message = %q", msg)
	}
}

func TestNeverRetries4xx(t *testing.T) {
	cases := []struct {
		status int
		want   string
	}{
		{http.StatusBadRequest, "refused the request (400): bad policy\n  policySections[0]: is required"},
		{http.StatusUnauthorized, "rejected the credentials (401)"},
		{http.StatusForbidden, "denied GET /v1/policies (403): the credentials' role lacks the permission"},
		{http.StatusNotFound, ": bad policy (404)"},
		{http.StatusTooManyRequests, "(429)"},
		{http.StatusInternalServerError, "failed (500): bad policy"},
	}
	for _, tc := range cases {
		var calls atomic.Int32
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(`{"error":"bad policy","details":[{"path":"policySections[0]","message":"is required"}]}`))
		}))
		c := newClient(t, srv, Options{Retries: 3})
		_, err := c.ListPolicies(context.Background())
		if err == nil {
			t.Fatalf("%d: no error", tc.status)
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%d: message %q lacks %q", tc.status, msg, tc.want)
		}
		if !strings.HasPrefix(msg, "central at 127.0.0.1:") {
			t.Errorf("%d: message %q does not name the endpoint", tc.status, msg)
		}
		if strings.Contains(msg, secretToken) {
			t.Errorf("%d: message reveals the token: %q", tc.status, msg)
		}
		if calls.Load() != 1 {
			t.Errorf("%d: %d calls, want 1 (no retry)", tc.status, calls.Load())
		}
		srv.Close()
	}
}

func TestCredentialsSent(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
		user, pass, ok := r.BasicAuth()
		adminPassword := ok && user == "admin" && pass == "pw"
		if r.Header.Get("Authorization") != "Bearer "+secretToken && !adminPassword {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"authentication required: wrong password"}`))
			return
		}
		_, _ = w.Write([]byte(`{"userName":"admin","role":"Admin"}`))
	}))
	defer srv.Close()

	st, err := newClient(t, srv, Options{}).Whoami(context.Background())
	if err != nil || st.UserName != "admin" || st.Role != "Admin" {
		t.Fatalf("token: %+v, %v", st, err)
	}
	if _, err := newClient(t, srv, Options{Password: "pw"}).Whoami(context.Background()); err != nil {
		t.Fatalf("password: %v", err)
	}
	_, err = newClient(t, srv, Options{Password: "wrong-pw"}).Whoami(context.Background())
	if err == nil || !strings.Contains(err.Error(), "rejected the credentials (401): authentication required: wrong password") {
		t.Fatalf("wrong password: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-pw") {
		t.Errorf("message reveals the password: %v", err)
	}
}

func TestUnreachableRetriedThenReported(t *testing.T) {
	addr := refusingAddr(t)
	c, err := New(Options{Endpoint: addr, Token: secretToken, Retries: 2})
	if err != nil {
		t.Fatal(err)
	}
	var waits atomic.Int32
	c.backoff = func(int) time.Duration { waits.Add(1); return time.Millisecond }
	_, err = c.ListPolicies(context.Background())
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want an *Error", err)
	}
	if apiErr.Status != 0 || apiErr.Attempts != 3 || waits.Load() != 2 {
		t.Fatalf("err = %v (attempts %d, waits %d)", err, apiErr.Attempts, waits.Load())
	}
	want := "central at " + addr + " is not reachable: dial tcp " + addr + ": connect: connection refused (after 3 attempts)"
	if err.Error() != want {
		t.Errorf("message = %q\nwant      %q", err.Error(), want)
	}
}

func TestUntrustedCertificateNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(flaky(0, 0, &calls))
	defer srv.Close()
	c, err := New(Options{Endpoint: srv.URL, Token: secretToken, Retries: 3})
	if err != nil {
		t.Fatal(err)
	}
	c.backoff = func(int) time.Duration { t.Error("retried a certificate error"); return 0 }
	_, err = c.ListPolicies(context.Background())
	if err == nil || !strings.Contains(err.Error(), "presented a certificate that is not trusted: tls: failed to verify certificate: x509: ") || !strings.Contains(err.Error(), "--ca FILE") {
		t.Fatalf("err = %v", err)
	}
	// The same server is fine with its CA, or with verification off.
	if _, err := newClient(t, srv, Options{}).ListPolicies(context.Background()); err != nil {
		t.Errorf("with --ca: %v", err)
	}
	if _, err := newClient(t, srv, Options{InsecureSkipVerify: true}).ListPolicies(context.Background()); err != nil {
		t.Errorf("with --insecure-skip-tls-verify: %v", err)
	}
}

func TestImportRetriedOnlyWhenSafe(t *testing.T) {
	// Without overwrite an import is not idempotent: a 502 may hide a
	// completed import, so it is not retried; a 503 is.
	for _, tc := range []struct {
		status    int
		overwrite bool
		calls     int32
	}{
		{http.StatusBadGateway, false, 1},
		{http.StatusServiceUnavailable, false, 2},
		{http.StatusBadGateway, true, 2},
	} {
		var calls atomic.Int32
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("overwrite") != "false" && r.URL.Query().Get("overwrite") != "true" {
				t.Errorf("overwrite query = %q", r.URL.RawQuery)
			}
			if calls.Add(1) == 1 {
				w.WriteHeader(tc.status)
				return
			}
			_, _ = w.Write([]byte(`{"responses":[{"policy":{"id":"x","name":"X"},"succeeded":false,"errors":["name exists"]}],"allSucceeded":false}`))
		}))
		resp, err := newClient(t, srv, Options{Retries: 3}).ImportPolicies(context.Background(), []byte(`{"policies":[]}`), tc.overwrite)
		if calls.Load() != tc.calls {
			t.Errorf("%d overwrite=%v: %d calls, want %d", tc.status, tc.overwrite, calls.Load(), tc.calls)
		}
		if tc.calls == 2 && (err != nil || resp.Responses[0].Errors[0].Message != "name exists") {
			t.Errorf("%d: resp=%+v err=%v", tc.status, resp, err)
		}
		srv.Close()
	}
}

func TestContextCancelStopsRetrying(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(flaky(100, http.StatusServiceUnavailable, &calls))
	defer srv.Close()
	c := newClient(t, srv, Options{Retries: 5})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The user gives up (Ctrl-C) while the client waits to retry.
	c.backoff = func(int) time.Duration { cancel(); return time.Hour }
	start := time.Now()
	_, err := c.ListPolicies(ctx)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
	if calls.Load() != 1 {
		t.Errorf("calls = %d, want 1", calls.Load())
	}
}

func TestTimeoutPerAttempt(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = w.Write([]byte(`{"policies":[]}`))
	}))
	defer srv.Close()
	defer close(release)
	c := newClient(t, srv, Options{Retries: 1, Timeout: time.Second})
	if _, err := c.ListPolicies(context.Background()); err != nil {
		t.Fatalf("a timed-out attempt was not retried: %v", err)
	}
	if calls.Load() != 2 {
		t.Errorf("calls = %d, want 2", calls.Load())
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	for n := 1; n <= 8; n++ {
		d := backoffBase << (n - 1)
		if d > backoffMax {
			d = backoffMax
		}
		for range 50 {
			got := backoff(n)
			if got < d/2 || got > d {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, got, d/2, d)
			}
		}
	}
	if got := backoff(1000); got > backoffMax {
		t.Errorf("backoff(1000) = %v, above the cap", got)
	}
}

func TestParseEndpoint(t *testing.T) {
	good := map[string]string{
		"central:8443":                    "https://central:8443",
		"central.example.com":             "https://central.example.com:443",
		"127.0.0.1:443":                   "https://127.0.0.1:443",
		"[::1]:8443":                      "https://[::1]:8443",
		"::1":                             "https://[::1]:443",
		"https://central.example.com":     "https://central.example.com",
		"HTTPS://central:8443/stockade/":  "https://central:8443/stockade",
		" central:8443 ":                  "https://central:8443",
		"https://central.example.com:443": "https://central.example.com:443",
	}
	for in, want := range good {
		u, err := ParseEndpoint(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if u.String() != want {
			t.Errorf("%q = %q, want %q", in, u, want)
		}
	}
	bad := map[string]string{
		"http://central:8080":         "plain HTTP is refused",
		"https://admin:pw@central:1":  "credentials in the URL",
		"ftp://central":               "unsupported scheme",
		"central:99999":               "port",
		"central:http":                "port",
		"":                            "no Central endpoint",
		"central/path":                "want HOST:PORT",
		"https://central:8443/?q=1":   "query",
		"https://":                    "no host",
		"central:8443 and more stuff": "want HOST:PORT",
	}
	for in, want := range bad {
		_, err := ParseEndpoint(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to mention %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), ":pw@") {
			t.Errorf("%q: error reveals the password: %v", in, err)
		}
	}
}

func TestNewNeedsCredentials(t *testing.T) {
	if _, err := New(Options{Endpoint: "central:443"}); err == nil || !strings.Contains(err.Error(), "STOCKADE_API_TOKEN") {
		t.Errorf("err = %v", err)
	}
	if _, err := New(Options{Endpoint: "central:443", Token: "a\nb"}); err == nil {
		t.Error("a token with a line break was accepted")
	}
	if _, err := New(Options{Endpoint: "central:443", Token: "t", CAFile: "/nonexistent/ca.pem"}); err == nil || !strings.Contains(err.Error(), "read CA file") {
		t.Errorf("err = %v", err)
	}
}

func TestImportErrorForms(t *testing.T) {
	var errs []ImportError
	if err := json.Unmarshal([]byte(`["plain", {"type":"duplicate_name","message":"exists"}, {"error":"bad"}]`), &errs); err != nil {
		t.Fatal(err)
	}
	if errs[0].Message != "plain" || errs[1].Type != "duplicate_name" || errs[1].Message != "exists" || errs[2].Message != "bad" {
		t.Errorf("errs = %+v", errs)
	}
}

func TestRetryAfter(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "2": 2 * time.Second, "3600": maxRetryAfter, "soon": 0, "-1": 0} {
		resp := &http.Response{Header: http.Header{"Retry-After": {v}}}
		if got := retryAfter(resp); got != want {
			t.Errorf("Retry-After %q = %v, want %v", v, got, want)
		}
	}
}
