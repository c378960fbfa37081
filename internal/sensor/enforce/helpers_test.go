package enforce_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/stockade-dev/stockade/internal/k8stest"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/sensor/enforce"
	"github.com/stockade-dev/stockade/internal/sensor/install"
	"github.com/stockade-dev/stockade/internal/workload"
)

func TestMain(m *testing.M) { k8stest.Main(m) }

// env is one test's cluster, namespace and clients: admin to arrange and
// check, the Enforcer acting as a user holding exactly the permissions
// `stockade sensor generate k8s` grants Sensor.
type env struct {
	c      *k8stest.Cluster
	ns     string
	admin  kubernetes.Interface
	sensor *rest.Config
	enf    *enforce.Enforcer
}

func setup(t *testing.T, cfg enforce.Config) *env {
	t.Helper()
	c := k8stest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := c.NewNamespace(t) // named after the test, with a random suffix
	u, err := c.CreateUser(ctx, k8stest.UserSpec{Name: "sensor-" + ns, Grants: []k8stest.Grant{{Rules: install.Rules()}}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{c: c, ns: ns, admin: clientset(t, c.RestConfig()), sensor: u.RestConfig()}
	dyn, err := dynamic.NewForConfig(e.sensor)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	e.enf = enforce.New(clientset(t, e.sensor), dyn, cfg)
	return e
}

func clientset(t *testing.T, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testPolicy is a DEPLOY policy on privileged containers with the given
// enforcement.
func testPolicy(t *testing.T, actions ...policy.EnforcementAction) *policy.Policy {
	t.Helper()
	all, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		if p.Name == "Container running in privileged mode" {
			p.ID, p.Name, p.EnforcementActions, p.Exclusions = "5d1c7e52-0e7a-4d4b-9d67-enforce-test", "No privileged containers (test)", actions, nil
			return p
		}
	}
	t.Fatal("no built-in privileged container policy")
	return nil
}

func podTemplate(app string) corev1.PodTemplateSpec {
	yes := true
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyAlways,
			Containers: []corev1.Container{{
				Name: "web", Image: "registry.example/web:1.4.2",
				SecurityContext: &corev1.SecurityContext{Privileged: &yes},
			}},
		},
	}
}

func selector(app string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
}

func int32p(v int32) *int32 { return &v }

func newDeployment(name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       appsv1.DeploymentSpec{Replicas: int32p(replicas), Selector: selector(name), Template: podTemplate(name)},
	}
}

// normalize is what Sensor's watcher makes of a stored object.
func normalize(t *testing.T, obj runtime.Object) *workload.Deployment {
	t.Helper()
	d, ok, err := workload.FromObject(obj, "test-cluster")
	if err != nil || !ok {
		t.Fatalf("normalize %T: ok=%t %v", obj, ok, err)
	}
	return d
}

// events returns the events regarding the object name, by reason.
func (e *env) events(t *testing.T, name string) map[string][]eventsv1.Event {
	t.Helper()
	list, err := e.admin.EventsV1().Events(e.ns).List(ctxFor(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]eventsv1.Event{}
	for _, ev := range list.Items {
		if ev.Regarding.Name == name {
			out[ev.Reason] = append(out[ev.Reason], ev)
		}
	}
	return out
}

// oneEvent checks that exactly one event regarding name has reason, from
// Stockade, naming the policy, and returns its note.
func (e *env) oneEvent(t *testing.T, name, kind, reason string, p *policy.Policy) string {
	t.Helper()
	evs := e.events(t, name)
	if len(evs[reason]) != 1 {
		var notes []string
		for _, list := range evs {
			for _, ev := range list {
				notes = append(notes, ev.Reason+": "+ev.Note)
			}
		}
		t.Fatalf("%s %s: %d %s events, want 1; all: %q", kind, name, len(evs[reason]), reason, notes)
	}
	ev := evs[reason][0]
	if ev.Regarding.Kind != kind || ev.Regarding.UID == "" || ev.ReportingController != enforce.ReportingController ||
		ev.Type != corev1.EventTypeWarning || !strings.Contains(ev.Note, p.Name) {
		t.Errorf("%s %s: event %+v", kind, name, ev)
	}
	return ev.Note
}

// checkStamp checks an annotation naming the policy and a time.
func checkStamp(t *testing.T, what string, ann map[string]string, key string, p *policy.Policy) {
	t.Helper()
	v := ann[key]
	name, at, ok := strings.Cut(v, " at ")
	if !ok || name != p.Name {
		t.Errorf("%s: annotation %s = %q, want %q at <time>", what, key, v, p.Name)
		return
	}
	if ts, err := time.Parse(time.RFC3339, at); err != nil || time.Since(ts) > time.Hour {
		t.Errorf("%s: annotation %s time %q: %v", what, key, at, err)
	}
}
