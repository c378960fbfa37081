package admission

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/shareddata"
)

func group(field string, negate bool, op string, values ...string) policy.PolicyGroup {
	g := policy.PolicyGroup{FieldName: field, Negate: negate, BooleanOperator: op}
	for _, v := range values {
		g.Values = append(g.Values, policy.PolicyValue{Value: v})
	}
	return g
}

func kubePolicyOf(t *testing.T, source policy.EventSource, sections ...[]policy.PolicyGroup) *kubePolicy {
	t.Helper()
	p := &policy.Policy{Name: "p", Severity: policy.SeverityHigh, LifecycleStages: []policy.LifecycleStage{policy.StageRuntime}, EventSource: source}
	for _, gs := range sections {
		p.PolicySections = append(p.PolicySections, policy.PolicySection{PolicyGroups: gs})
	}
	c, err := policy.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := compileKubePolicy(c)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func TestKubeEventMatching(t *testing.T) {
	exec := &kubeRequest{resource: PodsExec, user: "alice", groups: []string{"dev", "system:authenticated"}, pod: "web-7d9f"}
	attach := &kubeRequest{resource: PodsAttach, user: "bob", groups: []string{"ops"}, pod: "db-0"}
	res := func(vs ...string) policy.PolicyGroup { return group("Kubernetes Resource", false, "", vs...) }
	cases := []struct {
		name     string
		source   policy.EventSource
		sections [][]policy.PolicyGroup
		want     map[*kubeRequest]bool // nil: the policy does not apply to pod connections
	}{
		{"resource alone", policy.EventSourceDeployment,
			[][]policy.PolicyGroup{{res("PODS_EXEC")}}, map[*kubeRequest]bool{exec: true, attach: false}},
		{"values are OR'ed, case-insensitively", policy.EventSourceDeployment,
			[][]policy.PolicyGroup{{res("pods_attach", "PODS_EXEC")}}, map[*kubeRequest]bool{exec: true, attach: true}},
		{"user regex anchored and case-insensitive", policy.EventSourceAuditLog,
			[][]policy.PolicyGroup{{res("PODS_EXEC", "PODS_ATTACH"), group("Kubernetes User Name", false, "", "ALI.*")}},
			map[*kubeRequest]bool{exec: true, attach: false}},
		{"partial user name does not match", policy.EventSourceAuditLog,
			[][]policy.PolicyGroup{{res("PODS_EXEC"), group("Kubernetes User Name", false, "", "ali")}},
			map[*kubeRequest]bool{exec: false}},
		{"negated user", policy.EventSourceAuditLog,
			[][]policy.PolicyGroup{{res("PODS_EXEC", "PODS_ATTACH"), group("Kubernetes User Name", true, "", "alice")}},
			map[*kubeRequest]bool{exec: false, attach: true}},
		{"any group matches", policy.EventSourceAuditLog,
			[][]policy.PolicyGroup{{res("PODS_EXEC", "PODS_ATTACH"), group("Kubernetes User Groups", false, "", "dev")}},
			map[*kubeRequest]bool{exec: true, attach: false}},
		{"pod name (r/ prefix)", policy.EventSourceAuditLog,
			[][]policy.PolicyGroup{{res("PODS_EXEC", "PODS_ATTACH"), group("Kubernetes Resource Name", false, "", "r/db-\\d+")}},
			map[*kubeRequest]bool{exec: false, attach: true}},
		{"sections are OR'ed", policy.EventSourceAuditLog,
			[][]policy.PolicyGroup{{res("PODS_EXEC"), group("Kubernetes User Name", false, "", "nobody")}, {res("PODS_ATTACH")}},
			map[*kubeRequest]bool{exec: false, attach: true}},
		{"a section with a criterion a connection lacks is skipped", policy.EventSourceAuditLog,
			[][]policy.PolicyGroup{{res("PODS_EXEC"), group("User Agent", false, "", ".*")}, {res("PODS_ATTACH")}},
			map[*kubeRequest]bool{exec: false, attach: true}},
		{"other resources only", policy.EventSourceAuditLog,
			[][]policy.PolicyGroup{{res("SECRETS")}}, nil},
		{"process policies are not Kubernetes-event ones", policy.EventSourceDeployment,
			[][]policy.PolicyGroup{{group("Process Name", false, "", "sh")}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kp := kubePolicyOf(t, tc.source, tc.sections...)
			if tc.want == nil {
				if kp != nil {
					t.Fatalf("compiled %+v, want nil", kp)
				}
				return
			}
			if kp == nil {
				t.Fatal("not compiled")
			}
			for r, want := range tc.want {
				if got := kp.match(r); got != want {
					t.Errorf("%s by %s: match = %v, want %v", r.resource, r.user, got, want)
				}
			}
		})
	}
}

// Validation allows AND only on numeric criteria today; the matcher honours
// it all the same, as the engine does.
func TestTextGroupAnd(t *testing.T) {
	tg, err := compileTextGroup(group("Kubernetes User Groups", false, "AND", "dev", "system:.*"))
	if err != nil {
		t.Fatal(err)
	}
	if !tg.matchAny("dev", "system:authenticated") || tg.matchAny("dev", "ops") {
		t.Error("AND: want every value matched by some element")
	}
	tg.negate = true
	if tg.matchAny("dev", "system:authenticated") || !tg.matchAny("ops") {
		t.Error("negated AND")
	}
	if _, err := compileTextGroup(group("Kubernetes User Name", false, "", "a(")); err == nil {
		t.Error("a bad regular expression compiled")
	}
}

func TestKubePolicyGating(t *testing.T) {
	sec := []policy.PolicyGroup{group("Kubernetes Resource", false, "", "PODS_EXEC")}
	kp := kubePolicyOf(t, policy.EventSourceAuditLog, sec)
	if kp.enforce {
		t.Error("enforced without FAIL_KUBE_REQUEST_ENFORCEMENT")
	}
	p := &policy.Policy{Name: "p", Severity: policy.SeverityHigh, LifecycleStages: []policy.LifecycleStage{policy.StageRuntime},
		EventSource: policy.EventSourceDeployment, EnforcementActions: []policy.EnforcementAction{policy.EnforceFailKubeRequest},
		PolicySections: []policy.PolicySection{{PolicyGroups: sec}}}
	c, err := policy.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	if kp, _ := compileKubePolicy(c); kp == nil || !kp.enforce {
		t.Errorf("enforced policy: %+v", kp)
	}
	p.Disabled = true
	if kp, _ := compileKubePolicy(c); kp != nil {
		t.Error("a disabled policy was compiled")
	}
}

// The three StackRox policies on pod connections import unchanged and
// match what they name.
func TestStackRoxPodConnectionPolicies(t *testing.T) {
	for file, want := range map[string]KubeResource{"pod_exec.json": PodsExec, "pod_attach.json": PodsAttach, "pod_portforward.json": PodsPortForward} {
		b, err := os.ReadFile(shareddata.Path(t, "stackrox-policies", file))
		if err != nil {
			t.Fatal(err)
		}
		var p policy.Policy
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		c, err := policy.Compile(&p)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		kp, err := compileKubePolicy(c)
		if err != nil || kp == nil {
			t.Fatalf("%s: %v %v", file, kp, err)
		}
		for _, r := range []KubeResource{PodsExec, PodsAttach, PodsPortForward} {
			if got := kp.match(&kubeRequest{resource: r, user: "u", pod: "p"}); got != (r == want) {
				t.Errorf("%s on %s: %v", file, r, got)
			}
		}
	}
}
