package central

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/central/certs"
	"github.com/stockade-dev/stockade/internal/policy"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func TestFirstStartCreatesFilesAndSecondStartReusesThem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c := start(t, dir)

	for file, want := range map[string]os.FileMode{
		".": 0o700, certs.CAKeyFile: 0o600, certs.KeyFile: 0o600, PasswordFile: 0o600, certs.CAFile: 0o644, certs.CertFile: 0o644,
	} {
		if got := mode(t, filepath.Join(dir, file)); got != want {
			t.Errorf("mode of %s = %o, want %o", file, got, want)
		}
	}
	if len(c.password) < 24 {
		t.Errorf("generated password has %d characters, want at least 24", len(c.password))
	}
	banner := c.stdout.String()
	wantBanner := "Stockade Central is running at " + c.url + "  (user: admin, password: " + c.password + ", CA: "
	if !strings.Contains(banner, wantBanner) || !strings.Contains(banner, filepath.Join(dir, "ca.pem")) {
		t.Errorf("first banner = %q, want it to contain %q and the CA path", banner, wantBanner)
	}
	if strings.Contains(c.logs.String(), c.password) {
		t.Error("the admin password reached the log")
	}
	var status map[string]string
	c.must(http.StatusOK, c.admin(), "GET", "/v1/auth/status", nil).json(t, &status)
	if status["userName"] != "admin" || status["role"] != "Admin" || status["kind"] != "user" {
		t.Errorf("auth status = %v", status)
	}
	var list struct {
		Policies []struct {
			IsDefault bool `json:"isDefault"`
		} `json:"policies"`
	}
	c.must(http.StatusOK, c.admin(), "GET", "/v1/policies", nil).json(t, &list)
	builtin, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Policies) != len(builtin) {
		t.Fatalf("first start stored %d policies, want the %d built-in ones", len(list.Policies), len(builtin))
	}
	for _, p := range list.Policies {
		if !p.IsDefault {
			t.Error("a built-in policy is not marked isDefault")
		}
	}
	// A user change to the built-in set survives restarts: nothing is reloaded.
	c.must(http.StatusNoContent, c.admin(), "DELETE", "/v1/policies/"+builtin[0].ID, nil)

	caBefore, _ := os.ReadFile(filepath.Join(dir, certs.CAFile))
	certBefore, _ := os.ReadFile(filepath.Join(dir, certs.CertFile))
	password := c.password
	c.stop()

	c2 := start(t, dir)
	if c2.password != password {
		t.Error("the password file changed on the second start")
	}
	banner2 := c2.stdout.String()
	if banner2 != "Stockade Central is running at "+c2.url+"\n" {
		t.Errorf("second banner = %q, want the URL only", banner2)
	}
	caAfter, _ := os.ReadFile(filepath.Join(dir, certs.CAFile))
	certAfter, _ := os.ReadFile(filepath.Join(dir, certs.CertFile))
	if !bytes.Equal(caBefore, caAfter) || !bytes.Equal(certBefore, certAfter) {
		t.Error("the second start replaced the CA or the server certificate")
	}
	c2.must(http.StatusOK, cred{user: "admin", password: password}, "GET", "/v1/auth/status", nil)
	c2.must(http.StatusOK, c2.admin(), "GET", "/v1/policies", nil).json(t, &list)
	if len(list.Policies) != len(builtin)-1 {
		t.Errorf("second start has %d policies, want %d (built-ins are loaded at first start only)", len(list.Policies), len(builtin)-1)
	}
}

func TestAdminPasswordFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	const pw = "correct horse battery staple"
	c := start(t, dir, func(c *Config) { c.AdminPassword = pw })
	if _, err := os.Stat(filepath.Join(dir, PasswordFile)); !os.IsNotExist(err) {
		t.Errorf("password file written for a password from the environment: %v", err)
	}
	if strings.Contains(c.stdout.String(), pw) {
		t.Error("banner shows the password given in the environment")
	}
	c.must(http.StatusOK, cred{user: "admin", password: pw}, "GET", "/v1/auth/status", nil)
	c.must(http.StatusUnauthorized, cred{user: "admin", password: pw + "x"}, "GET", "/v1/auth/status", nil)
}

func TestOperatorCertificate(t *testing.T) {
	// Bootstrap a CA and certificate elsewhere and hand them over as files.
	other := t.TempDir()
	if _, err := certs.Ensure(other, certs.DefaultHosts(), time.Now(), discardLog()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := start(t, dir, func(cfg *Config) {
		cfg.TLSCert = filepath.Join(other, certs.CertFile)
		cfg.TLSKey = filepath.Join(other, certs.KeyFile)
	})
	if _, err := os.Stat(filepath.Join(dir, certs.CAFile)); !os.IsNotExist(err) {
		t.Error("a CA was bootstrapped although a certificate was given")
	}
	c.client = trustingClient(t, filepath.Join(other, certs.CAFile))
	c.must(http.StatusOK, cred{}, "GET", "/healthz", nil)
}

func TestTLS12Minimum(t *testing.T) {
	c := start(t, t.TempDir())
	tr := c.client.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.MinVersion = 0x0301 // TLS 1.0
	tr.TLSClientConfig.MaxVersion = 0x0302 // TLS 1.1
	if resp, err := (&http.Client{Transport: tr}).Get(c.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("a TLS 1.1 client was served")
	}
	// Plain HTTP is not served either.
	if resp, err := http.Get(strings.Replace(c.url, "https://", "http://", 1) + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP was served")
		}
	}
}

func TestHealthReadyMetricsArePublic(t *testing.T) {
	c := start(t, t.TempDir())
	c.must(http.StatusOK, cred{}, "GET", "/healthz", nil)
	c.must(http.StatusOK, cred{}, "GET", "/readyz", nil)
	c.must(http.StatusOK, c.admin(), "GET", "/v1/policies", nil)
	c.must(http.StatusUnauthorized, cred{}, "GET", "/openapi.json", nil)
	c.must(http.StatusOK, c.admin(), "POST", "/v1/detect/deploy/yaml", yamlRequest(privilegedPod, true))
	m := string(c.must(http.StatusOK, cred{}, "GET", "/metrics", nil).body)
	for _, re := range []string{
		`stockade_http_requests_total\{code="200",route="GET /v1/policies"\} 1`,
		`stockade_http_requests_total\{code="401",route="GET /openapi.json"\} 1`,
		`stockade_http_request_duration_seconds_count\{code="200",route="GET /healthz"\} 1`,
		`stockade_policies [1-9][0-9]*`,
		`stockade_alerts_recorded_total [1-9][0-9]*`,
	} {
		if !regexp.MustCompile(re).MatchString(m) {
			t.Errorf("metrics lack %s", re)
		}
	}
}

func TestBodyLimits(t *testing.T) {
	c := start(t, t.TempDir())
	huge := bytes.Repeat([]byte(" "), 11<<20)
	copy(huge, `{"name": "x"`)
	r := c.must(http.StatusRequestEntityTooLarge, c.admin(), "POST", "/v1/policies", huge)
	if !strings.Contains(string(r.body), "larger than") {
		t.Errorf("413 body = %s", r.body)
	}
	c.must(http.StatusRequestEntityTooLarge, c.admin(), "POST", "/v1/policies/import", huge)
	// Detection allows 20 MiB: 11 MiB of YAML is read (and checked), 21 MiB is not.
	yaml := privilegedPod + "#" + strings.Repeat("x", 11<<20) + "\n"
	c.must(http.StatusOK, c.admin(), "POST", "/v1/detect/deploy/yaml", yamlRequest(yaml, false))
	yaml = privilegedPod + "#" + strings.Repeat("x", 21<<20) + "\n"
	c.must(http.StatusRequestEntityTooLarge, c.admin(), "POST", "/v1/detect/deploy/yaml", yamlRequest(yaml, false))
	// Nothing was written by the refused requests.
	var list struct{ Policies []any }
	c.must(http.StatusOK, c.admin(), "GET", "/v1/policies?query=x", nil).json(t, &list)
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	c := start(t, t.TempDir())
	pr, pw := io.Pipe()
	result := make(chan response, 1)
	go func() {
		result <- c.do(c.admin(), "POST", "/v1/detect/deploy/yaml", pr)
	}()
	body := []byte(`{"yaml": ` + jsonString(privilegedPod) + `, "record": true}`)
	if _, err := pw.Write(body[:10]); err != nil {
		t.Fatal(err)
	}
	// Give the request time to reach the handler, then ask Central to stop.
	time.Sleep(200 * time.Millisecond)
	c.cancel()
	time.Sleep(200 * time.Millisecond)
	if _, err := pw.Write(body[10:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-result
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "violatedPolicies") {
		t.Fatalf("in-flight request got %d: %s", r.status, r.body)
	}
	select {
	case err := <-c.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
	c.cancel = nil
	if resp, err := c.client.Get(c.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("central still serves after shutdown")
	}
	// The store was closed cleanly: a new Central opens it and sees the alert.
	c2 := start(t, c.dir)
	var alerts struct{ Total int }
	c2.must(http.StatusOK, c2.admin(), "GET", "/v1/alerts", nil).json(t, &alerts)
	if alerts.Total == 0 {
		t.Error("the alert recorded during shutdown is missing")
	}
}

func TestNewFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for name, cfg := range map[string]Config{
		"bad listen":    {DataDir: dir, Listen: "nonsense", LogLevel: "info", LogFormat: "text"},
		"cert w/o key":  {DataDir: dir, Listen: "127.0.0.1:0", TLSCert: "x.pem", LogLevel: "info", LogFormat: "text"},
		"missing cert":  {DataDir: dir, Listen: "127.0.0.1:0", TLSCert: "nope.pem", TLSKey: "nope-key.pem", LogLevel: "info", LogFormat: "text"},
		"bad db scheme": {DataDir: dir, Listen: "127.0.0.1:0", DB: "mysql://u:secret@h/db", LogLevel: "info", LogFormat: "text"},
		"short env pw":  {DataDir: t.TempDir(), Listen: "127.0.0.1:0", AdminPassword: "short", LogLevel: "info", LogFormat: "text"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, err := New(ctx, cfg, discardLog(), io.Discard)
			if err == nil {
				srv.Close()
				t.Fatal("New succeeded")
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error reveals the DSN password: %v", err)
			}
		})
	}
}

func TestReadyzReportsAStoreThatDoesNotAnswer(t *testing.T) {
	c := start(t, t.TempDir())
	c.must(http.StatusOK, cred{}, "GET", "/readyz", nil)
	if err := c.srv.store.Close(); err != nil {
		t.Fatal(err)
	}
	r := c.must(http.StatusServiceUnavailable, cred{}, "GET", "/readyz", nil)
	if !strings.Contains(string(r.body), "store unavailable") {
		t.Errorf("readyz body = %s", r.body)
	}
	c.must(http.StatusOK, cred{}, "GET", "/healthz", nil)
}
