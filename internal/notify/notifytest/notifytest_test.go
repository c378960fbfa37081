package notifytest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// recorder is a testing.TB that keeps failures instead of failing the
// test, so the helpers' own failures can be checked.
type recorder struct {
	testing.TB
	failed []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.failed = append(r.failed, fmt.Sprint(args...))
	runtime.Goexit()
}

// failures runs f with a recorder, as the test's own goroutine would, and
// returns what it failed with.
func failures(t *testing.T, f func(tb testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.failed
}

func TestPeerRecordsAndAnswersAsTold(t *testing.T) {
	p := NewPeer(t, true, Refuse(http.StatusTooManyRequests, "slow down", "Retry-After", "7"))
	if got := failures(t, p.None); len(got) != 0 {
		t.Fatalf("None on a quiet peer failed: %v", got)
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPut, p.URL+"/hooks/x", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Stockade-Delivery", "d-1")
	resp, err := p.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "7" || string(body) != "slow down" {
		t.Errorf("answer %d %q %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if got := failures(t, p.None); len(got) != 1 || !strings.Contains(got[0], "/hooks/x") {
		t.Fatalf("None with a request waiting: %v", got)
	}

	resp, err = p.Client().Post(p.URL+"/second", "application/json", strings.NewReader("2"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	r := p.Next(t)
	if r.Method != http.MethodPost || r.Path != "/second" || string(r.Body) != "2" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Next = %+v", r)
	}
}

func TestDecodeStrict(t *testing.T) {
	type doc struct {
		Text string `json:"text"`
	}
	var d doc
	if got := failures(t, func(tb testing.TB) { DecodeStrict(tb, []byte(`{"text":"ok"}`), &d) }); len(got) != 0 || d.Text != "ok" {
		t.Fatalf("documented body: %v, %+v", got, d)
	}
	for raw, want := range map[string]string{
		`{"text":"ok","channel":"#x"}`:   `unknown field "channel"`,
		`{"text":"ok"} {"text":"again"}`: "trailing data",
		`{"text":`:                       "unexpected EOF",
	} {
		got := failures(t, func(tb testing.TB) { DecodeStrict(tb, []byte(raw), &doc{}) })
		if len(got) != 1 || !strings.Contains(got[0], want) {
			t.Errorf("DecodeStrict(%s) failed with %v, want %q", raw, got, want)
		}
	}
}

func TestNoSecret(t *testing.T) {
	refusal := func(msg, body string) error {
		e := &notifier.Error{Status: 401, Message: msg, Body: []byte(body)}
		return fmt.Errorf("post: %w", e.WithMessage(msg))
	}
	if got := failures(t, func(tb testing.TB) { NoSecret(tb, refusal("refused", `{"error":"bad token"}`), "t0k3n", "") }); len(got) != 0 {
		t.Fatalf("clean error: %v", got)
	}
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"in the text": {fmt.Errorf("post to /hooks/t0k3n: failed"), "error holds a secret"},
		"in the body": {refusal("refused", `{"error":"bad token t0k3n"}`), "refusal body holds a secret"},
		"no error":    {nil, "want an error"},
	} {
		got := failures(t, func(tb testing.TB) { NoSecret(tb, tc.err, "t0k3n") })
		if len(got) != 1 || !strings.Contains(got[0], tc.want) {
			t.Errorf("%s: NoSecret failed with %v, want %q", name, got, tc.want)
		}
	}
}

func TestSelfSigned(t *testing.T) {
	cert, caPEM := SelfSigned(t, "notifytest peer")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hi") }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		t.Fatal("the PEM holds no certificate")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("a client trusting the PEM: %v", err)
	}
	_ = resp.Body.Close()
	if resp, err := http.Get(srv.URL); err == nil {
		_ = resp.Body.Close()
		t.Fatal("a client without the PEM trusted the certificate")
	}
}
