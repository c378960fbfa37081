package k8stest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// AdminUser is the name of the admin the token file declares, in group
// system:masters.
const AdminUser = "k8stest-admin"

// serviceCIDR is the cluster IP range; nothing routes it, the API server only
// allocates from it (10.0.0.1 is the kubernetes Service).
const serviceCIDR = "10.0.0.0/24"

// Cluster is a running etcd and kube-apiserver pair.
type Cluster struct {
	dir        string // private temporary directory: keys, configs, data, logs
	bins       Binaries
	url        string // https://127.0.0.1:PORT
	etcdURL    string // http://127.0.0.1:PORT
	adminToken string
	ca         *keyPair // signs the serving certificates
	clientCA   *keyPair // signs client certificates
	kubeconfig string
	startup    time.Duration

	etcd, apiserver *process
	authn           *tokenWebhook

	mu    sync.Mutex
	users map[string]bool
}

// Start runs etcd and kube-apiserver from bins in a new temporary directory
// under parent ("" for the system default) and waits until the API server is
// ready. Stop ends them and removes the directory.
func Start(ctx context.Context, bins Binaries, parent string) (*Cluster, error) {
	begin := time.Now()
	removeStale(parent)
	dir, err := os.MkdirTemp(parent, "k8stest-")
	if err != nil {
		return nil, fmt.Errorf("start kubernetes: %w", err)
	}
	c := &Cluster{dir: dir, bins: bins, users: map[string]bool{}}
	if err := c.start(ctx); err != nil {
		err = fmt.Errorf("start kubernetes %s in %s: %w", bins.Version, dir, err)
		if stopErr := c.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, err
	}
	c.startup = time.Since(begin)
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	if err := c.writeSecrets(); err != nil {
		return err
	}
	if err := c.startEtcd(ctx); err != nil {
		return err
	}
	authn, err := startTokenWebhook(ctx, c.ca)
	if err != nil {
		return err
	}
	c.authn = authn
	if err := writeKubeconfig(c.path("authn-webhook.kubeconfig"), "https://"+authn.addr+"/authenticate", c.path("ca.crt"), nil); err != nil {
		return err
	}
	if err := c.startAPIServer(ctx); err != nil {
		return err
	}
	c.kubeconfig = c.path("admin.kubeconfig")
	return writeKubeconfig(c.kubeconfig, c.url, c.path("ca.crt"), &clientcmdapi.AuthInfo{Token: c.adminToken})
}

func (c *Cluster) path(name string) string { return filepath.Join(c.dir, name) }

// writeSecrets generates the CAs, the serving certificate, the service
// account keys and the admin token, and writes the files kube-apiserver
// reads. The directory is private (0700), every file 0600.
func (c *Cluster) writeSecrets() error {
	var err error
	if c.ca, err = newCA("k8stest CA"); err != nil {
		return err
	}
	if c.clientCA, err = newCA("k8stest client CA"); err != nil {
		return err
	}
	serving, err := newServerCert(c.ca, "kube-apiserver")
	if err != nil {
		return err
	}
	saKey, saPub, err := newServiceAccountKey()
	if err != nil {
		return err
	}
	if c.adminToken, err = randomToken(); err != nil {
		return err
	}
	// The token file is CSV: token,user,uid,"group,group".
	tokens := fmt.Sprintf("%s,%s,%s,\"system:masters\"\n", c.adminToken, AdminUser, AdminUser)
	for name, data := range map[string][]byte{
		"ca.crt":        c.ca.certPEM,
		"client-ca.crt": c.clientCA.certPEM,
		"apiserver.crt": serving.certPEM,
		"apiserver.key": serving.keyPEM,
		"sa.key":        saKey,
		"sa.pub":        saPub,
		"tokens.csv":    []byte(tokens),
	} {
		if err := os.WriteFile(c.path(name), data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// randomToken is a 256-bit secret in hex.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// startAttempts is how often a server is started on newly chosen ports when
// it exits during start-up (another process took a port in between).
const startAttempts = 3

func (c *Cluster) startEtcd(ctx context.Context) error {
	var lastErr error
	for range startAttempts {
		ports, err := freePorts(ctx, 2)
		if err != nil {
			return err
		}
		client := "http://127.0.0.1:" + strconv.Itoa(ports[0])
		peer := "http://127.0.0.1:" + strconv.Itoa(ports[1])
		data := c.path("etcd")
		// A failed attempt may have left a half-made member behind.
		if err := os.RemoveAll(data); err != nil {
			return fmt.Errorf("clear etcd data: %w", err)
		}
		p, err := startProcess(c.bins.Etcd, c.path("etcd.log"), c.dir,
			"--name", "k8stest",
			"--data-dir", data,
			"--listen-client-urls", client,
			"--advertise-client-urls", client,
			"--listen-peer-urls", peer,
			"--initial-advertise-peer-urls", peer,
			"--initial-cluster", "k8stest="+peer,
			"--initial-cluster-state", "new",
			"--logger", "zap",
			"--log-outputs", "stderr",
		)
		if err != nil {
			return err
		}
		c.etcd = p
		c.writePIDs()
		if lastErr = p.waitReady(ctx, 60*time.Second, etcdHealthy(client)); lastErr == nil {
			c.etcdURL = client
			return nil
		}
		p.kill()
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("etcd: %w", lastErr)
}

// etcdHealthy asks etcd's /health endpoint.
func etcdHealthy(url string) func(context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return func(ctx context.Context) error {
		body, err := get(ctx, client, url+"/health", "")
		if err != nil {
			return err
		}
		if !strings.Contains(string(body), `"health":"true"`) {
			return fmt.Errorf("etcd health: %s", body)
		}
		return nil
	}
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	pool := x509.NewCertPool()
	pool.AddCert(c.ca.cert)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	defer client.CloseIdleConnections()
	var lastErr error
	for range startAttempts {
		ports, err := freePorts(ctx, 1)
		if err != nil {
			return err
		}
		c.url = "https://127.0.0.1:" + strconv.Itoa(ports[0])
		p, err := startProcess(c.bins.APIServer, c.path("kube-apiserver.log"), c.dir,
			"--etcd-servers", c.etcdURL,
			"--bind-address", "127.0.0.1",
			"--advertise-address", "127.0.0.1",
			"--secure-port", strconv.Itoa(ports[0]),
			"--cert-dir", c.path("certs"),
			"--tls-cert-file", c.path("apiserver.crt"),
			"--tls-private-key-file", c.path("apiserver.key"),
			"--client-ca-file", c.path("client-ca.crt"),
			"--token-auth-file", c.path("tokens.csv"),
			"--authentication-token-webhook-config-file", c.path("authn-webhook.kubeconfig"),
			"--authentication-token-webhook-version", "v1",
			"--authorization-mode", "RBAC",
			"--enable-admission-plugins", "NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,ResourceQuota",
			"--service-account-issuer", "https://kubernetes.default.svc",
			"--service-account-key-file", c.path("sa.pub"),
			"--service-account-signing-key-file", c.path("sa.key"),
			"--service-cluster-ip-range", serviceCIDR,
			// The kubernetes Service cannot have 127.0.0.1 as its endpoint
			// (loopback is invalid there); without a reconciler it has none,
			// where it would log an error every 10 s.
			"--endpoint-reconciler-type", "none",
			// Security policies must see privileged workloads reach them.
			"--allow-privileged=true",
			"--profiling=false",
		)
		if err != nil {
			return err
		}
		c.apiserver = p
		c.writePIDs()
		if lastErr = p.waitReady(ctx, 2*time.Minute, c.readyz(client)); lastErr == nil {
			return nil
		}
		p.kill()
		if ctx.Err() != nil || !strings.Contains(p.tail(), "address already in use") {
			break
		}
	}
	return fmt.Errorf("kube-apiserver: %w", lastErr)
}

// readyz asks the API server's /readyz as the admin.
func (c *Cluster) readyz(client *http.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		body, err := get(ctx, client, c.url+"/readyz", c.adminToken)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(body)) != "ok" {
			return fmt.Errorf("readyz: %s", body)
		}
		return nil
	}
}

// get fetches url, with a bearer token when token is set, and returns the body
// of a 200 answer.
func get(ctx context.Context, client *http.Client, url, token string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", url, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }() // read below, or abandoned with the error
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// writeKubeconfig writes a kubeconfig for one cluster and, when user is not
// nil, one user; file mode 0600.
func writeKubeconfig(path, server, caFile string, user *clientcmdapi.AuthInfo) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["k8stest"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: caFile}
	if user == nil {
		user = &clientcmdapi.AuthInfo{}
	}
	cfg.AuthInfos["user"] = user
	cfg.Contexts["k8stest"] = &clientcmdapi.Context{Cluster: "k8stest", AuthInfo: "user"}
	cfg.CurrentContext = "k8stest"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// URL is the API server's address, https://127.0.0.1:PORT.
func (c *Cluster) URL() string { return c.url }

// CA is the PEM certificate of the CA that signed the API server's serving
// certificate.
func (c *Cluster) CA() []byte { return c.ca.certPEM }

// AdminToken is the bearer token of AdminUser, a member of system:masters.
func (c *Cluster) AdminToken() string { return c.adminToken }

// Kubeconfig is the path of a kubeconfig file for the admin, for
// `kubectl --kubeconfig` and for programs under test that take one.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// Version is the Kubernetes version the API server was built at.
func (c *Cluster) Version() string { return c.bins.Version }

// StartupTime is how long Start took, from the empty directory to a ready
// API server.
func (c *Cluster) StartupTime() time.Duration { return c.startup }

// clientQPS and clientBurst raise client-go's default client-side rate limit
// (5/s): the server is the test's own.
const (
	clientQPS   = 100
	clientBurst = 200
)

// RestConfig returns a new client configuration for the admin.
func (c *Cluster) RestConfig() *rest.Config {
	return &rest.Config{
		Host:            c.url,
		BearerToken:     c.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.ca.certPEM},
		QPS:             clientQPS,
		Burst:           clientBurst,
	}
}

// Kubectl returns a kubectl command with args that talks to the cluster as
// the admin (--kubeconfig is set), or an error when no kubectl is available.
// Use User.Kubectl to act as another user.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (*exec.Cmd, error) {
	return c.kubectl(ctx, c.kubeconfig, args)
}

func (c *Cluster) kubectl(ctx context.Context, kubeconfig string, args []string) (*exec.Cmd, error) {
	if c.bins.Kubectl == "" {
		return nil, fmt.Errorf("%w: no kubectl built beside kube-apiserver nor on PATH: run %s", ErrNotInstalled, FixAPIServer)
	}
	cmd := exec.CommandContext(ctx, c.bins.Kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...) //nolint:gosec // G204: the kubectl found by FindBinaries, arguments from the test
	// No KUBECONFIG or other settings of the caller leak in; HOME is the
	// cluster's directory so kubectl's cache stays there too.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + c.dir, "LANG=C"}
	return cmd, nil
}

// KubectlPath is the kubectl binary Kubectl runs ("" when there is none).
func (c *Cluster) KubectlPath() string { return c.bins.Kubectl }

// LogTails returns the last lines of the etcd and kube-apiserver logs, for a
// failing test's output.
func (c *Cluster) LogTails() string {
	var b strings.Builder
	for _, p := range []*process{c.etcd, c.apiserver} {
		if p == nil {
			continue
		}
		fmt.Fprintf(&b, "--- k8stest: last lines of %s ---\n%s\n", filepath.Base(p.logPath), p.tail())
	}
	return b.String()
}

// RSS returns the resident memory of etcd and kube-apiserver, in bytes, read
// from /proc.
func (c *Cluster) RSS() (etcd, apiserver int64, err error) {
	if etcd, err = c.etcd.rss(); err != nil {
		return 0, 0, err
	}
	if apiserver, err = c.apiserver.rss(); err != nil {
		return 0, 0, err
	}
	return etcd, apiserver, nil
}

// Stop ends kube-apiserver, then etcd (each gets 10 s after SIGTERM before it
// is killed), stops the token webhook and removes the directory.
func (c *Cluster) Stop() error {
	var errs []error
	for _, p := range []*process{c.apiserver, c.etcd} {
		if p == nil {
			continue
		}
		if err := p.stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if c.authn != nil {
		if err := c.authn.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", c.dir, err))
	}
	return errors.Join(errs...)
}

// writePIDs records the servers' process ids in the directory, for
// removeStale in later runs to tell a live cluster from an abandoned one.
func (c *Cluster) writePIDs() {
	var pids []string
	for _, p := range []*process{c.etcd, c.apiserver} {
		if p != nil {
			pids = append(pids, strconv.Itoa(p.cmd.Process.Pid))
		}
	}
	// Best effort: without the file a later run waits for staleAfter and
	// then removes the directory of a cluster whose processes are gone.
	_ = os.WriteFile(c.path("pids"), []byte(strings.Join(pids, "\n")+"\n"), 0o600)
}

// staleAfter is how old an abandoned cluster directory must be before
// removeStale deletes it, so a cluster still starting is left alone.
const staleAfter = 10 * time.Minute

// removeStale deletes the directories of clusters whose test binary was
// killed (the servers died with it, the directory stayed): k8stest-* dirs
// older than staleAfter none of whose recorded processes is running.
func removeStale(parent string) {
	if parent == "" {
		parent = os.TempDir()
	}
	dirs, err := filepath.Glob(filepath.Join(parent, "k8stest-*"))
	if err != nil {
		return
	}
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < staleAfter {
			continue
		}
		if anyAlive(filepath.Join(d, "pids")) {
			continue
		}
		// Best effort: these are other runs' leftovers, and this run does
		// not need them gone.
		_ = os.RemoveAll(d)
	}
}

func anyAlive(pidFile string) bool {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 && syscall.Kill(pid, 0) == nil {
			return true
		}
	}
	return false
}

// freePorts asks the kernel for n distinct free TCP ports on 127.0.0.1.
func freePorts(ctx context.Context, n int) ([]int, error) {
	var lc net.ListenConfig
	var ports []int
	var listeners []net.Listener
	defer func() {
		// Only the numbers were wanted. Were a port taken again before the
		// server binds it, the server exits and start tries new ones.
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
