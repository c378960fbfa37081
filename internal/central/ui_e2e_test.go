package central

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/ui"
)

// requireUIEnv makes the dashboard's end-to-end test fail, rather than
// skip, when what it needs is missing (make test sets it).
const requireUIEnv = "STOCKADE_REQUIRE_UI"

// e2eTimeout bounds the whole browser run.
const e2eTimeout = 8 * time.Minute

// moduleRoot walks up from the test's directory to the one holding go.mod.
func moduleRoot(t *testing.T) string {
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
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// TestDashboardEndToEnd drives the dashboard in Debian's Chromium with
// Playwright (ui/e2e) against this Central, filled with the alerts of real
// manifests: sign-in through a deep link, the dashboard tiles against the
// API's counts, the violations list's filters, sorting, paging and history,
// a violation's detail and resolution, the policies list and detail, sign-
// out, and an axe accessibility pass on every page. Screenshots of each
// page land in ui/e2e/artifacts (or $STOCKADE_E2E_ARTIFACTS).
//
// It needs Chromium (/usr/bin/chromium or $STOCKADE_CHROMIUM), Node.js, the
// dashboard's npm dependencies and the dashboard built into this test
// binary: `make ui` before `go test`. Without them it skips, unless
// STOCKADE_REQUIRE_UI=1.
func TestDashboardEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv(requireUIEnv) == "1" {
			t.Fatalf(format+" ("+requireUIEnv+"=1)", args...)
		}
		t.Skipf(format+"; set "+requireUIEnv+"=1 to make this a failure", args...)
	}
	root := moduleRoot(t)
	uiDir := filepath.Join(root, "ui")
	chromium := cmp.Or(os.Getenv("STOCKADE_CHROMIUM"), "/usr/bin/chromium")
	if _, err := os.Stat(chromium); err != nil {
		missing("Chromium is not installed at %s: apt-get install chromium, or run make test-deps", chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed: the dashboard's tests need Node.js 20.19 or later")
	}
	cli := filepath.Join(uiDir, "node_modules", "@playwright", "test", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		missing("the dashboard's npm dependencies are not installed: run make ui (npm ci in ui/)")
	}
	dist, err := ui.Dist()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(dist, "index.html"); err != nil {
		missing("the dashboard was not built into this test binary: run make ui before go test")
	}

	c := start(t, t.TempDir())
	// The prod cluster runs a well-hardened demo shop; the staging cluster
	// a privileged node agent and storage server written for this test.
	shop, err := os.ReadFile(filepath.Join(root, "..", "shared", "data", "manifests", "microservices-demo", "release", "kubernetes-manifests.yaml"))
	if err != nil {
		t.Fatalf("read test data: %v", err)
	}
	staging, err := os.ReadFile(filepath.Join("testdata", "ui-e2e", "staging.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// A webhook that refuses every message: its notifier ends with dead
	// letters and the remote's words as the last error.
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unknown field alert.policy", http.StatusBadRequest)
	}))
	t.Cleanup(refusing.Close)
	var hook struct {
		ID string `json:"id"`
	}
	c.must(200, c.admin(), "POST", "/v1/notifiers", map[string]any{"name": "Refusing hook", "type": "generic",
		"generic": map[string]any{"endpoint": refusing.URL + "/hook"}}).json(t, &hook)
	c.sendPolicyTo(hook.ID)
	c.must(200, c.admin(), "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": string(shop), "record": true, "cluster": "prod"})
	c.must(200, c.admin(), "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": string(staging), "record": true, "cluster": "staging"})
	waitUntil(t, "dead letters of the refusing notifier", func() bool {
		var l struct {
			Total int `json:"total"`
		}
		c.must(200, c.admin(), "GET", "/v1/notifiers/"+hook.ID+"/deliveries?state=DEAD&limit=1", nil).json(t, &l)
		return l.Total > 0
	})
	var all alertList
	c.must(200, c.admin(), "GET", "/v1/alerts?limit=1", nil).json(t, &all)
	if all.Total < 60 {
		t.Fatalf("%d alerts recorded; the test pages through more than 40", all.Total)
	}

	artifacts := cmp.Or(os.Getenv("STOCKADE_E2E_ARTIFACTS"), filepath.Join(uiDir, "e2e", "artifacts"))
	ctx, cancel := context.WithTimeout(t.Context(), e2eTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, cli, "test", "-c", filepath.Join("e2e", "playwright.config.ts"))
	cmd.Dir = uiDir
	cmd.Env = append(os.Environ(),
		"STOCKADE_URL="+c.url,
		"STOCKADE_PASSWORD="+c.password,
		"STOCKADE_CHROMIUM="+chromium,
		"STOCKADE_E2E_ARTIFACTS="+artifacts,
		"CI=1",
		"FORCE_COLOR=0",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second
	runErr := cmd.Run()
	// Playwright's list reporter; Chromium's own complaints about the
	// missing D-Bus are noise.
	var report []string
	for line := range strings.SplitSeq(out.String(), "\n") {
		if !strings.Contains(line, "[pid=") {
			report = append(report, line)
		}
	}
	t.Logf("playwright:\n%s", strings.Join(report, "\n"))
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("the browser tests did not finish within %v", e2eTimeout)
	}
	if runErr != nil {
		t.Fatalf("the browser tests failed (%v); screenshots and traces of failures are in %s", runErr, filepath.Join(uiDir, "test-results"))
	}
	t.Logf("screenshots of every page are in %s", artifacts)
}
