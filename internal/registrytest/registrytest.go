// Package registrytest starts a real container registry for tests: the
// Debian package docker-registry (CNCF distribution v2.8) on a free loopback
// port, with a configuration generated in the test's temporary directory.
//
// Each Start gives the test its own registry process, stopped when the test
// ends (and killed by the kernel if the test binary dies first). Three auth
// modes are offered: anonymous, htpasswd basic auth, and distribution's
// bearer-token auth, whose token server runs inside the test process and
// signs JWTs with a key whose certificate is the registry's rootcertbundle.
// WithTLS serves HTTPS with a certificate from a CA generated for the test.
//
// The package also builds the images tests push: ImageFromFiles makes one
// tar layer per map of files, WithConfig sets what the image config says
// (user, env, ports, labels, created time, history), and Index bundles
// platform images into a multi-arch index.
//
// Without docker-registry installed, Start skips the test, or fails it when
// STOCKADE_REQUIRE_REGISTRY=1 (as `make test` and CI set it).
//
// Usage:
//
//	reg := registrytest.Start(t, registrytest.WithToken())
//	img := registrytest.ImageFromFiles(t, map[string][]byte{"etc/os-release": osRelease})
//	ref := reg.Push(t, "team/app:1", img) // 127.0.0.1:PORT/team/app@sha256:…
package registrytest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"
)

// NotInstalled is the message a test skips (or fails) with when the registry
// binary is missing.
const NotInstalled = "docker-registry not installed: apt-get install -y docker-registry"

// RequireEnv, set to 1, turns "docker-registry not installed" from a skip
// into a failure.
const RequireEnv = "STOCKADE_REQUIRE_REGISTRY"

// binaryName is the Debian package's binary, found on PATH or in /usr/bin.
const binaryName = "docker-registry"

// Auth is how the registry authenticates clients.
type Auth string

// The auth modes.
const (
	AuthNone     Auth = "none"
	AuthHtpasswd Auth = "htpasswd"
	AuthToken    Auth = "token"
)

// Service and Issuer name the registry in token auth: the token server signs
// for Issuer, and tokens are valid for Service (the JWT audience).
const (
	Service = "registrytest"
	Issuer  = "registrytest-token-issuer"
)

// Option configures Start.
type Option func(*settings)

type settings struct {
	auth  Auth
	tls   bool
	users []userSpec
}

type userSpec struct {
	name, password string
	repos          []string
}

// WithHtpasswd protects the registry with basic auth from an htpasswd file.
func WithHtpasswd() Option { return func(s *settings) { s.auth = AuthHtpasswd } }

// WithToken protects the registry with bearer tokens from a token server the
// test process runs.
func WithToken() Option { return func(s *settings) { s.auth = AuthToken } }

// WithTLS serves HTTPS (and the token server too) with a certificate signed
// by a CA made for this registry; Registry.CA holds it.
func WithTLS() Option { return func(s *settings) { s.tls = true } }

// WithUser adds a user besides the generated one. With token auth, repos
// limits the repositories the token server grants the user ("team/app", or
// "team/" for a prefix), answering 403 for any other; htpasswd auth has no
// per-repository rights, so there repos is ignored.
func WithUser(name, password string, repos ...string) Option {
	return func(s *settings) { s.users = append(s.users, userSpec{name, password, repos}) }
}

// Registry is a running docker-registry.
type Registry struct {
	// Host is "127.0.0.1:PORT".
	Host string
	Auth Auth
	TLS  bool
	// Username and Password are a user the registry accepts (empty without
	// auth). With token auth, IdentityToken is an OAuth2 refresh token the
	// token server also accepts for that user, as docker's config.json
	// "identitytoken" holds one.
	Username      string
	Password      string
	IdentityToken string
	// TokenRealm is the token server's URL with token auth.
	TokenRealm string
	// CA is the PEM certificate of the CA that signed the server certificate
	// (nil without TLS); CAFile is the same in a file.
	CA     []byte
	CAFile string
	// Dir is the registry's temporary directory: config, storage, log.
	Dir string

	token   *tokenServer
	tokenHS *httptest.Server
	logPath string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	stopped bool
}

// Start runs a registry for the test and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	bin, err := findBinary(os.Getenv("PATH"), "/usr/bin")
	if err != nil {
		notInstalled(t)
	}
	s := settings{auth: AuthNone}
	for _, o := range opts {
		o(&s)
	}
	r := &Registry{Auth: s.auth, TLS: s.tls, Dir: t.TempDir()}
	if err := r.prepare(s); err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	t.Cleanup(r.cleanup)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if lastErr = r.start(ctx, bin); lastErr == nil {
			return r
		}
		if !strings.Contains(lastErr.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("registrytest: %v", lastErr)
	return nil
}

// notInstalled skips the test, or fails it under STOCKADE_REQUIRE_REGISTRY=1.
func notInstalled(t testing.TB) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1)", NotInstalled, RequireEnv)
	}
	t.Skip(NotInstalled)
}

// findBinary looks for docker-registry in the directories of pathList (as
// $PATH), then in fallbackDir.
func findBinary(pathList, fallbackDir string) (string, error) {
	for _, dir := range append(filepath.SplitList(pathList), fallbackDir) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, binaryName)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 { //nolint:gosec // G703: looking up a binary on $PATH, as exec.LookPath does
			return p, nil
		}
	}
	return "", errors.New(NotInstalled)
}

// prepare writes what the config refers to: certificates, the htpasswd file,
// the token signing certificate, and starts the token server.
func (r *Registry) prepare(s settings) error {
	var serverCert *keyPair
	if s.tls {
		ca, err := newCA("registrytest CA")
		if err != nil {
			return err
		}
		serverCert, err = newServerCert(ca)
		if err != nil {
			return err
		}
		r.CA = ca.certPEM
		r.CAFile = filepath.Join(r.Dir, "ca.pem")
		if err := writeFiles(map[string][]byte{
			r.CAFile:                           ca.certPEM,
			filepath.Join(r.Dir, "server.pem"): serverCert.certPEM,
			filepath.Join(r.Dir, "server.key"): serverCert.keyPEM,
		}); err != nil {
			return err
		}
	}
	if s.auth == AuthNone {
		return nil
	}
	r.Username = "stockade"
	r.Password = randomHex(12)
	users := append([]userSpec{{name: r.Username, password: r.Password}}, s.users...)

	switch s.auth {
	case AuthHtpasswd:
		var b bytes.Buffer
		for _, u := range users {
			h, err := bcrypt.GenerateFromPassword([]byte(u.password), bcrypt.MinCost)
			if err != nil {
				return fmt.Errorf("hash password of %s: %w", u.name, err)
			}
			fmt.Fprintf(&b, "%s:%s\n", u.name, h)
		}
		return writeFiles(map[string][]byte{filepath.Join(r.Dir, "htpasswd"): b.Bytes()})
	case AuthToken:
		signer, err := newCA("registrytest token signer")
		if err != nil {
			return err
		}
		if err := writeFiles(map[string][]byte{filepath.Join(r.Dir, "token-signer.pem"): signer.certPEM}); err != nil {
			return err
		}
		r.IdentityToken = randomHex(16)
		r.token = &tokenServer{
			issuer:  Issuer,
			service: Service,
			signer:  signer,
			ttl:     5 * time.Minute,
			users:   map[string]user{},
			refresh: map[string]string{r.IdentityToken: r.Username},
		}
		for _, u := range users {
			r.token.users[u.name] = user{password: u.password, repos: u.repos}
		}
		hs := httptest.NewUnstartedServer(r.token)
		if s.tls {
			cert, err := tls.X509KeyPair(serverCert.certPEM, serverCert.keyPEM)
			if err != nil {
				return fmt.Errorf("token server certificate: %w", err)
			}
			hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
			hs.StartTLS()
		} else {
			hs.Start()
		}
		r.tokenHS = hs
		// The realm names localhost, not 127.0.0.1: clients such as
		// go-containerregistry refuse a realm that is a private IP literal
		// other than the registry's own address.
		_, port, err := net.SplitHostPort(hs.Listener.Addr().String())
		if err != nil {
			return fmt.Errorf("token server address: %w", err)
		}
		scheme := "http"
		if s.tls {
			scheme = "https"
		}
		r.TokenRealm = fmt.Sprintf("%s://localhost:%s/token", scheme, port)
	default:
		return fmt.Errorf("unknown auth mode %q", s.auth)
	}
	return nil
}

// config is the registry's YAML configuration for addr.
func (r *Registry) config(addr string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `version: 0.1
log:
  level: info
  accesslog:
    disabled: true
  fields:
    service: registrytest
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %q
  secret: %q
  headers:
    X-Content-Type-Options: [nosniff]
`, filepath.Join(r.Dir, "storage"), addr, randomHex(16))
	if r.TLS {
		fmt.Fprintf(&b, "  tls:\n    certificate: %q\n    key: %q\n",
			filepath.Join(r.Dir, "server.pem"), filepath.Join(r.Dir, "server.key"))
	}
	switch r.Auth {
	case AuthHtpasswd:
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: registrytest\n    path: %q\n", filepath.Join(r.Dir, "htpasswd"))
	case AuthToken:
		fmt.Fprintf(&b, "auth:\n  token:\n    realm: %q\n    service: %q\n    issuer: %q\n    rootcertbundle: %q\n",
			r.TokenRealm, Service, Issuer, filepath.Join(r.Dir, "token-signer.pem"))
	}
	return b.String()
}

// start runs the registry on a free port and waits until it answers.
func (r *Registry) start(ctx context.Context, bin string) error {
	port, err := freePort(ctx)
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfgPath := filepath.Join(r.Dir, "config.yml")
	if err := writeFiles(map[string][]byte{cfgPath: []byte(r.config(addr))}); err != nil {
		return err
	}
	r.logPath = filepath.Join(r.Dir, "registry.log")
	logFile, err := os.Create(r.logPath)
	if err != nil {
		return fmt.Errorf("create registry log: %w", err)
	}
	cmd := exec.Command(bin, "serve", cfgPath) //nolint:noctx,gosec // the registry outlives Start's context (Stop and Pdeathsig end it); G204: our binary, our config
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = r.Dir
	cmd.Env = registryEnv()
	// Pdeathsig: the kernel kills the registry if the test binary dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	startErr := cmd.Start()
	_ = logFile.Close() // the child has its own descriptor
	if startErr != nil {
		return fmt.Errorf("run %s: %w", bin, startErr)
	}
	exited := make(chan struct{})
	r.mu.Lock()
	r.cmd, r.exited, r.stopped, r.Host = cmd, exited, false, addr
	r.mu.Unlock()
	go func() {
		err := cmd.Wait()
		r.mu.Lock()
		r.waitErr = err
		r.mu.Unlock()
		close(exited)
	}()
	if err := r.waitReady(ctx, exited); err != nil {
		r.Stop()
		return fmt.Errorf("start docker-registry on %s: %w\n%s", addr, err, r.Logs())
	}
	return nil
}

// waitReady polls GET /v2/ until the registry answers 200 or 401.
func (r *Registry) waitReady(ctx context.Context, exited <-chan struct{}) error {
	client := &http.Client{Transport: r.Transport(), Timeout: 2 * time.Second}
	url := r.URL() + "/v2/"
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		select {
		case <-exited:
			return errors.New("registry exited")
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last: %w)", ctx.Err(), lastErr)
		case <-tick.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
			return nil
		}
		lastErr = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
}

// registryEnv is the test's environment without REGISTRY_* variables, which
// the registry would read as overrides of its configuration.
func registryEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}

// Stop ends the registry process now, as a test of an unreachable registry
// needs; it is also called when the test ends. Stopping twice is harmless.
func (r *Registry) Stop() {
	r.mu.Lock()
	cmd, exited, stopped := r.cmd, r.exited, r.stopped
	r.stopped = true
	r.mu.Unlock()
	if cmd == nil || stopped {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return
	case <-time.After(5 * time.Second):
	}
	_ = cmd.Process.Kill()
	<-exited
}

func (r *Registry) cleanup() {
	r.Stop()
	if r.tokenHS != nil {
		r.tokenHS.Close()
	}
}

// Logs returns what the registry process printed.
func (r *Registry) Logs() string {
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return fmt.Sprintf("(no registry log: %v)", err)
	}
	const max = 8 << 10
	if len(b) > max {
		b = append([]byte("…"), b[len(b)-max:]...)
	}
	return string(b)
}

// TokensIssued is how many tokens the token server has handed out.
func (r *Registry) TokensIssued() int {
	if r.token == nil {
		return 0
	}
	r.token.mu.Lock()
	defer r.token.mu.Unlock()
	return r.token.issued
}

// URL is the registry's base URL, "http://127.0.0.1:PORT" or https.
func (r *Registry) URL() string {
	if r.TLS {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// Ref prefixes a repository reference with the registry's host:
// Ref("team/app:1") is "127.0.0.1:PORT/team/app:1".
func (r *Registry) Ref(repoRef string) string {
	if strings.HasPrefix(repoRef, r.Host+"/") {
		return repoRef
	}
	return r.Host + "/" + repoRef
}

// CertPool trusts the registry's CA (nil without TLS).
func (r *Registry) CertPool() *x509.CertPool {
	if r.CA == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(r.CA)
	return pool
}

// Transport is an HTTP transport that trusts the registry's CA.
func (r *Registry) Transport() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if r.CA != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: r.CertPool(), MinVersion: tls.VersionTLS12}
	}
	return tr
}

// Authenticator is the generated user's credentials (anonymous without auth).
func (r *Registry) Authenticator() authn.Authenticator {
	if r.Username == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.Username, Password: r.Password}
}

// Push writes img to ref ("team/app:1", or with the registry's host) as the
// generated user and returns its digest reference "HOST/team/app@sha256:…".
func (r *Registry) Push(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	tag := r.parse(t, ref)
	if err := remote.Write(tag, img, r.remoteOptions(t)...); err != nil {
		t.Fatalf("registrytest: push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatalf("registrytest: digest of %s: %v", ref, err)
	}
	return tag.Context().Digest(d.String()).String()
}

// PushIndex writes a multi-arch index and its images to ref and returns the
// index's digest reference.
func (r *Registry) PushIndex(t testing.TB, ref string, idx v1.ImageIndex) string {
	t.Helper()
	tag := r.parse(t, ref)
	if err := remote.WriteIndex(tag, idx, r.remoteOptions(t)...); err != nil {
		t.Fatalf("registrytest: push index %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatalf("registrytest: digest of %s: %v", ref, err)
	}
	return tag.Context().Digest(d.String()).String()
}

func (r *Registry) parse(t testing.TB, ref string) name.Reference {
	t.Helper()
	var opts []name.Option
	if !r.TLS {
		opts = append(opts, name.Insecure)
	}
	parsed, err := name.ParseReference(r.Ref(ref), opts...)
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	return parsed
}

func (r *Registry) remoteOptions(t testing.TB) []remote.Option {
	return []remote.Option{
		remote.WithContext(t.Context()),
		remote.WithAuth(r.Authenticator()),
		remote.WithTransport(r.Transport()),
	}
}

func writeFiles(files map[string][]byte) error {
	for p, b := range files {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error (Go 1.24+)
	return hex.EncodeToString(b)
}
