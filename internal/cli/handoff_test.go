package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/shareddata"
)

// runLight runs the command tree as the stockade binary does: without a
// local backend, handing local work off. The hand-off here only counts its
// calls and fails as a missing helper does; cmd/stockade tests the real one.
func runLight(t *testing.T, env map[string]string, handOff bool, args ...string) (result, int) {
	t.Helper()
	var out, errb bytes.Buffer
	calls := 0
	e := Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	if handOff {
		e.HandOff = func(context.Context) error {
			calls++
			if out.Len() > 0 || errb.Len() > 0 {
				t.Errorf("%v: output before the hand-off, which the helper would repeat:\n%s%s", args, out.String(), errb.String())
			}
			return errors.New("stockade-scanner is not installed")
		}
	}
	cmd := New(e)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		fmt.Fprintf(&errb, "stockade: %v\n", err)
	}
	return result{code: ExitCode(err), stdout: out.String(), stderr: errb.String()}, calls
}

func TestLocalWorkIsHandedOff(t *testing.T) {
	env := cliEnv(t)
	feed := feedFiles(t)[1]
	for _, args := range [][]string{
		{"image", "scan", "--image", "app:1"},
		{"image", "scan", "--local", "--image", "app:1", "--vulndb", "x.sqlite"},
		{"image", "check", "--image", "app:1", "--local", "-c", "Vulnerability Management"},
		{"image", "sbom", "--image", "app:1", "-o", "spdx"},
		{"vulndb", "import", feed},
		{"vulndb", "status", "--vulndb", "x.sqlite"},
		{"vulndb", "update", "--feed", "alpine=https://example.com/main.yaml"},
	} {
		r, calls := runLight(t, env, true, args...)
		if calls != 1 || r.code != ExitUsage || r.stdout != "" || !strings.Contains(r.stderr, "run in stockade-scanner: stockade-scanner is not installed") {
			t.Errorf("%v: want one hand-off and its error (got %d)\n%s", args, calls, r)
		}
	}
	// Without a way to hand off, the error says so.
	r, _ := runLight(t, env, false, "vulndb", "status")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "local vulnerability databases need stockade-scanner") {
		t.Errorf("no hand-off: %s", r)
	}
}

func TestWorkThatStaysInStockade(t *testing.T) {
	env := cliEnv(t)
	env["STOCKADE_API_TOKEN"] = "token"
	manifests := shareddata.Path(t, "manifests", "kubernetes-examples")
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"deployment", "check", "--offline", "-o", "json", "-f", manifests}, ExitViolations},
		{[]string{"policy", "validate", filepath.Join(shareddata.Dir(t), "stackrox-policies", "privileged.json")}, ExitOK},
		{[]string{"version"}, ExitOK},
		// Usage errors are found before a hand-off.
		{[]string{"image", "scan"}, ExitUsage},
		{[]string{"image", "scan", "--image", "a:1", "-o", "xml"}, ExitUsage},
		{[]string{"image", "scan", "--image", "a:1", "--local", "-e", "central:443"}, ExitUsage},
		{[]string{"vulndb", "update", "--feed", "go"}, ExitUsage},
		{[]string{"vulndb", "status", "-o", "yaml"}, ExitUsage},
		{[]string{"vulndb", "import", "/no/such/feed.json"}, ExitUsage},
		// Through Central, image and vulndb commands need no scanner.
		{[]string{"image", "scan", "--image", "app:1", "-e", "127.0.0.1:1", "--retries", "0"}, ExitCentral},
		{[]string{"vulndb", "status", "-e", "127.0.0.1:1", "--retries", "0"}, ExitCentral},
	} {
		r, calls := runLight(t, env, true, tc.args...)
		if calls != 0 || r.code != tc.code {
			t.Errorf("%v: want exit %d without a hand-off (got %d hand-offs)\n%s", tc.args, tc.code, calls, r)
		}
	}
}
