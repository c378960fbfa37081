package workload

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// OpenShift API groups of the two OpenShift kinds Stockade reads. Their Go
// types below hold only the fields normalization needs, so Stockade does not
// depend on OpenShift's API module.
const (
	OpenShiftAppsGroup  = "apps.openshift.io"
	OpenShiftRouteGroup = "route.openshift.io"
)

// DeploymentConfig is the part of an OpenShift apps.openshift.io/v1
// DeploymentConfig that describes its pods.
type DeploymentConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              DeploymentConfigSpec `json:"spec,omitempty"`
}

// DeploymentConfigSpec holds the replicas and the pod template.
type DeploymentConfigSpec struct {
	Replicas *int32                  `json:"replicas,omitempty"`
	Template *corev1.PodTemplateSpec `json:"template,omitempty"`
}

// DeepCopyObject implements runtime.Object.
func (dc *DeploymentConfig) DeepCopyObject() runtime.Object {
	if dc == nil {
		return nil
	}
	out := &DeploymentConfig{TypeMeta: dc.TypeMeta}
	dc.ObjectMeta.DeepCopyInto(&out.ObjectMeta) //nolint:staticcheck // QF1008: naming ObjectMeta says only the metadata is copied, as deepcopy-gen writes it
	if dc.Spec.Replicas != nil {
		r := *dc.Spec.Replicas
		out.Spec.Replicas = &r
	}
	out.Spec.Template = dc.Spec.Template.DeepCopy()
	return out
}

// Route is the part of an OpenShift route.openshift.io/v1 Route that says
// which Service ports it exposes.
type Route struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              RouteSpec `json:"spec,omitempty"`
}

// RouteSpec names the Route's backends and target port.
type RouteSpec struct {
	Host              string                 `json:"host,omitempty"`
	To                RouteTargetReference   `json:"to"`
	AlternateBackends []RouteTargetReference `json:"alternateBackends,omitempty"`
	Port              *RoutePort             `json:"port,omitempty"`
}

// RouteTargetReference names a backend, normally a Service.
type RouteTargetReference struct {
	Kind string `json:"kind,omitempty"`
	Name string `json:"name"`
}

// RoutePort selects the backend port: a Service port name or a pod port
// number. Unset means every port of the Service.
type RoutePort struct {
	TargetPort intstr.IntOrString `json:"targetPort"`
}

// DeepCopyObject implements runtime.Object.
func (r *Route) DeepCopyObject() runtime.Object {
	if r == nil {
		return nil
	}
	out := &Route{TypeMeta: r.TypeMeta, Spec: r.Spec}
	r.ObjectMeta.DeepCopyInto(&out.ObjectMeta) //nolint:staticcheck // QF1008: naming ObjectMeta says only the metadata is copied, as deepcopy-gen writes it
	out.Spec.AlternateBackends = append([]RouteTargetReference(nil), r.Spec.AlternateBackends...)
	if r.Spec.Port != nil {
		p := *r.Spec.Port
		out.Spec.Port = &p
	}
	return out
}
