package admission

import (
	"strings"
	"sync"
	"testing"
)

// decisions is a DecisionRecorder keeping every decision.
type decisions struct {
	mu   sync.Mutex
	all  []Decision
	each int // Record calls, which must not happen
}

func (d *decisions) Record(Event) {
	d.mu.Lock()
	d.each++
	d.mu.Unlock()
}

func (d *decisions) RecordDecision(dec Decision) {
	d.mu.Lock()
	d.all = append(d.all, dec)
	d.mu.Unlock()
}

func (d *decisions) take() ([]Decision, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out, n := d.all, d.each
	d.all, d.each = nil, 0
	return out, n
}

func TestInformAdmitsWithWarningAndActiveAlerts(t *testing.T) {
	h, rec := newTestHandler(t, Config{Inform: true})
	_, resp, body := post(t, h, loadReview(t, "create-deployments-privileged"))
	if !resp.Allowed {
		t.Fatalf("inform mode denied: %s", body)
	}
	if len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "would deny") || !strings.Contains(resp.Warnings[0], privilegedPolicy) {
		t.Errorf("warnings = %q", resp.Warnings)
	}
	ev := rec.all()
	if len(ev) != 1 || ev[0].Kind != EventAlert || ev[0].State != AlertActive || ev[0].BreakGlass || !ev[0].Admitted ||
		ev[0].Policy.Name != privilegedPolicy || ev[0].Deployment == nil {
		t.Errorf("events = %+v", ev)
	}

	// Break-glass stays break-glass.
	rec.reset()
	r := loadReview(t, "create-deployments-privileged")
	editObject(t, &r.Request.Object.Raw, func(obj map[string]any) {
		field(obj, "metadata", "annotations")[BreakGlassAnnotation] = "INC-1"
	})
	if _, resp, body := post(t, h, r); !resp.Allowed || !strings.Contains(strings.Join(resp.Warnings, " "), "break-glass") {
		t.Errorf("break-glass in inform mode: %s", body)
	}
	if ev := rec.all(); len(ev) != 1 || !ev[0].BreakGlass || ev[0].State != AlertActive {
		t.Errorf("events = %+v", ev)
	}

	// An exec the policy denies is admitted and its alert is ACTIVE.
	rec.reset()
	if _, resp, body := post(t, h, loadReview(t, "connect-pods-exec-clean")); !resp.Allowed || len(resp.Warnings) != 1 ||
		!strings.Contains(resp.Warnings[0], "would deny exec into pod") {
		t.Errorf("exec in inform mode: %s", body)
	}
	ev = rec.all()
	if len(ev) != 2 || ev[0].Kind != EventKube || !ev[0].Admitted || ev[1].Kind != EventAlert || ev[1].State != AlertActive || !ev[1].Admitted {
		t.Errorf("events = %+v", ev)
	}
}

func TestDecisionRecorderGetsEveryDecisionWhole(t *testing.T) {
	rec := &decisions{}
	h := New(Config{ClusterName: "test-cluster"}, setPolicies{testPolicies(t)}, rec, nil)

	post(t, h, loadReview(t, "create-deployments-privileged"))
	got, each := rec.take()
	if each != 0 || len(got) != 1 || got[0].Allowed || got[0].Failed || got[0].DryRun || len(got[0].Events) != 1 ||
		got[0].Events[0].State != AlertAttempted {
		t.Errorf("denial: decisions = %+v, Record calls = %d", got, each)
	}

	// An allowed request without events is a decision too.
	post(t, h, loadReview(t, "create-deployments-clean"))
	if got, _ := rec.take(); len(got) != 1 || !got[0].Allowed || len(got[0].Events) != 0 {
		t.Errorf("clean: decisions = %+v", got)
	}

	// A CONNECT's kube event and alert come in one decision.
	post(t, h, loadReview(t, "connect-pods-exec-clean"))
	if got, _ := rec.take(); len(got) != 1 || got[0].Allowed || len(got[0].Events) != 2 ||
		got[0].Events[0].Kind != EventKube || got[0].Events[1].Kind != EventAlert {
		t.Errorf("exec: decisions = %+v", got)
	}

	// A dry run is decided and reports no events.
	r := loadReview(t, "create-deployments-privileged")
	dry := true
	r.Request.DryRun = &dry
	post(t, h, r)
	if got, _ := rec.take(); len(got) != 1 || !got[0].DryRun || got[0].Allowed || len(got[0].Events) != 0 {
		t.Errorf("dry run: decisions = %+v", got)
	}

	// Without a policy set the failure policy answers.
	h = New(Config{ClusterName: "test-cluster"}, setPolicies{}, rec, nil)
	post(t, h, loadReview(t, "create-deployments-privileged"))
	if got, _ := rec.take(); len(got) != 1 || !got[0].Allowed || !got[0].Failed || len(got[0].Events) != 1 || got[0].Events[0].Kind != EventError {
		t.Errorf("no policies: decisions = %+v", got)
	}
}
