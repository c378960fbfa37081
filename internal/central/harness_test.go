package central

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/pgtest"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	pgtest.Main(m)
}

// syncBuffer is a bytes.Buffer safe to read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// central is a real Central on 127.0.0.1:0 over HTTPS, with its store in a
// temporary data directory (or PostgreSQL when dsn is given).
type central struct {
	t        *testing.T
	srv      *Server
	dir      string
	url      string
	client   *http.Client
	password string
	stdout   *syncBuffer
	logs     *syncBuffer
	cancel   context.CancelFunc
	done     chan error
}

type startOpt func(*Config)

func withDSN(dsn string) startOpt { return func(c *Config) { c.DB = dsn } }

// start runs Central on dir until the test ends (or stop is called).
func start(t *testing.T, dir string, opts ...startOpt) *central {
	t.Helper()
	cfg := Config{DataDir: dir, Listen: "127.0.0.1:0", LogLevel: "debug", LogFormat: "text"}
	for _, o := range opts {
		o(&cfg)
	}
	c := &central{t: t, dir: dir, stdout: &syncBuffer{}, logs: &syncBuffer{}, done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, cfg, log, c.stdout)
	if err != nil {
		cancel()
		t.Fatalf("start central: %v", err)
	}
	c.srv, c.cancel, c.url = srv, cancel, srv.URL()
	go func() { c.done <- srv.Run(ctx) }()
	if _, err := os.Stat(filepath.Join(dir, "ca.pem")); err == nil {
		c.client = trustingClient(t, filepath.Join(dir, "ca.pem"))
	} else {
		c.client = &http.Client{Transport: &http.Transport{}}
	}
	if data, err := os.ReadFile(filepath.Join(dir, PasswordFile)); err == nil {
		c.password = strings.TrimSpace(string(data))
	}
	// Wait for the banner: Run has started serving.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.stdout.String(), "Stockade Central is running at") {
		if time.Now().After(deadline) {
			t.Fatal("central printed no banner")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			t.Logf("central logs:\n%s", c.logs.String())
		}
	})
	return c
}

// stop shuts Central down gracefully and checks Run returned cleanly.
func (c *central) stop() {
	c.t.Helper()
	if c.cancel == nil {
		return
	}
	c.cancel()
	c.cancel = nil
	select {
	case err := <-c.done:
		if err != nil {
			c.t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		c.t.Error("central did not stop within 30s")
	}
	c.client.CloseIdleConnections()
}

func trustingClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("read CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA file holds no certificate")
	}
	return &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
}

// cred is how a request authenticates: nothing, Basic or a Bearer token.
type cred struct {
	user, password string
	token          string
}

func (c *central) admin() cred { return cred{user: "admin", password: c.password} }

func bearer(token string) cred { return cred{token: token} }

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode response %d %s: %v", r.status, r.body, err)
	}
}

// do sends a request; body is marshalled to JSON unless it is a []byte or
// an io.Reader.
func (c *central) do(cr cred, method, path string, body any) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case cr.token != "":
		req.Header.Set("Authorization", "Bearer "+cr.token)
	case cr.user != "":
		req.SetBasicAuth(cr.user, cr.password)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// must sends a request and fails the test unless the status is want.
func (c *central) must(want int, cr cred, method, path string, body any) response {
	c.t.Helper()
	r := c.do(cr, method, path, body)
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// token generates an API token with role.
func (c *central) token(name, role string, expiration *time.Time) (id, token string) {
	c.t.Helper()
	req := map[string]any{"name": name, "role": role}
	if expiration != nil {
		req["expiration"] = expiration.Format(time.RFC3339Nano)
	}
	var out struct {
		Token    string `json:"token"`
		Metadata struct {
			ID string `json:"id"`
		} `json:"metadata"`
	}
	c.must(http.StatusOK, c.admin(), "POST", "/v1/apitokens/generate", req).json(c.t, &out)
	return out.Metadata.ID, out.Token
}

// yamlRequest is a detection request body.
func yamlRequest(yaml string, record bool) map[string]any {
	return map[string]any{"yaml": yaml, "record": record}
}

const privilegedPod = `apiVersion: v1
kind: Pod
metadata:
  name: priv
  namespace: prod
spec:
  containers:
  - name: app
    image: nginx:1.25
    securityContext:
      privileged: true
`

const hardenedDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.0
`

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
