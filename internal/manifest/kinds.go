package manifest

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/stockade-dev/stockade/internal/workload"
)

// newObject returns an empty typed object for apiVersion and kind, or nil
// when Stockade reads nothing from that kind. Every API version of a kind
// decodes into the newest Go type: the fields normalization reads kept
// their names and shapes across versions (extensions/v1beta1 DaemonSet,
// batch/v1beta1 CronJob, …). The exception is the Ingress of
// extensions/v1beta1 and networking.k8s.io/v1beta1, read in its own shape
// and converted.
func newObject(apiVersion, kind string) runtime.Object {
	group, version, found := strings.Cut(apiVersion, "/")
	if !found {
		group, version = "", apiVersion
	}
	switch group {
	case "":
		if version != "v1" {
			return nil
		}
		switch kind {
		case "Pod":
			return &corev1.Pod{}
		case "ReplicationController":
			return &corev1.ReplicationController{}
		case "Service":
			return &corev1.Service{}
		case "ServiceAccount":
			return &corev1.ServiceAccount{}
		case "DeploymentConfig": // OpenShift 3's legacy unprefixed API
			return &workload.DeploymentConfig{}
		case "Route":
			return &workload.Route{}
		}
	case "apps", "extensions":
		switch kind {
		case "Deployment":
			return &appsv1.Deployment{}
		case "DaemonSet":
			return &appsv1.DaemonSet{}
		case "StatefulSet":
			return &appsv1.StatefulSet{}
		case "ReplicaSet":
			return &appsv1.ReplicaSet{}
		}
		if group == "extensions" {
			switch kind {
			case "NetworkPolicy":
				return &networkingv1.NetworkPolicy{}
			case "Ingress":
				return &legacyIngress{}
			}
		}
	case "batch":
		switch kind {
		case "Job":
			return &batchv1.Job{}
		case "CronJob":
			return &batchv1.CronJob{}
		}
	case "networking.k8s.io":
		switch kind {
		case "NetworkPolicy":
			return &networkingv1.NetworkPolicy{}
		case "Ingress":
			if version == "v1" {
				return &networkingv1.Ingress{}
			}
			return &legacyIngress{}
		}
	case "rbac.authorization.k8s.io":
		switch kind {
		case "Role":
			return &rbacv1.Role{}
		case "ClusterRole":
			return &rbacv1.ClusterRole{}
		case "RoleBinding":
			return &rbacv1.RoleBinding{}
		case "ClusterRoleBinding":
			return &rbacv1.ClusterRoleBinding{}
		}
	case workload.OpenShiftAppsGroup:
		if kind == "DeploymentConfig" {
			return &workload.DeploymentConfig{}
		}
	case workload.OpenShiftRouteGroup:
		if kind == "Route" {
			return &workload.Route{}
		}
	}
	return nil
}

// legacyIngress is the Ingress of extensions/v1beta1 and
// networking.k8s.io/v1beta1 (removed in Kubernetes 1.22), whose backends
// name their Service with serviceName/servicePort.
type legacyIngress struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		Backend *legacyBackend `json:"backend,omitempty"`
		Rules   []struct {
			Host string `json:"host,omitempty"`
			HTTP *struct {
				Paths []struct {
					Path    string        `json:"path,omitempty"`
					Backend legacyBackend `json:"backend"`
				} `json:"paths"`
			} `json:"http,omitempty"`
		} `json:"rules,omitempty"`
	} `json:"spec,omitempty"`
}

type legacyBackend struct {
	ServiceName string             `json:"serviceName"`
	ServicePort intstr.IntOrString `json:"servicePort"`
}

// DeepCopyObject implements runtime.Object; the loader never copies one,
// and the copy is shallow on purpose.
func (l *legacyIngress) DeepCopyObject() runtime.Object {
	out := *l
	return &out
}

// toV1 converts the Ingress to networking.k8s.io/v1.
func (l *legacyIngress) toV1() *networkingv1.Ingress {
	out := &networkingv1.Ingress{ObjectMeta: l.ObjectMeta}
	out.Spec.DefaultBackend = l.Spec.Backend.toV1()
	for _, r := range l.Spec.Rules {
		rule := networkingv1.IngressRule{Host: r.Host}
		if r.HTTP != nil {
			rule.HTTP = &networkingv1.HTTPIngressRuleValue{}
			for _, p := range r.HTTP.Paths {
				rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1.HTTPIngressPath{Path: p.Path, Backend: *p.Backend.toV1()})
			}
		}
		out.Spec.Rules = append(out.Spec.Rules, rule)
	}
	return out
}

func (b *legacyBackend) toV1() *networkingv1.IngressBackend {
	if b == nil {
		return nil
	}
	svc := &networkingv1.IngressServiceBackend{Name: b.ServiceName}
	if b.ServicePort.Type == intstr.String {
		svc.Port.Name = b.ServicePort.StrVal
	} else {
		svc.Port.Number = b.ServicePort.IntVal
	}
	return &networkingv1.IngressBackend{Service: svc}
}
