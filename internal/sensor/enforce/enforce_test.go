package enforce_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/stockade-dev/stockade/internal/k8stest"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/sensor/enforce"
	"github.com/stockade-dev/stockade/internal/workload"
)

// scaled is a workload kind with replicas, as the tests create and read it.
type scaled struct {
	kind   string
	create func(ctx context.Context, e *env, name string) (runtime.Object, error)
	get    func(ctx context.Context, e *env, name string) (replicas int32, meta metav1.ObjectMeta, err error)
}

func scaledKinds() []scaled {
	return []scaled{
		{
			kind: workload.KindDeployment,
			create: func(ctx context.Context, e *env, name string) (runtime.Object, error) {
				return e.admin.AppsV1().Deployments(e.ns).Create(ctx, newDeployment(name, 3), metav1.CreateOptions{})
			},
			get: func(ctx context.Context, e *env, name string) (int32, metav1.ObjectMeta, error) {
				x, err := e.admin.AppsV1().Deployments(e.ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return 0, metav1.ObjectMeta{}, err
				}
				return *x.Spec.Replicas, x.ObjectMeta, nil
			},
		},
		{
			kind: workload.KindStatefulSet,
			create: func(ctx context.Context, e *env, name string) (runtime.Object, error) {
				return e.admin.AppsV1().StatefulSets(e.ns).Create(ctx, &appsv1.StatefulSet{
					ObjectMeta: metav1.ObjectMeta{Name: name},
					Spec:       appsv1.StatefulSetSpec{Replicas: int32p(3), Selector: selector(name), Template: podTemplate(name), ServiceName: name},
				}, metav1.CreateOptions{})
			},
			get: func(ctx context.Context, e *env, name string) (int32, metav1.ObjectMeta, error) {
				x, err := e.admin.AppsV1().StatefulSets(e.ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return 0, metav1.ObjectMeta{}, err
				}
				return *x.Spec.Replicas, x.ObjectMeta, nil
			},
		},
		{
			kind: workload.KindReplicaSet,
			create: func(ctx context.Context, e *env, name string) (runtime.Object, error) {
				return e.admin.AppsV1().ReplicaSets(e.ns).Create(ctx, &appsv1.ReplicaSet{
					ObjectMeta: metav1.ObjectMeta{Name: name},
					Spec:       appsv1.ReplicaSetSpec{Replicas: int32p(3), Selector: selector(name), Template: podTemplate(name)},
				}, metav1.CreateOptions{})
			},
			get: func(ctx context.Context, e *env, name string) (int32, metav1.ObjectMeta, error) {
				x, err := e.admin.AppsV1().ReplicaSets(e.ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return 0, metav1.ObjectMeta{}, err
				}
				return *x.Spec.Replicas, x.ObjectMeta, nil
			},
		},
		{
			kind: workload.KindReplicationController,
			create: func(ctx context.Context, e *env, name string) (runtime.Object, error) {
				tmpl := podTemplate(name)
				return e.admin.CoreV1().ReplicationControllers(e.ns).Create(ctx, &corev1.ReplicationController{
					ObjectMeta: metav1.ObjectMeta{Name: name},
					Spec:       corev1.ReplicationControllerSpec{Replicas: int32p(3), Selector: map[string]string{"app": name}, Template: &tmpl},
				}, metav1.CreateOptions{})
			},
			get: func(ctx context.Context, e *env, name string) (int32, metav1.ObjectMeta, error) {
				x, err := e.admin.CoreV1().ReplicationControllers(e.ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return 0, metav1.ObjectMeta{}, err
				}
				return *x.Spec.Replicas, x.ObjectMeta, nil
			},
		},
	}
}

func TestScaleToZero(t *testing.T) {
	e := setup(t, enforce.Config{})
	p := testPolicy(t, policy.EnforceScaleToZero)
	for _, k := range scaledKinds() {
		t.Run(k.kind, func(t *testing.T) {
			ctx := ctxFor(t)
			name := strings.ToLower(k.kind)
			obj, err := k.create(ctx, e, name)
			if err != nil {
				t.Fatal(err)
			}
			d := normalize(t, obj)
			if err := e.enf.ScaleToZero(ctx, d, p); err != nil {
				t.Fatal(err)
			}
			replicas, meta, err := k.get(ctx, e, name)
			if err != nil {
				t.Fatal(err)
			}
			if replicas != 0 {
				t.Errorf("replicas = %d, want 0", replicas)
			}
			checkStamp(t, k.kind, meta.Annotations, enforce.AnnotationScaledToZero, p)
			if got := meta.Annotations[enforce.AnnotationPreviousReplicas]; got != "3" {
				t.Errorf("previous replicas = %q, want 3", got)
			}
			note := e.oneEvent(t, name, k.kind, enforce.ReasonScaledToZero, p)
			if !strings.Contains(note, "from 3 replicas to 0") {
				t.Errorf("event note %q", note)
			}

			// Idempotent: a second call writes nothing.
			if err := e.enf.ScaleToZero(ctx, d, p); err != nil {
				t.Fatal(err)
			}
			_, again, err := k.get(ctx, e, name)
			if err != nil {
				t.Fatal(err)
			}
			if again.ResourceVersion != meta.ResourceVersion {
				t.Errorf("second call changed the object: resourceVersion %s → %s", meta.ResourceVersion, again.ResourceVersion)
			}
			e.oneEvent(t, name, k.kind, enforce.ReasonScaledToZero, p)
		})
	}
}

func TestScaleToZeroAfterManualScaleUp(t *testing.T) {
	e := setup(t, enforce.Config{})
	ctx := ctxFor(t)
	p := testPolicy(t, policy.EnforceScaleToZero)
	dep, err := e.admin.AppsV1().Deployments(e.ns).Create(ctx, newDeployment("web", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := normalize(t, dep)
	if err := e.enf.ScaleToZero(ctx, d, p); err != nil {
		t.Fatal(err)
	}
	// Someone scales it back up while it still violates the policy: the
	// next enforcement scales it down again and records the new count.
	if _, err := e.admin.AppsV1().Deployments(e.ns).Patch(ctx, "web", "application/merge-patch+json",
		[]byte(`{"spec":{"replicas":4}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.enf.ScaleToZero(ctx, d, p); err != nil {
		t.Fatal(err)
	}
	got, err := e.admin.AppsV1().Deployments(e.ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Spec.Replicas != 0 || got.Annotations[enforce.AnnotationPreviousReplicas] != "4" {
		t.Errorf("replicas %d, previous %q; want 0 and 4", *got.Spec.Replicas, got.Annotations[enforce.AnnotationPreviousReplicas])
	}
	if n := len(e.events(t, "web")[enforce.ReasonScaledToZero]); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
}

var dcGVR = schema.GroupVersionResource{Group: workload.OpenShiftAppsGroup, Version: "v1", Resource: "deploymentconfigs"}

func TestScaleDeploymentConfigToZero(t *testing.T) {
	e := setup(t, enforce.Config{})
	ctx := ctxFor(t)
	crd, err := filepath.Abs(filepath.Join("testdata", "deploymentconfig-crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kubectl(t, e, "apply", "-f", crd)
	kubectl(t, e, "wait", "--for", "condition=Established", "-f", crd, "--timeout", "30s")
	admin, err := dynamic.NewForConfig(e.c.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := runtime.DefaultUnstructuredConverter.ToUnstructured(new(podTemplate("legacy")))
	if err != nil {
		t.Fatal(err)
	}
	dc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
		"metadata": map[string]any{"name": "legacy"},
		"spec":     map[string]any{"replicas": int64(2), "selector": map[string]any{"app": "legacy"}, "template": tmpl},
	}}
	var created *unstructured.Unstructured
	deadline := time.Now().Add(30 * time.Second)
	for {
		created, err = admin.Resource(dcGVR).Namespace(e.ns).Create(ctx, dc, metav1.CreateOptions{})
		if err == nil || !apierrors.IsNotFound(err) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the new API is not served yet
	}
	if err != nil {
		t.Fatal(err)
	}
	var typed workload.DeploymentConfig
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(created.Object, &typed); err != nil {
		t.Fatal(err)
	}
	p := testPolicy(t, policy.EnforceScaleToZero)
	d := normalize(t, &typed)
	if err := e.enf.ScaleToZero(ctx, d, p); err != nil {
		t.Fatal(err)
	}
	got, err := admin.Resource(dcGVR).Namespace(e.ns).Get(ctx, "legacy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); r != 0 {
		t.Errorf("replicas = %d, want 0", r)
	}
	if prev := got.GetAnnotations()[enforce.AnnotationPreviousReplicas]; prev != "2" {
		t.Errorf("previous replicas = %q", prev)
	}
	checkStamp(t, "DeploymentConfig", got.GetAnnotations(), enforce.AnnotationScaledToZero, p)
	e.oneEvent(t, "legacy", workload.KindDeploymentConfig, enforce.ReasonScaledToZero, p)

	// Without a dynamic client, DeploymentConfigs cannot be reached.
	bare := enforce.New(clientset(t, e.sensor), nil, enforce.Config{})
	if err := bare.ScaleToZero(ctx, d, p); err == nil || !strings.Contains(err.Error(), "DeploymentConfig") {
		t.Errorf("without a dynamic client: %v", err)
	}
}

func kubectl(t *testing.T, e *env, args ...string) {
	t.Helper()
	cmd, err := e.c.Kubectl(ctxFor(t), args...)
	if err != nil {
		if os.Getenv(k8stest.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestNodeConstraint(t *testing.T) {
	e := setup(t, enforce.Config{})
	ctx := ctxFor(t)
	p := testPolicy(t, policy.EnforceUnsatisfiableNode)

	// A Deployment keeps its replicas; its pods cannot be scheduled.
	dep, err := e.admin.AppsV1().Deployments(e.ns).Create(ctx, newDeployment("web", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := normalize(t, dep)
	if err := e.enf.UnsatisfiableNodeConstraint(ctx, d, p); err != nil {
		t.Fatal(err)
	}
	got, err := e.admin.AppsV1().Deployments(e.ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sel := got.Spec.Template.Spec.NodeSelector; sel[enforce.LabelBlocked] != p.ID || *got.Spec.Replicas != 2 {
		t.Errorf("node selector %v, replicas %d", sel, *got.Spec.Replicas)
	}
	checkStamp(t, "Deployment", got.Annotations, enforce.AnnotationNodeConstraint, p)
	e.oneEvent(t, "web", workload.KindDeployment, enforce.ReasonNodeConstraint, p)
	if err := e.enf.UnsatisfiableNodeConstraint(ctx, d, p); err != nil {
		t.Fatal(err)
	}
	again, err := e.admin.AppsV1().Deployments(e.ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.ResourceVersion != got.ResourceVersion {
		t.Errorf("second call changed the Deployment")
	}
	e.oneEvent(t, "web", workload.KindDeployment, enforce.ReasonNodeConstraint, p)

	// A DaemonSet: asked to scale to zero, it gets the node constraint,
	// and the event says why.
	ds, err := e.admin.AppsV1().DaemonSets(e.ns).Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec:       appsv1.DaemonSetSpec{Selector: selector("agent"), Template: podTemplate("agent")},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dd := normalize(t, ds)
	scale := testPolicy(t, policy.EnforceScaleToZero)
	if err := e.enf.ScaleToZero(ctx, dd, scale); err != nil {
		t.Fatal(err)
	}
	gotDS, err := e.admin.AppsV1().DaemonSets(e.ns).Get(ctx, "agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if gotDS.Spec.Template.Spec.NodeSelector[enforce.LabelBlocked] != p.ID {
		t.Errorf("daemonset node selector %v", gotDS.Spec.Template.Spec.NodeSelector)
	}
	checkStamp(t, "DaemonSet", gotDS.Annotations, enforce.AnnotationNodeConstraint, scale)
	if note := e.oneEvent(t, "agent", workload.KindDaemonSet, enforce.ReasonNodeConstraint, scale); !strings.Contains(note, "cannot be scaled") {
		t.Errorf("daemonset event note %q does not say why", note)
	}
	if err := e.enf.UnsatisfiableNodeConstraint(ctx, dd, p); err != nil {
		t.Fatal(err)
	}
	e.oneEvent(t, "agent", workload.KindDaemonSet, enforce.ReasonNodeConstraint, scale)
}

func TestSuspendCronJobAndJob(t *testing.T) {
	e := setup(t, enforce.Config{})
	ctx := ctxFor(t)
	p := testPolicy(t, policy.EnforceScaleToZero)
	jobTmpl := podTemplate("batch")
	jobTmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	cj, err := e.admin.BatchV1().CronJobs(e.ns).Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: jobTmpl},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := normalize(t, cj)
	if err := e.enf.ScaleToZero(ctx, d, p); err != nil {
		t.Fatal(err)
	}
	got, err := e.admin.BatchV1().CronJobs(e.ns).Get(ctx, "nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Suspend == nil || !*got.Spec.Suspend {
		t.Errorf("cronjob suspend = %v, want true", got.Spec.Suspend)
	}
	checkStamp(t, "CronJob", got.Annotations, enforce.AnnotationScaledToZero, p)
	e.oneEvent(t, "nightly", workload.KindCronJob, enforce.ReasonSuspended, p)
	if err := e.enf.ScaleToZero(ctx, d, p); err != nil {
		t.Fatal(err)
	}
	if again, err := e.admin.BatchV1().CronJobs(e.ns).Get(ctx, "nightly", metav1.GetOptions{}); err != nil || again.ResourceVersion != got.ResourceVersion {
		t.Errorf("second call changed the CronJob (%v)", err)
	}

	// A CronJob's job template can take the node constraint too.
	if err := e.enf.UnsatisfiableNodeConstraint(ctx, d, p); err != nil {
		t.Fatal(err)
	}
	got, err = e.admin.BatchV1().CronJobs(e.ns).Get(ctx, "nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.JobTemplate.Spec.Template.Spec.NodeSelector[enforce.LabelBlocked] != p.ID {
		t.Errorf("cronjob node selector %v", got.Spec.JobTemplate.Spec.Template.Spec.NodeSelector)
	}

	// A Job is suspended; its pod spec cannot take a node constraint.
	job, err := e.admin.BatchV1().Jobs(e.ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "once"},
		Spec:       batchv1.JobSpec{Template: jobTmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dj := normalize(t, job)
	if err := e.enf.ScaleToZero(ctx, dj, p); err != nil {
		t.Fatal(err)
	}
	gotJob, err := e.admin.BatchV1().Jobs(e.ns).Get(ctx, "once", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if gotJob.Spec.Suspend == nil || !*gotJob.Spec.Suspend {
		t.Errorf("job suspend = %v, want true", gotJob.Spec.Suspend)
	}
	e.oneEvent(t, "once", workload.KindJob, enforce.ReasonSuspended, p)
	if err := e.enf.UnsatisfiableNodeConstraint(ctx, dj, p); !errors.Is(err, enforce.ErrUnsupported) {
		t.Errorf("node constraint on a Job = %v, want ErrUnsupported", err)
	}
}

func TestRefusals(t *testing.T) {
	e := setup(t, enforce.Config{})
	ctx := ctxFor(t)
	p := testPolicy(t, policy.EnforceScaleToZero)

	// kube-system: refused, and the object is untouched.
	dep, err := e.admin.AppsV1().Deployments("kube-system").Create(ctx, newDeployment("core-agent", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.admin.AppsV1().Deployments("kube-system").Delete(context.Background(), "core-agent", metav1.DeleteOptions{})
	})
	d := normalize(t, dep)
	for name, call := range map[string]func() error{
		"scale": func() error { return e.enf.ScaleToZero(ctx, d, p) },
		"node":  func() error { return e.enf.UnsatisfiableNodeConstraint(ctx, d, p) },
		"kill":  func() error { return e.enf.KillPod(ctx, "kube-system", "core-agent-0", p) },
	} {
		err := call()
		if !errors.Is(err, enforce.ErrSystemNamespace) || !strings.Contains(err.Error(), "kube-system") {
			t.Errorf("%s in kube-system = %v, want ErrSystemNamespace naming it", name, err)
		}
	}
	got, err := e.admin.AppsV1().Deployments("kube-system").Get(ctx, "core-agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion != dep.ResourceVersion {
		t.Error("the kube-system Deployment was changed")
	}

	// Sensor's own namespace, from the Config.
	own := enforce.New(clientset(t, e.sensor), nil, enforce.Config{Namespace: e.ns})
	mine, err := e.admin.AppsV1().Deployments(e.ns).Create(ctx, newDeployment("sensor", 1), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := own.ScaleToZero(ctx, normalize(t, mine), p); !errors.Is(err, enforce.ErrSystemNamespace) || !strings.Contains(err.Error(), e.ns) {
		t.Errorf("scale in Sensor's namespace = %v", err)
	}

	// A bare Pod cannot be scaled, nor constrained.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "lonely"}, Spec: podTemplate("lonely").Spec}
	pod, err = e.admin.CoreV1().Pods(e.ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dp := normalize(t, pod)
	if err := e.enf.ScaleToZero(ctx, dp, p); !errors.Is(err, enforce.ErrUnsupported) || !strings.Contains(err.Error(), "KILL_POD") {
		t.Errorf("scale a bare Pod = %v", err)
	}
	if err := e.enf.UnsatisfiableNodeConstraint(ctx, dp, p); !errors.Is(err, enforce.ErrUnsupported) {
		t.Errorf("constrain a bare Pod = %v", err)
	}

	// A workload deleted and created again under the same name since it
	// was evaluated is not the one the decision was about.
	old, err := e.admin.AppsV1().Deployments(e.ns).Create(ctx, newDeployment("phoenix", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.admin.AppsV1().Deployments(e.ns).Delete(ctx, "phoenix", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.AppsV1().Deployments(e.ns).Create(ctx, newDeployment("phoenix", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.enf.ScaleToZero(ctx, normalize(t, old), p); !errors.Is(err, enforce.ErrReplaced) {
		t.Errorf("scale a replaced Deployment = %v, want ErrReplaced", err)
	}
	now, err := e.admin.AppsV1().Deployments(e.ns).Get(ctx, "phoenix", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *now.Spec.Replicas != 2 || len(now.Annotations) != 0 {
		t.Errorf("the new Deployment was changed: replicas %d, annotations %v", *now.Spec.Replicas, now.Annotations)
	}

	// A workload that does not exist.
	gone := &workload.Deployment{ID: "x", Name: "nothing", Namespace: e.ns, Kind: workload.KindStatefulSet}
	if err := e.enf.ScaleToZero(ctx, gone, p); !apierrors.IsNotFound(err) {
		t.Errorf("scale a missing StatefulSet = %v, want not found", err)
	}
}

func TestKillPod(t *testing.T) {
	e := setup(t, enforce.Config{})
	ctx := ctxFor(t)
	p := testPolicy(t, policy.EnforceKillPod)
	// Not bound to a node (there are none), so deletion is immediate.
	pod, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "miner"}, Spec: podTemplate("miner").Spec,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.enf.KillPod(ctx, e.ns, "miner", p); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.CoreV1().Pods(e.ns).Get(ctx, "miner", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("pod after KillPod: %v, want not found", err)
	}
	evs := e.events(t, "miner")[enforce.ReasonPodKilled]
	if len(evs) != 1 || evs[0].Regarding.UID != pod.UID || !strings.Contains(evs[0].Note, p.Name) {
		t.Errorf("kill events = %+v", evs)
	}
	// Already gone: nothing to do, no error, no event.
	if err := e.enf.KillPod(ctx, e.ns, "miner", p); err != nil {
		t.Errorf("second KillPod = %v", err)
	}
	if n := len(e.events(t, "miner")[enforce.ReasonPodKilled]); n != 1 {
		t.Errorf("%d kill events after the second call, want 1", n)
	}
}
