package detect

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/manifest"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/sensor/watch"
	"github.com/stockade-dev/stockade/internal/workload"
)

// Built-in policies the tests name.
const (
	privilegedPolicy  = "Container running in privileged mode"
	hostNetworkPolicy = "Host network namespace shared"
	latestTagPolicy   = "Image tag is latest or missing"
)

// cache is a Policies whose set a test swaps, as Sensor's cache does on a
// PolicySync.
type cache struct{ p atomic.Pointer[policy.Set] }

func (c *cache) Set() *policy.Set { return c.p.Load() }

func (c *cache) store(t *testing.T, ps []*policy.Policy) {
	t.Helper()
	s, err := policy.NewSet(ps)
	if err != nil {
		t.Fatal(err)
	}
	c.p.Store(s)
}

// builtins returns the built-in policies, or only those named.
func builtins(t *testing.T, names ...string) []*policy.Policy {
	t.Helper()
	all, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		return all
	}
	var out []*policy.Policy
	for _, n := range names {
		i := slices.IndexFunc(all, func(p *policy.Policy) bool { return p.Name == n })
		if i < 0 {
			t.Fatalf("no built-in policy %q", n)
		}
		out = append(out, all[i])
	}
	return out
}

// enforced returns a copy of the built-in policy name with a new id, a new
// name and the enforcement actions given.
func enforced(t *testing.T, name, id string, actions ...policy.EnforcementAction) *policy.Policy {
	t.Helper()
	p := *builtins(t, name)[0]
	p.ID, p.Name, p.EnforcementActions = id, "Enforced: "+name, actions
	return &p
}

// spec describes a test Deployment.
type spec struct {
	name        string
	replicas    int
	image       string
	privileged  bool
	hostNetwork bool
}

func (s spec) yaml() string {
	image := s.image
	if image == "" {
		image = "registry.example/web:1.4.2"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
  namespace: shop
spec:
  replicas: %d
  selector:
    matchLabels: {app: %s}
  template:
    metadata:
      labels: {app: %s}
    spec:
      hostNetwork: %t
      containers:
      - name: web
        image: %s
        securityContext:
          privileged: %t
`, s.name, s.replicas, s.name, s.name, s.hostNetwork, image, s.privileged)
	return b.String()
}

// deployment normalizes s through internal/manifest, as `stockade deployment
// check` reads a file.
func deployment(t *testing.T, s spec) *workload.Deployment {
	t.Helper()
	res, err := manifest.Parse(s.name+".yaml", []byte(s.yaml()))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deployments) != 1 {
		t.Fatalf("%s: %d deployments, ignored %v", s.name, len(res.Deployments), res.Ignored)
	}
	return res.Deployments[0]
}

func event(t *testing.T, a watch.Action, s spec) watch.Event {
	t.Helper()
	return watch.Event{Action: a, Deployment: deployment(t, s)}
}

// recorder is a Sink keeping every change.
type recorder struct {
	mu      sync.Mutex
	changes []AlertChange
}

func (r *recorder) Alerts(ev AlertChange) {
	r.mu.Lock()
	r.changes = append(r.changes, ev)
	r.mu.Unlock()
}

// take returns the changes recorded since the last take.
func (r *recorder) take() []AlertChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.changes
	r.changes = nil
	return out
}

// call is one Enforcer call.
type call struct {
	action     string
	deployment string
	policy     string
}

// enforcer records calls; it is the fake at the Kubernetes edge (package
// enforce is tested against a real API server).
type enforcer struct {
	mu    sync.Mutex
	calls []call
}

func (e *enforcer) record(action string, d *workload.Deployment, p *policy.Policy) error {
	e.mu.Lock()
	e.calls = append(e.calls, call{action, d.Name, p.ID})
	e.mu.Unlock()
	return nil
}

func (e *enforcer) ScaleToZero(_ context.Context, d *workload.Deployment, p *policy.Policy) error {
	return e.record("scale", d, p)
}

func (e *enforcer) UnsatisfiableNodeConstraint(_ context.Context, d *workload.Deployment, p *policy.Policy) error {
	return e.record("node", d, p)
}

func (e *enforcer) take() []call {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.calls
	e.calls = nil
	return out
}

// harness is a running Detector with its inputs and outputs.
type harness struct {
	*Detector
	policies *cache
	sink     *recorder
	enf      *enforcer
}

// start runs a Detector until the test ends. With ps nil, no policy set is
// loaded.
func start(t *testing.T, ps []*policy.Policy) *harness {
	t.Helper()
	h := &harness{policies: &cache{}, sink: &recorder{}, enf: &enforcer{}}
	if ps != nil {
		h.policies.store(t, ps)
	}
	h.Detector = New(h.policies, h.sink, h.enf, nil)
	h.Live()
	run(t, h.Detector)
	return h
}

func run(t *testing.T, d *Detector) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
}

// settle waits until the Detector has evaluated everything queued and
// called the Enforcer for everything it decided.
func (d *Detector) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		idle := len(d.order) == 0 && !d.inflight && len(d.enforceQ) == 0 && !d.enforcing
		d.mu.Unlock()
		if idle {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("detector did not settle in 10s")
}

// settled is one change after the Detector settles.
func (h *harness) one(t *testing.T) AlertChange {
	t.Helper()
	h.settle(t)
	got := h.sink.take()
	if len(got) != 1 {
		t.Fatalf("%d alert changes, want 1: %v", len(got), summary(got))
	}
	return got[0]
}

// none asserts that nothing was reported once the Detector settles.
func (h *harness) none(t *testing.T) {
	t.Helper()
	h.settle(t)
	if got := h.sink.take(); len(got) != 0 {
		t.Fatalf("%d alert changes, want none: %v", len(got), summary(got))
	}
}

// names lists the policies of a change, sorted.
func names(c AlertChange) []string {
	var out []string
	for _, a := range c.Alerts {
		out = append(out, a.Policy.Policy.Name)
	}
	slices.Sort(out)
	return out
}

func summary(cs []AlertChange) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s removed=%t %v", c.Deployment.Name, c.Removed, names(c)))
	}
	return out
}
