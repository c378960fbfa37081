package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// web is a realistic, moderately hardened deployment used across tests.
func web() *workload.Deployment {
	return &workload.Deployment{
		ID: "d1", Name: "web", Namespace: "shop", Kind: "Deployment", Replicas: 3,
		Labels:         map[string]string{"app": "web", "team": "payments"},
		Annotations:    map[string]string{"email": "ops@example.com"},
		ServiceAccount: "default", AutomountServiceAccountToken: true,
		RBAC:                    workload.PermissionDefault,
		HasIngressNetworkPolicy: true,
		Containers: []workload.Container{
			{
				Name: "init-db", Init: true,
				Image:                    workload.Image{FullName: "docker.io/library/busybox:1.36", Registry: "docker.io", Remote: "library/busybox", Tag: "1.36"},
				AllowPrivilegeEscalation: true, SeccompProfileType: "UNCONFINED",
			},
			{
				Name:                   "nginx",
				Image:                  workload.Image{FullName: "docker.io/library/nginx:latest", Registry: "docker.io", Remote: "library/nginx", Tag: "latest"},
				ReadOnlyRootFilesystem: true, SeccompProfileType: "RUNTIME_DEFAULT",
				AddCapabilities: []string{"NET_BIND_SERVICE"}, DropCapabilities: []string{"ALL"},
				CPURequest: 0.25, CPULimit: 1, MemoryRequest: 128, MemoryLimit: 256,
				LivenessProbe: true, ReadinessProbe: true,
				Env: []workload.EnvVar{
					{Name: "DB_PASSWORD", Value: "hunter2", Source: workload.EnvRaw},
					{Name: "API_TOKEN", Source: workload.EnvSecretKey},
				},
				Ports: []workload.Port{
					{ContainerPort: 8080, Protocol: "TCP", Exposures: []workload.Exposure{{Level: workload.ExposureNode, ServiceName: "web", ServicePort: 80, NodePort: 30080}}},
					{ContainerPort: 22, Protocol: "TCP"},
				},
				Mounts: []workload.Mount{
					{Name: "sock", Destination: "/var/run/docker.sock", Type: "HostPath", Source: "/var/run/docker.sock"},
					{Name: "cfg", Destination: "/etc/nginx", Type: "ConfigMap", Source: "nginx-conf", ReadOnly: true},
				},
			},
			{
				Name:       "sidecar",
				Image:      workload.Image{FullName: "quay.io/acme/agent@sha256:abc", Registry: "quay.io", Remote: "acme/agent", Digest: "sha256:abc"},
				Privileged: true, AllowPrivilegeEscalation: true, SeccompProfileType: "UNCONFINED", AppArmorProfile: "unconfined",
				AddCapabilities: []string{"SYS_ADMIN", "NET_ADMIN"},
				Mounts:          []workload.Mount{{Name: "proc", Destination: "/host/proc", Type: "HostPath", Source: "/proc", ReadOnly: true, MountPropagation: "BIDIRECTIONAL"}},
			},
		},
	}
}

type grp struct {
	field  string
	values []string
	negate bool
	and    bool
}

func mkPolicy(sections ...[]grp) *policy.Policy {
	p := &policy.Policy{Name: "test", Severity: policy.SeverityHigh, LifecycleStages: []policy.LifecycleStage{policy.StageDeploy}}
	for _, s := range sections {
		var sec policy.PolicySection
		for _, g := range s {
			pg := policy.PolicyGroup{FieldName: g.field, Negate: g.negate}
			if g.and {
				pg.BooleanOperator = "AND"
			}
			for _, v := range g.values {
				pg.Values = append(pg.Values, policy.PolicyValue{Value: v})
			}
			sec.PolicyGroups = append(sec.PolicyGroups, pg)
		}
		p.PolicySections = append(p.PolicySections, sec)
	}
	return p
}

func TestMatchDeployment(t *testing.T) {
	cases := []struct {
		name     string
		sections [][]grp
		mutate   func(d *workload.Deployment)
		want     []string // substrings, one per expected violation, in order; nil = no violation
	}{
		{"privileged", [][]grp{{{field: "Privileged Container", values: []string{"true"}}}}, nil,
			[]string{"Container 'sidecar' is privileged"}},
		{"not privileged anywhere", [][]grp{{{field: "Privileged Container", values: []string{"true"}}}},
			func(d *workload.Deployment) { d.Containers[2].Privileged = false }, nil},
		{"host network false", [][]grp{{{field: "Host Network", values: []string{"true"}}}}, nil, nil},
		{"host pid", [][]grp{{{field: "Host PID", values: []string{"TRUE"}}}},
			func(d *workload.Deployment) { d.HostPID = true }, []string{"host's process ID namespace"}},
		{"same container: privileged AND latest tag", [][]grp{{
			{field: "Privileged Container", values: []string{"true"}},
			{field: "Image Tag", values: []string{"latest"}},
		}}, nil, nil},
		{"same container: caps AND name", [][]grp{{
			{field: "Add Capabilities", values: []string{"sys_admin"}},
			{field: "Container Name", values: []string{"side.*"}},
		}}, nil, []string{"adds capability SYS_ADMIN", "Container is named 'sidecar'"}},
		{"image tag regex case-insensitive anchored", [][]grp{{{field: "Image Tag", values: []string{"LATEST"}}}}, nil,
			[]string{"nginx:latest' with tag 'latest'"}},
		{"image tag partial does not match", [][]grp{{{field: "Image Tag", values: []string{"lat"}}}}, nil, nil},
		{"image remote r/ prefix", [][]grp{{{field: "Image Remote", values: []string{"r/.*acme/.*"}}}}, nil, []string{"repository 'acme/agent'"}},
		{"image registry negate", [][]grp{{{field: "Image Registry", values: []string{"docker.io"}, negate: true}}}, nil, []string{"from registry 'quay.io'"}},
		{"cpu request bare number equality", [][]grp{{{field: "Container CPU Request", values: []string{"0"}}}}, nil,
			[]string{"CPU request 0 for container 'init-db' (policy: 0)", "CPU request 0 for container 'sidecar'"}},
		{"memory limit comparator", [][]grp{{{field: "Container Memory Limit", values: []string{"> 200"}}}}, nil, []string{"Memory limit 256 MB for container 'nginx'"}},
		{"comparator AND", [][]grp{{{field: "Container CPU Limit", values: []string{">= 0.5", "< 2"}, and: true}}}, nil, []string{"CPU limit 1 for container 'nginx'"}},
		{"drop ALL missing", [][]grp{{{field: "Drop Capabilities", values: []string{"ALL"}}}}, nil,
			[]string{"'init-db' does not drop capability ALL", "'sidecar' does not drop capability ALL"}},
		{"drop NET_RAW satisfied by ALL", [][]grp{{{field: "Drop Capabilities", values: []string{"NET_RAW"}}, {field: "Container Name", values: []string{"nginx"}}}}, nil, nil},
		{"env raw secret name", [][]grp{{{field: "Environment Variable", values: []string{"RAW=.*SECRET.*|.*PASSWORD.*="}}}}, nil,
			[]string{"'DB_PASSWORD' is set to a literal value in container 'nginx'"}},
		{"env secret key any", [][]grp{{{field: "Environment Variable", values: []string{"SECRET_KEY=="}}}}, nil,
			[]string{"'API_TOKEN' is set from a secret"}},
		{"env raw value", [][]grp{{{field: "Environment Variable", values: []string{"RAW=DB_PASSWORD=hunt.*"}}}}, nil, []string{"DB_PASSWORD"}},
		{"env legacy form", [][]grp{{{field: "Environment Variable", values: []string{"API_TOKEN="}}}}, nil, []string{"API_TOKEN"}},
		{"volume source docker sock", [][]grp{{{field: "Volume Source", values: []string{"/var/run/docker.sock"}}}}, nil,
			[]string{"mounts host path '/var/run/docker.sock' read-write at '/var/run/docker.sock'"}},
		{"writable host mount", [][]grp{{{field: "Writable Host Mount", values: []string{"true"}}}}, nil, []string{"'/var/run/docker.sock' read-write"}},
		{"same mount: hostpath AND read-write", [][]grp{{{field: "Volume Source", values: []string{"/proc"}}, {field: "Writable Mounted Volume", values: []string{"true"}}}}, nil, nil},
		{"mount propagation", [][]grp{{{field: "Mount Propagation", values: []string{"BIDIRECTIONAL"}}}}, nil, []string{"with mount propagation BIDIRECTIONAL"}},
		{"volume type", [][]grp{{{field: "Volume Type", values: []string{"configmap"}}}}, nil, []string{"ConfigMap volume 'cfg' (nginx-conf) read-only"}},
		{"exposure method", [][]grp{{{field: "Port Exposure Method", values: []string{"ROUTE", "EXTERNAL", "NODE", "HOST"}}}}, nil,
			[]string{"port 8080/TCP is exposed on every node by service 'web' as node port 30080"}},
		{"exposed port 22", [][]grp{{{field: "Exposed Port", values: []string{"22"}}, {field: "Exposed Port Protocol", values: []string{"tcp"}}}}, nil,
			[]string{"port 22/TCP is declared and not exposed"}},
		{"node port range", [][]grp{{{field: "Exposed Node Port", values: []string{"<= 1024", "> 0"}, and: true}}}, nil, nil},
		{"node port high", [][]grp{{{field: "Exposed Node Port", values: []string{"> 30000"}}}}, nil, []string{"node port 30080"}},
		{"port exposure UNSET", [][]grp{{{field: "Port Exposure Method", values: []string{"UNSET"}}, {field: "Exposed Port", values: []string{"8080"}}}}, nil, nil},
		{"required label present", [][]grp{{{field: "Required Label", values: []string{"owner|team=.+"}}}}, nil, nil},
		{"required label missing", [][]grp{{{field: "Required Label", values: []string{"owner=.+"}}}}, nil, []string{"Required label not found (policy: owner=.+)"}},
		{"required annotation", [][]grp{{{field: "Required Annotation", values: []string{"email=[a-z.]+@[a-z.]+"}}}}, nil, nil},
		{"disallowed annotation", [][]grp{{{field: "Disallowed Annotation", values: []string{"admission.stackrox.io/break-glass="}}}},
			func(d *workload.Deployment) { d.Annotations["admission.stackrox.io/break-glass"] = "yes" },
			[]string{"Disallowed annotation found: admission.stackrox.io/break-glass=yes"}},
		{"automount default sa not kube-system", [][]grp{{
			{field: "Automount Service Account Token", values: []string{"true"}},
			{field: "Service Account", values: []string{"default"}},
			{field: "Namespace", values: []string{"kube-system"}, negate: true},
		}}, nil, []string{"mounts the service account token of 'default'", "service account 'default'", "namespace 'shop'"}},
		{"network policy missing", [][]grp{{{field: "Has Egress Network Policy", values: []string{"false"}}}}, nil, []string{"No egress network policy"}},
		{"network policy present", [][]grp{{{field: "Has Ingress Network Policy", values: []string{"false"}}}}, nil, nil},
		{"rbac at least", [][]grp{{{field: "Minimum RBAC Permissions", values: []string{"ELEVATED_CLUSTER_WIDE"}}}},
			func(d *workload.Deployment) { d.RBAC = workload.PermissionClusterAdmin }, []string{"has CLUSTER_ADMIN permissions"}},
		{"rbac below", [][]grp{{{field: "Minimum RBAC Permissions", values: []string{"ELEVATED_IN_NAMESPACE"}}}}, nil, nil},
		{"replicas", [][]grp{{{field: "Replicas", values: []string{"< 2"}}}}, func(d *workload.Deployment) { d.Replicas = 1 }, []string{"Deployment has 1 replicas"}},
		{"seccomp", [][]grp{{{field: "Seccomp Profile Type", values: []string{"unconfined"}}}}, nil, []string{"'init-db' has seccomp profile type UNCONFINED", "'sidecar'"}},
		{"apparmor", [][]grp{{{field: "AppArmor Profile", values: []string{"unconfined"}}}}, nil, []string{"'sidecar' has AppArmor profile 'unconfined'"}},
		{"probes", [][]grp{{{field: "Liveness Probe Defined", values: []string{"false"}}, {field: "Container Name", values: []string{"sidecar"}}}}, nil, []string{"has no liveness probe", "named 'sidecar'"}},
		{"read-only rootfs", [][]grp{{{field: "Read-Only Root Filesystem", values: []string{"false"}}}}, nil, []string{"'init-db' uses a read-write root filesystem", "'sidecar'"}},
		{"allow priv esc", [][]grp{{{field: "Allow Privilege Escalation", values: []string{"true"}}, {field: "Container Name", values: []string{"nginx"}}}}, nil, nil},
		{"runtime class unset", [][]grp{{{field: "Runtime Class", values: []string{"gvisor"}, negate: true}}}, nil, []string{"sets no runtime class"}},
		{"sections OR", [][]grp{
			{{field: "Host IPC", values: []string{"true"}}},
			{{field: "Container CPU Request", values: []string{"0.25"}}},
		}, nil, []string{"CPU request 0.25"}},
		{"image section skipped", [][]grp{{{field: "CVSS", values: []string{">= 7"}}, {field: "Privileged Container", values: []string{"true"}}}}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := web()
			if c.mutate != nil {
				c.mutate(d)
			}
			comp, err := policy.Compile(mkPolicy(c.sections...))
			if err != nil {
				t.Fatal(err)
			}
			got := comp.MatchDeployment(d)
			if len(got) != len(c.want) {
				t.Fatalf("got %d violations %v, want %d %q", len(got), got, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.Contains(got[i].Message, w) {
					t.Errorf("violation %d = %q, want it to contain %q", i, got[i].Message, w)
				}
			}
		})
	}
}

func TestScopeAndExclusions(t *testing.T) {
	p := mkPolicy([]grp{{field: "Privileged Container", values: []string{"true"}}})
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		scope   []policy.Scope
		excl    []policy.Exclusion
		applies bool
	}{
		{"no scope", nil, nil, true},
		{"namespace scope in", []policy.Scope{{Namespace: "sh.*"}}, nil, true},
		{"namespace scope out", []policy.Scope{{Namespace: "kube-system"}}, nil, false},
		{"label scope", []policy.Scope{{Label: &policy.ScopeLabel{Key: "team", Value: "pay.*"}}}, nil, true},
		{"label scope out", []policy.Scope{{Label: &policy.ScopeLabel{Key: "team", Value: "infra"}}}, nil, false},
		{"excluded by name", nil, []policy.Exclusion{{Deployment: &policy.ExclusionDeployment{Name: "web"}}}, false},
		{"excluded by name and scope", nil, []policy.Exclusion{{Deployment: &policy.ExclusionDeployment{Name: "web", Scope: &policy.Scope{Namespace: "shop"}}}}, false},
		{"exclusion other namespace", nil, []policy.Exclusion{{Deployment: &policy.ExclusionDeployment{Name: "web", Scope: &policy.Scope{Namespace: "other"}}}}, true},
		{"expired exclusion", nil, []policy.Exclusion{{Deployment: &policy.ExclusionDeployment{Name: "web"}, Expiration: "2026-10-01T00:00:00Z"}}, true},
		{"live exclusion", nil, []policy.Exclusion{{Deployment: &policy.ExclusionDeployment{Name: "web"}, Expiration: "2027-01-01T00:00:00Z"}}, false},
		{"image exclusion only", nil, []policy.Exclusion{{Image: &policy.ExclusionImage{Name: "quay.io/acme"}}}, true},
	}
	for _, c := range cases {
		pp := *p
		pp.Scope, pp.Exclusions = c.scope, c.excl
		comp, err := policy.Compile(&pp)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := comp.AppliesTo(web(), now); got != c.applies {
			t.Errorf("%s: AppliesTo = %v, want %v", c.name, got, c.applies)
		}
	}
}

func TestSetSkipsDisabledAndNonDeploy(t *testing.T) {
	on := mkPolicy([]grp{{field: "Privileged Container", values: []string{"true"}}})
	on.Name = "on"
	off := mkPolicy([]grp{{field: "Privileged Container", values: []string{"true"}}})
	off.Name, off.Disabled = "off", true
	build := mkPolicy([]grp{{field: "Image Tag", values: []string{"latest"}}})
	build.Name, build.LifecycleStages = "build", []policy.LifecycleStage{policy.StageBuild}
	s, err := policy.NewSet([]*policy.Policy{on, off, build})
	if err != nil {
		t.Fatal(err)
	}
	alerts := s.EvaluateDeployment(web(), time.Now())
	if len(alerts) != 1 || alerts[0].Policy.Policy.Name != "on" {
		t.Fatalf("alerts = %+v, want only 'on'", alerts)
	}
	bad := mkPolicy([]grp{{field: "Nope", values: []string{"x"}}})
	if _, err := policy.NewSet([]*policy.Policy{on, bad}); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Fatalf("NewSet with an invalid policy: %v", err)
	}
}
