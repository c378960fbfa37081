package sensor

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/sensor/admission"
	"github.com/stockade-dev/stockade/internal/sensor/detect"
	"github.com/stockade-dev/stockade/internal/sensor/watch"
	"github.com/stockade-dev/stockade/internal/workload"
)

type owners map[string]string

func (o owners) PodDeployment(ns, name string) (string, bool) {
	id, ok := o[ns+"/"+name]
	return id, ok
}

var (
	at   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	web  = &workload.Deployment{ID: "uid-web", Name: "web", Namespace: "shop", Kind: "Deployment", ClusterName: "lab"}
	priv = &policy.Policy{ID: "p-priv", Name: "Privileged"}
	root = &policy.Policy{ID: "p-root", Name: "Root"}
	exec = &policy.Policy{ID: "p-exec", Name: "No exec"}
)

func alertEv(p *policy.Policy, state admission.AlertState, glass, admitted bool) admission.Event {
	return admission.Event{Kind: admission.EventAlert, Time: at, Policy: p, State: state, BreakGlass: glass, Admitted: admitted,
		Deployment: web, Namespace: "shop", Name: "web", Violations: []policy.Violation{{Message: p.Name + " found", Container: "app"}}}
}

func TestDecisionMessages(t *testing.T) {
	// A denial: one ATTEMPTED event listing both policies, with the workload.
	msgs, err := decisionMessages(admission.Decision{Events: []admission.Event{
		alertEv(priv, admission.AlertAttempted, false, false), alertEv(root, admission.AlertAttempted, false, false)}}, nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("denial: %v, %v", msgs, err)
	}
	ae := msgs[0].GetAlert()
	if ae.GetState() != sensorv1.AlertState_ATTEMPTED || ae.GetDeploymentId() != "uid-web" || ae.GetBreakGlass() ||
		len(ae.GetAlerts()) != 2 || ae.GetAlerts()[1].GetPolicyId() != "p-root" || ae.GetTimeUnixNano() != at.UnixNano() ||
		ae.GetAlerts()[0].GetViolations()[0].GetContainer() != "app" {
		t.Errorf("denial = %v", ae)
	}
	var d workload.Deployment
	if err := json.Unmarshal(ae.GetDeploymentJson(), &d); err != nil || d.Name != "web" || d.Namespace != "shop" {
		t.Errorf("deployment_json = %s (%v)", ae.GetDeploymentJson(), err)
	}

	// Break-glass: ACTIVE, flagged.
	msgs, _ = decisionMessages(admission.Decision{Allowed: true, Events: []admission.Event{alertEv(priv, admission.AlertActive, true, true)}}, nil)
	if len(msgs) != 1 || msgs[0].GetAlert().GetState() != sensorv1.AlertState_ACTIVE || !msgs[0].GetAlert().GetBreakGlass() ||
		len(msgs[0].GetAlert().GetDeploymentJson()) == 0 {
		t.Errorf("break-glass = %v", msgs)
	}

	// Inform: detection reports it; nothing is sent from admission.
	msgs, _ = decisionMessages(admission.Decision{Allowed: true, Events: []admission.Event{alertEv(priv, admission.AlertActive, false, true)}}, nil)
	if len(msgs) != 0 {
		t.Errorf("inform = %v", msgs)
	}

	// An exec: one KubeEvent with its alert and the pod's deployment.
	kube := admission.Event{Kind: admission.EventKube, Time: at, Namespace: "shop", Name: "web-7d9-abc", Resource: admission.PodsExec,
		User: admission.User{Name: "alice", Groups: []string{"dev"}}}
	kubeAlert := kube
	kubeAlert.Kind, kubeAlert.Policy, kubeAlert.State = admission.EventAlert, exec, admission.AlertAttempted
	kubeAlert.Violations = []policy.Violation{{Message: "exec by alice"}}
	msgs, _ = decisionMessages(admission.Decision{Events: []admission.Event{kube, kubeAlert}}, owners{"shop/web-7d9-abc": "uid-web"})
	if len(msgs) != 1 {
		t.Fatalf("exec = %v", msgs)
	}
	ke := msgs[0].GetKubeEvent()
	if ke.GetResource() != "PODS_EXEC" || ke.GetPod() != "web-7d9-abc" || ke.GetNamespace() != "shop" || ke.GetUser() != "alice" ||
		!slices.Equal(ke.GetGroups(), []string{"dev"}) || !ke.GetDenied() || ke.GetDeploymentId() != "uid-web" ||
		len(ke.GetAlerts()) != 1 || ke.GetAlerts()[0].GetPolicyId() != "p-exec" || ke.GetTimeUnixNano() != at.UnixNano() {
		t.Errorf("kube event = %v", ke)
	}
	// An admitted port-forward of an unknown pod: no deployment id, no alerts.
	kube.Resource, kube.Admitted = admission.PodsPortForward, true
	msgs, _ = decisionMessages(admission.Decision{Allowed: true, Events: []admission.Event{kube}}, owners{})
	if len(msgs) != 1 || msgs[0].GetKubeEvent().GetDenied() || msgs[0].GetKubeEvent().GetDeploymentId() != "" || len(msgs[0].GetKubeEvent().GetAlerts()) != 0 {
		t.Errorf("port-forward = %v", msgs)
	}

	// An undecided request becomes an AdmissionError for Central.
	msgs, _ = decisionMessages(admission.Decision{Allowed: true, Failed: true, Events: []admission.Event{{Kind: admission.EventError,
		Error: "no policy set loaded", Namespace: "shop", Name: "web", ObjectKind: "Deployment", Operation: "CREATE", Admitted: true,
		User: admission.User{Name: "alice"}}}}, nil)
	if len(msgs) != 1 {
		t.Fatalf("error = %v", msgs)
	}
	if ae := msgs[0].GetAdmissionError(); ae.GetError() != "no policy set loaded" || !ae.GetAdmitted() || ae.GetKind() != "Deployment" ||
		ae.GetName() != "web" || ae.GetNamespace() != "shop" || ae.GetOperation() != "CREATE" || ae.GetUser() != "alice" {
		t.Errorf("admission error message = %v", ae)
	}
}

func TestDecisionResult(t *testing.T) {
	for _, c := range []struct {
		d    admission.Decision
		want string
	}{
		{admission.Decision{Allowed: true}, "allowed"},
		{admission.Decision{}, "denied"},
		{admission.Decision{Allowed: true, Failed: true}, "fail_open"},
		{admission.Decision{Failed: true}, "fail_closed"},
		{admission.Decision{Allowed: true, Events: []admission.Event{alertEv(priv, admission.AlertActive, true, true)}}, "break_glass"},
		{admission.Decision{Allowed: true, Events: []admission.Event{alertEv(priv, admission.AlertActive, false, true)}}, "inform"},
		{admission.Decision{Allowed: true, Events: []admission.Event{{Kind: admission.EventKube}}}, "allowed"},
	} {
		if got := decisionResult(c.d); got != c.want {
			t.Errorf("decisionResult(%+v) = %s, want %s", c.d, got, c.want)
		}
	}
}

func TestDetectionAndWatchMessages(t *testing.T) {
	c, err := policy.Compile(&policy.Policy{ID: "p-latest", Name: "Latest tag", Severity: policy.SeverityLow,
		LifecycleStages: []policy.LifecycleStage{policy.StageDeploy},
		PolicySections:  []policy.PolicySection{{PolicyGroups: []policy.PolicyGroup{{FieldName: "Image Tag", Values: []policy.PolicyValue{{Value: "latest"}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	m := alertMessage(detect.AlertChange{Deployment: web, Time: at, Alerts: []policy.Alert{{Policy: c, Violations: []policy.Violation{{Message: "tag latest", Container: "app"}}}}})
	ae := m.GetAlert()
	if ae.GetState() != sensorv1.AlertState_ACTIVE || ae.GetDeploymentId() != "uid-web" || len(ae.GetAlerts()) != 1 ||
		ae.GetAlerts()[0].GetPolicyName() != "Latest tag" || ae.GetTimeUnixNano() != at.UnixNano() || len(ae.GetDeploymentJson()) != 0 {
		t.Errorf("active = %v", ae)
	}
	// Fixed: ACTIVE with an empty list resolves them all.
	if ae := alertMessage(detect.AlertChange{Deployment: web, Time: at}).GetAlert(); ae.GetState() != sensorv1.AlertState_ACTIVE || len(ae.GetAlerts()) != 0 {
		t.Errorf("fixed = %v", ae)
	}
	if ae := alertMessage(detect.AlertChange{Deployment: web, Time: at, Removed: true}).GetAlert(); ae.GetState() != sensorv1.AlertState_RESOLVED || len(ae.GetAlerts()) != 0 {
		t.Errorf("removed = %v", ae)
	}

	for action, want := range map[watch.Action]sensorv1.DeploymentEvent_Action{watch.ActionCreate: sensorv1.DeploymentEvent_CREATE,
		watch.ActionUpdate: sensorv1.DeploymentEvent_UPDATE, watch.ActionRemove: sensorv1.DeploymentEvent_REMOVE} {
		m, err := deploymentMessage(watch.Event{Action: action, Deployment: web, Hash: "h1"})
		if err != nil {
			t.Fatal(err)
		}
		de := m.GetDeployment()
		if de.GetAction() != want || de.GetId() != "uid-web" || de.GetContentHash() != "h1" || (len(de.GetDeploymentJson()) == 0) != (action == watch.ActionRemove) {
			t.Errorf("%s = %v", action, de)
		}
	}
	if _, err := deploymentMessage(watch.Event{Action: "EXPLODE", Deployment: web}); err == nil {
		t.Error("unknown action accepted")
	}
}
