package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/shareddata"

	"github.com/stockade-dev/stockade/internal/cli/scanengine"
	"github.com/stockade-dev/stockade/internal/deploycheck"
	"github.com/stockade-dev/stockade/internal/manifest"
	"github.com/stockade-dev/stockade/internal/policy"
)

// These tests run the real command tree in-process, with captured streams
// and a controlled environment, as main does.

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := New(Env{
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
		Now:    func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
		// As in stockade-scanner: the local backend in-process (the
		// stockade binary's hand-off is tested in cmd/stockade).
		Scanner: scanengine.New(),
	})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		fmt.Fprintf(&errb, "stockade: %v\n", err)
	}
	return result{code: ExitCode(err), stdout: out.String(), stderr: errb.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, trim(r.stdout), trim(r.stderr))
}

func trim(s string) string {
	if len(s) > 4000 {
		return s[:4000] + "…"
	}
	return s
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// privilegedPolicy is the built-in policy that flags privileged containers
// and enforces at deploy time, found by its criterion rather than its name.
func privilegedPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	ps, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if len(p.PolicySections) == 1 && len(p.PolicySections[0].PolicyGroups) == 1 &&
			p.PolicySections[0].PolicyGroups[0].FieldName == "Privileged Container" && len(p.EnforcementActions) > 0 {
			return p
		}
	}
	t.Fatal("no built-in policy flags privileged containers with enforcement")
	return nil
}

func decodeReport(t *testing.T, s string) deploycheck.Report {
	t.Helper()
	var r deploycheck.Report
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("report is not roxctl-shaped JSON: %v\n%s", err, trim(s))
	}
	return r
}

const privilegedPod = `apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: tools
spec:
  containers:
  - name: shell
    image: busybox:1.36
    securityContext:
      privileged: true
`

const hardenedDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: false
      containers:
      - name: web
        image: registry.example.com/shop/web:1.4.2
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          runAsNonRoot: true
          capabilities: {drop: [ALL]}
`

func TestCheckKubernetesExamplesOffline(t *testing.T) {
	dir := filepath.Join(shareddata.Dir(t), "manifests", "kubernetes-examples")
	r := run(t, nil, "", "deployment", "check", "-f", dir, "-o", "json", "--verbose")
	if r.code != ExitViolations {
		t.Fatalf("want exit 1 (the privileged workloads violate an enforced policy):\n%s", r)
	}
	priv := privilegedPolicy(t)
	report := decodeReport(t, r.stdout)

	// The eight privileged workloads of the corpus, by kind and name.
	want := []string{
		"DaemonSet/flex-ds", "DaemonSet/newrelic-agent", "DaemonSet/newrelic-infra-agent", "DaemonSet/sysdig-agent",
		"Deployment/nfs-server", "Pod/nginx", "ReplicationController/es", "ReplicationController/sysdig-agent",
	}
	var got []string
	for _, res := range report.Results {
		for _, vp := range res.ViolatedPolicies {
			if vp.Name != priv.Name {
				continue
			}
			if !vp.FailingCheck || vp.Severity != "CRITICAL" || len(vp.Violation) == 0 {
				t.Errorf("%s: %+v", res.Metadata.AdditionalInfo.Name, vp)
			}
			got = append(got, res.Metadata.AdditionalInfo.Type+"/"+res.Metadata.AdditionalInfo.Name)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("privileged workloads reported:\n  %v\nwant\n  %v", got, want)
	}
	if report.Summary.Total == 0 || report.Summary.Critical < len(want) {
		t.Errorf("summary = %+v", report.Summary)
	}
	for _, w := range []string{
		"note: no Central endpoint configured",
		"ignored StorageClass/slow: not a workload",
	} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, trim(r.stderr))
		}
	}
	// Other enforced built-ins may fire too; the privileged ones must.
	var failing int
	var named string
	if _, err := fmt.Sscanf(r.stderr[strings.LastIndex(r.stderr, "stockade: "):], "stockade: %d objects violate policies that enforce at deploy time: %s", &failing, &named); err != nil || failing < len(want) {
		t.Errorf("exit message: %v (%d objects)\n%s", err, failing, trim(r.stderr))
	}
	if !strings.Contains(r.stderr[strings.LastIndex(r.stderr, "stockade: "):], priv.Name) {
		t.Errorf("exit message does not name %q", priv.Name)
	}
	// Ignored objects are named with file and line.
	if !strings.Contains(r.stderr, filepath.Join(dir, "databases", "cassandra", "cassandra-statefulset.yaml")+":109: ignored StorageClass/fast: not a workload") {
		t.Errorf("stderr does not locate the ignored StorageClass:\n%s", trim(r.stderr))
	}
	// Without --verbose, many ignored objects are counted per kind.
	quiet := run(t, nil, "", "deployment", "check", "-f", dir, "-o", "json")
	if strings.Contains(quiet.stderr, "ignored StorageClass/") || !strings.Contains(quiet.stderr, "objects are not workloads and were not checked: 23 StorageClass") {
		t.Errorf("stderr without --verbose:\n%s", trim(quiet.stderr))
	}
	if quiet.stdout != r.stdout {
		t.Error("--verbose changed the report")
	}
}

func TestCheckTableFromStdin(t *testing.T) {
	r := run(t, nil, privilegedPod, "deployment", "check", "-f", "-")
	if r.code != ExitViolations {
		t.Fatalf("%s", r)
	}
	priv := privilegedPolicy(t)
	for _, w := range []string{"Pod tools/debug (stdin:1)\n", "SEVERITY", "CRITICAL  " + priv.Name, "Container 'shell'", "1 object violates "} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("table lacks %q:\n%s", w, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("colour in a table that is not on a terminal")
	}
}

func TestCheckNoEnforcedViolationExitsZero(t *testing.T) {
	// Only non-enforced policies fire (replicas, probes, limits, …).
	r := run(t, nil, hardenedDeployment, "deployment", "check", "-f", "-", "--offline", "-o", "json")
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	report := decodeReport(t, r.stdout)
	for _, res := range report.Results {
		for _, vp := range res.ViolatedPolicies {
			if vp.FailingCheck {
				t.Errorf("enforced violation in a hardened deployment: %+v", vp)
			}
		}
	}
	if strings.Contains(r.stderr, "note: no Central endpoint") {
		t.Errorf("--offline still notes the missing endpoint: %s", r.stderr)
	}
}

func TestCheckNothingViolates(t *testing.T) {
	dir := t.TempDir()
	pol := writeFile(t, dir, "p/only-latest.yaml", `name: Only latest tag
severity: LOW_SEVERITY
lifecycleStages: [DEPLOY]
categories: [Team]
policySections:
- policyGroups:
  - fieldName: Image Tag
    values: [{value: latest}]
`)
	r := run(t, nil, hardenedDeployment, "deployment", "check", "-f", "-", "--policies", filepath.Dir(pol))
	if r.code != ExitOK || r.stdout != "No policy violations found in 1 object.\n" {
		t.Fatalf("%s", r)
	}
}

func TestCheckInputErrorNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "a-good.yaml", privilegedPod)
	bad := writeFile(t, dir, "b-bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: c\n    image: [unclosed\n")
	r := run(t, nil, "", "deployment", "check", "-f", dir)
	if r.code != ExitUsage {
		t.Fatalf("%s", r)
	}
	if !strings.HasPrefix(r.stderr, "note:") || !strings.Contains(r.stderr, "stockade: "+bad+":") {
		t.Errorf("stderr does not name the bad file:\n%s", r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("a report was written despite the input error:\n%s", r.stdout)
	}
	_ = good

	// A wrong type is located on its line.
	typed := writeFile(t, dir, "typed/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  hostNetwork: maybe\n  containers:\n  - name: c\n    image: nginx\n")
	r = run(t, nil, "", "deployment", "check", "-f", typed, "--offline")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "stockade: "+typed+":6: ") {
		t.Errorf("want %s:6 in the error:\n%s", typed, r)
	}

	r = run(t, nil, "", "deployment", "check", "-f", filepath.Join(dir, "missing.yaml"), "--offline")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "missing.yaml") {
		t.Errorf("missing file:\n%s", r)
	}
}

func TestCheckPoliciesReplaceBuiltins(t *testing.T) {
	dir := t.TempDir()
	pol := writeFile(t, dir, "team.json", `{"policies": [{
  "id": "team-latest", "name": "Team: no latest tag", "severity": "HIGH_SEVERITY",
  "lifecycleStages": ["DEPLOY"], "categories": ["Team"],
  "remediation": "Pin the image.",
  "policySections": [{"policyGroups": [{"fieldName": "Image Tag", "values": [{"value": "latest"}]}]}]
}]}`)
	manifests := writeFile(t, dir, "m/pods.yaml", privilegedPod+"---\n"+strings.Replace(privilegedPod, "busybox:1.36", "busybox", 1))
	r := run(t, nil, "", "deployment", "check", "-f", manifests, "--policies", pol, "-o", "json")
	// The built-in privileged policy is gone, so nothing enforced fires.
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	report := decodeReport(t, r.stdout)
	if len(report.Results) != 1 {
		t.Fatalf("results = %+v", report.Results)
	}
	vps := report.Results[0].ViolatedPolicies
	if len(vps) != 1 || vps[0].Name != "Team: no latest tag" || vps[0].Severity != "HIGH" || vps[0].Remediation != "Pin the image." {
		t.Errorf("violated policies = %+v", vps)
	}

	// The StackRox corpus as a policy directory: 89 files, evaluated.
	stackrox := filepath.Join(shareddata.Dir(t), "stackrox-policies")
	r = run(t, nil, "", "deployment", "check", "-f", manifests, "--policies", stackrox, "-o", "json")
	if r.code != ExitOK && r.code != ExitViolations {
		t.Fatalf("%s", r)
	}
	report = decodeReport(t, r.stdout)
	var names []string
	for _, vp := range report.Results[0].ViolatedPolicies {
		names = append(names, vp.Name)
	}
	if !slices.Contains(names, "Privileged Container") || slices.Contains(names, privilegedPolicy(t).Name) {
		t.Errorf("with StackRox's policies, violated: %v", names)
	}

	// An invalid policy file stops the check with its field path.
	broken := writeFile(t, dir, "broken/p.yaml", "name: Broken\nseverity: HIGH_SEVERITY\nlifecycleStages: [DEPLOY]\npolicySections:\n- policyGroups:\n  - fieldName: No Such Field\n    values: [{value: x}]\n")
	r = run(t, nil, "", "deployment", "check", "-f", manifests, "--policies", broken)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "policySections[0].policyGroups[0].fieldName") || !strings.Contains(r.stderr, broken) {
		t.Errorf("broken policy:\n%s", r)
	}
}

func TestCheckCategoryFilter(t *testing.T) {
	dir := filepath.Join(shareddata.Dir(t), "manifests", "kubernetes-examples")
	ps, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	categories := map[string][]string{}
	for _, p := range ps {
		categories[p.Name] = p.Categories
	}
	all := run(t, nil, "", "deployment", "check", "-f", dir, "-o", "json", "--offline")
	some := run(t, nil, "", "deployment", "check", "-f", dir, "-o", "json", "--offline", "-c", "PRIVILEGES")
	if some.code != ExitViolations {
		t.Fatalf("%s", some)
	}
	rAll, rSome := decodeReport(t, all.stdout), decodeReport(t, some.stdout)
	if rSome.Summary.Total == 0 || rSome.Summary.Total >= rAll.Summary.Total {
		t.Errorf("filtered total %d, unfiltered %d", rSome.Summary.Total, rAll.Summary.Total)
	}
	for _, res := range rSome.Results {
		for _, vp := range res.ViolatedPolicies {
			if !slices.ContainsFunc(categories[vp.Name], func(c string) bool { return strings.EqualFold(c, "privileges") }) {
				t.Errorf("policy %q (categories %v) reported under -c PRIVILEGES", vp.Name, categories[vp.Name])
			}
		}
	}

	r := run(t, nil, "", "deployment", "check", "-f", dir, "--offline", "-c", "Privileges,no-such-category")
	if r.code != ExitUsage || !strings.Contains(r.stderr, `no policy has the category "no-such-category"`) {
		t.Errorf("unknown category:\n%s", r)
	}
}

func TestCheckOtherFormats(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "k8s/pod.yaml", "# a comment\n"+privilegedPod)
	rel, err := filepath.Rel(mustGetwd(t), f)
	if err != nil {
		t.Fatal(err)
	}

	r := run(t, nil, "", "deployment", "check", "-f", f, "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if r.code != ExitViolations || err != nil || len(rows) < 2 || rows[0][0] != "kind" {
		t.Fatalf("csv: %v\n%s", err, r)
	}

	r = run(t, nil, "", "deployment", "check", "-f", f, "-o", "junit")
	var suites struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Failures int    `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(r.stdout), &suites); err != nil || len(suites.Suites) != 1 || suites.Suites[0].Failures == 0 {
		t.Fatalf("junit: %v %+v\n%s", err, suites, r)
	}

	r = run(t, nil, "", "deployment", "check", "-f", rel, "-o", "sarif")
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
						Region           struct{ StartLine int }
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &log); err != nil || log.Version != "2.1.0" || len(log.Runs[0].Results) == 0 {
		t.Fatalf("sarif: %v\n%s", err, r)
	}
	loc := log.Runs[0].Results[0].Locations[0].PhysicalLocation
	if loc.ArtifactLocation.URI != filepath.ToSlash(rel) || loc.Region.StartLine != 2 {
		t.Errorf("sarif location = %+v, want %s line 2", loc, filepath.ToSlash(rel))
	}

	r = run(t, nil, "", "deployment", "check", "-f", f, "-o", "yaml")
	if r.code != ExitUsage || !strings.Contains(r.stderr, `unknown output format "yaml"`) {
		t.Errorf("bad format:\n%s", r)
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"deployment", "check"}, nil, "name the manifests to check with -f"},
		{[]string{"deployment", "check", "-f", "-", "--offline", "-e", "central:443"}, nil, "--offline and --endpoint both given"},
		{[]string{"deployment", "check", "-f", "-", "--policies", "x"}, map[string]string{"STOCKADE_ENDPOINT": "central:443"}, "--policies applies to offline checks"},
		{[]string{"deployment", "check", "-f", "-", "--nope"}, nil, "unknown flag: --nope (see 'stockade deployment check --help')"},
		{[]string{"deployment", "chekc"}, nil, `unknown command "chekc" for "stockade deployment"; did you mean "check"?`},
		{[]string{"nonsense"}, nil, `unknown command "nonsense" for "stockade"`},
		{[]string{"policy", "get"}, nil, "takes one policy id"},
		{[]string{"policy", "get", "abc"}, nil, "policy get needs Central: pass -e HOST:PORT or set STOCKADE_ENDPOINT"},
		{[]string{"policy", "list"}, nil, "policy list needs Central: pass -e HOST:PORT or set STOCKADE_ENDPOINT, or add --offline"},
		{[]string{"central", "whoami"}, map[string]string{"STOCKADE_ENDPOINT": "central:443"}, "no credentials for Central"},
		{[]string{"central", "whoami", "-e", "http://central:80"}, map[string]string{"STOCKADE_API_TOKEN": "t"}, "plain HTTP is refused"},
		{[]string{"central", "whoami", "--token-file", "/nonexistent/token"}, map[string]string{"ROX_ENDPOINT": "central:443"}, "read token file"},
		{[]string{"policy", "export", "--offline", "no-such-id"}, nil, `no built-in policy has the id "no-such-id"`},
	}
	for _, tc := range cases {
		r := run(t, tc.env, "", tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("stockade %s: want exit 2 and %q\n%s", strings.Join(tc.args, " "), tc.want, r)
		}
	}
}

func TestPolicyValidateStackRoxCorpus(t *testing.T) {
	dir := filepath.Join(shareddata.Dir(t), "stackrox-policies")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) != 89 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	r := run(t, nil, "", append([]string{"policy", "validate"}, files...)...)
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	if !strings.HasSuffix(r.stdout, "89 files, 89 policies: all valid\n") || strings.Count(r.stdout, ": ok (1 policy)\n") != 89 {
		t.Errorf("stdout:\n%s", trim(r.stdout))
	}
	// A directory is the same as its files.
	if r2 := run(t, nil, "", "policy", "validate", dir); r2.code != ExitOK || r2.stdout != r.stdout {
		t.Errorf("directory form differs:\n%s", r2)
	}
}

func TestPolicyValidateBrokenFile(t *testing.T) {
	dir := t.TempDir()
	// A real StackRox policy, damaged in two fields.
	data, err := os.ReadFile(filepath.Join(shareddata.Dir(t), "stackrox-policies", "privileged.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc["severity"] = "EXTREME_SEVERITY"
	doc["policySections"].([]any)[0].(map[string]any)["policyGroups"].([]any)[0].(map[string]any)["values"] = []any{map[string]any{"value": "perhaps"}}
	broken, _ := json.MarshalIndent(doc, "", "  ")
	bad := writeFile(t, dir, "broken.json", string(broken))
	syntax := writeFile(t, dir, "syntax.json", "{\n  \"name\": \"x\",\n  \"severity\": \n}\n")
	good := writeFile(t, dir, "good.json", string(data))

	r := run(t, nil, "", "policy", "validate", good, bad, syntax)
	if r.code != ExitUsage {
		t.Fatalf("%s", r)
	}
	for _, w := range []string{
		good + ": ok (1 policy)",
		bad + `: policy "Privileged Container": severity: `,
		bad + `: policy "Privileged Container": policySections[0].policyGroups[0].values[0].value: `,
		syntax + ":4: ",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "stockade: 2 of 3 policy files are invalid") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

func TestPolicyListAndExportOffline(t *testing.T) {
	builtin, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "", "policy", "list", "--offline", "-o", "json")
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	var list struct {
		Policies []struct {
			ID, Name, Severity string
			Enforcement        bool
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list.Policies) != len(builtin) {
		t.Fatalf("list: %v, %d policies, want %d", err, len(list.Policies), len(builtin))
	}
	priv := privilegedPolicy(t)
	i := slices.IndexFunc(list.Policies, func(p struct {
		ID, Name, Severity string
		Enforcement        bool
	}) bool {
		return p.ID == priv.ID
	})
	if i < 0 || !list.Policies[i].Enforcement || list.Policies[i].Severity != "CRITICAL_SEVERITY" {
		t.Errorf("privileged policy in list: %+v", list.Policies)
	}

	r = run(t, nil, "", "policy", "list", "--offline")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "NAME") || !strings.HasSuffix(r.stdout, fmt.Sprintf("%d policies\n", len(builtin))) {
		t.Errorf("table:\n%s", r)
	}

	out := filepath.Join(t.TempDir(), "export.json")
	r = run(t, nil, "", "policy", "export", "--offline", "-o", out)
	if r.code != ExitOK || !strings.Contains(r.stderr, fmt.Sprintf("exported %d policies to %s", len(builtin), out)) {
		t.Fatalf("%s", r)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	exported, err := policy.Parse(out, data)
	if err != nil || len(exported) != len(builtin) {
		t.Fatalf("export re-parsed: %d policies, %v", len(exported), err)
	}
	// The export validates and can drive a check.
	if r := run(t, nil, "", "policy", "validate", out); r.code != ExitOK {
		t.Errorf("exported file does not validate:\n%s", r)
	}
	if r := run(t, nil, privilegedPod, "deployment", "check", "-f", "-", "--policies", out); r.code != ExitViolations {
		t.Errorf("check with the exported built-ins:\n%s", r)
	}

	r = run(t, nil, "", "policy", "export", "--offline", priv.ID)
	one, err := policy.Parse("stdout", []byte(r.stdout))
	if r.code != ExitOK || err != nil || len(one) != 1 || one[0].Name != priv.Name {
		t.Errorf("export by id: %v\n%s", err, r)
	}
}

func TestVersionAndCompletion(t *testing.T) {
	r := run(t, nil, "", "version")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "stockade dev\ncommit:  dev\nbuilt:   dev\n") {
		t.Errorf("%s", r)
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := run(t, nil, "", "completion", shell)
		if r.code != ExitOK || !strings.Contains(r.stdout, "stockade") || len(r.stdout) < 500 {
			t.Errorf("completion %s:\n%s", shell, r)
		}
	}
	// Dynamic completion of the output formats.
	r = run(t, nil, "", "__complete", "deployment", "check", "-o", "")
	if r.code != ExitOK || !strings.Contains(r.stdout, "sarif\n") || !strings.Contains(r.stdout, "junit\n") {
		t.Errorf("__complete:\n%s", r)
	}
}

// TestJoinAndLocate covers what a check through Central does with the
// inputs: the joined YAML, parsed as Central parses it and checked with the
// same engine, gives results that locate back to the local files.
func TestJoinAndLocate(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a/pod.yaml", privilegedPod)
	writeFile(t, dir, "a/.hidden/skip.yaml", "not: [valid")
	writeFile(t, dir, "b/deploy.json", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"j","namespace":"tools"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"nginx","securityContext":{"privileged":true}}]}}}}`)
	writeFile(t, dir, "b/notes.txt", "ignored")
	stdin := []byte("\xef\xbb\xbf" + strings.Replace(privilegedPod, "name: debug", "name: from-stdin", 1))
	paths := []string{dir, "-"}

	local, err := manifest.Load(context.Background(), paths, bytes.NewReader(stdin))
	if err != nil {
		t.Fatal(err)
	}
	joined, err := joinManifests(paths, stdin)
	if err != nil {
		t.Fatal(err)
	}
	remote, err := manifest.Parse("yaml", []byte(joined))
	if err != nil {
		t.Fatalf("joined YAML does not parse: %v\n%s", err, joined)
	}
	if len(remote.Deployments) != 3 || len(local.Deployments) != 3 {
		t.Fatalf("deployments: joined %d, local %d, want 3", len(remote.Deployments), len(local.Deployments))
	}
	ps, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		t.Fatal(err)
	}
	report := deploycheck.Check(remote.Deployments, set, time.Now())
	// What crosses the wire carries no source.
	var wire bytes.Buffer
	if err := deploycheck.WriteJSON(&wire, report); err != nil {
		t.Fatal(err)
	}
	received := decodeReport(t, wire.String())
	locate(&received, local.Deployments)
	got := map[string]string{}
	for _, res := range received.Results {
		got[res.Metadata.AdditionalInfo.Name] = deploycheck.SourceName(res)
	}
	want := map[string]string{
		"debug":      filepath.Join(dir, "a", "pod.yaml") + ":1",
		"j":          filepath.Join(dir, "b", "deploy.json") + ":1",
		"from-stdin": "stdin:1",
	}
	for name, src := range want {
		if got[name] != src {
			t.Errorf("%s located at %q, want %q", name, got[name], src)
		}
	}
}
