package watch

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/stockade-dev/stockade/internal/k8stest"
	"github.com/stockade-dev/stockade/internal/workload"
)

// quiet is how long a test waits, after a barrier event, for an event that
// must not come. The barrier proves the watcher has seen the change; the
// wait covers a key the queue put back behind the barrier.
const quiet = 500 * time.Millisecond

func podTemplate(app, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:  "main",
			Image: image,
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		}}},
	}
}

func newDeployment(name, image string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": "blue"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, image),
		},
	}
}

// barrier creates a Deployment and waits for its CREATE: every change made
// before it has been seen by then.
func barrier(t *testing.T, cs kubernetes.Interface, rec *recorder, ns, name string) {
	t.Helper()
	from := rec.mark()
	if _, err := cs.AppsV1().Deployments(ns).Create(context.Background(), newDeployment(name, "busybox:1.36", 1), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create barrier %s: %v", name, err)
	}
	rec.next(t, ns, workload.KindDeployment, name, from)
	time.Sleep(quiet)
}

func TestDeploymentLifecycle(t *testing.T) {
	c := k8stest.Shared(t)
	ctx := context.Background()
	cs := clientset(t, c.RestConfig())
	ns := c.NewNamespace(t)
	// One worker: keys are processed in the order they were queued.
	_, rec := startWatcher(t, c.RestConfig(), 1)

	created, err := cs.AppsV1().Deployments(ns).Create(ctx, newDeployment("web", "nginx:1.27", 3), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev := rec.next(t, ns, workload.KindDeployment, "web", 0)
	d := ev.Deployment
	if ev.Action != ActionCreate || d.ID != string(created.UID) || d.ClusterName != testCluster || d.Replicas != 3 ||
		d.Labels["team"] != "blue" || d.PodLabels["app"] != "web" || len(d.Containers) != 1 ||
		d.Containers[0].Image.FullName != "docker.io/library/nginx:1.27" || len(ev.Hash) != 64 {
		t.Fatalf("create event = %s %+v hash %q", ev.Action, d, ev.Hash)
	}
	// The namespace's default service account exists, so the level is
	// whatever the cluster's bootstrap bindings give every account.
	t.Logf("a plain service account's RBAC level in this cluster: %s", d.RBAC)

	// A spec change Central sees.
	mark := rec.mark()
	cur, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
	if _, err := cs.AppsV1().Deployments(ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	up := rec.next(t, ns, workload.KindDeployment, "web", mark)
	if up.Action != ActionUpdate || up.Deployment.Containers[0].Image.Tag != "1.28" || up.Hash == ev.Hash || up.Deployment.ID != d.ID {
		t.Fatalf("update event = %s image %s hash %s (create hash %s)", up.Action, up.Deployment.Containers[0].Image.FullName, up.Hash, ev.Hash)
	}
	if d.Containers[0].Image.Tag != "1.27" {
		t.Errorf("the emitted CREATE deployment changed afterwards: image %s", d.Containers[0].Image.FullName)
	}

	// A spec change and a status change the model does not carry: no event.
	mark = rec.mark()
	cur, err = cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	limit := int32(3)
	cur.Spec.RevisionHistoryLimit = &limit
	cur.Spec.MinReadySeconds = 5
	if cur, err = cs.AppsV1().Deployments(ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cur.Status.ObservedGeneration = cur.Generation
	cur.Status.Replicas = 3
	if _, err := cs.AppsV1().Deployments(ns).UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	barrier(t, cs, rec, ns, "barrier-1")
	for _, ev := range rec.in(ns, mark) {
		if ev.Deployment.Name == "web" {
			t.Errorf("invisible change emitted %s (hash %s, before %s)", ev.Action, ev.Hash, up.Hash)
		}
	}

	// Deletion.
	mark = rec.mark()
	if err := cs.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rm := rec.next(t, ns, workload.KindDeployment, "web", mark)
	if rm.Action != ActionRemove || rm.Deployment.ID != d.ID || rm.Hash != up.Hash {
		t.Fatalf("delete event = %s id %s hash %s, want REMOVE %s %s", rm.Action, rm.Deployment.ID, rm.Hash, d.ID, up.Hash)
	}
}

// TestInitialSyncAndSnapshot starts a watcher on existing objects: Synced
// waits for their CREATEs, Snapshot returns the same state, and a second
// watcher computes the same hashes.
func TestInitialSyncAndSnapshot(t *testing.T) {
	c := k8stest.Shared(t)
	ctx := context.Background()
	cs := clientset(t, c.RestConfig())
	ns := c.NewNamespace(t)
	for _, name := range []string{"a", "b", "c"} {
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, newDeployment(name, "nginx:1.27", 1), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w, rec := startWatcher(t, c.RestConfig(), 0)
	// Synced means every workload present at start has been emitted.
	evs := rec.in(ns, 0)
	if len(evs) != 3 {
		t.Fatalf("at sync: %d events in %s, want 3 CREATEs:\n%s", len(evs), ns, describe(evs))
	}
	var snap []Event
	for _, ev := range w.Snapshot() {
		if ev.Deployment.Namespace == ns {
			snap = append(snap, ev)
		}
	}
	if len(snap) != 3 {
		t.Fatalf("snapshot has %d deployments of %s, want 3", len(snap), ns)
	}
	for i, ev := range snap {
		if ev.Action != ActionCreate || ev.Deployment.Name != []string{"a", "b", "c"}[i] {
			t.Errorf("snapshot[%d] = %s %s", i, ev.Action, ev.Deployment.Name)
		}
		h, err := hashOf(ev.Deployment)
		if err != nil || h != ev.Hash {
			t.Errorf("snapshot[%d] hash %s, recomputed %s (%v)", i, ev.Hash, h, err)
		}
	}
	// The content hash is stable: the same object normalizes to the same
	// hash in another watcher.
	_, rec2 := startWatcher(t, c.RestConfig(), 2)
	for key, ev := range rec.latest(ns) {
		if other := rec2.latest(ns)[key]; other.Hash != ev.Hash {
			t.Errorf("%s: hash %s in one watcher, %s in another", key, ev.Hash, other.Hash)
		}
	}
}

func TestExposureNetworkPolicyAndRBAC(t *testing.T) {
	c := k8stest.Shared(t)
	ctx := context.Background()
	cs := clientset(t, c.RestConfig())
	ns := c.NewNamespace(t)
	_, rec := startWatcher(t, c.RestConfig(), 0)

	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dep := newDeployment("api", "nginx:1.27", 1)
	dep.Spec.Template.Spec.ServiceAccountName = "app"
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	first := rec.next(t, ns, workload.KindDeployment, "api", 0)
	if got := portExposures(first.Deployment)[8080]; len(got) != 0 || first.Deployment.HasIngressNetworkPolicy {
		t.Fatalf("before any Service or policy: exposures %v, ingress policy %v", got, first.Deployment.HasIngressNetworkPolicy)
	}
	baseline := first.Deployment.RBAC

	// A Service created after the Deployment exposes its port.
	mark := rec.mark()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "api"},
			Ports:    []corev1.ServicePort{{Name: "web", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	if svc, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	} else {
		ev := rec.next(t, ns, workload.KindDeployment, "api", mark)
		if got := portExposures(ev.Deployment)[8080]; ev.Action != ActionUpdate || !slices.Equal(got, []string{"INTERNAL api:80"}) {
			t.Fatalf("after the Service: %s exposures %v, want UPDATE [INTERNAL api:80]", ev.Action, got)
		}
		// Turning it into a NodePort Service raises the exposure.
		mark = rec.mark()
		svc.Spec.Type = corev1.ServiceTypeNodePort
		if _, err := cs.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		ev = rec.next(t, ns, workload.KindDeployment, "api", mark)
		p := ev.Deployment.Containers[0].Ports[0]
		if len(p.Exposures) != 1 || p.Exposures[0].Level != workload.ExposureNode || p.Exposures[0].NodePort == 0 {
			t.Fatalf("after NodePort: exposures %+v", p.Exposures)
		}
	}

	// A NetworkPolicy selecting the pods covers their ingress.
	mark = rec.mark()
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "api-ingress"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		},
	}
	if _, err := cs.NetworkingV1().NetworkPolicies(ns).Create(ctx, np, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := rec.next(t, ns, workload.KindDeployment, "api", mark)
	if ev.Action != ActionUpdate || !ev.Deployment.HasIngressNetworkPolicy || ev.Deployment.HasEgressNetworkPolicy {
		t.Fatalf("after the NetworkPolicy: %s ingress %v egress %v, want UPDATE true false", ev.Action, ev.Deployment.HasIngressNetworkPolicy, ev.Deployment.HasEgressNetworkPolicy)
	}
	npHash := ev.Hash

	// A ClusterRoleBinding to cluster-admin raises the service account's level.
	mark = rec.mark()
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-app-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "app"}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb.Name, metav1.DeleteOptions{})
	})
	ev = rec.next(t, ns, workload.KindDeployment, "api", mark)
	if ev.Action != ActionUpdate || ev.Deployment.RBAC != workload.PermissionClusterAdmin {
		t.Fatalf("after the ClusterRoleBinding: %s RBAC %s, want UPDATE CLUSTER_ADMIN (was %s)", ev.Action, ev.Deployment.RBAC, baseline)
	}
	// Removing it brings the level back.
	mark = rec.mark()
	if err := cs.RbacV1().ClusterRoleBindings().Delete(ctx, crb.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ev = rec.next(t, ns, workload.KindDeployment, "api", mark)
	if ev.Deployment.RBAC != baseline {
		t.Fatalf("after deleting the ClusterRoleBinding: RBAC %s, want %s", ev.Deployment.RBAC, baseline)
	}
	if ev.Hash != npHash {
		t.Errorf("hash %s differs from %s although the deployment is as it was before the binding", ev.Hash, npHash)
	}
}

func digestOf(seed string) string {
	return "sha256:" + strings.Repeat(seed, 64/len(seed))
}

// setImageStatus records, as a kubelet would, that the pod's container runs
// image with digest.
func setImageStatus(t *testing.T, cs kubernetes.Interface, ns, pod, container, image, digest string) {
	t.Helper()
	ctx := context.Background()
	p, err := cs.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	repo, _, _ := strings.Cut(image, ":")
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name:    container,
		Image:   image,
		ImageID: repo + "@" + digest,
		Ready:   true,
		State:   corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
	}}
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update status of pod %s: %v", pod, err)
	}
}

func controllerRef(kind, apiVersion, name string, uid types.UID) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: &yes, BlockOwnerDeletion: &yes}}
}

// TestPodsResolveToTopLevelOwner builds, as the controllers would, a
// Deployment's ReplicaSet and pod and a CronJob's Job and pod (there is no
// controller-manager here), and a bare pod.
func TestPodsResolveToTopLevelOwner(t *testing.T) {
	c := k8stest.Shared(t)
	ctx := context.Background()
	cs := clientset(t, c.RestConfig())
	ns := c.NewNamespace(t)
	_, rec := startWatcher(t, c.RestConfig(), 1)

	// Deployment → ReplicaSet → Pod.
	dep, err := cs.AppsV1().Deployments(ns).Create(ctx, newDeployment("shop", "nginx:1.27", 1), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec.next(t, ns, workload.KindDeployment, "shop", 0)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-5d4f", OwnerReferences: controllerRef("Deployment", "apps/v1", "shop", dep.UID)},
		Spec: appsv1.ReplicaSetSpec{
			Selector: dep.Spec.Selector,
			Template: dep.Spec.Template,
		},
	}
	if rs, err = cs.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-5d4f-x1", Labels: map[string]string{"app": "shop"}, OwnerReferences: controllerRef("ReplicaSet", "apps/v1", rs.Name, rs.UID)},
		Spec:       dep.Spec.Template.Spec,
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mark := rec.mark()
	shopDigest := digestOf("a1")
	setImageStatus(t, cs, ns, pod.Name, "main", "docker.io/library/nginx:1.27", shopDigest)
	ev := rec.next(t, ns, workload.KindDeployment, "shop", mark)
	if img := ev.Deployment.Containers[0].Image; ev.Action != ActionUpdate || img.Digest != shopDigest || img.FullName != "docker.io/library/nginx:1.27" {
		t.Fatalf("after the pod reported its image: %s image %+v, want UPDATE with digest %s", ev.Action, img, shopDigest)
	}

	// CronJob → Job → Pod.
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
		Spec: batchv1.CronJobSpec{
			Schedule: "0 3 * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "report", Image: "quay.io/acme/report:2"}}},
			}}},
		},
	}
	if cj, err = cs.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := rec.next(t, ns, workload.KindCronJob, "nightly", 0); ev.Action != ActionCreate || ev.Deployment.Replicas != 0 {
		t.Fatalf("cronjob: %s replicas %d", ev.Action, ev.Deployment.Replicas)
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-29000000", OwnerReferences: controllerRef("CronJob", "batch/v1", cj.Name, cj.UID)},
		Spec:       cj.Spec.JobTemplate.Spec,
	}
	if job, err = cs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	jobPod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-29000000-q", OwnerReferences: controllerRef("Job", "batch/v1", job.Name, job.UID)},
		Spec:       job.Spec.Template.Spec,
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, jobPod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mark = rec.mark()
	jobDigest := digestOf("b2")
	setImageStatus(t, cs, ns, jobPod.Name, "report", "quay.io/acme/report:2", jobDigest)
	if ev := rec.next(t, ns, workload.KindCronJob, "nightly", mark); ev.Deployment.Containers[0].Image.Digest != jobDigest {
		t.Fatalf("cronjob after its pod reported: %s digest %q, want %s", ev.Action, ev.Deployment.Containers[0].Image.Digest, jobDigest)
	}

	// A bare pod is its own deployment, and its own status pins its image.
	bare := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "solo", Labels: map[string]string{"app": "solo"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "sh", Image: "busybox:1.36"}}},
	}
	if bare, err = cs.CoreV1().Pods(ns).Create(ctx, bare, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev = rec.next(t, ns, workload.KindPod, "solo", 0)
	if ev.Action != ActionCreate || ev.Deployment.ID != string(bare.UID) || ev.Deployment.Replicas != 1 || ev.Deployment.Containers[0].Image.Digest != "" {
		t.Fatalf("bare pod: %s %+v", ev.Action, ev.Deployment)
	}
	mark = rec.mark()
	soloDigest := digestOf("c3")
	setImageStatus(t, cs, ns, "solo", "sh", "docker.io/library/busybox:1.36", soloDigest)
	if ev := rec.next(t, ns, workload.KindPod, "solo", mark); ev.Deployment.Containers[0].Image.Digest != soloDigest {
		t.Fatalf("bare pod after status: digest %q, want %s", ev.Deployment.Containers[0].Image.Digest, soloDigest)
	}

	// The Deployment's pod goes away (a restart, a scale-down): the digest
	// stays, so nothing is emitted.
	mark = rec.mark()
	if err := cs.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	barrier(t, cs, rec, ns, "barrier-2")
	for _, ev := range rec.in(ns, mark) {
		if ev.Deployment.Name == "shop" {
			t.Errorf("deleting a pod emitted %s for shop (digest %q)", ev.Action, ev.Deployment.Containers[0].Image.Digest)
		}
	}

	// Only top-level workloads were ever reported.
	for _, ev := range rec.in(ns, 0) {
		switch d := ev.Deployment; {
		case d.Kind == workload.KindReplicaSet || d.Kind == workload.KindJob:
			t.Errorf("a controlled %s %s was reported", d.Kind, d.Name)
		case d.Kind == workload.KindPod && d.Name != "solo":
			t.Errorf("controlled pod %s was reported", d.Name)
		}
	}

	// An orphaned ReplicaSet (its owner reference removed, as kubectl
	// delete --cascade=orphan does) becomes a deployment of its own.
	mark = rec.mark()
	cur, err := cs.AppsV1().ReplicaSets(ns).Get(ctx, rs.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.OwnerReferences = nil
	if _, err := cs.AppsV1().ReplicaSets(ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := rec.next(t, ns, workload.KindReplicaSet, rs.Name, mark); ev.Action != ActionCreate || len(ev.Deployment.Containers) != 1 {
		t.Fatalf("orphaned ReplicaSet: %s %+v", ev.Action, ev.Deployment)
	}
}
