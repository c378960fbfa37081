package watch

import (
	"io"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/stockade-dev/stockade/internal/workload"
)

func mustImage(t *testing.T, raw string) workload.Image {
	t.Helper()
	img, err := workload.ParseImage(raw)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestReportedDigest(t *testing.T) {
	dg := digestOf("ab")
	for _, tc := range []struct {
		name         string
		spec         string
		status, id   string
		want         string
		wantNoDigest bool
	}{
		{name: "containerd", spec: "nginx:1.27", status: "docker.io/library/nginx:1.27", id: "docker.io/library/nginx@" + dg, want: dg},
		{name: "dockershim", spec: "nginx:1.27", status: "nginx:1.27", id: "docker-pullable://nginx@" + dg, want: dg},
		{name: "status is an image id", spec: "quay.io/acme/api:2", status: "sha256:" + digestOf("cd")[7:], id: "quay.io/acme/api@" + dg, want: dg},
		{name: "local image id only", spec: "nginx:1.27", status: "docker.io/library/nginx:1.27", id: "sha256:" + digestOf("cd")[7:], wantNoDigest: true},
		{name: "pod runs the previous tag", spec: "nginx:1.28", status: "docker.io/library/nginx:1.27", id: "docker.io/library/nginx@" + dg, wantNoDigest: true},
		{name: "another repository", spec: "nginx:1.27", status: "docker.io/library/httpd:2", id: "docker.io/library/httpd@" + dg, wantNoDigest: true},
		{name: "malformed digest", spec: "nginx:1.27", status: "nginx:1.27", id: "docker.io/library/nginx@sha256:xyz", wantNoDigest: true},
		{name: "empty", spec: "nginx:1.27", wantNoDigest: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &corev1.ContainerStatus{Name: "c", Image: tc.status, ImageID: tc.id}
			got := reportedDigest(st, mustImage(t, tc.spec))
			if tc.wantNoDigest {
				tc.want = ""
			}
			if got != tc.want {
				t.Errorf("reportedDigest(%q, %q) = %q, want %q", tc.status, tc.id, got, tc.want)
			}
		})
	}
}

func TestFillDigests(t *testing.T) {
	older, newer := digestOf("01"), digestOf("02")
	pod := func(name string, age time.Duration, digest string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(1e9, 0).Add(-age))},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", Image: "docker.io/library/nginx:latest", ImageID: "docker.io/library/nginx@" + digest},
			}},
		}
	}
	dep := func(image string) *workload.Deployment {
		return &workload.Deployment{Containers: []workload.Container{{Name: "app", Image: mustImage(t, image)}}}
	}

	d := dep("nginx")
	fillDigests(d, []*corev1.Pod{pod("a", time.Hour, older), pod("b", time.Minute, newer)}, nil)
	if got := d.Containers[0].Image.Digest; got != newer {
		t.Errorf("without history: digest %s, want the newest pod's %s", got, newer)
	}
	prev := dep("nginx")
	prev.Containers[0].Image.Digest = older
	d = dep("nginx")
	fillDigests(d, []*corev1.Pod{pod("a", time.Hour, older), pod("b", time.Minute, newer)}, prev)
	if got := d.Containers[0].Image.Digest; got != older {
		t.Errorf("a pod still reports the emitted digest: %s, want it kept (%s)", got, older)
	}
	d = dep("nginx")
	fillDigests(d, nil, prev)
	if got := d.Containers[0].Image.Digest; got != older {
		t.Errorf("no pods: %s, want the emitted %s", got, older)
	}
	d = dep("nginx")
	fillDigests(d, []*corev1.Pod{pod("b", time.Minute, newer)}, prev)
	if got := d.Containers[0].Image.Digest; got != newer {
		t.Errorf("every pod moved on: %s, want %s", got, newer)
	}
	d = dep("nginx:1.28")
	fillDigests(d, nil, prev)
	if got := d.Containers[0].Image.Digest; got != "" {
		t.Errorf("the image changed: kept digest %s", got)
	}
	pinned := "nginx@" + digestOf("ff")
	d = dep(pinned)
	fillDigests(d, []*corev1.Pod{pod("b", time.Minute, newer)}, nil)
	if got := d.Containers[0].Image.Digest; got != digestOf("ff") {
		t.Errorf("a pinned image's digest changed to %s", got)
	}
}

func TestStrip(t *testing.T) {
	yes := true
	newPod := func() *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: "web-1", Namespace: "shop",
				Annotations:     map[string]string{lastApplied: "{}"},
				ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", Controller: &yes}},
			},
			Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app", Image: "nginx", Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}},
			Status: corev1.PodStatus{
				Phase:             corev1.PodRunning,
				Conditions:        []corev1.PodCondition{{Type: corev1.PodReady}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Image: "nginx", ImageID: "x@y", RestartCount: 3}},
			},
		}
	}
	out, err := strip(newPod())
	if err != nil {
		t.Fatal(err)
	}
	p := out.(*corev1.Pod)
	if p.Annotations != nil || p.ManagedFields != nil || len(p.Spec.Containers) != 0 || p.Spec.NodeName != "n1" ||
		p.Status.Conditions != nil || p.Status.Phase != corev1.PodRunning ||
		!reflect.DeepEqual(p.Status.ContainerStatuses, []corev1.ContainerStatus{{Name: "app", Image: "nginx", ImageID: "x@y"}}) {
		t.Errorf("owned pod after strip = %+v", p)
	}
	again, _ := strip(p.DeepCopy())
	if !equalPods(again.(*corev1.Pod), p) {
		t.Error("strip is not idempotent")
	}

	// A bare pod is a workload: its spec stays. An owner that is not a
	// workload kind (a Node, for a static pod) does not make it controlled.
	bare := newPod()
	bare.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "n1", Controller: &yes}}
	bare.Annotations = map[string]string{lastApplied: "{}", "team": "x"}
	out, _ = strip(bare)
	if p := out.(*corev1.Pod); len(p.Spec.Containers) != 1 || len(p.Status.Conditions) != 1 || !maps.Equal(p.Annotations, map[string]string{"team": "x"}) {
		t.Errorf("bare pod after strip = %+v", p)
	}

	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Controller: &yes}}},
		Spec:       appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}},
	}
	out, _ = strip(rs)
	if len(out.(*appsv1.ReplicaSet).Spec.Template.Spec.Containers) != 0 {
		t.Error("a controlled ReplicaSet keeps its pod template")
	}
	node := &corev1.Node{Status: corev1.NodeStatus{Images: []corev1.ContainerImage{{Names: []string{"a"}}}}}
	out, _ = strip(node)
	if out.(*corev1.Node).Status.Images != nil {
		t.Error("a node keeps its image list")
	}
}

func equalPods(a, b *corev1.Pod) bool {
	return a.Spec.NodeName == b.Spec.NodeName && len(a.Spec.Containers) == len(b.Spec.Containers) &&
		reflect.DeepEqual(a.Status.ContainerStatuses, b.Status.ContainerStatuses) && maps.Equal(a.Annotations, b.Annotations)
}

// TestOpenShiftConversion feeds the dynamic informers' transforms an object
// whose fields have the wrong types: it keeps its metadata, logs, and does
// not fail the informer.
func TestOpenShiftConversion(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bad := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
		"metadata": map[string]any{"name": "x", "namespace": "ns", "uid": "u1",
			"annotations": map[string]any{lastApplied: "{}"}},
		"spec": map[string]any{"replicas": "three", "template": 7},
	}}
	out, err := toDeploymentConfig(log)(bad)
	if err != nil {
		t.Fatal(err)
	}
	dc, ok := out.(*workload.DeploymentConfig)
	if !ok || dc.Name != "x" || dc.Namespace != "ns" || dc.UID != "u1" || dc.Spec.Template != nil || dc.Annotations != nil {
		t.Fatalf("converted = %#v", out)
	}
	good := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "route.openshift.io/v1", "kind": "Route",
		"metadata": map[string]any{"name": "r", "namespace": "ns"},
		"spec":     map[string]any{"to": map[string]any{"kind": "Service", "name": "web"}, "port": map[string]any{"targetPort": 8080}},
	}}
	out, err = toRoute(log)(good)
	if err != nil {
		t.Fatal(err)
	}
	if rt, ok := out.(*workload.Route); !ok || rt.Spec.To.Name != "web" || rt.Spec.Port == nil || rt.Spec.Port.TargetPort.IntValue() != 8080 {
		t.Fatalf("route = %#v", out)
	}
	// The transform is idempotent on what it already converted.
	if again, err := toRoute(log)(out); err != nil || again != out {
		t.Fatalf("second transform = %#v, %v", again, err)
	}
}

func TestScopeOf(t *testing.T) {
	crb := func(subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{Subjects: subjects}
	}
	for _, tc := range []struct {
		name    string
		obj     any
		all     bool
		wantNss []string
	}{
		{"service", &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop"}}, false, []string{"shop"}},
		{"cluster role", &rbacv1.ClusterRole{}, true, nil},
		{"binding to accounts", crb(
			rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "a", Name: "x"},
			rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:serviceaccount:b:y"},
			rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts:c"},
			rbacv1.Subject{Kind: rbacv1.UserKind, Name: "alice"},
		), false, []string{"a", "b", "c"}},
		{"binding to every account", crb(rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts"}), true, nil},
		{"binding to the authenticated", crb(rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:authenticated"}), true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nss := map[string]struct{}{}
			all := scopeOf(tc.obj, nss)
			got := slices.Sorted(maps.Keys(nss))
			if all != tc.all || (!all && !slices.Equal(got, tc.wantNss)) {
				t.Errorf("scopeOf = %v %v, want %v %v", all, got, tc.all, tc.wantNss)
			}
		})
	}
}

// TestContextChangeQueuesAffectedDeployments checks which emitted
// deployments a Context change puts back in the queue.
func TestContextChangeQueuesAffectedDeployments(t *testing.T) {
	w, err := New(&rest.Config{Host: "https://127.0.0.1:1"}, Config{Sink: newRecorder()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.queue.ShutDown()
	inA := ref{kind: workload.KindDeployment, namespace: "a", name: "web"}
	inA2 := ref{kind: workload.KindPod, namespace: "a", name: "solo"}
	inB := ref{kind: workload.KindDeployment, namespace: "b", name: "api"}
	for _, r := range []ref{inA, inA2, inB} {
		w.remember(r, &workload.Deployment{ID: r.String()}, "h")
	}
	queued := func() []string {
		var out []string
		for w.queue.Len() > 0 {
			r, _ := w.queue.Get()
			out = append(out, r.String())
			w.queue.Done(r)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		name     string
		old, new any
		want     []ref
	}{
		{"service in a", nil, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web"}}, []ref{inA, inA2}},
		{"role binding in b", nil, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "edit"}}, []ref{inB}},
		{"service deleted in c", &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "c", Name: "x"}}, nil, nil},
		{"cluster role binding moved from a to b", &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "crb"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "a", Name: "default"}},
		}, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "crb"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "b", Name: "default"}},
		}, []ref{inA, inA2, inB}},
		{"cluster role", nil, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "view"}}, []ref{inA, inA2, inB}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.contextChanged(tc.old, tc.new)
			var want []string
			for _, r := range tc.want {
				want = append(want, r.String())
			}
			slices.Sort(want)
			if got := queued(); !slices.Equal(got, want) {
				t.Errorf("queued %v, want %v", got, want)
			}
		})
	}
}
