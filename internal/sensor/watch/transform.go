package watch

import (
	"log/slog"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/stockade-dev/stockade/internal/workload"
)

// lastApplied is the annotation kubectl apply writes: a copy of the whole
// object as applied (for a Secret, its data).
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// strip is the transform of every informer: it removes what Sensor never
// reads before an object enters a cache. It changes the object in place (the
// informer decoded it for this purpose) and is idempotent, as client-go
// requires.
func strip(obj any) (any, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return obj, nil
	}
	m.SetManagedFields(nil)
	if ann := m.GetAnnotations(); ann != nil {
		if _, ok := ann[lastApplied]; ok {
			delete(ann, lastApplied)
			if len(ann) == 0 {
				m.SetAnnotations(nil)
			}
		}
	}
	if ownedByWorkload(obj) {
		stripOwned(obj)
	}
	if n, ok := obj.(*corev1.Node); ok {
		n.Status.Images = nil
	}
	return obj, nil
}

// stripOwned keeps of a controlled Pod, ReplicaSet, Job or
// ReplicationController what links it to its top-level workload (the
// metadata) and, for a Pod, the image its containers run.
func stripOwned(obj any) {
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Spec = corev1.PodSpec{NodeName: o.Spec.NodeName}
		o.Status = corev1.PodStatus{
			Phase:                 o.Status.Phase,
			InitContainerStatuses: imageStatuses(o.Status.InitContainerStatuses),
			ContainerStatuses:     imageStatuses(o.Status.ContainerStatuses),
		}
	case *appsv1.ReplicaSet:
		o.Spec = appsv1.ReplicaSetSpec{Replicas: o.Spec.Replicas}
		o.Status = appsv1.ReplicaSetStatus{}
	case *batchv1.Job:
		o.Spec = batchv1.JobSpec{}
		o.Status = batchv1.JobStatus{}
	case *corev1.ReplicationController:
		o.Spec = corev1.ReplicationControllerSpec{Replicas: o.Spec.Replicas}
		o.Status = corev1.ReplicationControllerStatus{}
	}
}

func imageStatuses(in []corev1.ContainerStatus) []corev1.ContainerStatus {
	if len(in) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(in))
	for i := range in {
		out[i] = corev1.ContainerStatus{Name: in[i].Name, Image: in[i].Image, ImageID: in[i].ImageID}
	}
	return out
}

// toDeploymentConfig converts the dynamic informer's objects to
// *workload.DeploymentConfig, dropping every field normalization does not
// read. An object that does not convert (a field of the wrong type) keeps
// its metadata only and is logged.
func toDeploymentConfig(log *slog.Logger) cache.TransformFunc {
	return func(obj any) (any, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return strip(obj)
		}
		dc := &workload.DeploymentConfig{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), dc); err != nil {
			log.Warn("deploymentconfig does not convert; keeping its metadata", "namespace", u.GetNamespace(), "name", u.GetName(), "err", err)
			dc = &workload.DeploymentConfig{ObjectMeta: metadataOf(u)}
		}
		return strip(dc)
	}
}

// toRoute converts the dynamic informer's objects to *workload.Route. A
// Route that does not convert keeps its metadata only (and exposes nothing)
// and is logged.
func toRoute(log *slog.Logger) cache.TransformFunc {
	return func(obj any) (any, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return strip(obj)
		}
		rt := &workload.Route{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), rt); err != nil {
			log.Warn("route does not convert; keeping its metadata", "namespace", u.GetNamespace(), "name", u.GetName(), "err", err)
			rt = &workload.Route{ObjectMeta: metadataOf(u)}
		}
		return strip(rt)
	}
}

// metadataOf copies the metadata fields the Watcher uses from an
// unstructured object whose other fields are unreadable.
func metadataOf(u *unstructured.Unstructured) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              u.GetName(),
		Namespace:         u.GetNamespace(),
		UID:               u.GetUID(),
		ResourceVersion:   u.GetResourceVersion(),
		Generation:        u.GetGeneration(),
		CreationTimestamp: u.GetCreationTimestamp(),
		Labels:            u.GetLabels(),
		Annotations:       u.GetAnnotations(),
		OwnerReferences:   u.GetOwnerReferences(),
	}
}

// accessor returns obj's metadata, looking inside a deletion tombstone.
func accessor(obj any) (metav1.Object, error) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	return meta.Accessor(obj)
}
