package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/shareddata"

	"github.com/stockade-dev/stockade/internal/central"
)

// startCentral runs a real Central (HTTPS, embedded SQLite in a temporary
// data directory) for the test and returns the environment the CLI needs to
// reach it as an admin.
func startCentral(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := central.New(ctx, central.Config{DataDir: dir, Listen: "127.0.0.1:0", LogLevel: "error", LogFormat: "text"},
		slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		cancel()
		t.Fatalf("start central: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("central: %v", err)
		}
	})
	password, err := os.ReadFile(filepath.Join(dir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"STOCKADE_ENDPOINT":       strings.TrimPrefix(srv.URL(), "https://"),
		"STOCKADE_ADMIN_PASSWORD": strings.TrimSpace(string(password)),
		"caFile":                  srv.CAPath(),
	}
}

type policyKey struct{ object, policy string }

func violatedPolicies(t *testing.T, stdout string) map[policyKey][]string {
	t.Helper()
	r := decodeReport(t, stdout)
	out := map[policyKey][]string{}
	for _, res := range r.Results {
		obj := res.Metadata.AdditionalInfo.Type + "/" + res.Metadata.AdditionalInfo.Namespace + "/" + res.Metadata.AdditionalInfo.Name
		for _, vp := range res.ViolatedPolicies {
			v := slices.Clone(vp.Violation)
			slices.Sort(v)
			out[policyKey{obj, vp.Name}] = v
		}
	}
	return out
}

func TestCheckThroughCentralMatchesOffline(t *testing.T) {
	env := startCentral(t)
	ca := env["caFile"]
	examples := filepath.Join(shareddata.Dir(t), "manifests", "kubernetes-examples")

	offline := run(t, nil, "", "deployment", "check", "--offline", "-o", "json", "-f", examples)
	online := run(t, env, "", "deployment", "check", "--ca", ca, "-o", "json", "-f", examples)
	if offline.code != 1 || online.code != 1 {
		t.Fatalf("exit codes: offline %d, online %d, want 1 and 1\n%s", offline.code, online.code, online)
	}
	off, on := violatedPolicies(t, offline.stdout), violatedPolicies(t, online.stdout)
	if len(on) == 0 || len(on) != len(off) {
		t.Fatalf("online found %d object×policy violations, offline %d", len(on), len(off))
	}
	for k, v := range off {
		if !slices.Equal(on[k], v) {
			t.Errorf("%s / %s: online %q, offline %q", k.object, k.policy, on[k], v)
		}
	}
	if !strings.Contains(online.stdout, `"failingCheck": true`) {
		t.Errorf("no enforced policy in the online report")
	}

	// ROX_* variables work for teams moving from ACS.
	rox := map[string]string{"ROX_ENDPOINT": env["STOCKADE_ENDPOINT"], "ROX_ADMIN_PASSWORD": env["STOCKADE_ADMIN_PASSWORD"]}
	if r := run(t, rox, "", "central", "whoami", "--ca", ca); r.code != 0 || !strings.Contains(r.stdout, "Admin") {
		t.Fatalf("whoami with ROX_* variables: %s", r)
	}

	// Wrong credentials are a clear refusal, not a policy failure.
	bad := map[string]string{"STOCKADE_ENDPOINT": env["STOCKADE_ENDPOINT"], "STOCKADE_ADMIN_PASSWORD": "Zx9-not-the-password"}
	if r := run(t, bad, "", "central", "whoami", "--ca", ca); r.code == 0 || r.code == 1 || strings.Contains(r.stderr, "Zx9-not-the-password") || !strings.Contains(r.stderr, "401") {
		t.Fatalf("whoami with a wrong password: %s", r)
	}
}

func TestPolicyImportExportThroughCentral(t *testing.T) {
	env := startCentral(t)
	ca := env["caFile"]
	files, err := filepath.Glob(filepath.Join(shareddata.Dir(t), "stackrox-policies", "*.json"))
	if err != nil || len(files) != 89 {
		t.Fatalf("ACS policy files: %d, %v", len(files), err)
	}
	args := append([]string{"policy", "import", "--ca", ca}, files...)
	if r := run(t, env, "", args...); r.code != 0 {
		t.Fatalf("import the ACS policies: %s", r)
	}
	// Importing again without --overwrite is refused and changes nothing.
	if r := run(t, env, "", append(args[:4:4], files[0])...); r.code == 0 {
		t.Fatalf("re-import without overwrite succeeded: %s", r)
	}
	list := run(t, env, "", "policy", "list", "--ca", ca)
	if list.code != 0 || !strings.Contains(list.stdout, "Privileged Container") {
		t.Fatalf("policy list: %s", list)
	}
	out := filepath.Join(t.TempDir(), "export.json")
	if r := run(t, env, "", "policy", "export", "--ca", ca, "-o", out); r.code != 0 {
		t.Fatalf("export: %s", r)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var exported struct {
		Policies []json.RawMessage `json:"policies"`
	}
	if err := json.Unmarshal(data, &exported); err != nil {
		t.Fatal(err)
	}
	if len(exported.Policies) < 89 {
		t.Fatalf("exported %d policies, want the 89 imported plus the built-ins", len(exported.Policies))
	}
	// The exported file validates and drives an offline check.
	if r := run(t, nil, "", "policy", "validate", out); r.code != 0 {
		t.Fatalf("validate the export: %s", r)
	}
}

func TestPoliciesNeedingImageOrRuntimeDataAreReported(t *testing.T) {
	acs := filepath.Join(shareddata.Dir(t), "stackrox-policies")
	v := run(t, nil, "", "policy", "validate", filepath.Join(acs, "log4shell.json"), filepath.Join(acs, "exec-apt.json"), filepath.Join(acs, "privileged.json"))
	if v.code != 0 || !strings.Contains(v.stdout, "needs image data") || !strings.Contains(v.stdout, "needs runtime data") {
		t.Fatalf("validate: %s", v)
	}
	if strings.Count(v.stdout, "needs ") != 2 {
		t.Fatalf("the privileged policy needs no extra data: %s", v)
	}
	c := run(t, nil, "", "deployment", "check", "--offline", "--policies", acs, "-f", filepath.Join(shareddata.Dir(t), "manifests", "microservices-demo"))
	few := run(t, nil, "", "deployment", "check", "--offline", "--policies", filepath.Join(acs, "log4shell.json"), "-f", filepath.Join(shareddata.Dir(t), "manifests", "microservices-demo"))
	if !strings.Contains(few.stderr, `"Log4Shell: log4j Remote Code Execution vulnerability" (needs image data)`) {
		t.Fatalf("check does not name the policy it could not evaluate: %s", few)
	}
	if !strings.Contains(c.stderr, "15 policies need image data and were not evaluated") {
		t.Fatalf("check does not say which policies it could not evaluate: %s", c)
	}
}
