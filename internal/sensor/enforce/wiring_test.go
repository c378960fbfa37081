package enforce_test

import (
	"context"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/sensor/detect"
	"github.com/stockade-dev/stockade/internal/sensor/enforce"
	"github.com/stockade-dev/stockade/internal/sensor/watch"
)

type staticPolicies struct{ s atomic.Pointer[policy.Set] }

func (p *staticPolicies) Set() *policy.Set { return p.s.Load() }

// alertLog keeps the Detector's changes.
type alertLog struct {
	mu      sync.Mutex
	changes []detect.AlertChange
}

func (l *alertLog) Alerts(ev detect.AlertChange) {
	l.mu.Lock()
	l.changes = append(l.changes, ev)
	l.mu.Unlock()
}

func (l *alertLog) of(name string) []detect.AlertChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []detect.AlertChange
	for _, c := range l.changes {
		if c.Deployment.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// TestSensorScalesPrivilegedDeploymentToZero wires what Sensor runs: the
// watcher feeds the Detector, which calls the Enforcer, all as the Sensor's
// least-privilege user against the API server.
func TestSensorScalesPrivilegedDeploymentToZero(t *testing.T) {
	e := setup(t, enforce.Config{})
	p := testPolicy(t, policy.EnforceScaleToZero)
	// Scoped to this test's namespace: objects other tests left in theirs
	// are not this test's business.
	p.Scope = []policy.Scope{{Namespace: "^" + regexp.QuoteMeta(e.ns) + "$"}}
	set, err := policy.NewSet([]*policy.Policy{p})
	if err != nil {
		t.Fatal(err)
	}
	policies := &staticPolicies{}
	policies.s.Store(set)
	alerts := &alertLog{}
	det := detect.New(policies, alerts, e.enf, nil)
	w, err := watch.New(e.sensor, watch.Config{ClusterName: "test-cluster", Sink: det})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := det.Run(ctx); err != nil {
			t.Errorf("detector: %v", err)
		}
	})
	wg.Go(func() {
		if err := w.Run(ctx); err != nil {
			t.Errorf("watcher: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	select { // enforcement answers changes made once Sensor is synced
	case <-w.Synced():
		det.Live()
	case <-time.After(time.Minute):
		t.Fatal("watcher did not sync")
	}

	wctx := ctxFor(t)
	if _, err := e.admin.AppsV1().Deployments(e.ns).Create(wctx, newDeployment("miner", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	clean := newDeployment("shop", 2)
	clean.Spec.Template.Spec.Containers[0].SecurityContext = nil
	if _, err := e.admin.AppsV1().Deployments(e.ns).Create(wctx, clean, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := e.admin.AppsV1().Deployments(e.ns).Get(wctx, "miner", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *got.Spec.Replicas == 0 {
			if got.Annotations[enforce.AnnotationPreviousReplicas] != "3" {
				t.Errorf("previous replicas = %q", got.Annotations[enforce.AnnotationPreviousReplicas])
			}
			checkStamp(t, "Deployment", got.Annotations, enforce.AnnotationScaledToZero, p)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("miner still has %d replicas after 30s", *got.Spec.Replicas)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The watcher reports the scaled Deployment again; it still violates
	// the policy, so its alert stays open, unchanged, and it is not
	// enforced twice.
	time.Sleep(time.Second)
	cs := alerts.of("miner")
	if len(cs) != 1 || len(cs[0].Alerts) != 1 || cs[0].Alerts[0].Policy.Policy.ID != p.ID {
		t.Fatalf("alert changes for miner: %+v", cs)
	}
	if cur := det.Current(); len(cur) != 1 || cur[0].Deployment.Name != "miner" {
		t.Errorf("current alerts on %d deployments", len(cur))
	}
	e.oneEvent(t, "miner", "Deployment", enforce.ReasonScaledToZero, p)
	shop, err := e.admin.AppsV1().Deployments(e.ns).Get(wctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *shop.Spec.Replicas != 2 || len(alerts.of("shop")) != 0 || slices.ContainsFunc(det.Current(), func(c detect.AlertChange) bool { return c.Deployment.Name == "shop" }) {
		t.Errorf("the clean Deployment: replicas %d, alerts %v", *shop.Spec.Replicas, alerts.of("shop"))
	}
}
