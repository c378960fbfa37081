package manifest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/workload"
)

func load(t *testing.T, paths ...string) *Result {
	t.Helper()
	res, err := Load(context.Background(), paths, nil)
	if err != nil {
		t.Fatalf("Load(%v): %v", paths, err)
	}
	return res
}

func byName(t *testing.T, res *Result, name string) *workload.Deployment {
	t.Helper()
	for _, d := range res.Deployments {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no workload %q", name)
	return nil
}

func TestMultiDocument(t *testing.T) {
	res := load(t, "testdata/multi.yaml")
	var got []string
	for _, d := range res.Deployments {
		got = append(got, fmt.Sprintf("%s %s/%s %s:%d", d.Kind, d.Namespace, d.Name, d.Source.File, d.Source.Line))
	}
	want := []string{
		"Deployment default/first testdata/multi.yaml:3",
		"Pod tools/second testdata/multi.yaml:25",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("workloads\n got %q\nwant %q", got, want)
	}
	wantIgnored := []Ignored{{Source: workload.Source{File: "testdata/multi.yaml", Line: 18}, Kind: "ConfigMap", Name: "settings", Reason: ReasonNotWorkload}}
	if !reflect.DeepEqual(res.Ignored, wantIgnored) {
		t.Errorf("ignored %+v, want %+v", res.Ignored, wantIgnored)
	}
	if res.Objects != 3 {
		t.Errorf("objects %d, want 3 (empty documents do not count)", res.Objects)
	}
}

func TestListUnwrapping(t *testing.T) {
	res := load(t, "testdata/list.yaml")
	if len(res.Deployments) != 2 {
		t.Fatalf("%d workloads, want 2", len(res.Deployments))
	}
	listed := byName(t, res, "listed")
	if listed.Source.Line != 4 {
		t.Errorf("item line %d, want 4", listed.Source.Line)
	}
	if e := listed.Containers[0].Ports[0].Exposures; len(e) != 1 || e[0].Level != workload.ExposureExternal {
		t.Errorf("the Service in the same List should expose the item: %+v", e)
	}
	typed := byName(t, res, "typed-item")
	if typed.Kind != workload.KindDeployment || typed.Source.Line != 29 {
		t.Errorf("DeploymentList item: kind %q line %d", typed.Kind, typed.Source.Line)
	}
	if len(res.Ignored) != 1 || res.Ignored[0].Kind != "Secret" || res.Ignored[0].Name != "nested-secret" {
		t.Errorf("nested List item: %+v", res.Ignored)
	}
	if res.Objects != 4 {
		t.Errorf("objects %d, want 4 (Lists are unwrapped, not counted)", res.Objects)
	}
}

func TestDirectoryAndContextAcrossFiles(t *testing.T) {
	res := load(t, "testdata/app")
	if len(res.Deployments) != 1 {
		t.Fatalf("workloads %d, want 1 (the .hidden directory is skipped)", len(res.Deployments))
	}
	d := res.Deployments[0]
	if d.Source.File != filepath.Join("testdata", "app", "deploy.yaml") || d.Source.Line != 1 {
		t.Errorf("source %+v", d.Source)
	}
	want := []workload.Exposure{{Level: workload.ExposureNode, ServiceName: "api", ServicePort: 80, NodePort: 30080}}
	if got := d.Containers[0].Ports[0].Exposures; !reflect.DeepEqual(got, want) {
		t.Errorf("a Service in another file should expose the port: %+v", got)
	}
	if !d.HasIngressNetworkPolicy || !d.HasEgressNetworkPolicy {
		t.Error("the NetworkPolicy from the JSON file should cover the pods")
	}
	if d.RBAC != workload.PermissionElevatedInNamespace {
		t.Errorf("RBAC %v, want ELEVATED_IN_NAMESPACE from the JSON RoleBinding", d.RBAC)
	}
	if res.Objects != 4 {
		t.Errorf("objects %d, want 4", res.Objects)
	}
}

func TestStdin(t *testing.T) {
	data, err := os.ReadFile("testdata/multi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Load(context.Background(), []string{"testdata/list.yaml", Stdin}, strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	last := res.Deployments[len(res.Deployments)-1]
	if len(res.Deployments) != 4 || last.Name != "second" || last.Source.File != "-" || last.Source.Line != 25 {
		t.Errorf("got %d workloads, last %s at %+v", len(res.Deployments), last.Name, last.Source)
	}
	if _, err := Load(context.Background(), []string{Stdin, Stdin}, strings.NewReader("")); err == nil {
		t.Error("stdin twice: want an error")
	}
	if _, err := Load(context.Background(), []string{Stdin}, nil); err == nil {
		t.Error("no stdin: want an error")
	}
}

func TestErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		file string
		line int
		msg  string
	}{
		{"testdata/bad/syntax.yaml", 12, "found unexpected end of stream"},
		{"testdata/bad/wrongtype.yaml", 10, `spec.containers[0].ports[0].containerPort: expected an integer, got "http"`},
		{"testdata/bad/bad.json", 5, "invalid character ']' looking for a JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(context.Background(), []string{"testdata/multi.yaml", tt.file}, nil)
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("error %v (%T), want *manifest.Error", err, err)
			}
			if me.File != tt.file || me.Line != tt.line || !strings.Contains(me.Err.Error(), tt.msg) {
				t.Errorf("got %s:%d %q, want %s:%d containing %q", me.File, me.Line, me.Err, tt.file, tt.line, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("%s:%d: ", tt.file, tt.line)) {
				t.Errorf("message %q does not start with file:line", err)
			}
		})
	}
}

func TestFirstErrorInInputOrder(t *testing.T) {
	for range 5 {
		_, err := Load(context.Background(), []string{"testdata/multi.yaml", "testdata/bad/wrongtype.yaml", "testdata/bad/syntax.yaml"}, nil)
		var me *Error
		if !errors.As(err, &me) || me.File != "testdata/bad/wrongtype.yaml" {
			t.Fatalf("error %v, want the one of wrongtype.yaml", err)
		}
	}
}

func TestMissingPath(t *testing.T) {
	_, err := Load(context.Background(), []string{"testdata/nope.yaml"}, nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want not-exist", err)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, []string{"testdata/multi.yaml"}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	d := byName(t, load(t, "testdata/anchors.yaml"), "anchored")
	if d.PodLabels["team"] != "a" {
		t.Errorf("aliased labels: %v", d.PodLabels)
	}
	one, two := d.Containers[0], d.Containers[1]
	if one.Name != "one" || !one.Privileged || *one.RunAsUser != 0 {
		t.Errorf("container one: %+v", one)
	}
	// The merge is shallow: two's own securityContext replaces one's whole.
	if two.Name != "two" || two.Image.FullName != "docker.io/library/nginx:1" || two.Privileged || *two.RunAsUser != 1000 {
		t.Errorf("container two: %+v", two)
	}
}

func TestLegacyIngressAndExtensionsDaemonSet(t *testing.T) {
	d := byName(t, load(t, "testdata/legacy-ingress.yaml"), "web")
	want := []workload.Exposure{
		{Level: workload.ExposureInternal, ServiceName: "web", ServicePort: 80},
		{Level: workload.ExposureExternal, ServiceName: "web", ServicePort: 80},
	}
	if d.Kind != workload.KindDaemonSet || !reflect.DeepEqual(d.Containers[0].Ports[0].Exposures, want) {
		t.Errorf("%s exposures %+v", d.Kind, d.Containers[0].Ports[0].Exposures)
	}
}

func TestParseAndOddDocuments(t *testing.T) {
	tests := []struct {
		name, data string
		workloads  int
		ignored    []string // Kind/Reason
		err        string
	}{
		{"empty", "", 0, nil, ""},
		{"only separators", "---\n---\n", 0, nil, ""},
		{"scalar document", "just text\n", 0, []string{"/" + ReasonNotObject}, ""},
		{"no kind", "metadata: {name: x}\n", 0, []string{"/" + ReasonNoKind}, ""},
		{"CRD", "apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: x}\n", 0, []string{"Deployment/" + ReasonNotWorkload}, ""},
		{"old core version", "apiVersion: v2\nkind: Pod\nmetadata: {name: x}\n", 0, []string{"Pod/" + ReasonNotWorkload}, ""},
		{"workload without name", "apiVersion: v1\nkind: Pod\nspec: {}\n", 0, []string{"Pod/normalize Pod: metadata.name is empty"}, ""},
		{"JSON list", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}]}`, 1, nil, ""},
		{"YAML flow mapping", "{apiVersion: v1, kind: Pod, metadata: {name: p}}\n", 1, nil, ""},
		{"kind of the wrong type", "apiVersion: v1\nkind: [Pod]\n", 0, nil, "req:2: kind: expected a string, got a list"},
		{"string field given a number", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {version: 1.0}\n", 0, nil, "req:5: metadata.labels.version: expected a string, got the number 1.0 (quote it)"},
		{"bad quantity", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    resources: {limits: {cpu: lots}}\n", 0, nil, "req:7: spec.containers[0].resources.limits.cpu: invalid quantity"},
		{"items not a list", "apiVersion: v1\nkind: List\nitems: {a: b}\n", 0, nil, "req:3: items: expected a list, got a mapping"},
		{"volume source placeholder is a warning", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - name: v\n    fc: {lun: '<LUN>'}\n", 1, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse("req", []byte(tt.data))
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("error %v, want one starting %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ignored []string
			for _, ig := range res.Ignored {
				ignored = append(ignored, ig.Kind+"/"+ig.Reason)
			}
			if len(res.Deployments) != tt.workloads || !reflect.DeepEqual(ignored, tt.ignored) {
				t.Errorf("%d workloads, ignored %q; want %d, %q", len(res.Deployments), ignored, tt.workloads, tt.ignored)
			}
		})
	}
}

func TestWarningForLenientField(t *testing.T) {
	res, err := Parse("req", []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - name: v\n    fc: {lun: '<LUN>', targetWWNs: [w1]}\n  containers: [{name: c, image: x, volumeMounts: [{name: v, mountPath: /v}]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Error() != `req:7: spec.volumes[0].fc.lun: expected an integer, got "<LUN>"` {
		t.Fatalf("warnings %v", res.Warnings)
	}
	if m := res.Deployments[0].Containers[0].Mounts[0]; m.Type != "FC" || m.Source != "w1" {
		t.Errorf("the volume with the dropped value: %+v", m)
	}
}

func TestLimits(t *testing.T) {
	deep := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nx: " + strings.Repeat("[", 150) + strings.Repeat("]", 150) + "\n"
	_, err := Parse("deep.yaml", []byte(deep))
	if !errors.Is(err, ErrTooDeep) || !strings.HasPrefix(err.Error(), "deep.yaml:4: ") {
		t.Errorf("deep YAML: %v", err)
	}
	_, err = Parse("deep.json", []byte(strings.Repeat(`{"a":`, 150)+"1"+strings.Repeat("}", 150)))
	if !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep JSON: %v", err)
	}

	for name, data := range map[string]string{
		"dashes.yaml":   strings.Repeat("- ", 1<<20) + "x\n",
		"brackets.yaml": "a: " + strings.Repeat("[", 1<<20) + "\n",
		"braces.json":   strings.Repeat(`{"a":`, 1<<20),
		"indents.yaml":  deepIndents(5000),
	} {
		if _, err := Parse(name, []byte(data)); err == nil || !strings.HasPrefix(err.Error(), name+":") {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}

	var bomb strings.Builder
	bomb.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: &a0 {k: v}\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&bomb, "  l%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				bomb.WriteString(", ")
			}
			fmt.Fprintf(&bomb, "*a%d", i-1)
		}
		bomb.WriteString("]\n")
	}
	bomb.WriteString("  managedFields: [{fieldsV1: *a9}]\n")
	_, err = Parse("bomb.yaml", []byte(bomb.String()))
	if !errors.Is(err, ErrExpansion) && !errors.Is(err, ErrTooDeep) {
		t.Errorf("alias bomb: %v", err)
	}

	big := make([]byte, MaxInputSize+1)
	_, err = Parse("big.yaml", big)
	var me *Error
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &me) || me.File != "big.yaml" {
		t.Errorf("big input: %v", err)
	}
	_, err = Load(context.Background(), []string{Stdin}, endless{})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("big stdin: %v", err)
	}
}

func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	res := load(t, dir)

	kinds := map[string]int{}
	for _, d := range res.Deployments {
		kinds[d.Kind]++
	}
	want := map[string]int{
		"Deployment": 165, "DeploymentConfig": 59, "Pod": 61, "ReplicationController": 38, "DaemonSet": 11,
		"Job": 8, "CronJob": 8, "StatefulSet": 7, "ReplicaSet": 5,
	}
	if !reflect.DeepEqual(kinds, want) || len(res.Deployments) != corpusWorkloads {
		t.Errorf("workloads by kind %v, want %v", kinds, want)
	}
	// 689 YAML documents, plus the four COUNTS.json files, which are JSON
	// but not Kubernetes objects.
	if res.Objects != 693 {
		t.Errorf("objects %d, want 693", res.Objects)
	}
	noKind := 0
	for _, ig := range res.Ignored {
		if ig.Reason == ReasonNoKind {
			noKind++
			if filepath.Ext(ig.Source.File) != ".json" {
				t.Errorf("unexpected kind-less object %+v", ig)
			}
		}
	}
	if noKind != 4 || len(res.Ignored) != 129 {
		t.Errorf("ignored %d (%d without kind), want 129 (4)", len(res.Ignored), noKind)
	}
	// The one wrong-typed value: a placeholder in a Fibre Channel volume.
	if len(res.Warnings) != 1 || !strings.HasSuffix(res.Warnings[0].File, "fibre_channel/fc.yaml") || res.Warnings[0].Line != 17 {
		t.Errorf("warnings %v", res.Warnings)
	}

	examples := func(rel string) []*workload.Deployment {
		var out []*workload.Deployment
		for _, d := range res.Deployments {
			if d.Source.File == filepath.Join(dir, "kubernetes-examples", rel) {
				out = append(out, d)
			}
		}
		if len(out) == 0 {
			t.Fatalf("no workload from %s", rel)
		}
		return out
	}
	sysdig := examples("_archived/sysdig-cloud/sysdig-daemonset.yaml")[0]
	if sysdig.Name != "sysdig-agent" || sysdig.Kind != "DaemonSet" || !sysdig.Containers[0].Privileged {
		t.Errorf("sysdig-agent: %s %s privileged=%v", sysdig.Kind, sysdig.Name, sysdig.Containers[0].Privileged)
	}
	hostPaths := map[string]string{}
	for _, m := range sysdig.Containers[0].Mounts {
		if m.Type == "HostPath" {
			hostPaths[m.Name] = m.Source
		}
	}
	if hostPaths["docker-sock"] != "/var/run/docker.sock" || hostPaths["proc-vol"] != "/proc" || len(hostPaths) != 6 {
		t.Errorf("sysdig-agent host paths %v", hostPaths)
	}

	privileged, hostPathVolumes := 0, 0
	for _, d := range res.Deployments {
		if !strings.Contains(d.Source.File, "kubernetes-examples") {
			continue
		}
		for _, c := range d.Containers {
			if c.Privileged {
				privileged++
			}
		}
	}
	for _, d := range examplesWorkloads(res) {
		hostPathVolumes += countHostPathVolumes(d)
	}
	if privileged != 8 {
		t.Errorf("%d privileged containers in kubernetes-examples, want 8 (README)", privileged)
	}
	if hostPathVolumes == 0 {
		t.Error("no hostPath mounts in kubernetes-examples")
	}

	// microservices-demo is hardened: every container refuses escalation.
	for _, d := range res.Deployments {
		if strings.Contains(d.Source.File, "microservices-demo") {
			for _, c := range d.Containers {
				if c.AllowPrivilegeEscalation {
					t.Errorf("%s/%s container %s allows privilege escalation", d.Source.File, d.Name, c.Name)
				}
			}
		}
	}
}

func examplesWorkloads(res *Result) []*workload.Deployment {
	var out []*workload.Deployment
	for _, d := range res.Deployments {
		if strings.Contains(d.Source.File, "kubernetes-examples") {
			out = append(out, d)
		}
	}
	return out
}

func countHostPathVolumes(d *workload.Deployment) int {
	seen := map[string]bool{}
	for _, c := range d.Containers {
		for _, m := range c.Mounts {
			if m.Type == "HostPath" {
				seen[m.Name] = true
			}
		}
	}
	return len(seen)
}

func TestDeterministicAcrossProcs(t *testing.T) {
	dir := corpusDir(t)
	ids := func() []string {
		var out []string
		for _, d := range load(t, dir).Deployments {
			out = append(out, d.ID+" "+d.Source.File)
		}
		return out
	}
	prev := runtime.GOMAXPROCS(1)
	one := ids()
	runtime.GOMAXPROCS(4)
	four := ids()
	runtime.GOMAXPROCS(prev)
	if !reflect.DeepEqual(one, four) {
		t.Error("the order of workloads depends on GOMAXPROCS")
	}
}

// endless reads as an infinite stream of spaces.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func deepIndents(depth int) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString(strings.Repeat(" ", i))
		b.WriteString("k:\n")
	}
	return b.String()
}
