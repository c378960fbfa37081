package enforce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// kind is how enforcement reaches one workload kind.
type kind struct {
	group, version, resource string
	scalable                 bool     // has replicas and a scale subresource
	suspendable              bool     // has spec.suspend
	template                 []string // path to the pod template's spec; nil when it cannot change
}

func (k kind) apiVersion() string {
	if k.group == "" {
		return k.version
	}
	return k.group + "/" + k.version
}

var podTemplate = []string{"spec", "template", "spec"}

// kindOf returns how to reach a workload kind (workload.Kind* names).
func kindOf(name string) (kind, error) {
	switch name {
	case workload.KindDeployment:
		return kind{group: "apps", version: "v1", resource: "deployments", scalable: true, template: podTemplate}, nil
	case workload.KindStatefulSet:
		return kind{group: "apps", version: "v1", resource: "statefulsets", scalable: true, template: podTemplate}, nil
	case workload.KindReplicaSet:
		return kind{group: "apps", version: "v1", resource: "replicasets", scalable: true, template: podTemplate}, nil
	case workload.KindDaemonSet:
		return kind{group: "apps", version: "v1", resource: "daemonsets", template: podTemplate}, nil
	case workload.KindReplicationController:
		return kind{version: "v1", resource: "replicationcontrollers", scalable: true, template: podTemplate}, nil
	case workload.KindDeploymentConfig:
		return kind{group: workload.OpenShiftAppsGroup, version: "v1", resource: "deploymentconfigs", scalable: true, template: podTemplate}, nil
	case workload.KindCronJob:
		return kind{group: "batch", version: "v1", resource: "cronjobs", suspendable: true,
			template: []string{"spec", "jobTemplate", "spec", "template", "spec"}}, nil
	case workload.KindJob:
		return kind{group: "batch", version: "v1", resource: "jobs", suspendable: true}, nil
	case workload.KindPod:
		return kind{version: "v1", resource: "pods"}, nil
	}
	return kind{}, fmt.Errorf("%w: unknown workload kind %q", ErrUnsupported, name)
}

// object is what enforcement reads of a workload before deciding.
type object struct {
	uid             types.UID
	resourceVersion string
	annotations     map[string]string
	replicas        int32 // spec.replicas with its default (1) applied
	suspended       bool
	nodeSelector    map[string]string // the pod template's
}

func (o *object) target(d *workload.Deployment, k kind) target {
	return target{apiVersion: k.apiVersion(), kind: d.Kind, namespace: d.Namespace, name: d.Name, uid: o.uid, resourceVersion: o.resourceVersion}
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

func selectorOf(t *corev1.PodTemplateSpec) map[string]string {
	if t == nil {
		return nil
	}
	return t.Spec.NodeSelector
}

// get reads the workload d names, and checks that it is still the object
// that was evaluated.
func (e *Enforcer) get(ctx context.Context, d *workload.Deployment, k kind) (*object, error) {
	var (
		meta metav1.ObjectMeta
		o    object
		opts metav1.GetOptions
	)
	switch d.Kind {
	case workload.KindDeployment:
		x, err := e.kube.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, opts)
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		meta, o.replicas, o.nodeSelector = x.ObjectMeta, replicas(x.Spec.Replicas), x.Spec.Template.Spec.NodeSelector
	case workload.KindStatefulSet:
		x, err := e.kube.AppsV1().StatefulSets(d.Namespace).Get(ctx, d.Name, opts)
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		meta, o.replicas, o.nodeSelector = x.ObjectMeta, replicas(x.Spec.Replicas), x.Spec.Template.Spec.NodeSelector
	case workload.KindReplicaSet:
		x, err := e.kube.AppsV1().ReplicaSets(d.Namespace).Get(ctx, d.Name, opts)
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		meta, o.replicas, o.nodeSelector = x.ObjectMeta, replicas(x.Spec.Replicas), x.Spec.Template.Spec.NodeSelector
	case workload.KindDaemonSet:
		x, err := e.kube.AppsV1().DaemonSets(d.Namespace).Get(ctx, d.Name, opts)
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		meta, o.nodeSelector = x.ObjectMeta, x.Spec.Template.Spec.NodeSelector
	case workload.KindReplicationController:
		x, err := e.kube.CoreV1().ReplicationControllers(d.Namespace).Get(ctx, d.Name, opts)
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		meta, o.replicas, o.nodeSelector = x.ObjectMeta, replicas(x.Spec.Replicas), selectorOf(x.Spec.Template)
	case workload.KindCronJob:
		x, err := e.kube.BatchV1().CronJobs(d.Namespace).Get(ctx, d.Name, opts)
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		meta, o.nodeSelector = x.ObjectMeta, x.Spec.JobTemplate.Spec.Template.Spec.NodeSelector
		o.suspended = x.Spec.Suspend != nil && *x.Spec.Suspend
	case workload.KindJob:
		x, err := e.kube.BatchV1().Jobs(d.Namespace).Get(ctx, d.Name, opts)
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		meta, o.nodeSelector = x.ObjectMeta, x.Spec.Template.Spec.NodeSelector
		o.suspended = x.Spec.Suspend != nil && *x.Spec.Suspend
	case workload.KindDeploymentConfig:
		if e.dyn == nil {
			return nil, errors.New("get: no client for OpenShift DeploymentConfigs")
		}
		u, err := e.dyn.Resource(k.gvr()).Namespace(d.Namespace).Get(ctx, d.Name, opts)
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		var x workload.DeploymentConfig
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &x); err != nil {
			return nil, fmt.Errorf("read DeploymentConfig: %w", err)
		}
		meta, o.replicas, o.nodeSelector = x.ObjectMeta, replicas(x.Spec.Replicas), selectorOf(x.Spec.Template)
	default:
		return nil, fmt.Errorf("%w: cannot read a %s", ErrUnsupported, d.Kind)
	}
	o.uid, o.resourceVersion, o.annotations = meta.UID, meta.ResourceVersion, meta.Annotations
	if d.ID != string(meta.UID) && d.ID != workload.StableID(d.ClusterName, d.Namespace, d.Kind, d.Name) {
		return nil, fmt.Errorf("%w: evaluated as %s, the object is now %s", ErrReplaced, d.ID, meta.UID)
	}
	return &o, nil
}

func (k kind) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: k.group, Version: k.version, Resource: k.resource}
}

// patch sends a JSON merge patch to the workload, or to its subresource.
func (e *Enforcer) patch(ctx context.Context, d *workload.Deployment, k kind, body map[string]any, subresource string) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode patch: %w", err)
	}
	var sub []string
	if subresource != "" {
		sub = []string{subresource}
	}
	if d.Kind == workload.KindDeploymentConfig {
		if e.dyn == nil {
			return errors.New("patch: no client for OpenShift DeploymentConfigs")
		}
		_, err := e.dyn.Resource(k.gvr()).Namespace(d.Namespace).Patch(ctx, d.Name, types.MergePatchType, data, metav1.PatchOptions{}, sub...)
		return err
	}
	var rc rest.Interface
	switch k.group {
	case "":
		rc = e.kube.CoreV1().RESTClient()
	case "apps":
		rc = e.kube.AppsV1().RESTClient()
	case "batch":
		rc = e.kube.BatchV1().RESTClient()
	default:
		return fmt.Errorf("patch: %w: API group %q", ErrUnsupported, k.group)
	}
	return rc.Patch(types.MergePatchType).Namespace(d.Namespace).Resource(k.resource).Name(d.Name).
		SubResource(sub...).Body(data).Do(ctx).Error()
}

// blockValue is the node selector value naming policy p: its id, or a hash
// of its name when the id is not a valid label value.
func blockValue(p *policy.Policy) string {
	if p.ID != "" && len(validation.IsValidLabelValue(p.ID)) == 0 {
		return p.ID
	}
	sum := sha256.Sum256([]byte(p.Name))
	return "policy-" + hex.EncodeToString(sum[:8])
}

// target is the object an event is about.
type target struct {
	apiVersion, kind, namespace, name string
	uid                               types.UID
	resourceVersion                   string
}

// maxNote is the longest note events.k8s.io/v1 accepts (1 kB).
const maxNote = 1024

// event records what was done on the object. It is best effort: the action
// is done whether or not the event is written, so a failure is logged.
func (e *Enforcer) event(ctx context.Context, t target, reason, action, note string) {
	if len(note) > maxNote {
		cut := maxNote - len("…")
		for cut > 0 && !utf8.RuneStart(note[cut]) {
			cut--
		}
		note = note[:cut] + "…"
	}
	prefix := t.name
	if len(prefix) > 200 {
		prefix = strings.TrimRight(prefix[:200], "-.")
	}
	now := e.now()
	ev := &eventsv1.Event{
		// Named as client-go's recorder names events (generateName would
		// end in a dot, which the API server refuses).
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", prefix, now.UnixNano()), Namespace: t.namespace},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: ReportingController,
		ReportingInstance:   e.instance,
		Action:              action,
		Reason:              reason,
		Type:                corev1.EventTypeWarning,
		Note:                note,
		Regarding: corev1.ObjectReference{
			APIVersion: t.apiVersion, Kind: t.kind, Namespace: t.namespace, Name: t.name,
			UID: t.uid, ResourceVersion: t.resourceVersion,
		},
	}
	if _, err := e.kube.EventsV1().Events(t.namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		e.log.WarnContext(ctx, "enforcement event not recorded", "kind", t.kind, "namespace", t.namespace, "name", t.name, "reason", reason, "err", err)
	}
}
