package detect

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/sensor/watch"
)

func TestAlertLifecycle(t *testing.T) {
	h := start(t, builtins(t, privilegedPolicy, hostNetworkPolicy, latestTagPolicy))
	web := spec{name: "web", replicas: 2, privileged: true}

	// Open: a privileged container.
	h.Deployment(event(t, watch.ActionCreate, web))
	c := h.one(t)
	if got := names(c); !slices.Equal(got, []string{privilegedPolicy}) || c.Removed || c.Deployment.Name != "web" {
		t.Fatalf("open: %v removed=%t on %s", got, c.Removed, c.Deployment.Name)
	}
	if v := c.Alerts[0].Violations; len(v) != 1 || v[0].Container != "web" || !strings.Contains(v[0].Message, "web") {
		t.Errorf("open: violations %+v, want one naming container web", v)
	}
	if c.Time.IsZero() {
		t.Error("open: no time")
	}

	// Update: the violations change — no longer privileged, but on the
	// host network with a latest image.
	web = spec{name: "web", replicas: 2, hostNetwork: true, image: "nginx"}
	h.Deployment(event(t, watch.ActionUpdate, web))
	if got := names(h.one(t)); !slices.Equal(got, []string{hostNetworkPolicy, latestTagPolicy}) {
		t.Fatalf("update: %v", got)
	}

	// Update: the same violations of the same policies say nothing, however
	// much else changed.
	web.replicas = 5
	h.Deployment(event(t, watch.ActionUpdate, web))
	h.none(t)

	// Resolve: fixed, every alert resolved by an empty list.
	h.Deployment(event(t, watch.ActionUpdate, spec{name: "web", replicas: 5}))
	if c := h.one(t); len(c.Alerts) != 0 || c.Removed {
		t.Fatalf("resolve: %v removed=%t, want an empty list", names(c), c.Removed)
	}
	if cur := h.Current(); len(cur) != 0 {
		t.Errorf("resolve: current %v, want none", summary(cur))
	}

	// A clean deployment is removed: nothing to resolve, nothing said.
	h.Deployment(event(t, watch.ActionRemove, spec{name: "web", replicas: 5}))
	h.none(t)

	// Remove: a deployment with alerts is removed.
	bad := spec{name: "bad", replicas: 1, privileged: true}
	h.Deployment(event(t, watch.ActionCreate, bad))
	h.one(t)
	h.Deployment(event(t, watch.ActionRemove, bad))
	if c := h.one(t); !c.Removed || len(c.Alerts) != 0 || c.Deployment.Name != "bad" {
		t.Fatalf("remove: removed=%t %v on %s", c.Removed, names(c), c.Deployment.Name)
	}
	if cur := h.Current(); len(cur) != 0 {
		t.Errorf("remove: current %v, want none", summary(cur))
	}
}

func TestBuiltinSetOnARealisticDeployment(t *testing.T) {
	h := start(t, builtins(t))
	s := spec{name: "web", replicas: 1, privileged: true, image: "nginx"}
	h.Deployment(event(t, watch.ActionCreate, s))
	c := h.one(t)
	got := names(c)
	for _, want := range []string{privilegedPolicy, latestTagPolicy} {
		if !slices.Contains(got, want) {
			t.Errorf("alerts %v lack %q", got, want)
		}
	}
	if slices.Contains(got, hostNetworkPolicy) {
		t.Errorf("alerts %v name %q", got, hostNetworkPolicy)
	}
	// The watcher re-reports it (a resync, a status change seen as a new
	// hash): nothing to say.
	h.Deployment(event(t, watch.ActionUpdate, s))
	h.none(t)
	cur := h.Current()
	if len(cur) != 1 || !slices.Equal(names(cur[0]), got) || !cur[0].Time.Equal(c.Time) {
		t.Errorf("current = %v, want the one reported", summary(cur))
	}
}

func TestPolicyChangeReevaluates(t *testing.T) {
	h := start(t, builtins(t, privilegedPolicy))
	h.Deployment(event(t, watch.ActionCreate, spec{name: "priv", replicas: 2, privileged: true}))
	h.Deployment(event(t, watch.ActionCreate, spec{name: "host", replicas: 2, hostNetwork: true}))
	h.Deployment(event(t, watch.ActionCreate, spec{name: "clean", replicas: 2}))
	if c := h.one(t); c.Deployment.Name != "priv" {
		t.Fatalf("first alerts on %s", c.Deployment.Name)
	}

	// Central adds the host network policy: only "host" changes.
	h.policies.store(t, builtins(t, privilegedPolicy, hostNetworkPolicy))
	h.PoliciesChanged()
	c := h.one(t)
	if c.Deployment.Name != "host" || !slices.Equal(names(c), []string{hostNetworkPolicy}) {
		t.Fatalf("after adding a policy: %s %v", c.Deployment.Name, names(c))
	}

	// The same set pushed again: nothing.
	h.PoliciesChanged()
	h.none(t)

	// Central disables the privileged policy: "priv" is resolved.
	ps := builtins(t, privilegedPolicy, hostNetworkPolicy)
	ps[0].Disabled = true
	h.policies.store(t, ps)
	h.PoliciesChanged()
	c = h.one(t)
	if c.Deployment.Name != "priv" || len(c.Alerts) != 0 {
		t.Fatalf("after disabling a policy: %s %v", c.Deployment.Name, names(c))
	}
	cur := h.Current()
	if len(cur) != 1 || cur[0].Deployment.Name != "host" {
		t.Errorf("current = %v, want host only", summary(cur))
	}
}

func TestNoPolicySetYet(t *testing.T) {
	h := start(t, nil)
	h.Deployment(event(t, watch.ActionCreate, spec{name: "priv", replicas: 2, privileged: true}))
	h.Deployment(event(t, watch.ActionCreate, spec{name: "gone", replicas: 2, privileged: true}))
	h.Deployment(event(t, watch.ActionRemove, spec{name: "gone", replicas: 2, privileged: true}))
	h.none(t)
	if cur := h.Current(); len(cur) != 0 {
		t.Fatalf("current without policies = %v", summary(cur))
	}

	// The first PolicySync arrives: what is known is evaluated, what was
	// removed is not.
	h.policies.store(t, builtins(t, privilegedPolicy))
	h.PoliciesChanged()
	c := h.one(t)
	if c.Deployment.Name != "priv" || !slices.Equal(names(c), []string{privilegedPolicy}) {
		t.Fatalf("after the first set: %s %v", c.Deployment.Name, names(c))
	}
}

func TestNilPoliciesInterface(t *testing.T) {
	rec := &recorder{}
	d := New(nil, rec, nil, nil)
	run(t, d)
	d.Deployment(event(t, watch.ActionCreate, spec{name: "priv", replicas: 1, privileged: true}))
	d.PoliciesChanged()
	d.settle(t)
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("changes without policies: %v", summary(got))
	}
}

func TestBurstIsEvaluatedOnce(t *testing.T) {
	c := &cache{}
	c.store(t, builtins(t, privilegedPolicy, hostNetworkPolicy))
	rec := &recorder{}
	d := New(c, rec, nil, nil)
	// Queued before Run: a rollout's worth of updates to one deployment,
	// and one to another.
	for i := range 50 {
		d.Deployment(event(t, watch.ActionUpdate, spec{name: "web", replicas: i + 1, privileged: i%2 == 0}))
	}
	d.Deployment(event(t, watch.ActionUpdate, spec{name: "web", replicas: 9, hostNetwork: true}))
	d.Deployment(event(t, watch.ActionCreate, spec{name: "other", replicas: 1, privileged: true}))
	if n := len(d.order); n != 2 {
		t.Fatalf("%d queued, want 2 (one per deployment)", n)
	}
	run(t, d)
	d.settle(t)
	got := rec.take()
	if len(got) != 2 {
		t.Fatalf("%d changes, want 2: %v", len(got), summary(got))
	}
	// In first-seen order, each with its newest state.
	if got[0].Deployment.Name != "web" || got[0].Deployment.Replicas != 9 || !slices.Equal(names(got[0]), []string{hostNetworkPolicy}) {
		t.Errorf("web: %v replicas %d", names(got[0]), got[0].Deployment.Replicas)
	}
	if got[1].Deployment.Name != "other" || !slices.Equal(names(got[1]), []string{privilegedPolicy}) {
		t.Errorf("other: %v", summary(got[1:]))
	}
}

func TestEnforcementOncePerViolation(t *testing.T) {
	const (
		scaleID = "2b7e8a3c-test-scale-latest"
		nodeID  = "2b7e8a3c-test-node-hostnet"
	)
	h := start(t, []*policy.Policy{
		enforced(t, latestTagPolicy, scaleID, policy.EnforceScaleToZero),
		enforced(t, hostNetworkPolicy, nodeID, policy.EnforceUnsatisfiableNode, policy.EnforceFailDeploymentCreate),
		builtins(t, privilegedPolicy)[0], // carries SCALE_TO_ZERO, not violated here
	})
	s := spec{name: "web", replicas: 3, image: "nginx:latest", hostNetwork: true}
	h.Deployment(event(t, watch.ActionCreate, s))
	h.one(t)
	calls := h.enf.take()
	slices.SortFunc(calls, func(a, b call) int { return strings.Compare(a.action, b.action) })
	if want := []call{{"node", "web", nodeID}, {"scale", "web", scaleID}}; !slices.Equal(calls, want) {
		t.Fatalf("calls = %v, want %v", calls, want)
	}

	// Scaled to zero and updated by the watcher: still violating, already
	// enforced, nothing called; nor after a policy push.
	s.replicas = 0
	h.Deployment(event(t, watch.ActionUpdate, s))
	h.PoliciesChanged()
	h.none(t)
	if calls := h.enf.take(); len(calls) != 0 {
		t.Fatalf("calls while still violating = %v", calls)
	}

	// The image is fixed: the latest tag violation clears (host network
	// stays). When it comes back, it is enforced again.
	s.image = "nginx:1.27"
	h.Deployment(event(t, watch.ActionUpdate, s))
	h.one(t)
	s.image = "nginx"
	h.Deployment(event(t, watch.ActionUpdate, s))
	h.one(t)
	if calls := h.enf.take(); !slices.Equal(calls, []call{{"scale", "web", scaleID}}) {
		t.Fatalf("calls after the violation came back = %v", calls)
	}

	// A deployment violating only policies without enforcement: no call.
	h.Deployment(event(t, watch.ActionCreate, spec{name: "priv-free", replicas: 1}))
	h.none(t)
	if calls := h.enf.take(); len(calls) != 0 {
		t.Fatalf("calls for a clean deployment = %v", calls)
	}
}

func TestEnforcementDroppedWhenDeploymentGoes(t *testing.T) {
	c := &cache{}
	c.store(t, []*policy.Policy{enforced(t, privilegedPolicy, "p-scale", policy.EnforceScaleToZero)})
	enf := &enforcer{}
	d := New(c, &recorder{}, enf, nil)
	d.Live()
	s := spec{name: "web", replicas: 1, privileged: true}
	d.Deployment(event(t, watch.ActionCreate, s))
	d.Deployment(event(t, watch.ActionRemove, s))
	// Evaluate by hand, without the enforcement goroutine: the create
	// queues an enforcement, the removal then forgets the deployment.
	d.Deployment(event(t, watch.ActionCreate, spec{name: "web2", replicas: 1, privileged: true}))
	for d.step() {
	}
	if n := len(d.enforceQ); n != 1 {
		t.Fatalf("%d enforcements queued, want 1 (web2)", n)
	}
	d.Deployment(event(t, watch.ActionRemove, spec{name: "web2", replicas: 1, privileged: true}))
	for d.step() {
	}
	run(t, d)
	d.settle(t)
	if calls := enf.take(); len(calls) != 0 {
		t.Fatalf("calls for removed deployments = %v", calls)
	}
}

func TestRunOnce(t *testing.T) {
	d := New(&cache{}, nil, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Run(ctx); err != nil {
		t.Fatalf("Run after its context ended = %v, want nil", err)
	}
	if err := d.Run(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Run = %v", err)
	}
}

func TestHashIgnoresOrder(t *testing.T) {
	c := &cache{}
	c.store(t, builtins(t, privilegedPolicy, hostNetworkPolicy, latestTagPolicy))
	d := deployment(t, spec{name: "web", replicas: 1, privileged: true, hostNetwork: true, image: "nginx"})
	alerts := c.Set().EvaluateDeployment(d, time.Now())
	if len(alerts) != 3 {
		t.Fatalf("%d alerts, want 3", len(alerts))
	}
	reversed := slices.Clone(alerts)
	slices.Reverse(reversed)
	if hashAlerts(alerts) != hashAlerts(reversed) {
		t.Error("the same alerts in another order hash differently")
	}
	if hashAlerts(alerts) == hashAlerts(alerts[:2]) {
		t.Error("fewer alerts hash the same")
	}
	changed := slices.Clone(alerts)
	changed[0].Violations = []policy.Violation{{Message: "other", Container: "web"}}
	if hashAlerts(alerts) == hashAlerts(changed) {
		t.Error("another violation message hashes the same")
	}
	if hashAlerts(nil) != ([32]byte{}) {
		t.Error("no alerts do not hash to zero")
	}
}

// Enforcement answers changes made in the cluster once Sensor is synced:
// not what already ran at start, nor what violates only because a policy
// changed; the next change to such a workload is enforced.
func TestEnforcementAnswersChangesAfterSync(t *testing.T) {
	const scaleID = "2b7e8a3c-test-scale-latest"
	h := &harness{policies: &cache{}, sink: &recorder{}, enf: &enforcer{}}
	h.policies.store(t, []*policy.Policy{enforced(t, latestTagPolicy, scaleID, policy.EnforceScaleToZero)})
	h.Detector = New(h.policies, h.sink, h.enf, nil)
	run(t, h.Detector)

	s := spec{name: "old", replicas: 2, image: "nginx:latest"}
	h.Deployment(event(t, watch.ActionCreate, s)) // part of the initial sync
	h.one(t)
	h.Live()
	h.PoliciesChanged()
	h.settle(t)
	if calls := h.enf.take(); len(calls) != 0 {
		t.Fatalf("enforced before any change: %v", calls)
	}
	s.replicas = 3
	h.Deployment(event(t, watch.ActionUpdate, s))
	h.settle(t)
	if calls := h.enf.take(); len(calls) != 1 || calls[0].action != "scale" || calls[0].deployment != "old" {
		t.Fatalf("calls after the update = %v", calls)
	}
}
