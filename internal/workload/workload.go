// Package workload is Stockade's normalized picture of a Kubernetes workload.
//
// Every source of workloads — manifest files checked in CI, objects Central is
// sent through its API, and later the Sensor's informers — is turned into the
// same Deployment value, and the policy engine evaluates only that. The one idea
// to keep in mind: a Deployment carries *effective* values. Defaults that
// Kubernetes applies (allowPrivilegeEscalation, automountServiceAccountToken,
// the "default" service account, pod-level security settings inherited by
// containers) are resolved here, once, so that criteria never re-derive them.
package workload

// Deployment is one workload (Deployment, DaemonSet, StatefulSet, ReplicaSet,
// ReplicationController, Job, CronJob, Pod or OpenShift DeploymentConfig),
// normalized.
type Deployment struct {
	// ID identifies the workload: its metadata.uid when known, otherwise a
	// stable synthetic id derived from cluster, namespace, kind and name.
	ID          string
	Name        string
	Namespace   string
	Kind        string // "Deployment", "DaemonSet", … as written in the manifest
	ClusterName string

	Labels      map[string]string // the workload object's metadata.labels
	Annotations map[string]string // the workload object's metadata.annotations
	PodLabels   map[string]string // the pod template's labels (used for Service/NetworkPolicy selection)

	// Replicas is spec.replicas with its Kubernetes default (1) applied; for
	// kinds without replicas (DaemonSet, Pod, Job, CronJob) it is 1 for Pod/Job
	// and 0 for DaemonSet/CronJob.
	Replicas int64

	ServiceAccount string // effective: "default" when unset
	// AutomountServiceAccountToken is effective: the pod spec's value, else
	// the ServiceAccount's (when the Context knows it), else true.
	AutomountServiceAccountToken bool
	// automountFromPod records that the pod spec set the value itself, so
	// that (*Context).Enrich leaves it alone.
	automountFromPod bool

	HostNetwork  bool
	HostPID      bool
	HostIPC      bool
	RuntimeClass string

	// Containers lists init containers first (Init=true), then app containers.
	Containers []Container

	// Network policy coverage of the pod template's labels, computed from the
	// NetworkPolicies in the same input (or the cluster).
	HasIngressNetworkPolicy bool
	HasEgressNetworkPolicy  bool

	// RBAC is the permission level of the service account, computed from the
	// Roles and bindings in the same input (or the cluster).
	RBAC PermissionLevel

	// Source says where the workload came from, for messages.
	Source Source
}

// Source locates a workload in its input.
type Source struct {
	File string // path as given by the user, "-" for stdin, empty when not from a file
	Line int    // 1-based line of the document's first line in File, 0 when unknown
}

// PermissionLevel orders the RBAC reach of a service account, as ACS does.
type PermissionLevel int

// Permission levels, weakest first; comparisons use the order.
const (
	PermissionNone PermissionLevel = iota
	PermissionDefault
	PermissionElevatedInNamespace
	PermissionElevatedClusterWide
	PermissionClusterAdmin
)

// String returns the ACS name of the level (NONE, DEFAULT, …).
func (l PermissionLevel) String() string {
	switch l {
	case PermissionDefault:
		return "DEFAULT"
	case PermissionElevatedInNamespace:
		return "ELEVATED_IN_NAMESPACE"
	case PermissionElevatedClusterWide:
		return "ELEVATED_CLUSTER_WIDE"
	case PermissionClusterAdmin:
		return "CLUSTER_ADMIN"
	default:
		return "NONE"
	}
}

// ParsePermissionLevel reads an ACS permission level name, case-insensitively.
func ParsePermissionLevel(s string) (PermissionLevel, bool) {
	for l := PermissionNone; l <= PermissionClusterAdmin; l++ {
		if equalFold(l.String(), s) {
			return l, true
		}
	}
	return PermissionNone, false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'a' <= ca && ca <= 'z' {
			ca -= 'a' - 'A'
		}
		if 'a' <= cb && cb <= 'z' {
			cb -= 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// Container is one container of a workload with its effective settings.
type Container struct {
	Name  string
	Init  bool // an init container (ephemeral containers are not listed)
	Image Image

	Privileged               bool
	AllowPrivilegeEscalation bool // effective: Kubernetes' default is true; always true when privileged or with CAP_SYS_ADMIN
	ReadOnlyRootFilesystem   bool
	RunAsUser                *int64 // container's, else pod's; nil when unset
	RunAsNonRoot             *bool  // container's, else pod's; nil when unset

	// Capabilities as written (upper-cased, "CAP_" prefix removed).
	AddCapabilities  []string
	DropCapabilities []string

	// SeccompProfileType is UNCONFINED, RUNTIME_DEFAULT or LOCALHOST: the
	// container's seccompProfile, else the pod's, else the legacy annotations;
	// UNCONFINED when nothing is set (the kubelet's default).
	SeccompProfileType string
	// AppArmorProfile is the container's AppArmor profile in annotation form
	// ("runtime/default", "localhost/NAME", "unconfined"), from the securityContext
	// appArmorProfile field or the legacy annotation; empty when unset.
	AppArmorProfile string

	// Resources: CPU in cores, memory in MB (10^6 bytes, as ACS reports); 0 when unset.
	CPURequest    float64
	CPULimit      float64
	MemoryRequest float64
	MemoryLimit   float64

	Env    []EnvVar
	Ports  []Port
	Mounts []Mount

	LivenessProbe  bool
	ReadinessProbe bool
}

// Image is a parsed image reference, with Docker's defaults applied: no
// registry means "docker.io" (and "library/" for one-segment names), no tag
// and no digest means "latest".
type Image struct {
	FullName string // normalized: REGISTRY/REMOTE:TAG or REGISTRY/REMOTE@DIGEST (or both)
	Raw      string // as written in the manifest
	Registry string // "docker.io", "quay.io", "registry.k8s.io:5000"
	Remote   string // "library/nginx", "stackrox/main"
	Tag      string // "latest" when neither tag nor digest is given; empty when only a digest is
	Digest   string // "sha256:…" when pinned
}

// EnvSource says where an environment variable's value comes from, with the
// names ACS uses in the "Environment Variable" criterion.
type EnvSource string

// Environment variable sources.
const (
	EnvRaw           EnvSource = "RAW"
	EnvSecretKey     EnvSource = "SECRET_KEY"
	EnvConfigMapKey  EnvSource = "CONFIG_MAP_KEY"
	EnvField         EnvSource = "FIELD"
	EnvResourceField EnvSource = "RESOURCE_FIELD"
	EnvUnknown       EnvSource = "UNKNOWN"
)

// EnvVar is one environment variable; Value is the literal value for RAW and
// empty for the other sources (a secret's value is never read).
type EnvVar struct {
	Name   string
	Value  string
	Source EnvSource
}

// Exposure levels of a port, weakest first, with ACS's names.
const (
	ExposureUnset    = "UNSET"
	ExposureInternal = "INTERNAL" // ClusterIP Service
	ExposureHost     = "HOST"     // hostPort
	ExposureNode     = "NODE"     // NodePort Service
	ExposureExternal = "EXTERNAL" // LoadBalancer Service or Ingress
	ExposureRoute    = "ROUTE"    // OpenShift Route
)

// Port is a container port and how it is reachable.
type Port struct {
	Name          string
	ContainerPort int32
	Protocol      string // "TCP", "UDP", "SCTP"
	HostPort      int32
	Exposures     []Exposure // empty when nothing exposes the port
	// Undeclared marks a port no container lists but a Service targets by
	// number; it is added to the first app container, since containers
	// share the pod's network.
	Undeclared bool
}

// Exposure is one way a port is reachable.
type Exposure struct {
	Level       string // one of the Exposure* constants
	ServiceName string // the Service exposing it (also for Ingress and Route exposures, which reach the pod through it); empty for hostPort
	ServicePort int32
	NodePort    int32 // for NODE and EXTERNAL exposures with a node port; the host port for HOST
}

// Mount is a volume mounted into a container, joined with the pod's volume.
type Mount struct {
	Name             string // the volume's name
	Destination      string // mountPath
	ReadOnly         bool
	MountPropagation string // NONE, HOST_TO_CONTAINER or BIDIRECTIONAL (ACS names); NONE when unset
	// Type is the volume source kind as Kubernetes names it in the pod spec,
	// capitalized: "HostPath", "Secret", "ConfigMap", "EmptyDir",
	// "PersistentVolumeClaim", "Projected", "DownwardAPI", "CSI", "NFS", …
	Type string
	// Source is what the volume points at: the host path, secret name,
	// config map name, claim name, NFS server:path; empty for EmptyDir.
	Source string
}
