package central

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary run as a Central process configured from
// STOCKADE_* variables, so a test can kill it with SIGKILL like any crash.
const childEnv = "STOCKADE_TEST_CENTRAL_CHILD"

func runChild() int {
	cfg, err := ParseFlags("stockade-central", nil, os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child central:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	srv, err := New(ctx, cfg, log, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child central:", err)
		return 1
	}
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child central:", err)
		return 1
	}
	return 0
}

// childCentral is Central in its own process.
type childCentral struct {
	*central
	cmd *exec.Cmd
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func startChild(t *testing.T, dir, addr string, logs *syncBuffer) *childCentral {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "STOCKADE_DATA_DIR="+dir, "STOCKADE_LISTEN="+addr,
		AdminPasswordEnv+"=crash-test-password", "STOCKADE_LOG_LEVEL=debug")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // already gone when the test killed it
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("central logs:\n%s", logs.String())
		}
	})
	c := &central{t: t, dir: dir, url: "https://" + addr, password: "crash-test-password", logs: logs, stdout: logs}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "ca.pem")); err == nil {
			c.client = trustingClient(t, filepath.Join(dir, "ca.pem"))
			if resp, err := c.client.Get(c.url + "/readyz"); err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("child central did not become ready:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &childCentral{central: c, cmd: cmd}
}

// Central killed with SIGKILL while notifications are in flight delivers
// every one of them exactly once after it restarts.
func TestNotificationsSurviveACrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Central processes")
	}
	peer := newHookPeer(t)
	hold := make(chan struct{})
	peer.mu.Lock()
	peer.hold = hold
	peer.mu.Unlock()

	dir, addr, logs := t.TempDir(), freePort(t), &syncBuffer{}
	first := startChild(t, dir, addr, logs)
	var created struct {
		ID string `json:"id"`
	}
	first.must(http.StatusOK, first.admin(), "POST", "/v1/notifiers", peer.notifier("hook", false)).json(t, &created)
	first.sendPolicyTo(created.ID)
	const pods = 40
	var yaml strings.Builder
	for i := range pods {
		fmt.Fprintf(&yaml, "%s---\n", strings.Replace(privilegedPod, "name: priv", fmt.Sprintf("name: priv-%02d", i), 1))
	}
	first.must(http.StatusOK, first.admin(), "POST", "/v1/detect/deploy/yaml", yamlRequest(yaml.String(), true))
	// Wait until attempts are in flight (the peer holds them unanswered),
	// then crash.
	waitUntil(t, "attempts in flight", func() bool {
		n := 0
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "/v1/detect/deploy/yaml") && strings.Contains(l, "request served") {
				n++
			}
		}
		return n > 0
	})
	time.Sleep(300 * time.Millisecond) // the lane claims and starts sending
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait() // "signal: killed"
	if got := peer.received(t, "alert"); len(got) != 0 {
		t.Fatalf("%d alerts acknowledged before the crash; the peer held them all", len(got))
	}
	// The peer answers nothing the dead process sent: give its server a
	// moment to see those connections closed before releasing them.
	time.Sleep(500 * time.Millisecond)
	peer.mu.Lock()
	peer.hold = nil
	peer.mu.Unlock()
	close(hold)

	startChild(t, dir, addr, logs)
	waitUntil(t, "every alert delivered", func() bool { return len(peer.received(t, "alert")) >= pods })
	time.Sleep(2 * time.Second) // a duplicate would arrive by now
	seen := map[string]bool{}
	for _, raw := range peer.received(t, "alert") { // fails on a repeated delivery id
		var a struct {
			ID         string `json:"id"`
			Deployment struct {
				Name string `json:"name"`
			} `json:"deployment"`
		}
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatal(err)
		}
		if seen[a.Deployment.Name] {
			t.Fatalf("alert for %s delivered twice", a.Deployment.Name)
		}
		seen[a.Deployment.Name] = true
	}
	if len(seen) != pods {
		t.Fatalf("%d distinct alerts delivered, want %d", len(seen), pods)
	}
}
