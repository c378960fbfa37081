package sensorconn

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/central/detectapi"
	"github.com/stockade-dev/stockade/internal/central/outbox"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// changeSet collects what a transaction recorded: the notifications to
// queue in it and the number of new alerts.
type changeSet struct {
	changes  []outbox.AlertChange
	recorded int
}

// inTx runs fn in one transaction that also queues fn's notifications,
// then wakes delivery and counts the alerts.
func (s *Service) inTx(ctx context.Context, fn func(tx *store.Tx, cs *changeSet) error) error {
	var cs changeSet
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		cs = changeSet{}
		if err := fn(tx, &cs); err != nil {
			return err
		}
		if s.notify != nil && len(cs.changes) > 0 {
			return s.notify.EnqueueAlerts(ctx, tx, cs.changes)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if s.notify != nil && len(cs.changes) > 0 {
		s.notify.Kick()
	}
	if s.recorded != nil && cs.recorded > 0 {
		s.recorded.Add(float64(cs.recorded))
	}
	return nil
}

// policyIndex is the current policies by id.
func (s *Service) policyIndex(ctx context.Context) (map[string]*policy.Compiled, error) {
	set, err := s.policies.Set(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*policy.Compiled, len(set.Policies()))
	for _, c := range set.Policies() {
		out[c.Policy.ID] = c
	}
	return out, nil
}

// openAlerts returns the ACTIVE alerts of deployment id in cluster, of
// stage unless it is empty.
func openAlerts(ctx context.Context, tx *store.Tx, cluster, id, stage string) ([]store.AlertRecord, error) {
	all, err := tx.OpenDeploymentAlerts(ctx, id)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, a := range all {
		if a.ClusterName == cluster && (stage == "" || a.LifecycleStage == stage) {
			out = append(out, a)
		}
	}
	return out, nil
}

// resolve moves an open alert to RESOLVED and queues the notification its
// policy's notifiers want.
func (s *Service) resolve(ctx context.Context, tx *store.Tx, cs *changeSet, a store.AlertRecord) error {
	if err := tx.SetAlertState(ctx, a.ID, store.AlertResolved); err != nil {
		return err
	}
	event := outbox.StateEvent(a.State, store.AlertResolved)
	if s.notify == nil || event == "" {
		return nil
	}
	index, err := s.policyIndex(ctx)
	if err != nil {
		return err
	}
	c := index[a.PolicyID]
	if c == nil || len(c.Policy.Notifiers) == 0 {
		return nil // the policy is gone, and with it its notifiers
	}
	after, err := tx.GetAlert(ctx, a.ID)
	if err != nil {
		return err
	}
	na, err := outbox.AlertFromRecord(after)
	if err != nil {
		return err
	}
	cs.changes = append(cs.changes, outbox.AlertChange{Notifiers: c.Policy.Notifiers, Event: event, Alert: na})
	return nil
}

// violations converts the wire's violations.
func violations(pa *sensorv1.PolicyAlert) []policy.Violation {
	out := make([]policy.Violation, 0, len(pa.GetViolations()))
	for _, v := range pa.GetViolations() {
		out = append(out, policy.Violation{Message: v.GetMessage(), Container: v.GetContainer()})
	}
	return out
}

// eventTime is the time a Sensor gave, or now.
func (s *Service) eventTime(unixNano int64) time.Time {
	if unixNano <= 0 {
		return s.now()
	}
	return time.Unix(0, unixNano)
}

// alertDeployment is the deployment an alert event is about: the one it
// carries, or the inventory's when it belongs to the cluster; nil when
// neither is there. A document that does not decode is errBadEvent.
func (s *Service) alertDeployment(ctx context.Context, cluster, id string, doc []byte) (*workload.Deployment, error) {
	if len(doc) > 0 {
		d, err := decodeDeployment(doc, id, cluster)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBadEvent, err)
		}
		return d, nil
	}
	if id == "" {
		return nil, nil
	}
	rec, err := s.store.GetDeployment(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && rec.Cluster != cluster) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d, err := decodeDeployment(rec.JSON, id, cluster)
	if err != nil {
		return nil, fmt.Errorf("%w: stored %w", errBadEvent, err)
	}
	return d, nil
}

// errBadEvent marks an event Central cannot apply, which is logged and
// skipped rather than ending the stream.
var errBadEvent = errors.New("bad event")

// applyAlert records an alert event (see sensorv1.AlertState for what each
// state means).
func (s *Service) applyAlert(ctx context.Context, st *stream, ev *sensorv1.AlertEvent) error {
	name := st.c.name
	d, err := s.alertDeployment(ctx, name, ev.GetDeploymentId(), ev.GetDeploymentJson())
	if errors.Is(err, errBadEvent) {
		s.log.Warn("alert event ignored", "cluster", name, "deployment", ev.GetDeploymentId(), "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	depID := ev.GetDeploymentId()
	if d != nil {
		depID = d.ID
	}
	if depID == "" {
		s.log.Warn("alert event ignored", "cluster", name, "reason", "no deployment id")
		return nil
	}
	at := s.eventTime(ev.GetTimeUnixNano())
	switch ev.GetState() {
	case sensorv1.AlertState_ACTIVE:
		if d == nil {
			s.log.Warn("alert event ignored", "cluster", name, "deployment", depID, "reason", "deployment unknown and not sent")
			return nil
		}
		return s.inTx(ctx, func(tx *store.Tx, cs *changeSet) error {
			return s.reconcile(ctx, tx, cs, d, ev, at)
		})
	case sensorv1.AlertState_RESOLVED:
		listed := map[string]bool{}
		for _, pa := range ev.GetAlerts() {
			listed[pa.GetPolicyId()] = true
		}
		return s.inTx(ctx, func(tx *store.Tx, cs *changeSet) error {
			open, err := openAlerts(ctx, tx, name, depID, "")
			if err != nil {
				return err
			}
			for _, a := range open {
				if len(listed) == 0 || listed[a.PolicyID] {
					if err := s.resolve(ctx, tx, cs, a); err != nil {
						return err
					}
				}
			}
			return nil
		})
	case sensorv1.AlertState_ATTEMPTED:
		if d == nil {
			s.log.Warn("alert event ignored", "cluster", name, "deployment", depID, "reason", "an ATTEMPTED event needs its deployment")
			return nil
		}
		return s.record(ctx, d, ev.GetAlerts(), policy.StageDeploy, store.AlertAttempted, true, ev.GetBreakGlass(), at)
	}
	s.log.Warn("alert event ignored", "cluster", name, "deployment", depID, "reason", "unknown state", "state", ev.GetState().String())
	return nil
}

// reconcile applies an ACTIVE event to the deployment's open deploy-time
// alerts.
func (s *Service) reconcile(ctx context.Context, tx *store.Tx, cs *changeSet, d *workload.Deployment, ev *sensorv1.AlertEvent, at time.Time) error {
	index, err := s.policyIndex(ctx)
	if err != nil {
		return err
	}
	open, err := openAlerts(ctx, tx, d.ClusterName, d.ID, string(policy.StageDeploy))
	if err != nil {
		return err
	}
	byPolicy := map[string]store.AlertRecord{} // the oldest open alert of each policy
	for _, a := range open {
		if _, dup := byPolicy[a.PolicyID]; !dup {
			byPolicy[a.PolicyID] = a
		}
	}
	listed := map[string]bool{}
	var added []store.AlertRecord
	for _, pa := range ev.GetAlerts() {
		c := index[pa.GetPolicyId()]
		if c == nil {
			s.log.Warn("alert for an unknown policy ignored", "cluster", d.ClusterName, "deployment", d.ID,
				"policy", pa.GetPolicyId(), "policy_name", pa.GetPolicyName())
			continue
		}
		if listed[c.Policy.ID] {
			continue
		}
		listed[c.Policy.ID] = true
		vs := violations(pa)
		old, ok := byPolicy[c.Policy.ID]
		if !ok {
			rec, change, err := detectapi.NewAlert(detectapi.AlertInput{Deployment: d, Policy: c, Stage: policy.StageDeploy,
				Violations: vs, State: store.AlertActive, BreakGlass: ev.GetBreakGlass(), Time: at})
			if err != nil {
				return err
			}
			added = append(added, rec)
			if change != nil {
				cs.changes = append(cs.changes, *change)
			}
			continue
		}
		var doc detectapi.Alert
		if err := json.Unmarshal(old.JSON, &doc); err != nil {
			return fmt.Errorf("alert %q: read document: %w", old.ID, err)
		}
		breakGlass := doc.BreakGlass || ev.GetBreakGlass()
		if slices.Equal(doc.Violations, vs) && breakGlass == doc.BreakGlass {
			continue
		}
		rec, _, err := detectapi.NewAlert(detectapi.AlertInput{Deployment: d, Policy: c, Stage: policy.StageDeploy,
			Violations: vs, State: store.AlertActive, BreakGlass: breakGlass, Time: old.CreatedAt})
		if err != nil {
			return err
		}
		if err := tx.UpdateAlertDocument(ctx, old.ID, rec.JSON); err != nil {
			return err
		}
	}
	if err := tx.AddAlerts(ctx, added); err != nil {
		return err
	}
	cs.recorded += len(added)
	if ev.GetBreakGlass() {
		return nil // admission's word on some policies, not the whole picture
	}
	// Open alerts of policies no longer listed are resolved, and so is a
	// second open alert of one policy.
	for _, a := range open {
		if listed[a.PolicyID] && byPolicy[a.PolicyID].ID == a.ID {
			continue
		}
		if err := s.resolve(ctx, tx, cs, a); err != nil {
			return err
		}
	}
	return nil
}

// record adds one alert per listed policy in state.
func (s *Service) record(ctx context.Context, d *workload.Deployment, alerts []*sensorv1.PolicyAlert, stage policy.LifecycleStage,
	state string, enforced, breakGlass bool, at time.Time) error {
	index, err := s.policyIndex(ctx)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *store.Tx, cs *changeSet) error {
		var recs []store.AlertRecord
		for _, pa := range alerts {
			c := index[pa.GetPolicyId()]
			if c == nil {
				s.log.Warn("alert for an unknown policy ignored", "cluster", d.ClusterName, "deployment", d.ID,
					"policy", pa.GetPolicyId(), "policy_name", pa.GetPolicyName())
				continue
			}
			rec, change, err := detectapi.NewAlert(detectapi.AlertInput{Deployment: d, Policy: c, Stage: stage,
				Violations: violations(pa), State: state, Enforced: enforced, BreakGlass: breakGlass, Time: at})
			if err != nil {
				return err
			}
			recs = append(recs, rec)
			if change != nil {
				cs.changes = append(cs.changes, *change)
			}
		}
		if err := tx.AddAlerts(ctx, recs); err != nil {
			return err
		}
		cs.recorded += len(recs)
		return nil
	})
}

// Kubernetes requests the admission webhook reports.
var kubeResources = map[string]bool{"PODS_EXEC": true, "PODS_PORTFORWARD": true, "PODS_ATTACH": true}

// applyKubeEvent logs a Kubernetes request and records the RUNTIME
// alerts it raised: ATTEMPTED when admission control denied it, ACTIVE
// otherwise.
func (s *Service) applyKubeEvent(ctx context.Context, st *stream, ev *sensorv1.KubeEvent) error {
	name := st.c.name
	if !kubeResources[ev.GetResource()] || ev.GetPod() == "" || ev.GetNamespace() == "" {
		s.log.Warn("kubernetes event ignored", "cluster", name, "resource", ev.GetResource(), "reason", "want PODS_EXEC, PODS_PORTFORWARD or PODS_ATTACH on a named pod")
		return nil
	}
	s.log.Info("kubernetes request", "cluster", name, "resource", ev.GetResource(), "namespace", ev.GetNamespace(),
		"pod", ev.GetPod(), "user", ev.GetUser(), "groups", ev.GetGroups(), "denied", ev.GetDenied(), "alerts", len(ev.GetAlerts()))
	if len(ev.GetAlerts()) == 0 {
		return nil
	}
	d, err := s.alertDeployment(ctx, name, ev.GetDeploymentId(), nil)
	if err != nil && !errors.Is(err, errBadEvent) {
		return err
	}
	if d == nil {
		d = &workload.Deployment{ID: ev.GetDeploymentId(), Name: ev.GetPod(), Namespace: ev.GetNamespace(), Kind: "Pod", ClusterName: name}
	}
	state := store.AlertActive
	if ev.GetDenied() {
		state = store.AlertAttempted
	}
	return s.record(ctx, d, ev.GetAlerts(), policy.StageRuntime, state, ev.GetDenied(), false, s.eventTime(ev.GetTimeUnixNano()))
}

// AdmissionFailurePolicyID names the alerts Central records when a
// Sensor's admission webhook could not decide a request.
const AdmissionFailurePolicyID = "stockade-admission-control-undecided"

// admissionFailurePolicy is what those alerts are about. It is no stored
// policy (no criterion can express "the webhook failed"): its metadata
// explains the alert, its one section is never evaluated.
func admissionFailurePolicy() (*policy.Compiled, error) {
	return policy.Compile(&policy.Policy{
		ID:       AdmissionFailurePolicyID,
		Name:     "Admission control could not decide",
		Severity: policy.SeverityHigh,
		Description: "Sensor's admission webhook could not decide a request (an internal error or its deadline); " +
			"failing open it admitted the request unchecked, failing closed it denied it.",
		Rationale: "A workload admitted without a decision may violate policies that should have stopped it; " +
			"one denied without a decision is an outage for its owners.",
		Remediation: "Read the error in the violation, check Sensor's health and logs (/readyz, /metrics) and " +
			"whether it has received policies from Central; then check the workload against the policies.",
		Categories:      []string{"Stockade"},
		LifecycleStages: []policy.LifecycleStage{policy.StageDeploy},
		PolicySections: []policy.PolicySection{{PolicyGroups: []policy.PolicyGroup{{
			FieldName: "Required Annotation", Values: []policy.PolicyValue{{Value: "admission.stockade.io/undecided=.*"}},
		}}}},
	})
}

// applyAdmissionError records an alert on admission control for a
// request the webhook could not decide: ACTIVE when it was admitted
// (fail-open), ATTEMPTED when denied (fail-closed).
func (s *Service) applyAdmissionError(ctx context.Context, st *stream, ev *sensorv1.AdmissionError) error {
	name := st.c.name
	s.log.Warn("admission control could not decide", "cluster", name, "namespace", ev.GetNamespace(), "kind", ev.GetKind(),
		"name", ev.GetName(), "operation", ev.GetOperation(), "admitted", ev.GetAdmitted(), "err", ev.GetError())
	if ev.GetNamespace() == "" || ev.GetName() == "" {
		return nil
	}
	c, err := admissionFailurePolicy()
	if err != nil {
		return err
	}
	kind := cmp.Or(ev.GetKind(), "Object")
	d := &workload.Deployment{ID: workload.StableID(name, ev.GetNamespace(), kind, ev.GetName()), Name: ev.GetName(),
		Namespace: ev.GetNamespace(), Kind: kind, ClusterName: name}
	if known, err := s.alertDeployment(ctx, name, d.ID, nil); err == nil && known != nil {
		d = known
	}
	state, outcome := store.AlertActive, "admitted it unchecked (fail-open)"
	if !ev.GetAdmitted() {
		state, outcome = store.AlertAttempted, "denied it (fail-closed)"
	}
	msg := fmt.Sprintf("Admission control could not decide %s of %s %s/%s", cmp.Or(ev.GetOperation(), "a request"), kind, ev.GetNamespace(), ev.GetName())
	if u := ev.GetUser(); u != "" {
		msg += " by " + u
	}
	msg += fmt.Sprintf(" and %s: %s", outcome, cmp.Or(ev.GetError(), "no reason given"))
	return s.inTx(ctx, func(tx *store.Tx, cs *changeSet) error {
		rec, change, err := detectapi.NewAlert(detectapi.AlertInput{Deployment: d, Policy: c, Stage: policy.StageDeploy,
			Violations: []policy.Violation{{Message: msg}}, State: state, Enforced: !ev.GetAdmitted(), Time: s.eventTime(ev.GetTimeUnixNano())})
		if err != nil {
			return err
		}
		if change != nil {
			cs.changes = append(cs.changes, *change)
		}
		if err := tx.AddAlerts(ctx, []store.AlertRecord{rec}); err != nil {
			return err
		}
		cs.recorded++
		return nil
	})
}
