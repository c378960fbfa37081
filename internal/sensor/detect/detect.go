package detect

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/sensor/watch"
	"github.com/stockade-dev/stockade/internal/workload"
)

// Policies gives the Detector the policy set Sensor has cached from
// Central. Set must return at once; nil means no set has arrived yet, and
// nothing is evaluated until PoliciesChanged says one has.
type Policies interface {
	Set() *policy.Set
}

// Sink receives alert changes, in the order they were decided. Alerts is
// called with the Detector's lock held, so that Current and the changes it
// reports are consistent: it must return at once (queue the change) and
// must not call back into the Detector.
type Sink interface {
	Alerts(ev AlertChange)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ev AlertChange)

// Alerts calls f.
func (f SinkFunc) Alerts(ev AlertChange) { f(ev) }

// Enforcer applies a policy's deploy-time enforcement to a workload;
// enforce.Enforcer is one. Calls may block on the Kubernetes API.
type Enforcer interface {
	ScaleToZero(ctx context.Context, d *workload.Deployment, p *policy.Policy) error
	UnsatisfiableNodeConstraint(ctx context.Context, d *workload.Deployment, p *policy.Policy) error
}

// AlertChange is what a deployment violates now, the content of one
// sensorv1.AlertEvent in state ACTIVE: Alerts lists every violated policy
// (empty: the deployment's alerts are all resolved). Removed says the
// deployment is gone; Alerts is empty then. Deployment is the newest one
// evaluated (the last one seen for a removal) and Time when it was
// evaluated. Receivers must not modify Deployment or Alerts.
type AlertChange struct {
	Deployment *workload.Deployment
	Alerts     []policy.Alert
	Removed    bool
	Time       time.Time
}

// The Detector is what Sensor's watcher reports to.
var _ watch.Sink = (*Detector)(nil)

// enforceTimeout bounds one Enforcer call.
const enforceTimeout = 30 * time.Second

// Detector evaluates deployments as they change. Build it with New, feed it
// with Deployment (it is a watch.Sink) and PoliciesChanged, and start it
// with Run.
type Detector struct {
	policies Policies
	sink     Sink
	enf      Enforcer
	log      *slog.Logger
	now      func() time.Time

	wake        chan struct{} // evaluation work was queued
	enforceWake chan struct{} // enforcement work was queued
	ran         atomic.Bool
	// live is set once the initial sync is over (Live): from then on a
	// watch event is a change made in the cluster, which enforcement
	// answers.
	live atomic.Bool

	// mu guards everything below and serializes Sink calls.
	mu       sync.Mutex
	pending  map[string]work // deployment id → newest work for it
	order    []string        // ids of pending, oldest first
	inflight bool            // Run is evaluating one taken from pending
	tracked  map[string]*tracked

	enforceQ  []enforcement
	enforcing bool // the enforcement goroutine is calling the Enforcer
}

// work is one deployment to evaluate: an event from watch, or a policy
// change (reeval) that re-evaluates the deployment last seen.
type work struct {
	ev     watch.Event
	reeval bool
	// change says the event arrived after Live: a change made in the
	// cluster, which enforcement answers. Taken when queued, so events of
	// the initial sync still waiting when Live is called stay exempt.
	change bool
}

// tracked is what the Detector knows of one deployment.
type tracked struct {
	dep    *workload.Deployment
	alerts []policy.Alert
	hash   [sha256.Size]byte // of alerts; zero when there are none
	since  time.Time         // when alerts were last reported
	// enforced holds the enforcement actions requested for the policies
	// it violates; an entry goes when the violation does.
	enforced map[enforceKey]bool
}

type enforceKey struct {
	policy string // id, or name when the policy has none
	action policy.EnforcementAction
}

type enforcement struct {
	id  string
	key enforceKey
	p   *policy.Policy
}

// New returns a Detector evaluating the set p holds and reporting changes
// to sink. enf may be nil: nothing is enforced then. log nil discards logs.
func New(p Policies, sink Sink, enf Enforcer, log *slog.Logger) *Detector {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if sink == nil {
		sink = SinkFunc(func(AlertChange) {})
	}
	return &Detector{
		policies:    p,
		sink:        sink,
		enf:         enf,
		log:         log,
		now:         time.Now,
		wake:        make(chan struct{}, 1),
		enforceWake: make(chan struct{}, 1),
		pending:     map[string]work{},
		tracked:     map[string]*tracked{},
	}
}

// Deployment queues a watch event for evaluation and returns at once; it
// makes the Detector a watch.Sink. CREATE and UPDATE evaluate the
// deployment, REMOVE forgets it. A newer event for a deployment replaces one
// not yet evaluated.
func (d *Detector) Deployment(ev watch.Event) {
	if ev.Deployment == nil || ev.Deployment.ID == "" {
		d.log.Warn("deployment event ignored", "action", string(ev.Action), "reason", "no deployment id")
		return
	}
	d.mu.Lock()
	d.queue(ev.Deployment.ID, work{ev: ev, change: d.live.Load()})
	d.mu.Unlock()
	signal(d.wake)
}

// Live says the watcher's initial sync is over. Enforcement answers changes
// made in the cluster — a workload created or updated from now on — as in
// ACS: deployments that already ran when Sensor started, or that violate a
// policy only because the policy changed, are reported and left running
// until they next change.
func (d *Detector) Live() { d.live.Store(true) }

// PoliciesChanged queues every known deployment for evaluation against the
// policy set as it is now. Only deployments whose alerts change are
// reported.
func (d *Detector) PoliciesChanged() {
	d.mu.Lock()
	ids := make([]string, 0, len(d.tracked))
	for id := range d.tracked {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if _, ok := d.pending[id]; !ok {
			d.queue(id, work{reeval: true})
		}
	}
	d.mu.Unlock()
	signal(d.wake)
}

// Current returns the alerts of every deployment that violates a policy,
// ordered by namespace, name and id, as last reported: what Central needs
// to be told again after a reconnect.
func (d *Detector) Current() []AlertChange {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []AlertChange
	for _, t := range d.tracked {
		if len(t.alerts) > 0 {
			out = append(out, AlertChange{Deployment: t.dep, Alerts: t.alerts, Time: t.since})
		}
	}
	slices.SortFunc(out, func(a, b AlertChange) int {
		return cmp.Or(cmp.Compare(a.Deployment.Namespace, b.Deployment.Namespace),
			cmp.Compare(a.Deployment.Name, b.Deployment.Name), cmp.Compare(a.Deployment.ID, b.Deployment.ID))
	})
	return out
}

// Run evaluates queued deployments, and enforces, until ctx ends; it then
// returns nil. Events queued before Run are evaluated when it starts. Run
// may be called once.
func (d *Detector) Run(ctx context.Context) error {
	if d.ran.Swap(true) {
		return errors.New("run detector: already running")
	}
	var wg sync.WaitGroup
	wg.Go(func() { d.enforceLoop(ctx) })
	defer wg.Wait()
	for {
		for ctx.Err() == nil && d.step() {
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		}
	}
}

// queue records w as the newest work for id. Callers hold mu.
func (d *Detector) queue(id string, w work) {
	if _, ok := d.pending[id]; !ok {
		d.order = append(d.order, id)
	}
	d.pending[id] = w
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (d *Detector) set() *policy.Set {
	if d.policies == nil {
		return nil
	}
	return d.policies.Set()
}

// step evaluates the oldest queued deployment; it returns false when the
// queue is empty.
func (d *Detector) step() bool {
	d.mu.Lock()
	if len(d.order) == 0 {
		d.mu.Unlock()
		return false
	}
	id := d.order[0]
	d.order = d.order[1:]
	if len(d.order) == 0 {
		d.order = nil
	}
	w := d.pending[id]
	delete(d.pending, id)
	t := d.tracked[id]
	d.inflight = true
	d.mu.Unlock()

	now := d.now()
	remove := !w.reeval && w.ev.Action == watch.ActionRemove
	dep := w.ev.Deployment
	if w.reeval {
		if t == nil {
			d.done()
			return true
		}
		dep = t.dep
	}
	var (
		alerts    []policy.Alert
		evaluated bool
	)
	if !remove {
		if set := d.set(); set != nil {
			alerts, evaluated = set.EvaluateDeployment(dep, now), true
		}
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	d.inflight = false
	if remove {
		delete(d.tracked, id)
		if t != nil && len(t.alerts) > 0 {
			d.sink.Alerts(AlertChange{Deployment: dep, Removed: true, Time: now})
		}
		return true
	}
	if t == nil {
		t = &tracked{enforced: map[enforceKey]bool{}}
		d.tracked[id] = t
	}
	t.dep = dep
	if !evaluated {
		return true
	}
	h := hashAlerts(alerts)
	changed := h != t.hash
	t.alerts, t.hash = alerts, h
	if changed {
		t.since = now
		d.sink.Alerts(AlertChange{Deployment: dep, Alerts: alerts, Time: now})
	}
	d.planEnforcement(id, t, w.change)
	return true
}

func (d *Detector) done() {
	d.mu.Lock()
	d.inflight = false
	d.mu.Unlock()
}

// enforceable reports whether the Detector applies an enforcement action;
// the others belong to admission control, the build and runtime.
func enforceable(a policy.EnforcementAction) bool {
	return a == policy.EnforceScaleToZero || a == policy.EnforceUnsatisfiableNode
}

// planEnforcement queues the enforcement actions t's alerts call for that
// were not requested yet, when a change in the cluster triggered the
// evaluation (change), and forgets those of violations that cleared.
// Callers hold mu.
func (d *Detector) planEnforcement(id string, t *tracked, change bool) {
	want := map[enforceKey]bool{}
	var todo []enforcement
	for _, a := range t.alerts {
		p := a.Policy.Policy
		for _, action := range p.EnforcementActions {
			if !enforceable(action) {
				continue
			}
			k := enforceKey{policy: cmp.Or(p.ID, p.Name), action: action}
			want[k] = true
			if change && !t.enforced[k] && d.enf != nil {
				todo = append(todo, enforcement{id: id, key: k, p: p})
			}
		}
	}
	for k := range t.enforced {
		if !want[k] {
			delete(t.enforced, k)
		}
	}
	if len(todo) == 0 {
		return
	}
	for _, e := range todo {
		t.enforced[e.key] = true
	}
	d.enforceQ = append(d.enforceQ, todo...)
	signal(d.enforceWake)
}

// enforceLoop calls the Enforcer for queued actions until ctx ends. An
// action whose violation cleared, or whose deployment went, while it waited
// is dropped.
func (d *Detector) enforceLoop(ctx context.Context) {
	for {
		d.mu.Lock()
		if len(d.enforceQ) == 0 {
			d.enforceQ = nil
			d.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-d.enforceWake:
				continue
			}
		}
		e := d.enforceQ[0]
		d.enforceQ = d.enforceQ[1:]
		var dep *workload.Deployment
		if t := d.tracked[e.id]; t != nil && t.enforced[e.key] {
			dep = t.dep
			d.enforcing = true
		}
		d.mu.Unlock()
		if dep == nil {
			continue
		}
		d.enforce(ctx, dep, e)
		d.mu.Lock()
		d.enforcing = false
		d.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
	}
}

func (d *Detector) enforce(ctx context.Context, dep *workload.Deployment, e enforcement) {
	ctx, cancel := context.WithTimeout(ctx, enforceTimeout)
	defer cancel()
	var err error
	switch e.key.action {
	case policy.EnforceScaleToZero:
		err = d.enf.ScaleToZero(ctx, dep, e.p)
	case policy.EnforceUnsatisfiableNode:
		err = d.enf.UnsatisfiableNodeConstraint(ctx, dep, e.p)
	}
	attrs := []any{"deployment", dep.ID, "kind", dep.Kind, "namespace", dep.Namespace, "name", dep.Name,
		"policy", e.p.Name, "action", string(e.key.action)}
	if err != nil {
		d.log.WarnContext(ctx, "enforcement failed", append(attrs, "err", err)...)
		return
	}
	d.log.InfoContext(ctx, "enforced", attrs...)
}

// hashAlerts hashes the set of (policy id, violations) pairs: the same
// violations of the same policies, in any order, hash the same. No alerts
// hash to the zero value.
func hashAlerts(alerts []policy.Alert) [sha256.Size]byte {
	if len(alerts) == 0 {
		return [sha256.Size]byte{}
	}
	type entry struct {
		id         string
		violations []policy.Violation
	}
	entries := make([]entry, len(alerts))
	for i, a := range alerts {
		vs := slices.Clone(a.Violations)
		slices.SortFunc(vs, func(x, y policy.Violation) int {
			return cmp.Or(cmp.Compare(x.Message, y.Message), cmp.Compare(x.Container, y.Container))
		})
		entries[i] = entry{id: cmp.Or(a.Policy.Policy.ID, a.Policy.Policy.Name), violations: vs}
	}
	slices.SortFunc(entries, func(x, y entry) int { return cmp.Compare(x.id, y.id) })
	h := sha256.New()
	for _, e := range entries {
		// Length-prefixed fields: no choice of strings can make two
		// different sets write the same bytes.
		writeField(h, e.id)
		for _, v := range e.violations {
			writeField(h, v.Message)
			writeField(h, v.Container)
		}
		h.Write([]byte{0xff})
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

func writeField(w io.Writer, s string) {
	n := len(s)
	_, _ = w.Write([]byte{0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	_, _ = io.WriteString(w, s)
}
