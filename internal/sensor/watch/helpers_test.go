package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/stockade-dev/stockade/internal/k8stest"
	"github.com/stockade-dev/stockade/internal/workload"
)

func TestMain(m *testing.M) { k8stest.Main(m) }

const testCluster = "test-cluster"

// waitTimeout bounds every wait for an event; the API server and the watcher
// answer in milliseconds, a loaded machine in seconds.
const waitTimeout = 30 * time.Second

// recorder is a Sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []Event
	wake   chan struct{} // closed and replaced on every event
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{})} }

func (r *recorder) Deployment(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	close(r.wake)
	r.wake = make(chan struct{})
	r.mu.Unlock()
}

// mark is the position of the next event.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// in returns the events of namespace ns from position from on.
func (r *recorder) in(ns string, from int) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, ev := range r.events[min(from, len(r.events)):] {
		if ev.Deployment.Namespace == ns {
			out = append(out, ev)
		}
	}
	return out
}

// latest is the state of namespace ns the events describe: the last event
// of each workload, keyed by kind/name, without removed ones.
func (r *recorder) latest(ns string) map[string]Event {
	out := map[string]Event{}
	for _, ev := range r.in(ns, 0) {
		key := ev.Deployment.Kind + "/" + ev.Deployment.Name
		if ev.Action == ActionRemove {
			delete(out, key)
		} else {
			out[key] = ev
		}
	}
	return out
}

// until waits until cond holds for the events of ns, failing the test with
// what it saw when the wait times out.
func (r *recorder) until(t *testing.T, what, ns string, cond func(evs []Event) bool) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		r.mu.Lock()
		wake := r.wake
		r.mu.Unlock()
		evs := r.in(ns, 0)
		if cond(evs) {
			return
		}
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; events in %s:\n%s", what, ns, describe(evs))
		}
	}
}

// next waits for the first event from position from in ns for the workload
// kind/name.
func (r *recorder) next(t *testing.T, ns, kind, name string, from int) Event {
	t.Helper()
	var found Event
	r.until(t, fmt.Sprintf("an event for %s %s after #%d", kind, name, from), ns, func([]Event) bool {
		for _, ev := range r.in(ns, from) {
			if ev.Deployment.Kind == kind && ev.Deployment.Name == name {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

func describe(evs []Event) string {
	var b strings.Builder
	for i, ev := range evs {
		d := ev.Deployment
		fmt.Fprintf(&b, "  %d %s %s %s/%s hash=%.12s\n", i, ev.Action, d.Kind, d.Namespace, d.Name, ev.Hash)
	}
	return b.String()
}

// startWatcher runs a Watcher against cfg until the test ends and waits for
// its initial sync.
func startWatcher(t *testing.T, cfg *rest.Config, workers int) (*Watcher, *recorder) {
	t.Helper()
	rec := newRecorder()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w, err := New(cfg, Config{ClusterName: testCluster, Sink: rec, Log: log, Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("watcher: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Error("watcher did not stop")
		}
	})
	select {
	case <-w.Synced():
	case err := <-done:
		t.Fatalf("watcher stopped before syncing: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("watcher did not sync")
	}
	return w, rec
}

func clientset(t testing.TB, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// kubectl runs kubectl as the admin and returns its output.
func kubectl(t *testing.T, c *k8stest.Cluster, args ...string) string {
	t.Helper()
	cmd, err := c.Kubectl(context.Background(), args...)
	if err != nil {
		if os.Getenv(k8stest.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// exposures renders a port's exposures as "LEVEL service:port" strings.
func exposures(p workload.Port) []string {
	var out []string
	for _, e := range p.Exposures {
		out = append(out, fmt.Sprintf("%s %s:%d", e.Level, e.ServiceName, e.ServicePort))
	}
	return out
}

// portExposures maps each port of d's containers to its exposures.
func portExposures(d *workload.Deployment) map[int32][]string {
	out := map[int32][]string{}
	for _, c := range d.Containers {
		for _, p := range c.Ports {
			out[p.ContainerPort] = exposures(p)
		}
	}
	return out
}
