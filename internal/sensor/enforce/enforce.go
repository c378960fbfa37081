package enforce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// Annotations and the node selector label enforcement writes.
const (
	// AnnotationScaledToZero says which policy scaled the workload to zero
	// (or suspended it) and when: "<policy name> at <RFC 3339 time>".
	AnnotationScaledToZero = "enforcement.stockade.io/scaled-to-zero"
	// AnnotationPreviousReplicas is spec.replicas before scaling to zero,
	// the value to restore once the workload is fixed.
	AnnotationPreviousReplicas = "enforcement.stockade.io/previous-replicas"
	// AnnotationNodeConstraint says which policy made the workload's pods
	// unschedulable and when: "<policy name> at <RFC 3339 time>".
	AnnotationNodeConstraint = "enforcement.stockade.io/unsatisfiable-node-constraint"
	// LabelBlocked is the node selector key no node carries; its value is
	// the id of the policy that set it.
	LabelBlocked = "enforcement.stockade.io/blocked"
)

// Event reasons, one per action.
const (
	ReasonScaledToZero   = "StockadeScaledToZero"
	ReasonNodeConstraint = "StockadeNodeConstraint"
	ReasonSuspended      = "StockadeSuspended"
	ReasonPodKilled      = "StockadePodKilled"
)

// ReportingController names Stockade's Sensor in the events it writes.
const ReportingController = "stockade.io/sensor"

// DefaultNamespace is Sensor's namespace when Config.Namespace is empty, the
// one `stockade sensor generate k8s` installs into by default.
const DefaultNamespace = "stockade"

// Errors a caller may tell apart with errors.Is.
var (
	// ErrSystemNamespace: the workload is in kube-system, kube-public or
	// Sensor's own namespace, where Stockade never enforces.
	ErrSystemNamespace = errors.New("system namespace, never enforced on")
	// ErrUnsupported: the action cannot apply to the workload's kind.
	ErrUnsupported = errors.New("not supported for this kind")
	// ErrReplaced: the workload was deleted and created again under the
	// same name since it was evaluated.
	ErrReplaced = errors.New("workload was replaced")
)

// Config configures an Enforcer.
type Config struct {
	// Namespace is Sensor's own namespace, never enforced on (besides
	// kube-system and kube-public); empty means DefaultNamespace.
	Namespace string
	// Instance names this Sensor in events (reportingInstance); empty means
	// "stockade-sensor".
	Instance string
	// Log receives warnings about events that could not be written; nil
	// discards them.
	Log *slog.Logger
}

// Enforcer applies enforcement actions to the workloads of one cluster. It
// is safe for concurrent use.
type Enforcer struct {
	kube      kubernetes.Interface
	dyn       dynamic.Interface
	log       *slog.Logger
	protected map[string]bool
	instance  string
	now       func() time.Time
}

// New returns an Enforcer writing through kube, and through dyn for
// OpenShift DeploymentConfigs (nil when the cluster serves none: enforcing
// on a DeploymentConfig then fails).
func New(kube kubernetes.Interface, dyn dynamic.Interface, cfg Config) *Enforcer {
	ns := cfg.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	instance := cfg.Instance
	if instance == "" {
		instance = "stockade-sensor"
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Enforcer{
		kube:      kube,
		dyn:       dyn,
		log:       log,
		protected: map[string]bool{"kube-system": true, "kube-public": true, ns: true},
		instance:  instance,
		now:       time.Now,
	}
}

// ScaleToZero stops a workload's pods: replicas → 0 through the scale
// subresource for the kinds that have replicas, the node constraint for a
// DaemonSet, spec.suspend for a CronJob or a Job (see the package comment).
// A second call for a workload already stopped changes nothing.
func (e *Enforcer) ScaleToZero(ctx context.Context, d *workload.Deployment, p *policy.Policy) error {
	if err := e.check(d, p); err != nil {
		return fmt.Errorf("scale to zero: %w", err)
	}
	k, err := kindOf(d.Kind)
	if err != nil {
		return fmt.Errorf("scale %s to zero: %w", describe(d), err)
	}
	switch {
	case k.scalable:
		err = e.scale(ctx, d, p, k)
	case d.Kind == workload.KindDaemonSet:
		err = e.constrain(ctx, d, p, k, "ScaleToZero",
			"a DaemonSet runs one pod per node and cannot be scaled, so its pods were given an unsatisfiable node constraint instead")
	case k.suspendable:
		err = e.suspend(ctx, d, p, k)
	default:
		err = fmt.Errorf("%w: a bare Pod has no replicas; only KILL_POD_ENFORCEMENT can stop it", ErrUnsupported)
	}
	if err != nil {
		return fmt.Errorf("scale %s to zero: %w", describe(d), err)
	}
	return nil
}

// UnsatisfiableNodeConstraint makes a workload's new pods unschedulable with
// a node selector no node matches (see the package comment). A second call
// changes nothing.
func (e *Enforcer) UnsatisfiableNodeConstraint(ctx context.Context, d *workload.Deployment, p *policy.Policy) error {
	if err := e.check(d, p); err != nil {
		return fmt.Errorf("apply node constraint: %w", err)
	}
	k, err := kindOf(d.Kind)
	if err == nil {
		err = e.constrain(ctx, d, p, k, "UnsatisfiableNodeConstraint", "")
	}
	if err != nil {
		return fmt.Errorf("apply node constraint to %s: %w", describe(d), err)
	}
	return nil
}

// KillPod deletes one pod, for runtime policies that carry
// KILL_POD_ENFORCEMENT, and records an event on it. A pod that is already
// gone is not an error.
func (e *Enforcer) KillPod(ctx context.Context, namespace, pod string, p *policy.Policy) error {
	if p == nil {
		return fmt.Errorf("kill pod %s/%s: policy is nil", namespace, pod)
	}
	if e.protected[namespace] {
		return fmt.Errorf("kill pod %s/%s: namespace %s: %w", namespace, pod, namespace, ErrSystemNamespace)
	}
	obj, err := e.kube.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kill pod %s/%s: %w", namespace, pod, err)
	}
	uid := obj.UID
	err = e.kube.CoreV1().Pods(namespace).Delete(ctx, pod, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		// Gone, or replaced by a new pod of the same name that this
		// decision was not about.
		return nil
	case err != nil:
		return fmt.Errorf("kill pod %s/%s: %w", namespace, pod, err)
	}
	e.event(ctx, target{apiVersion: "v1", kind: workload.KindPod, namespace: namespace, name: pod, uid: uid, resourceVersion: obj.ResourceVersion},
		ReasonPodKilled, "KillPod",
		fmt.Sprintf("Stockade deleted pod %s: it violates policy %q (KILL_POD_ENFORCEMENT).", pod, p.Name))
	return nil
}

// check refuses what no action may touch.
func (e *Enforcer) check(d *workload.Deployment, p *policy.Policy) error {
	switch {
	case d == nil:
		return errors.New("deployment is nil")
	case p == nil:
		return fmt.Errorf("%s: policy is nil", describe(d))
	case d.Name == "" || d.Namespace == "":
		return fmt.Errorf("deployment %q: name or namespace is empty", d.ID)
	case e.protected[d.Namespace]:
		return fmt.Errorf("%s: namespace %s: %w", describe(d), d.Namespace, ErrSystemNamespace)
	}
	return nil
}

// scale annotates the workload, then sets its replicas to zero through the
// scale subresource. The annotation goes first, carrying the
// resourceVersion read, so that previous-replicas is the count that was
// there when the decision was made.
func (e *Enforcer) scale(ctx context.Context, d *workload.Deployment, p *policy.Policy, k kind) error {
	var (
		done bool
		from int32
		obj  *object
	)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		obj, err = e.get(ctx, d, k)
		if err != nil {
			return err
		}
		from = obj.replicas
		_, annotated := obj.annotations[AnnotationScaledToZero]
		if from == 0 && annotated {
			done = true
			return nil
		}
		patch := metaPatch(obj.resourceVersion, map[string]any{
			AnnotationScaledToZero:     e.stamp(p),
			AnnotationPreviousReplicas: fmt.Sprint(from),
		})
		if err := e.patch(ctx, d, k, patch, ""); err != nil {
			return fmt.Errorf("annotate: %w", err)
		}
		if from == 0 {
			return nil
		}
		if err := e.patch(ctx, d, k, map[string]any{"spec": map[string]any{"replicas": 0}}, "scale"); err != nil {
			return fmt.Errorf("scale subresource: %w", err)
		}
		return nil
	})
	if err != nil || done {
		return err
	}
	unit := "replicas"
	if from == 1 {
		unit = "replica"
	}
	note := fmt.Sprintf("Stockade scaled %s %s from %d %s to 0: it violates policy %q (SCALE_TO_ZERO_ENFORCEMENT). Fix it, then restore spec.replicas (annotation %s).",
		d.Kind, d.Name, from, unit, p.Name, AnnotationPreviousReplicas)
	if from == 0 {
		note = fmt.Sprintf("Stockade marked %s %s, already at 0 replicas, as scaled to zero: it violates policy %q (SCALE_TO_ZERO_ENFORCEMENT).", d.Kind, d.Name, p.Name)
	}
	e.event(ctx, obj.target(d, k), ReasonScaledToZero, "ScaleToZero", note)
	return nil
}

// suspend sets spec.suspend on a CronJob (no new Jobs) or a Job (its running
// pods are stopped), with the scaled-to-zero annotation.
func (e *Enforcer) suspend(ctx context.Context, d *workload.Deployment, p *policy.Policy, k kind) error {
	var (
		done bool
		obj  *object
	)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		obj, err = e.get(ctx, d, k)
		if err != nil {
			return err
		}
		_, annotated := obj.annotations[AnnotationScaledToZero]
		if obj.suspended && annotated {
			done = true
			return nil
		}
		patch := metaPatch(obj.resourceVersion, map[string]any{AnnotationScaledToZero: e.stamp(p)})
		patch["spec"] = map[string]any{"suspend": true}
		return e.patch(ctx, d, k, patch, "")
	})
	if err != nil || done {
		return err
	}
	what := "no new Jobs will start"
	if d.Kind == workload.KindJob {
		what = "its running pods are stopped"
	}
	e.event(ctx, obj.target(d, k), ReasonSuspended, "ScaleToZero",
		fmt.Sprintf("Stockade suspended %s %s (spec.suspend=true; a %s cannot be scaled, so %s): it violates policy %q (SCALE_TO_ZERO_ENFORCEMENT). Fix it, then set spec.suspend to false.",
			d.Kind, d.Name, d.Kind, what, p.Name))
	return nil
}

// constrain adds the unsatisfiable node selector to the pod template, with
// its annotation. why, when set, says why this action stands in for another.
func (e *Enforcer) constrain(ctx context.Context, d *workload.Deployment, p *policy.Policy, k kind, action, why string) error {
	if k.template == nil {
		return fmt.Errorf("%w: a %s's pod spec cannot change after it is created", ErrUnsupported, d.Kind)
	}
	var (
		done bool
		obj  *object
	)
	value := blockValue(p)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		obj, err = e.get(ctx, d, k)
		if err != nil {
			return err
		}
		_, blocked := obj.nodeSelector[LabelBlocked]
		_, annotated := obj.annotations[AnnotationNodeConstraint]
		if blocked && annotated {
			done = true
			return nil
		}
		patch := metaPatch(obj.resourceVersion, map[string]any{AnnotationNodeConstraint: e.stamp(p)})
		if !blocked {
			// Nested maps down the template path, ending in the selector.
			var inner any = map[string]any{"nodeSelector": map[string]any{LabelBlocked: value}}
			for i := len(k.template) - 1; i >= 0; i-- {
				inner = map[string]any{k.template[i]: inner}
			}
			patch["spec"] = inner.(map[string]any)["spec"]
		}
		return e.patch(ctx, d, k, patch, "")
	})
	if err != nil || done {
		return err
	}
	note := fmt.Sprintf("Stockade gave %s %s the node selector %s=%s, which no node matches, so its new pods are not scheduled: it violates policy %q (UNSATISFIABLE_NODE_CONSTRAINT_ENFORCEMENT). Fix it, then remove the node selector.",
		d.Kind, d.Name, LabelBlocked, value, p.Name)
	if why != "" {
		note += " SCALE_TO_ZERO_ENFORCEMENT: " + why + "."
	}
	e.event(ctx, obj.target(d, k), ReasonNodeConstraint, action, note)
	return nil
}

// stamp is the value of the annotations that say which policy acted, when.
func (e *Enforcer) stamp(p *policy.Policy) string {
	return p.Name + " at " + e.now().UTC().Format(time.RFC3339)
}

// metaPatch is a merge patch setting annotations, conditional on the
// object's resourceVersion.
func metaPatch(resourceVersion string, annotations map[string]any) map[string]any {
	return map[string]any{"metadata": map[string]any{
		"resourceVersion": resourceVersion,
		"annotations":     annotations,
	}}
}

func describe(d *workload.Deployment) string {
	return d.Kind + " " + d.Namespace + "/" + d.Name
}
