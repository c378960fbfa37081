package sensor

import (
	"encoding/json"
	"fmt"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/sensor/admission"
	"github.com/stockade-dev/stockade/internal/sensor/detect"
	"github.com/stockade-dev/stockade/internal/sensor/watch"
	"github.com/stockade-dev/stockade/internal/workload"
)

// This file turns what the Sensor's parts report into messages for
// Central (api/sensor/v1).

var deploymentActions = map[watch.Action]sensorv1.DeploymentEvent_Action{
	watch.ActionCreate: sensorv1.DeploymentEvent_CREATE,
	watch.ActionUpdate: sensorv1.DeploymentEvent_UPDATE,
	watch.ActionRemove: sensorv1.DeploymentEvent_REMOVE,
}

// deploymentMessage is a watch event as a DeploymentEvent: the workload as
// JSON, except for a removal, which needs only the id.
func deploymentMessage(ev watch.Event) (*sensorv1.SensorMessage, error) {
	action, ok := deploymentActions[ev.Action]
	if !ok {
		return nil, fmt.Errorf("deployment %s: unknown action %q", ev.Deployment.ID, ev.Action)
	}
	de := &sensorv1.DeploymentEvent{Action: action, Id: ev.Deployment.ID, ContentHash: ev.Hash}
	if action != sensorv1.DeploymentEvent_REMOVE {
		doc, err := json.Marshal(ev.Deployment)
		if err != nil {
			return nil, fmt.Errorf("encode deployment %s/%s: %w", ev.Deployment.Namespace, ev.Deployment.Name, err)
		}
		de.DeploymentJson = doc
	}
	return &sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Deployment{Deployment: de}}, nil
}

// policyAlert is one violated policy on the wire.
func policyAlert(p *policy.Policy, vs []policy.Violation) *sensorv1.PolicyAlert {
	out := &sensorv1.PolicyAlert{PolicyId: p.ID, PolicyName: p.Name, Violations: make([]*sensorv1.Violation, 0, len(vs))}
	for _, v := range vs {
		out.Violations = append(out.Violations, &sensorv1.Violation{Message: v.Message, Container: v.Container})
	}
	return out
}

// alertMessage is a detection change as an AlertEvent: ACTIVE with every
// policy the deployment violates now (none resolves them all), or, for a
// deployment that is gone, RESOLVED for all of them. Central reads the
// deployment from its inventory, where the deployment event that caused
// the change already is.
func alertMessage(ch detect.AlertChange) *sensorv1.SensorMessage {
	ae := &sensorv1.AlertEvent{DeploymentId: ch.Deployment.ID, TimeUnixNano: ch.Time.UnixNano()}
	if ch.Removed {
		ae.State = sensorv1.AlertState_RESOLVED
	} else {
		ae.State = sensorv1.AlertState_ACTIVE
		ae.Alerts = make([]*sensorv1.PolicyAlert, 0, len(ch.Alerts))
		for _, a := range ch.Alerts {
			ae.Alerts = append(ae.Alerts, policyAlert(a.Policy.Policy, a.Violations))
		}
	}
	return &sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Alert{Alert: ae}}
}

// podOwners finds the deployment a pod belongs to (watch.Watcher).
type podOwners interface {
	PodDeployment(namespace, name string) (id string, ok bool)
}

// decisionMessages are the messages one admission decision raises:
//   - a denied workload: one ATTEMPTED AlertEvent listing every policy,
//     with the workload as judged (it is in no inventory);
//   - a workload admitted by break-glass: one ACTIVE AlertEvent flagged
//     break_glass, with the workload;
//   - an exec, attach or port-forward: one KubeEvent with the policies it
//     violates.
//
// A workload admitted in inform mode raises nothing here: detection
// reports the same violations once the workload is stored. A request the
// webhook could not decide (fail-open, fail-closed) raises an
// AdmissionError, which Central records as an alert on admission control.
func decisionMessages(d admission.Decision, owners podOwners) ([]*sensorv1.SensorMessage, error) {
	var (
		out        []*sensorv1.SensorMessage
		attempted  *sensorv1.AlertEvent
		breakGlass *sensorv1.AlertEvent
		kube       *sensorv1.KubeEvent
		kubeAlerts []*sensorv1.PolicyAlert
	)
	withDeployment := func(dep *workload.Deployment, state sensorv1.AlertState, glass bool, ev admission.Event) (*sensorv1.AlertEvent, error) {
		doc, err := json.Marshal(dep)
		if err != nil {
			return nil, fmt.Errorf("encode deployment %s/%s: %w", dep.Namespace, dep.Name, err)
		}
		return &sensorv1.AlertEvent{DeploymentId: dep.ID, State: state, BreakGlass: glass, DeploymentJson: doc, TimeUnixNano: ev.Time.UnixNano()}, nil
	}
	for _, ev := range d.Events {
		switch {
		case ev.Kind == admission.EventError:
			out = append(out, &sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_AdmissionError{AdmissionError: &sensorv1.AdmissionError{
				Namespace: ev.Namespace, Name: ev.Name, Kind: ev.ObjectKind, Operation: ev.Operation, Error: ev.Error,
				Admitted: ev.Admitted, User: ev.User.Name, TimeUnixNano: ev.Time.UnixNano()}}})
		case ev.Kind == admission.EventKube:
			kube = &sensorv1.KubeEvent{Resource: string(ev.Resource), Namespace: ev.Namespace, Pod: ev.Name, User: ev.User.Name,
				Groups: ev.User.Groups, Denied: !ev.Admitted, TimeUnixNano: ev.Time.UnixNano()}
			if owners != nil {
				if id, ok := owners.PodDeployment(ev.Namespace, ev.Name); ok {
					kube.DeploymentId = id
				}
			}
		case ev.Kind != admission.EventAlert || ev.Policy == nil:
		case ev.Deployment == nil:
			kubeAlerts = append(kubeAlerts, policyAlert(ev.Policy, ev.Violations))
		case ev.State == admission.AlertAttempted:
			if attempted == nil {
				ae, err := withDeployment(ev.Deployment, sensorv1.AlertState_ATTEMPTED, false, ev)
				if err != nil {
					return nil, err
				}
				attempted = ae
			}
			attempted.Alerts = append(attempted.Alerts, policyAlert(ev.Policy, ev.Violations))
		case ev.BreakGlass:
			if breakGlass == nil {
				ae, err := withDeployment(ev.Deployment, sensorv1.AlertState_ACTIVE, true, ev)
				if err != nil {
					return nil, err
				}
				breakGlass = ae
			}
			breakGlass.Alerts = append(breakGlass.Alerts, policyAlert(ev.Policy, ev.Violations))
		}
	}
	if attempted != nil {
		out = append(out, &sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Alert{Alert: attempted}})
	}
	if breakGlass != nil {
		out = append(out, &sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Alert{Alert: breakGlass}})
	}
	if kube != nil {
		kube.Alerts = kubeAlerts
		out = append(out, &sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_KubeEvent{KubeEvent: kube}})
	}
	return out, nil
}

// decisionResult names an admission decision for the metrics.
func decisionResult(d admission.Decision) string {
	switch {
	case d.Failed && d.Allowed:
		return "fail_open"
	case d.Failed:
		return "fail_closed"
	case !d.Allowed:
		return "denied"
	}
	alerted := false
	for _, ev := range d.Events {
		if ev.Kind == admission.EventAlert {
			if ev.BreakGlass {
				return "break_glass"
			}
			alerted = true
		}
	}
	if alerted {
		return "inform"
	}
	return "allowed"
}
