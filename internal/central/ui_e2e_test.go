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
const e2eTimeout = 15 * time.Minute

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

// browserPrereqs is what a browser test needs: Node.js, Playwright's CLI
// from the dashboard's npm dependencies, Debian's Chromium and the dashboard
// built into this test binary. It skips the test when one is missing,
// unless STOCKADE_REQUIRE_UI=1 makes that a failure.
type browserPrereqs struct {
	root, uiDir, node, cli, chromium string
}

func needBrowser(t *testing.T) browserPrereqs {
	t.Helper()
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
	p := browserPrereqs{root: moduleRoot(t)}
	p.uiDir = filepath.Join(p.root, "ui")
	p.chromium = cmp.Or(os.Getenv("STOCKADE_CHROMIUM"), "/usr/bin/chromium")
	if _, err := os.Stat(p.chromium); err != nil {
		missing("Chromium is not installed at %s: apt-get install chromium, or run make test-deps", p.chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed: the dashboard's tests need Node.js 20.19 or later")
	}
	p.node = node
	p.cli = filepath.Join(p.uiDir, "node_modules", "@playwright", "test", "cli.js")
	if _, err := os.Stat(p.cli); err != nil {
		missing("the dashboard's npm dependencies are not installed: run make ui (npm ci in ui/)")
	}
	dist, err := ui.Dist()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(dist, "index.html"); err != nil {
		missing("the dashboard was not built into this test binary: run make ui before go test")
	}
	return p
}

// runPlaywright runs the Playwright spec files named (ui/e2e/NAME.spec.ts)
// against Central c in Chromium, and fails the test with Playwright's report
// when one of them fails.
func runPlaywright(t *testing.T, p browserPrereqs, c *central, specs ...string) {
	t.Helper()
	artifacts := cmp.Or(os.Getenv("STOCKADE_E2E_ARTIFACTS"), filepath.Join(p.uiDir, "e2e", "artifacts"))
	ctx, cancel := context.WithTimeout(t.Context(), e2eTimeout)
	defer cancel()
	args := []string{p.cli, "test", "-c", filepath.Join("e2e", "playwright.config.ts")}
	for _, s := range specs {
		args = append(args, "e2e/"+s+".spec.ts")
	}
	cmd := exec.CommandContext(ctx, p.node, args...)
	cmd.Dir = p.uiDir
	cmd.Env = append(os.Environ(),
		"STOCKADE_URL="+c.url,
		"STOCKADE_PASSWORD="+c.password,
		"STOCKADE_CHROMIUM="+p.chromium,
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
		t.Fatalf("the browser tests failed (%v); screenshots and traces of failures are in %s", runErr, filepath.Join(p.uiDir, "test-results"))
	}
	t.Logf("screenshots of every page are in %s", artifacts)
}

// TestDashboardEndToEnd drives the dashboard in Debian's Chromium with
// Playwright (ui/e2e/dashboard.spec.ts) against this Central, filled with
// the alerts of real manifests: sign-in through a deep link, the dashboard
// tiles against the API's counts, the violations list's filters, sorting,
// paging and history, a violation's detail and resolution, the policies
// list and detail, sign-out, and an axe accessibility pass on every page.
// Screenshots of each page land in ui/e2e/artifacts (or
// $STOCKADE_E2E_ARTIFACTS).
//
// Other areas of the dashboard have their own Test…EndToEnd with their own
// seeded Central and spec file, so that each reads on its own.
func TestDashboardEndToEnd(t *testing.T) {
	p := needBrowser(t)
	c := start(t, t.TempDir())
	// The prod cluster runs a well-hardened demo shop; the staging cluster
	// a privileged node agent and storage server written for this test.
	shop, err := os.ReadFile(filepath.Join(p.root, "..", "shared", "data", "manifests", "microservices-demo", "release", "kubernetes-manifests.yaml"))
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
	// Two real Alpine images scanned against the real secdb and run by
	// deployments in cluster lab, so that the riskiest deployments rank
	// vulnerabilities with violations.
	seedVulns(t, c)
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
	runPlaywright(t, p, c, "dashboard")
}
