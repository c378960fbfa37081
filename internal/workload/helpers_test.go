package workload

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// object decodes a YAML manifest into its typed object with
// sigs.k8s.io/yaml, an independent reader from Stockade's own.
func object(t *testing.T, doc string) runtime.Object {
	t.Helper()
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
		t.Fatalf("read kind: %v", err)
	}
	var obj runtime.Object
	switch tm.Kind {
	case "Deployment":
		obj = &appsv1.Deployment{}
	case "DaemonSet":
		obj = &appsv1.DaemonSet{}
	case "StatefulSet":
		obj = &appsv1.StatefulSet{}
	case "ReplicaSet":
		obj = &appsv1.ReplicaSet{}
	case "ReplicationController":
		obj = &corev1.ReplicationController{}
	case "Job":
		obj = &batchv1.Job{}
	case "CronJob":
		obj = &batchv1.CronJob{}
	case "Pod":
		obj = &corev1.Pod{}
	case "DeploymentConfig":
		obj = &DeploymentConfig{}
	case "Route":
		obj = &Route{}
	case "Service":
		obj = &corev1.Service{}
	case "ServiceAccount":
		obj = &corev1.ServiceAccount{}
	case "Ingress":
		obj = &networkingv1.Ingress{}
	case "NetworkPolicy":
		obj = &networkingv1.NetworkPolicy{}
	case "Role":
		obj = &rbacv1.Role{}
	case "ClusterRole":
		obj = &rbacv1.ClusterRole{}
	case "RoleBinding":
		obj = &rbacv1.RoleBinding{}
	case "ClusterRoleBinding":
		obj = &rbacv1.ClusterRoleBinding{}
	default:
		t.Fatalf("test helper does not know kind %q", tm.Kind)
	}
	if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		t.Fatalf("decode %s: %v", tm.Kind, err)
	}
	return obj
}

// normalize reads one workload manifest.
func normalize(t *testing.T, doc string) *Deployment {
	t.Helper()
	d, ok, err := FromObject(object(t, doc), "")
	if err != nil || !ok {
		t.Fatalf("FromObject: ok=%v err=%v", ok, err)
	}
	return d
}

// podWith wraps a pod spec (indented for "spec:") into a Pod manifest.
func podWith(spec string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {app: web}\nspec:\n" + spec
}
