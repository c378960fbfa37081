package watch

import (
	"context"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/stockade-dev/stockade/internal/k8stest"
	"github.com/stockade-dev/stockade/internal/workload"
)

// PodDeployment finds a pod's top-level workload, and Enrich tells a
// workload that is not stored yet (as admission control sees it) what the
// cluster around it says.
func TestPodDeploymentAndEnrich(t *testing.T) {
	c := k8stest.Shared(t)
	ctx := context.Background()
	cs := clientset(t, c.RestConfig())
	ns := c.NewNamespace(t)
	t.Cleanup(func() {
		_ = cs.AppsV1().Deployments(ns).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{})
	})
	w, rec := startWatcher(t, c.RestConfig(), 1)
	if _, ok := w.PodDeployment(ns, "nothing"); ok {
		t.Error("an unknown pod has a deployment")
	}

	dep, err := cs.AppsV1().Deployments(ns).Create(ctx, newDeployment("shop", "nginx:1.27", 1), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-7c9", OwnerReferences: controllerRef("Deployment", "apps/v1", "shop", dep.UID)},
		Spec:       appsv1.ReplicaSetSpec{Selector: dep.Spec.Selector, Template: dep.Spec.Template},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-7c9-a", Labels: map[string]string{"app": "shop"}, OwnerReferences: controllerRef("ReplicaSet", "apps/v1", rs.Name, rs.UID)},
		Spec:       dep.Spec.Template.Spec,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	solo, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "solo"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "sh", Image: "busybox:1.36"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "next"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rec.next(t, ns, workload.KindPod, "solo", 0)
	barrier(t, cs, rec, ns, "barrier-lookup")

	if id, ok := w.PodDeployment(ns, "shop-7c9-a"); !ok || id != string(dep.UID) {
		t.Errorf("PodDeployment(shop-7c9-a) = %q, %v; want the Deployment's %s", id, ok, dep.UID)
	}
	if id, ok := w.PodDeployment(ns, "solo"); !ok || id != string(solo.UID) {
		t.Errorf("PodDeployment(solo) = %q, %v; want the pod's own %s", id, ok, solo.UID)
	}

	// A Deployment not created yet, as admission control judges it.
	next := newDeployment("next", "nginx:1.27", 1)
	next.Namespace = ns
	next.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}
	d, ok, err := workload.FromObject(next, testCluster)
	if err != nil || !ok {
		t.Fatalf("normalize: %v %v", ok, err)
	}
	w.Enrich(d)
	if got := exposures(d.Containers[0].Ports[0]); !slices.ContainsFunc(got, func(s string) bool { return s == "NODE web:80" }) {
		t.Errorf("exposures of the port after Enrich = %q, want NODE web:80", got)
	}
}
