package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/shareddata"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

func TestACSPoliciesImportValidateRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(shareddata.Dir(t), "stackrox-policies", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 89 {
		t.Fatalf("found %d ACS policy files, want 89", len(files))
	}
	var all []*policy.Policy
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := policy.Parse(filepath.Base(f), data)
		if err != nil {
			t.Errorf("import %s: %v", filepath.Base(f), err)
			continue
		}
		if len(ps) != 1 {
			t.Errorf("%s: got %d policies, want 1", filepath.Base(f), len(ps))
		}
		for _, p := range ps {
			if err := policy.Validate(p); err != nil {
				t.Errorf("%s: %v", filepath.Base(f), err)
			}
			c, err := policy.Compile(p)
			if err != nil {
				t.Errorf("%s: compile: %v", filepath.Base(f), err)
				continue
			}
			// Evaluation must never crash, whatever data the policy needs.
			_ = c.MatchDeployment(&workload.Deployment{Name: "x", Containers: []workload.Container{{Name: "c"}}})
			if !c.Evaluable() && len(c.NeedsData()) == 0 {
				t.Errorf("%s: not evaluable from a deployment but names no missing data", p.Name)
			}
		}
		all = append(all, ps...)
	}
	exported, err := policy.Export(all)
	if err != nil {
		t.Fatal(err)
	}
	back, err := policy.Parse("export.json", exported)
	if err != nil {
		t.Fatalf("re-import export: %v", err)
	}
	if !reflect.DeepEqual(all, back) {
		for i := range all {
			if i < len(back) && !reflect.DeepEqual(all[i], back[i]) {
				t.Errorf("policy %q changed in the round trip:\n%+v\n%+v", all[i].Name, all[i], back[i])
			}
		}
		t.Fatalf("round trip changed the policies (%d → %d)", len(all), len(back))
	}
	// YAML with the same fields imports to the same policies.
	if _, err := policy.Parse("x.yaml", []byte("policies:\n  - name: a\n    severity: LOW_SEVERITY\n    lifecycleStages: [DEPLOY]\n    policySections:\n      - policyGroups:\n          - fieldName: Host PID\n            values: [{value: \"true\"}]\n")); err != nil {
		t.Fatalf("YAML export form: %v", err)
	}
}

func loadACS(t testing.TB) []*policy.Policy {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(shareddata.Dir(t), "stackrox-policies", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*policy.Policy
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := policy.Parse(filepath.Base(f), data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ps...)
	}
	return out
}

func TestACSPoliciesNeedData(t *testing.T) {
	cases := map[string]string{
		"log4shell.json":             "image",
		"exec-apt.json":              "runtime",
		"access_central_secret.json": "audit log",
		"network_baseline.json":      "runtime",
		"cvss_6_privileged.json":     "image",
	}
	for file, need := range cases {
		data, err := os.ReadFile(filepath.Join(shareddata.Dir(t), "stackrox-policies", file))
		if err != nil {
			t.Fatal(err)
		}
		ps, err := policy.Parse(file, data)
		if err != nil {
			t.Fatal(err)
		}
		c, err := policy.Compile(ps[0])
		if err != nil {
			t.Fatal(err)
		}
		if got := c.NeedsData(); len(got) == 0 || got[0] != need {
			t.Errorf("%s: NeedsData() = %v, want [%s]", file, got, need)
		}
		if got := policy.DataNeeded(ps[0]); len(got) == 0 || got[0] != need {
			t.Errorf("%s: DataNeeded() = %v, want [%s]", file, got, need)
		}
	}
}

func TestParseForms(t *testing.T) {
	one := `{"name":"p","severity":"LOW_SEVERITY","lifecycleStages":["DEPLOY"],"policySections":[{"policyGroups":[{"fieldName":"Host IPC","values":[{"value":"true"}]}]}]}`
	for name, doc := range map[string]string{
		"single":    one,
		"list":      "[" + one + "," + strings.Replace(one, `"p"`, `"q"`, 1) + "]",
		"wrapped":   `{"policies":[` + one + `]}`,
		"yaml list": "# policies\n- name: p\n  severity: LOW_SEVERITY\n  lifecycleStages: [DEPLOY]\n  policySections:\n  - policyGroups:\n    - fieldName: Host IPC\n      values: [{value: \"true\"}]\n",
		"yaml":      "name: p\nseverity: LOW_SEVERITY\nlifecycleStages: [DEPLOY]\npolicySections:\n- policyGroups:\n  - fieldName: Host IPC\n    values:\n    - value: \"true\"\n",
	} {
		ps, err := policy.Parse(name, []byte(doc))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if ps[0].Name != "p" || ps[0].PolicySections[0].PolicyGroups[0].FieldName != "Host IPC" {
			t.Errorf("%s: parsed %+v", name, ps[0])
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unknown field", `{"name":"p","severity":"LOW_SEVERITY","bogus":1}`, `unknown field "bogus"`},
		{"syntax", "{\n\"name\": \"p\",\n\"severity\": }", "bad.json:3"},
		{"wrong type", `{"name": 5}`, "field name"},
		{"yaml unknown", "name: p\nseverty: LOW_SEVERITY\n", "line 2"},
		{"empty", "  \n", "empty document"},
		{"yaml wrapped unknown", "policies:\n  - name: p\n    severity: LOW_SEVERITY\n    colour: red\n", "line 4: field colour not found"},
		{"no policies", `{"policies": []}`, "no policies"},
	}
	for _, c := range cases {
		_, err := policy.Parse("bad.json", []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got error %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

func TestValidateFieldPaths(t *testing.T) {
	base := func() *policy.Policy {
		return &policy.Policy{
			Name: "p", Severity: policy.SeverityHigh, LifecycleStages: []policy.LifecycleStage{policy.StageDeploy},
			PolicySections: []policy.PolicySection{{PolicyGroups: []policy.PolicyGroup{{FieldName: "Privileged Container", Values: []policy.PolicyValue{{Value: "true"}}}}}},
		}
	}
	cases := []struct {
		name   string
		mutate func(p *policy.Policy)
		path   string
	}{
		{"no severity", func(p *policy.Policy) { p.Severity = "" }, "severity"},
		{"bad severity", func(p *policy.Policy) { p.Severity = "URGENT" }, "severity"},
		{"no name", func(p *policy.Policy) { p.Name = " " }, "name"},
		{"no stages", func(p *policy.Policy) { p.LifecycleStages = nil }, "lifecycleStages"},
		{"deploy with event source", func(p *policy.Policy) { p.EventSource = policy.EventSourceDeployment }, "eventSource"},
		{"runtime without event source", func(p *policy.Policy) {
			p.LifecycleStages = []policy.LifecycleStage{policy.StageRuntime}
			p.PolicySections[0].PolicyGroups[0] = policy.PolicyGroup{FieldName: "Process Name", Values: []policy.PolicyValue{{Value: "sh"}}}
		}, "eventSource"},
		{"enforcement stage", func(p *policy.Policy) { p.EnforcementActions = []policy.EnforcementAction{policy.EnforceFailBuild} }, "enforcementActions[0]"},
		{"unknown field", func(p *policy.Policy) { p.PolicySections[0].PolicyGroups[0].FieldName = "Privileged" }, "policySections[0].policyGroups[0].fieldName"},
		{"duplicate field", func(p *policy.Policy) {
			p.PolicySections[0].PolicyGroups = append(p.PolicySections[0].PolicyGroups, p.PolicySections[0].PolicyGroups[0])
		}, "policySections[0].policyGroups[1].fieldName"},
		{"bad bool", func(p *policy.Policy) { p.PolicySections[0].PolicyGroups[0].Values[0].Value = "yes" }, "policySections[0].policyGroups[0].values[0].value"},
		{"negate not allowed", func(p *policy.Policy) { p.PolicySections[0].PolicyGroups[0].Negate = true }, "policySections[0].policyGroups[0].negate"},
		{"bad regex", func(p *policy.Policy) {
			p.PolicySections[0].PolicyGroups[0] = policy.PolicyGroup{FieldName: "Container Name", Values: []policy.PolicyValue{{Value: "a(b"}}}
		}, "policySections[0].policyGroups[0].values[0].value"},
		{"bad comparator", func(p *policy.Policy) {
			p.PolicySections[0].PolicyGroups[0] = policy.PolicyGroup{FieldName: "Container CPU Request", Values: []policy.PolicyValue{{Value: ">> 1"}}}
		}, "policySections[0].policyGroups[0].values[0].value"},
		{"deploy field in build", func(p *policy.Policy) { p.LifecycleStages = []policy.LifecycleStage{policy.StageBuild} }, "policySections[0].policyGroups[0].fieldName"},
		{"empty section", func(p *policy.Policy) { p.PolicySections[0].PolicyGroups = nil }, "policySections[0].policyGroups"},
		{"bad expiration", func(p *policy.Policy) {
			p.Exclusions = []policy.Exclusion{{Deployment: &policy.ExclusionDeployment{Name: "x"}, Expiration: "tomorrow"}}
		}, "exclusions[0].expiration"},
	}
	if err := policy.Validate(base()); err != nil {
		t.Fatalf("base policy invalid: %v", err)
	}
	for _, c := range cases {
		p := base()
		c.mutate(p)
		err := policy.Validate(p)
		var ve *policy.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: got %v, want a *ValidationError", c.name, err)
			continue
		}
		found := false
		for _, fe := range ve.Errors {
			if fe.Path == c.path {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: errors %v do not name %s", c.name, ve.Errors, c.path)
		}
	}
}
