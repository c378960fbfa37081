package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/initbundle"
)

func TestInitBundleThroughCentral(t *testing.T) {
	env := startCentral(t)
	ca := env["caFile"]
	dir := t.TempDir()
	file := filepath.Join(dir, "prod-bundle.yaml")

	r := run(t, env, "", "central", "init-bundle", "generate", "prod", "--ca", ca, "-o", file)
	if r.code != 0 || !strings.Contains(r.stderr, `Init bundle "prod"`) || r.stdout != "" {
		t.Fatalf("generate: %s", r)
	}
	info, err := os.Stat(file)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("bundle file: %v, mode %v", err, info.Mode().Perm())
	}
	b, err := initbundle.Load(file)
	if err != nil {
		t.Fatalf("the written bundle does not load: %v", err)
	}
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "prod" || b.ID == "" || string(b.CA) != string(caPEM) || len(b.Admission.Key) == 0 {
		t.Fatalf("bundle = %s %s, CA matches %v", b.Name, b.ID, string(b.CA) == string(caPEM))
	}
	// Never over an existing file; a taken name is Central's refusal.
	if r := run(t, env, "", "central", "init-bundle", "generate", "other", "--ca", ca, "-o", file); r.code != ExitUsage || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("generate over a file: %s", r)
	}
	if r := run(t, env, "", "central", "init-bundle", "generate", "prod", "--ca", ca); r.code != ExitCentral || !strings.Contains(r.stderr, "409") {
		t.Fatalf("generate a taken name: %s", r)
	}
	// To standard output.
	r = run(t, env, "", "central", "init-bundle", "generate", "staging", "--ca", ca)
	if r.code != 0 || !strings.Contains(r.stdout, "name: "+initbundle.SensorSecret) {
		t.Fatalf("generate to stdout: %s", r)
	}
	if _, err := initbundle.Parse([]byte(r.stdout)); err != nil {
		t.Fatalf("stdout bundle: %v", err)
	}

	list := run(t, env, "", "central", "init-bundle", "list", "--ca", ca)
	if list.code != 0 || !strings.Contains(list.stdout, "prod") || !strings.Contains(list.stdout, "staging") ||
		!strings.Contains(list.stdout, "2 init bundles") || strings.Contains(list.stdout, "PRIVATE KEY") {
		t.Fatalf("list: %s", list)
	}

	// Revoke by name, then by id; unknown names are usage errors.
	if r := run(t, env, "", "central", "init-bundle", "revoke", "PROD", "--ca", ca); r.code != 0 || !strings.Contains(r.stdout, `Revoked init bundle "prod"`) {
		t.Fatalf("revoke by name: %s", r)
	}
	var out struct {
		Items []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Revoked bool   `json:"revoked"`
		} `json:"items"`
	}
	r = run(t, env, "", "central", "init-bundle", "list", "--ca", ca, "-o", "json")
	if r.code != 0 {
		t.Fatalf("list json: %s", r)
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Items) != 2 || !out.Items[0].Revoked || out.Items[1].Revoked {
		t.Fatalf("list json = %+v, %v", out.Items, err)
	}
	if r := run(t, env, "", "central", "init-bundle", "revoke", out.Items[1].ID, "--ca", ca); r.code != 0 {
		t.Fatalf("revoke by id: %s", r)
	}
	if r := run(t, env, "", "central", "init-bundle", "revoke", "nope", "--ca", ca); r.code != ExitUsage || !strings.Contains(r.stderr, "no init bundle") {
		t.Fatalf("revoke unknown: %s", r)
	}
	if r := run(t, env, "", "central", "init-bundle", "generate", "--ca", ca); r.code != ExitUsage {
		t.Fatalf("generate without a name: %s", r)
	}
	// For Sensor in another namespace; a bad namespace is a usage error.
	if r := run(t, env, "", "central", "init-bundle", "generate", "qa", "--ca", ca, "--namespace", "Security"); r.code != ExitUsage || !strings.Contains(r.stderr, "--namespace") {
		t.Fatalf("generate with a bad namespace: %s", r)
	}
	r = run(t, env, "", "central", "init-bundle", "generate", "qa", "--ca", ca, "--namespace", "security")
	if r.code != 0 || strings.Count(r.stdout, "namespace: security") != 2 {
		t.Fatalf("generate for namespace security: %s", r)
	}
}
