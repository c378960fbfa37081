package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/central"
	"github.com/stockade-dev/stockade/internal/k8stest"
)

func TestMain(m *testing.M) { k8stest.Main(m) }

// adminPassword is Central's admin password in these tests.
const adminPassword = "e2e-admin-password-not-secret"

// moduleRoot walks up from the working directory to the directory of
// go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// sharedData is ../shared/data beside the module root.
func sharedData(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(moduleRoot(t), "..", "shared", "data")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("shared test data: %v", err)
	}
	return dir
}

// build compiles the module's commands into a temporary directory and
// returns the directory: bin/stockade-sensor and bin/stockade.
func build(t testing.TB, cmds ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	out := t.TempDir()
	for _, c := range cmds {
		cmd := exec.Command(goBin, "build", "-o", filepath.Join(out, c), "./cmd/"+c)
		cmd.Dir = moduleRoot(t)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/%s: %v\n%s", c, err, b)
		}
	}
	return out
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// syncBuffer is a log sink safe to read while it is written.
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

// centralServer is a real Central in the test process, on a fixed loopback
// address so that it can be stopped and started again where Sensor expects
// it, with its store in dir.
type centralServer struct {
	t      testing.TB
	dir    string
	listen string
	url    string
	logs   *syncBuffer
	client *http.Client
	cancel context.CancelFunc
	done   chan error
}

func startCentral(t testing.TB, dir, listen string) *centralServer {
	t.Helper()
	c := &centralServer{t: t, dir: dir, listen: listen, logs: &syncBuffer{}}
	c.start()
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			t.Logf("central logs (last 60 lines):\n%s", tail(c.logs.String(), 60))
		}
	})
	return c
}

func (c *centralServer) start() {
	c.t.Helper()
	log := slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	var banner syncBuffer
	srv, err := central.New(ctx, central.Config{DataDir: c.dir, Listen: c.listen, LogLevel: "debug", LogFormat: "text", AdminPassword: adminPassword}, log, &banner)
	if err != nil {
		cancel()
		c.t.Fatalf("start central: %v", err)
	}
	c.cancel, c.done, c.url = cancel, make(chan error, 1), srv.URL()
	go func() { c.done <- srv.Run(ctx) }()
	ca, err := os.ReadFile(filepath.Join(c.dir, "ca.pem"))
	if err != nil {
		c.t.Fatalf("central CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	waitFor(c.t, "central's banner", 20*time.Second, func() bool { return strings.Contains(banner.String(), "Stockade Central is running at") })
}

// stop shuts Central down and waits for it.
func (c *centralServer) stop() {
	c.t.Helper()
	if c.cancel == nil {
		return
	}
	c.cancel()
	c.cancel = nil
	select {
	case err := <-c.done:
		if err != nil {
			c.t.Errorf("central Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		c.t.Error("central did not stop within 30s")
	}
	c.client.CloseIdleConnections()
}

// do sends an admin request; body is marshalled to JSON.
func (c *centralServer) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth("admin", adminPassword)
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, data
}

// must sends a request, wants the status and decodes the answer into out
// (when not nil).
func (c *centralServer) must(want int, method, path string, body, out any) {
	c.t.Helper()
	status, data := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// sensorProcess is stockade-sensor running as a child process.
type sensorProcess struct {
	t      testing.TB
	cmd    *exec.Cmd
	log    string
	health string
	done   chan error
}

// startSensor runs bin with args (--health-listen is added) until the test
// ends or stop is called.
func startSensor(t testing.TB, bin string, args ...string) *sensorProcess {
	t.Helper()
	s := &sensorProcess{t: t, health: freeAddr(t), done: make(chan error, 1)}
	s.log = filepath.Join(t.TempDir(), "sensor.log")
	logFile, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, append(args, "--health-listen="+s.health)...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// The sensor dies with the test binary.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start sensor: %v", err)
	}
	go func() {
		s.done <- s.cmd.Wait()
		_ = logFile.Close()
	}()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("sensor logs (last 80 lines):\n%s", tail(s.logs(), 80))
		}
	})
	return s
}

func (s *sensorProcess) logs() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// stop sends SIGTERM and checks the Sensor exits cleanly.
func (s *sensorProcess) stop() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	cmd := s.cmd
	s.cmd = nil
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Errorf("signal sensor: %v", err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("sensor exited: %v", err)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		s.t.Error("sensor did not stop within 20s of SIGTERM")
	}
}

func (s *sensorProcess) get(path string) (int, string) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+s.health+path, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReady waits until /readyz says the Sensor decides by policy.
func (s *sensorProcess) waitReady(timeout time.Duration) {
	s.t.Helper()
	waitFor(s.t, "the sensor's /readyz", timeout, func() bool {
		select {
		case err := <-s.done:
			s.t.Fatalf("sensor exited: %v\n%s", err, tail(s.logs(), 40))
		default:
		}
		code, _ := s.get("/readyz")
		return code == http.StatusOK
	})
}

// peakRSS is the process's peak resident set (VmHWM), in bytes.
func (s *sensorProcess) peakRSS() int64 {
	s.t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				s.t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	s.t.Fatal("no VmHWM in /proc status")
	return 0
}

// kubectl runs kubectl against the cluster as its admin, with stdin.
func kubectl(t testing.TB, c *k8stest.Cluster, stdin []byte, args ...string) (string, error) {
	t.Helper()
	cmd, err := c.Kubectl(context.Background(), args...)
	if err != nil {
		t.Fatalf("kubectl: %v", err)
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustKubectl runs kubectl and fails the test when it fails.
func mustKubectl(t testing.TB, c *k8stest.Cluster, stdin []byte, args ...string) string {
	t.Helper()
	out, err := kubectl(t, c, stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
