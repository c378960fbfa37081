package admission

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/stockade-dev/stockade/internal/k8stest"
)

// TestKubectlAgainstAPIServer registers the webhook with a real
// kube-apiserver and drives it with kubectl, as a user would.
func TestKubectlAgainstAPIServer(t *testing.T) {
	c := k8stest.Shared(t)
	ns := c.NewNamespace(t)
	cs, err := kubernetes.NewForConfig(c.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec := &recorder{}
	h := New(Config{ClusterName: "it", Getter: RESTGetter{Client: cs.CoreV1().RESTClient()}}, setPolicies{testPolicies(t)}, rec, nil)
	url, ca := serveTLS(t, h)
	registerWebhook(t, cs, ns, url+"/validate", ca)

	// kube-apiserver picks the configuration up through a watch.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		probe := workloads(fmt.Sprintf("probe-%d", i), true, "1")[0].(*corev1.Pod)
		_, err := cs.CoreV1().Pods(ns).Create(ctx, probe, metav1.CreateOptions{})
		if apierrors.IsForbidden(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("privileged pods still admitted 30s after the webhook was registered (last: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rec.reset()

	deployment := func(name string, privileged bool, annotations map[string]string) []byte {
		d := workloads(name, privileged, "1")[1].(*appsv1.Deployment)
		d.Annotations = annotations
		return listJSON(t, d)
	}
	apply := func(manifest []byte) (string, error) { return kubectl(t, c, manifest, "apply", "-n", ns, "-f", "-") }

	t.Run("privileged Deployment is denied", func(t *testing.T) {
		rec.reset()
		out, err := apply(deployment("web", true, nil))
		if err == nil {
			t.Fatalf("kubectl apply admitted a privileged Deployment:\n%s", out)
		}
		for _, want := range []string{`admission webhook "` + webhookName + `" denied the request: Stockade denied Deployment "web"`,
			`"` + privilegedPolicy + `" (CRITICAL): Container 'app' is privileged.`, "Remediation: ", BreakGlassAnnotation} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl output lacks %q:\n%s", want, out)
			}
		}
		t.Logf("kubectl apply:\n%s", out)
		if _, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("denied Deployment stored: %v", err)
		}
		ev := rec.all()
		if len(ev) != 1 || ev[0].State != AlertAttempted || ev[0].Policy.Name != privilegedPolicy || ev[0].User.Name != k8stest.AdminUser || ev[0].Cluster != "it" {
			t.Errorf("events = %+v", ev)
		}
	})

	t.Run("clean Deployment is admitted and scaled", func(t *testing.T) {
		rec.reset()
		if out, err := apply(deployment("shop", false, nil)); err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, out)
		}
		if out, err := kubectl(t, c, nil, "scale", "-n", ns, "deployment/shop", "--replicas=3"); err != nil {
			t.Fatalf("kubectl scale: %v\n%s", err, out)
		}
		if ev := rec.all(); len(ev) != 0 {
			t.Errorf("events = %+v", ev)
		}
	})

	t.Run("break-glass admits and records", func(t *testing.T) {
		rec.reset()
		out, err := apply(deployment("hotfix", true, map[string]string{BreakGlassAnnotation: "INC-4411"}))
		if err != nil {
			t.Fatalf("kubectl apply with break-glass: %v\n%s", err, out)
		}
		if !strings.Contains(out, "Warning: Stockade admitted Deployment") || !strings.Contains(out, "break-glass") {
			t.Errorf("kubectl shows no break-glass warning:\n%s", out)
		}
		ev := rec.all()
		if len(ev) != 1 || ev[0].State != AlertActive || !ev[0].BreakGlass || !ev[0].Admitted || ev[0].Name != "hotfix" {
			t.Errorf("events = %+v", ev)
		}
	})

	t.Run("kubectl scale is judged", func(t *testing.T) {
		// Removing the annotation changes nothing the policies read.
		if out, err := kubectl(t, c, nil, "annotate", "-n", ns, "deployment/hotfix", BreakGlassAnnotation+"-"); err != nil {
			t.Fatalf("kubectl annotate: %v\n%s", err, out)
		}
		rec.reset()
		out, err := kubectl(t, c, nil, "scale", "-n", ns, "deployment/hotfix", "--replicas=3")
		if err == nil || !strings.Contains(out, "denied the request") || !strings.Contains(out, privilegedPolicy) {
			t.Fatalf("scale-up of a privileged Deployment: %v\n%s", err, out)
		}
		ev := rec.all()
		if len(ev) != 1 || ev[0].State != AlertAttempted || ev[0].Operation != "UPDATE" || ev[0].ObjectKind != "Deployment" || ev[0].Deployment.Replicas != 3 {
			t.Errorf("events = %+v", ev)
		}
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "hotfix", metav1.GetOptions{})
		if err != nil || *d.Spec.Replicas != 1 {
			t.Errorf("hotfix replicas after the denied scale: %v %v", d.Spec.Replicas, err)
		}
		if out, err := kubectl(t, c, nil, "scale", "-n", ns, "deployment/hotfix", "--replicas=0"); err != nil {
			t.Errorf("scale to zero: %v\n%s", err, out)
		}
	})

	t.Run("pods naming a controller", func(t *testing.T) {
		rs := workloads("canary", true, "1")[4].(*appsv1.ReplicaSet)
		rs.Annotations = map[string]string{BreakGlassAnnotation: "INC-4412"}
		rs, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		controller := true
		pod := func(name string, uid string) []byte {
			p := workloads(name, true, "1")[0].(*corev1.Pod)
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &controller}}
			if uid != "" {
				p.OwnerReferences[0].UID = "0b5e7c1e-0000-4000-8000-000000000000"
			}
			return listJSON(t, p)
		}
		if out, err := apply(pod("canary-1", "")); err != nil {
			t.Errorf("pod of its ReplicaSet denied: %v\n%s", err, out)
		}
		if out, err := apply(pod("canary-2", "forged")); err == nil || !strings.Contains(out, privilegedPolicy) {
			t.Errorf("pod naming a ReplicaSet it is not controlled by: %v\n%s", err, out)
		}
	})

	t.Run("exec, attach and port-forward", func(t *testing.T) {
		if out, err := apply(listJSON(t, workloads("debug", false, "1")[0])); err != nil {
			t.Fatalf("kubectl apply pod: %v\n%s", err, out)
		}
		rec.reset()
		out, err := kubectl(t, c, nil, "exec", "-n", ns, "debug", "--", "id")
		if err == nil || !strings.Contains(out, `denied the request: Stockade denied exec into pod "debug"`) || !strings.Contains(out, execPolicy) {
			t.Errorf("kubectl exec by the admin:\n%s", out)
		}
		// kubectl tries a WebSocket, then SPDY: each is a request the webhook judges.
		kube, alerts := split(rec.all())
		if len(kube) == 0 || len(alerts) != len(kube) {
			t.Fatalf("kube events %+v, alerts %+v: want one alert per request", kube, alerts)
		}
		for _, ev := range kube {
			if ev.Resource != PodsExec || ev.Admitted || ev.User.Name != k8stest.AdminUser || !slices.Contains(ev.User.Groups, "system:masters") ||
				!slices.Equal(ev.Command, []string{"id"}) || ev.Name != "debug" || ev.Namespace != ns {
				t.Errorf("kube event = %+v", ev)
			}
		}
		for _, ev := range alerts {
			if ev.Policy.Name != execPolicy || ev.State != AlertAttempted || ev.Resource != PodsExec {
				t.Errorf("alert = %+v", ev)
			}
		}

		oncall, err := c.CreateUser(ctx, k8stest.UserSpec{Name: "oncall", Groups: []string{"sre"}, Grants: []k8stest.Grant{{
			Namespace: ns,
			Rules:     []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "pods/exec"}, Verbs: []string{"get", "create"}}},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		rec.reset()
		ectx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cmd, err := oncall.Kubectl(ectx, "exec", "-n", ns, "debug", "-c", "app", "--", "id")
		if err != nil {
			t.Fatal(err)
		}
		// The webhook admits it; the API server then finds no node to run it on.
		outb, _ := cmd.CombinedOutput()
		if strings.Contains(string(outb), "denied the request") {
			t.Errorf("kubectl exec by oncall denied:\n%s", outb)
		}
		kube, alerts = split(rec.all())
		if len(kube) == 0 || len(alerts) != 0 {
			t.Errorf("kube events %+v, alerts %+v (kubectl: %s)", kube, alerts, outb)
		}
		for _, ev := range kube {
			if !ev.Admitted || ev.User.Name != "oncall" || !slices.Contains(ev.User.Groups, "sre") || ev.Container != "app" {
				t.Errorf("kube event = %+v", ev)
			}
		}

		rec.reset()
		setPodRunning(t, cs, ns, "debug")
		if out, _ := portForward(t, c, ns, "debug"); strings.Contains(out, "denied the request") {
			t.Errorf("port-forward denied:\n%s", out)
		}
		kube, alerts = split(rec.all())
		if len(kube) == 0 || len(alerts) != 0 {
			t.Errorf("kube events %+v, alerts %+v", kube, alerts)
		}
		for _, ev := range kube {
			if ev.Resource != PodsPortForward || !ev.Admitted || ev.Name != "debug" {
				t.Errorf("kube event = %+v", ev)
			}
		}

		rec.reset()
		if out, _ := kubectl(t, c, nil, "attach", "-n", ns, "debug", "-c", "app"); strings.Contains(out, "denied the request") {
			t.Errorf("attach denied:\n%s", out)
		}
		kube, alerts = split(rec.all())
		if len(kube) == 0 || len(alerts) != 0 {
			t.Errorf("kube events %+v, alerts %+v", kube, alerts)
		}
		for _, ev := range kube {
			if ev.Resource != PodsAttach || !ev.Admitted || ev.Container != "app" {
				t.Errorf("kube event = %+v", ev)
			}
		}
	})
}

// split separates Kubernetes events from alerts.
func split(events []Event) (kube, alerts []Event) {
	for _, ev := range events {
		switch ev.Kind {
		case EventKube:
			kube = append(kube, ev)
		case EventAlert:
			alerts = append(alerts, ev)
		}
	}
	return kube, alerts
}
