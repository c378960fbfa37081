package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// connectOptions is the union of PodExecOptions, PodAttachOptions and
// PodPortForwardOptions that a CONNECT request carries as its object.
type connectOptions struct {
	Container string   `json:"container"`
	Command   []string `json:"command"`
	Ports     []int32  `json:"ports"`
}

// decideConnect records an exec, attach or port-forward request and denies
// it when an enforced Kubernetes-event policy matches.
func (h *Handler) decideConnect(ctx context.Context, req *admissionv1.AdmissionRequest) (*decision, error) {
	if req.Resource.Group != "" || req.Resource.Resource != "pods" {
		return allow(), nil
	}
	var resource KubeResource
	switch req.SubResource {
	case "exec":
		resource = PodsExec
	case "attach":
		resource = PodsAttach
	case "portforward":
		resource = PodsPortForward
	default:
		return allow(), nil
	}
	var opts connectOptions
	if len(req.Object.Raw) > 0 {
		if err := json.Unmarshal(req.Object.Raw, &opts); err != nil {
			return nil, fmt.Errorf("decode %s options: %w", req.SubResource, err)
		}
	}
	kr := &kubeRequest{resource: resource, user: req.UserInfo.Username, groups: req.UserInfo.Groups, pod: req.Name}
	ev := h.event(req, EventKube)
	ev.ObjectKind = workload.KindPod
	ev.Resource = resource
	ev.Container = opts.Container
	ev.Command = opts.Command
	ev.Ports = opts.Ports
	ev.Admitted = true
	dec := allow()
	if h.excluded[req.Namespace] {
		dec.events = []Event{ev}
		return dec, nil
	}

	v, err := h.currentView()
	if err != nil {
		return nil, err
	}
	var denying []*kubePolicy
	if len(v.kube) > 0 {
		target, err := h.podTarget(ctx, req)
		if err != nil {
			return nil, err
		}
		now := h.cfg.Now()
		for _, kp := range v.kube {
			if kp.enforce && kp.c.AppliesTo(target, now) && kp.match(kr) {
				denying = append(denying, kp)
			}
		}
	}
	if len(denying) == 0 {
		dec.events = []Event{ev}
		return dec, nil
	}

	inform := h.cfg.Inform
	ev.Admitted = inform
	dec = &decision{allowed: inform, events: []Event{ev}}
	text := kubeViolation(kr, opts.Container, opts.Command, opts.Ports)
	state := AlertAttempted
	if inform {
		state = AlertActive
	}
	names := make([]string, 0, len(denying))
	var b strings.Builder
	b.WriteString("Stockade denied ")
	b.WriteString(verbOf(resource))
	b.WriteString(" pod ")
	b.WriteString(objectRef(req.Namespace, req.Name))
	b.WriteString(": it violates ")
	b.WriteString(countOf(len(denying), "enforced policy", "enforced policies"))
	b.WriteString(".")
	for _, kp := range denying {
		alert := ev
		alert.Kind = EventAlert
		alert.Policy = kp.c.Policy
		alert.State = state
		alert.Violations = violationsOf(text, opts.Container)
		dec.events = append(dec.events, alert)
		names = append(names, kp.c.Policy.Name)
		writePolicy(&b, kp.c.Policy, alert.Violations)
	}
	if inform {
		h.log.Info("kubernetes request admitted although it violates enforced policies (inform only)", "uid", req.UID, "resource", resource,
			"namespace", req.Namespace, "pod", req.Name, "user", req.UserInfo.Username, "policies", names)
		dec.warnings = []string{informWarning(verbOf(resource)+" pod "+objectRef(req.Namespace, req.Name), names)}
		return dec, nil
	}
	dec.message = clip(b.String(), maxMessage)
	h.log.Info("kubernetes request denied", "uid", req.UID, "resource", resource, "namespace", req.Namespace,
		"pod", req.Name, "user", req.UserInfo.Username, "policies", names)
	return dec, nil
}

// podTarget is the workload policy scopes and exclusions are matched
// against: the pod as the Getter reads it (its labels), or, without a
// Getter or when the pod is gone, its name and namespace.
func (h *Handler) podTarget(ctx context.Context, req *admissionv1.AdmissionRequest) (*workload.Deployment, error) {
	bare := &workload.Deployment{Name: req.Name, Namespace: req.Namespace, Kind: workload.KindPod, ClusterName: h.cfg.ClusterName}
	if h.cfg.Getter == nil {
		return bare, nil
	}
	raw, err := h.cfg.Getter.Get(ctx, schema.GroupVersionResource{Version: "v1", Resource: "pods"}, req.Namespace, req.Name)
	if apierrors.IsNotFound(err) {
		return bare, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get pod %s/%s: %w", req.Namespace, req.Name, err)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(raw, &pod); err != nil {
		return nil, fmt.Errorf("decode pod %s/%s: %w", req.Namespace, req.Name, err)
	}
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace
	}
	d, _, err := workload.FromObject(&pod, h.cfg.ClusterName)
	if err != nil {
		return nil, err
	}
	return d, nil
}

func verbOf(r KubeResource) string {
	switch r {
	case PodsExec:
		return "exec into"
	case PodsAttach:
		return "attach to"
	}
	return "port-forward to"
}

func violationsOf(text, container string) []policy.Violation {
	return []policy.Violation{{Message: text, Container: container}}
}
