package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// judgedKinds maps the group and kind of every object the webhook judges to
// its resource name, for the Getter.
var judgedKinds = map[schema.GroupKind]string{
	{Kind: workload.KindPod}:                                                  "pods",
	{Kind: workload.KindReplicationController}:                                "replicationcontrollers",
	{Group: "apps", Kind: workload.KindDeployment}:                            "deployments",
	{Group: "apps", Kind: workload.KindDaemonSet}:                             "daemonsets",
	{Group: "apps", Kind: workload.KindStatefulSet}:                           "statefulsets",
	{Group: "apps", Kind: workload.KindReplicaSet}:                            "replicasets",
	{Group: "extensions", Kind: workload.KindDeployment}:                      "deployments",
	{Group: "extensions", Kind: workload.KindDaemonSet}:                       "daemonsets",
	{Group: "extensions", Kind: workload.KindReplicaSet}:                      "replicasets",
	{Group: "batch", Kind: workload.KindJob}:                                  "jobs",
	{Group: "batch", Kind: workload.KindCronJob}:                              "cronjobs",
	{Group: workload.OpenShiftAppsGroup, Kind: workload.KindDeploymentConfig}: "deploymentconfigs",
}

// newObject returns an empty object of a judged kind to decode into, or nil.
func newObject(gk schema.GroupKind) runtime.Object {
	if _, ok := judgedKinds[gk]; !ok {
		return nil
	}
	switch gk.Kind {
	case workload.KindPod:
		return &corev1.Pod{}
	case workload.KindReplicationController:
		return &corev1.ReplicationController{}
	case workload.KindDeployment:
		return &appsv1.Deployment{}
	case workload.KindDaemonSet:
		return &appsv1.DaemonSet{}
	case workload.KindStatefulSet:
		return &appsv1.StatefulSet{}
	case workload.KindReplicaSet:
		return &appsv1.ReplicaSet{}
	case workload.KindJob:
		return &batchv1.Job{}
	case workload.KindCronJob:
		return &batchv1.CronJob{}
	case workload.KindDeploymentConfig:
		return &workload.DeploymentConfig{}
	}
	return nil
}

// scaleTargets maps the resources whose scale subresource the webhook
// judges to their kind.
var scaleTargets = map[schema.GroupResource]schema.GroupKind{
	{Group: "apps", Resource: "deployments"}:                            {Group: "apps", Kind: workload.KindDeployment},
	{Group: "apps", Resource: "statefulsets"}:                           {Group: "apps", Kind: workload.KindStatefulSet},
	{Group: "apps", Resource: "replicasets"}:                            {Group: "apps", Kind: workload.KindReplicaSet},
	{Group: "extensions", Resource: "deployments"}:                      {Group: "extensions", Kind: workload.KindDeployment},
	{Group: "extensions", Resource: "replicasets"}:                      {Group: "extensions", Kind: workload.KindReplicaSet},
	{Resource: "replicationcontrollers"}:                                {Kind: workload.KindReplicationController},
	{Group: workload.OpenShiftAppsGroup, Resource: "deploymentconfigs"}: {Group: workload.OpenShiftAppsGroup, Kind: workload.KindDeploymentConfig},
}

// decodeObject decodes a workload of kind gk from JSON; the namespace of the
// request fills an empty metadata.namespace.
func decodeObject(gk schema.GroupKind, raw []byte, namespace string) (runtime.Object, metav1.Object, error) {
	obj := newObject(gk)
	if obj == nil {
		return nil, nil, fmt.Errorf("%s is not a workload kind", gk)
	}
	if len(raw) == 0 {
		return nil, nil, errors.New("no object")
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return nil, nil, fmt.Errorf("decode %s: %w", gk.Kind, err)
	}
	meta, ok := obj.(metav1.Object)
	if !ok {
		return nil, nil, fmt.Errorf("decode %s: no object metadata", gk.Kind)
	}
	if meta.GetNamespace() == "" {
		meta.SetNamespace(namespace)
	}
	return obj, meta, nil
}

// decideWorkload judges a CREATE or UPDATE of a workload.
func (h *Handler) decideWorkload(ctx context.Context, req *admissionv1.AdmissionRequest) (*decision, error) {
	gk := schema.GroupKind{Group: req.Kind.Group, Kind: req.Kind.Kind}
	if newObject(gk) == nil {
		return allow(), nil
	}
	obj, meta, err := decodeObject(gk, req.Object.Raw, req.Namespace)
	if err != nil {
		return nil, fmt.Errorf("object: %w", err)
	}
	if meta.GetDeletionTimestamp() != nil {
		return allow(), nil
	}
	v, err := h.currentView()
	if err != nil {
		return nil, err
	}
	policies := v.create
	if req.Operation == admissionv1.Update {
		policies = v.update
	}
	if len(policies) == 0 {
		return allow(), nil
	}
	owned, err := h.controlledByJudged(ctx, meta)
	if err != nil {
		return nil, err
	}
	if owned {
		return allow(), nil
	}
	d, err := h.normalize(obj)
	if err != nil {
		return nil, err
	}
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		oldObj, _, err := decodeObject(gk, req.OldObject.Raw, req.Namespace)
		if err != nil {
			return nil, fmt.Errorf("old object: %w", err)
		}
		old, err := h.normalize(oldObj)
		if err != nil {
			return nil, fmt.Errorf("old object: %w", err)
		}
		if sameForPolicies(old, d) {
			return allow(), nil
		}
	}
	return h.judge(req, d, policies, breakGlass(obj)), nil
}

// decideScale judges an UPDATE of a scale subresource: the requested
// replica count applied to the target's current spec.
func (h *Handler) decideScale(ctx context.Context, req *admissionv1.AdmissionRequest) (*decision, error) {
	gk, ok := scaleTargets[schema.GroupResource{Group: req.Resource.Group, Resource: req.Resource.Resource}]
	if !ok {
		return allow(), nil
	}
	replicas, err := scaleReplicas(req.Object.Raw)
	if err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	if len(req.OldObject.Raw) > 0 {
		old, err := scaleReplicas(req.OldObject.Raw)
		if err != nil {
			return nil, fmt.Errorf("old scale: %w", err)
		}
		if replicas <= old {
			return allow(), nil
		}
	}
	if h.cfg.Getter == nil {
		return allow(), nil
	}
	v, err := h.currentView()
	if err != nil {
		return nil, err
	}
	if len(v.update) == 0 {
		return allow(), nil
	}
	gvr := schema.GroupVersionResource{Group: req.Resource.Group, Version: req.Resource.Version, Resource: req.Resource.Resource}
	raw, err := h.cfg.Getter.Get(ctx, gvr, req.Namespace, req.Name)
	if apierrors.IsNotFound(err) {
		return allow(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s/%s: %w", gvr.Resource, req.Namespace, req.Name, err)
	}
	obj, meta, err := decodeObject(gk, raw, req.Namespace)
	if err != nil {
		return nil, fmt.Errorf("scale target: %w", err)
	}
	owned, err := h.controlledByJudged(ctx, meta)
	if err != nil {
		return nil, err
	}
	if owned {
		return allow(), nil
	}
	d, err := h.normalize(obj)
	if err != nil {
		return nil, err
	}
	d.Replicas = int64(replicas)
	return h.judge(req, d, v.update, breakGlass(obj)), nil
}

// scaleReplicas reads spec.replicas of a Scale (autoscaling/v1, or the
// extensions and apps beta versions, which agree on it).
func scaleReplicas(raw []byte) (int32, error) {
	if len(raw) == 0 {
		return 0, errors.New("no object")
	}
	var s struct {
		Spec struct {
			Replicas int32 `json:"replicas"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("decode Scale: %w", err)
	}
	return s.Spec.Replicas, nil
}

func (h *Handler) normalize(obj runtime.Object) (*workload.Deployment, error) {
	d, ok, err := workload.FromObject(obj, h.cfg.ClusterName)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("normalize %T: not a workload", obj)
	}
	if h.cfg.Enricher != nil {
		h.cfg.Enricher.Enrich(d)
	}
	return d, nil
}

// controlledByJudged reports whether the object's controller is a kind the
// webhook judges (and so was judged itself). With a Getter, the controller
// must exist with the UID the reference names; a reference to nothing is no
// excuse.
func (h *Handler) controlledByJudged(ctx context.Context, meta metav1.Object) (bool, error) {
	ref := metav1.GetControllerOfNoCopy(meta)
	if ref == nil {
		return false, nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false, nil
	}
	resource, ok := judgedKinds[schema.GroupKind{Group: gv.Group, Kind: ref.Kind}]
	if !ok || ref.Kind == workload.KindPod {
		return false, nil
	}
	if h.cfg.Getter == nil {
		return true, nil
	}
	raw, err := h.cfg.Getter.Get(ctx, gv.WithResource(resource), meta.GetNamespace(), ref.Name)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get controller %s %s/%s: %w", ref.Kind, meta.GetNamespace(), ref.Name, err)
	}
	var owner metav1.PartialObjectMetadata
	if err := json.Unmarshal(raw, &owner); err != nil {
		return false, fmt.Errorf("decode controller %s %s/%s: %w", ref.Kind, meta.GetNamespace(), ref.Name, err)
	}
	return owner.UID == ref.UID, nil
}

// sameForPolicies reports whether an update leaves everything the
// policies read unchanged, apart from the workload's annotations and a
// replica count that does not grow.
func sameForPolicies(old, cur *workload.Deployment) bool {
	if cur.Replicas > old.Replicas {
		return false
	}
	a, b := *old, *cur
	a.Annotations, b.Annotations = nil, nil
	a.Replicas, b.Replicas = 0, 0
	return reflect.DeepEqual(a, b)
}

// breakGlass reports whether the object or its pod template carries a
// non-empty break-glass annotation.
func breakGlass(obj runtime.Object) bool {
	if m, ok := obj.(metav1.Object); ok && m.GetAnnotations()[BreakGlassAnnotation] != "" {
		return true
	}
	var tmpl *corev1.PodTemplateSpec
	switch o := obj.(type) {
	case *appsv1.Deployment:
		tmpl = &o.Spec.Template
	case *appsv1.DaemonSet:
		tmpl = &o.Spec.Template
	case *appsv1.StatefulSet:
		tmpl = &o.Spec.Template
	case *appsv1.ReplicaSet:
		tmpl = &o.Spec.Template
	case *corev1.ReplicationController:
		tmpl = o.Spec.Template
	case *batchv1.Job:
		tmpl = &o.Spec.Template
	case *batchv1.CronJob:
		tmpl = &o.Spec.JobTemplate.Spec.Template
	case *workload.DeploymentConfig:
		tmpl = o.Spec.Template
	}
	return tmpl != nil && tmpl.Annotations[BreakGlassAnnotation] != ""
}

// judge evaluates the enforced policies against a workload and decides:
// no violation admits; violations deny with ATTEMPTED alerts, or, with
// break-glass, admit with ACTIVE alerts.
func (h *Handler) judge(req *admissionv1.AdmissionRequest, d *workload.Deployment, policies []*policy.Compiled, glass bool) *decision {
	now := h.cfg.Now()
	var alerts []policy.Alert
	for _, c := range policies {
		if !c.AppliesTo(d, now) {
			continue
		}
		if v := c.MatchDeployment(d); len(v) > 0 {
			alerts = append(alerts, policy.Alert{Policy: c, Violations: v})
		}
	}
	if len(alerts) == 0 {
		return allow()
	}
	inform := !glass && h.cfg.Inform
	dec := &decision{allowed: glass || inform}
	state := AlertAttempted
	if glass || inform {
		state = AlertActive
	}
	names := make([]string, 0, len(alerts))
	for _, a := range alerts {
		ev := h.event(req, EventAlert)
		ev.Name, ev.Namespace, ev.ObjectKind = d.Name, d.Namespace, d.Kind
		ev.Admitted = dec.allowed
		ev.Policy = a.Policy.Policy
		ev.State = state
		ev.BreakGlass = glass
		ev.Violations = a.Violations
		ev.Deployment = d
		dec.events = append(dec.events, ev)
		names = append(names, a.Policy.Policy.Name)
	}
	if glass {
		h.log.Info("admission request admitted by break-glass", "uid", req.UID, "operation", req.Operation,
			"kind", d.Kind, "namespace", d.Namespace, "name", d.Name, "policies", names)
		dec.warnings = []string{breakGlassWarning(d, names)}
		return dec
	}
	if inform {
		h.log.Info("admission request admitted although it violates enforced policies (inform only)", "uid", req.UID, "operation", req.Operation,
			"kind", d.Kind, "namespace", d.Namespace, "name", d.Name, "policies", names)
		dec.warnings = []string{informWarning(d.Kind+" "+objectRef(d.Namespace, d.Name), names)}
		return dec
	}
	h.log.Info("admission request denied", "uid", req.UID, "operation", req.Operation,
		"kind", d.Kind, "namespace", d.Namespace, "name", d.Name, "policies", names)
	dec.message = denyMessage(d, alerts)
	return dec
}
