package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/registrytest"
	"github.com/stockade-dev/stockade/internal/scanner/vulnfeed"
	"github.com/stockade-dev/stockade/internal/shareddata"
)

// heavy are the packages (path prefixes) whose start-up cost stockade must
// not pay: the scanner and its registry client, the vulnerability
// database with its SQL drivers, and gRPC. From internal/scanner only the
// result model and its formats (lightScanner) may be linked, for scans
// made by Central.
var heavy = []string{
	"github.com/stockade-dev/stockade/internal/scanner",
	"github.com/stockade-dev/stockade/internal/cli/scanengine",
	"github.com/stockade-dev/stockade/internal/central",
	"github.com/stockade-dev/stockade/internal/sensor/",
	"github.com/google/go-containerregistry",
	"modernc.org/",
	"github.com/jackc/pgx",
	"google.golang.org/grpc",
	"google.golang.org/protobuf",
	"database/sql",
	"k8s.io/client-go",
}

// lightScanner are the internal/scanner packages stockade links: the scan
// result (what Central returns) and the reports and SBOMs written from it,
// and the vulnerability database's status types.
var lightScanner = map[string]bool{
	"github.com/stockade-dev/stockade/internal/scanner/scan":     true,
	"github.com/stockade-dev/stockade/internal/scanner/catalog":  true,
	"github.com/stockade-dev/stockade/internal/scanner/report":   true,
	"github.com/stockade-dev/stockade/internal/scanner/sbom":     true,
	"github.com/stockade-dev/stockade/internal/scanner/purl":     true,
	"github.com/stockade-dev/stockade/internal/scanner/vulnfeed": true,
}

// allowed says which heavy-looking packages stockade may link anyway.
var allowed = map[string]bool{
	// The generated sensor installation manifests (`stockade sensor
	// generate`) are plain templates.
	"github.com/stockade-dev/stockade/internal/sensor/install": true,
	// database/sql/driver comes with github.com/google/uuid (its Value
	// method); it has no start-up cost. database/sql itself must not come.
	"database/sql/driver": true,
}

func goList(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command(goTool(t), "list", "-deps", pkg)
	cmd.Dir = moduleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr.String())
	}
	return strings.Fields(string(out))
}

// forbidden returns the heavy packages among deps.
func forbidden(deps []string) []string {
	var bad []string
	for _, d := range deps {
		if allowed[d] || lightScanner[d] {
			continue
		}
		for _, h := range heavy {
			if d == strings.TrimSuffix(h, "/") || strings.HasPrefix(d, h) {
				bad = append(bad, d)
				break
			}
		}
	}
	return bad
}

// TestStockadeLinksNoHeavyPackage keeps the scanner, SQLite, pgx and gRPC
// out of the stockade binary, whose start-up every deployment check pays
// (docs/benchmarks.md). A new import that pulls one in fails here, naming
// it; run `go list -deps ./cmd/stockade` and move the import behind
// internal/cli/localscan.
func TestStockadeLinksNoHeavyPackage(t *testing.T) {
	if bad := forbidden(goList(t, "./cmd/stockade")); len(bad) > 0 {
		t.Errorf("stockade links %d heavy packages (see docs/benchmarks.md), among them:\n  %s",
			len(bad), strings.Join(bad[:min(len(bad), 15)], "\n  "))
	}
	// The check itself sees the heavy packages where they belong.
	scannerDeps := goList(t, "./cmd/stockade-scanner")
	bad := strings.Join(forbidden(scannerDeps), " ")
	for _, want := range []string{"internal/scanner/vulndb", "internal/scanner/registry", "modernc.org/sqlite", "github.com/jackc/pgx/v5"} {
		if !strings.Contains(bad, want) {
			t.Errorf("stockade-scanner does not link %s: is the check blind?", want)
		}
	}
}

func TestFindScanner(t *testing.T) {
	noPath := func(string) (string, error) { return "", exec.ErrNotFound }
	dir := t.TempDir()
	exe := filepath.Join(dir, "stockade")
	helper := filepath.Join(dir, scannerBinary)
	writeExecutable(t, exe)

	// Not installed: the error says what to install, and where it looked.
	_, err := findScanner(exe, noPath)
	if err == nil || !strings.Contains(err.Error(), "stockade-scanner is not installed") || !strings.Contains(err.Error(), "next to "+exe) {
		t.Errorf("missing helper: %v", err)
	}
	// A file that is not executable does not count.
	if err := os.WriteFile(helper, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := findScanner(exe, noPath); err == nil {
		t.Error("a non-executable stockade-scanner was taken")
	}
	// On PATH.
	onPath := func(name string) (string, error) { return "/opt/stockade/bin/" + name, nil }
	if p, err := findScanner(exe, onPath); err != nil || p != "/opt/stockade/bin/stockade-scanner" {
		t.Errorf("on PATH: %q, %v", p, err)
	}
	// Next to the executable wins over PATH.
	writeExecutable(t, helper)
	if p, err := findScanner(exe, onPath); err != nil || p != helper {
		t.Errorf("next to stockade: %q, %v", p, err)
	}
	// Through a symbolic link (a package manager's /usr/bin/stockade ->
	// /opt/…/bin/stockade), next to the real executable.
	links := t.TempDir()
	link := filepath.Join(links, "stockade")
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	if p, err := findScanner(link, noPath); err != nil || p != helper {
		t.Errorf("through a symbolic link: %q, %v", p, err)
	}
}

// TestHandOffEndToEnd runs the real binaries: stockade hands the local
// vulnerability database and local image scans to stockade-scanner, which
// replaces it, with the same arguments, streams, environment and exit
// status, and signals reach it.
func TestHandOffEndToEnd(t *testing.T) {
	bin := buildBinaries(t)
	stockade := filepath.Join(bin, "stockade")
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, "cache"), "DOCKER_CONFIG=" + filepath.Join(home, "docker"), "PATH=/nonexistent"}
	db := filepath.Join(t.TempDir(), "vulndb.sqlite")
	feed := shareddata.Path(t, "vulns", "alpine-secdb", "v3.4", "main.yaml")

	r := runBin(t, env, stockade, "vulndb", "import", "--vulndb", db, "-o", "json", feed)
	var res vulnfeed.ImportResult
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &res) != nil || res.Source("alpine").Added != 666 {
		t.Fatalf("vulndb import through stockade-scanner: %s", r)
	}
	r = runBin(t, env, stockade, "vulndb", "status", "--vulndb", db)
	if r.code != 0 || !strings.Contains(r.stdout, "Database:        "+db) || !strings.Contains(r.stdout, "Alpine     666") {
		t.Errorf("vulndb status through stockade-scanner: %s", r)
	}
	// The helper's failures come back as stockade's: message and exit code.
	bad := filepath.Join(t.TempDir(), "broken.jsonl")
	if err := os.WriteFile(bad, []byte("{not json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runBin(t, env, stockade, "vulndb", "import", "--vulndb", db, bad)
	if r.code != 2 || r.stdout != "" || !strings.HasPrefix(r.stderr, "stockade: ") || !strings.Contains(r.stderr, "broken.jsonl") {
		t.Errorf("broken feed through stockade-scanner: %s", r)
	}
	// Usage errors are found before any hand-off, so they need no helper;
	// a deployment check never needs one.
	alone := t.TempDir()
	copyFile(t, stockade, filepath.Join(alone, "stockade"))
	r = runBin(t, env, filepath.Join(alone, "stockade"), "vulndb", "update", "--feed", "go")
	if r.code != 2 || !strings.Contains(r.stderr, "want NAME=URL") {
		t.Errorf("usage error without the helper: %s", r)
	}
	manifests := shareddata.Path(t, "manifests", "kubernetes-examples")
	r = runBin(t, env, filepath.Join(alone, "stockade"), "deployment", "check", "--offline", "-o", "json", "-f", manifests)
	if r.code != 1 || !strings.Contains(r.stdout, `"violatedPolicies"`) {
		t.Errorf("deployment check without the helper: %s", r)
	}
	// Without the helper, the error names what to install.
	r = runBin(t, env, filepath.Join(alone, "stockade"), "vulndb", "status", "--vulndb", db)
	if r.code != 2 || !strings.Contains(r.stderr, "local vulnerability databases run in stockade-scanner: stockade-scanner is not installed") {
		t.Errorf("missing helper: %s", r)
	}

	t.Run("image sbom --local", func(t *testing.T) {
		reg := registrytest.Start(t)
		ref := reg.Push(t, "team/app:1", registrytest.ImageFromFiles(t, map[string][]byte{
			"etc/os-release":       []byte("ID=alpine\nVERSION_ID=3.4.6\nPRETTY_NAME=\"Alpine Linux v3.4\"\n"),
			"lib/apk/db/installed": mustRead(t, shareddata.Path(t, "os", "alpine-3.4", "apk-installed")),
		}))
		r := runBin(t, env, stockade, "image", "sbom", "--image", ref, "--insecure-registry", "--progress", "-o", "cyclonedx")
		if r.code != 0 || !strings.Contains(r.stdout, `"bomFormat": "CycloneDX"`) || !strings.Contains(r.stdout, "pkg:apk/alpine/") {
			t.Fatalf("sbom through stockade-scanner: %s", r)
		}
		// The notes and the progress of the helper reach stockade's stderr.
		if !strings.Contains(r.stderr, "no Central endpoint configured") || !strings.Contains(r.stderr, "layer 1/1") || !strings.Contains(r.stderr, "no vulnerability database at") {
			t.Errorf("sbom notes: %s", r)
		}
		r = runBin(t, env, stockade, "image", "scan", "--local", "--vulndb", db, "--image", ref, "--insecure-registry", "-o", "json", "--fail")
		if r.code != 1 || !strings.Contains(r.stdout, `"components"`) || !strings.Contains(r.stderr, "the image has") {
			t.Errorf("scan --fail through stockade-scanner: %s", r)
		}
	})

	t.Run("signals", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("reads /proc and sends SIGTERM")
		}
		requested := make(chan struct{}, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requested <- struct{}{}
			<-r.Context().Done() // a feed server that never answers
		}))
		t.Cleanup(srv.Close)
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(stockade, "vulndb", "update", "--vulndb", db, "--feed", "slow="+srv.URL+"/feed.json")
		cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-requested:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("the feed was never requested\n%s", stderr.String())
		}
		// The process that downloads is stockade's own, now the helper.
		if exe, err := os.Readlink("/proc/" + itoa(cmd.Process.Pid) + "/exe"); err == nil && filepath.Base(exe) != scannerBinary {
			t.Errorf("process %d runs %s, want %s", cmd.Process.Pid, exe, scannerBinary)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(stdout.String(), "slow") || !strings.Contains(stdout.String(), "failed") {
				t.Errorf("SIGTERM during an update: %v\n--- stdout\n%s--- stderr\n%s", err, stdout.String(), stderr.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("SIGTERM did not stop the update")
		}
	})
}

type binResult struct {
	code           int
	stdout, stderr string
}

func (r binResult) String() string {
	return "exit " + itoa(r.code) + "\n--- stdout\n" + r.stdout + "\n--- stderr\n" + r.stderr
}

func runBin(t *testing.T, env []string, bin string, args ...string) binResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
	default:
		t.Fatalf("run %s: %v", bin, err)
	}
	return binResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// buildBinaries compiles stockade and stockade-scanner into one directory,
// as `make build` does.
func buildBinaries(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command(goTool(t), "build", "-o", out+string(filepath.Separator), "./cmd/stockade", "./cmd/stockade-scanner")
	cmd.Dir = moduleRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Fatal("the go command is not on PATH")
	}
	return p
}

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
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

func writeExecutable(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o700); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	writeExecutable(t, to)
	if err := os.WriteFile(to, mustRead(t, from), 0o700); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func itoa(n int) string { return strconv.Itoa(n) }
