package admission

import (
	"time"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// EventKind says what an Event reports.
type EventKind string

// Event kinds.
const (
	// EventAlert is a policy violated by an admission request: ATTEMPTED
	// when the request was denied, ACTIVE when it was admitted anyway
	// (break-glass).
	EventAlert EventKind = "ALERT"
	// EventError is a request the webhook could not decide (an internal
	// error or its deadline): admitted when failing open, denied when
	// failing closed. It is an alert about admission control itself.
	EventError EventKind = "ADMISSION_ERROR"
	// EventKube is an exec, attach or port-forward request seen by the
	// webhook, for the runtime "Kubernetes Resource" criterion.
	EventKube EventKind = "KUBE_EVENT"
)

// AlertState is the lifecycle state an alert starts in.
type AlertState string

// Alert states the webhook raises.
const (
	AlertAttempted AlertState = "ATTEMPTED" // the request was denied
	AlertActive    AlertState = "ACTIVE"    // the request was admitted although it violates the policy
)

// KubeResource is a Kubernetes API request kind, with the names of the
// "Kubernetes Resource" policy criterion.
type KubeResource string

// The Kubernetes requests the webhook sees.
const (
	PodsExec        KubeResource = "PODS_EXEC"
	PodsAttach      KubeResource = "PODS_ATTACH"
	PodsPortForward KubeResource = "PODS_PORTFORWARD"
)

// User is who sent the request, as kube-apiserver authenticated them.
type User struct {
	Name   string
	Groups []string
}

// Event is something the webhook saw that Sensor forwards to Central: an
// alert, an admission error or a Kubernetes event. The fields after Admitted
// are filled for the kinds their comments name.
type Event struct {
	Kind       EventKind
	Time       time.Time
	RequestUID string // the AdmissionReview's request uid
	Cluster    string
	Operation  string // CREATE, UPDATE or CONNECT
	Namespace  string
	Name       string // the object's (or pod's) name
	ObjectKind string // Deployment, Pod, … (for scale requests, the scaled kind)
	User       User
	// Admitted says whether the request was let through.
	Admitted bool

	// EventAlert: the policy, the state the alert starts in, and what
	// violates it. Deployment is the workload as judged (nil for
	// Kubernetes-event policies).
	Policy     *policy.Policy
	State      AlertState
	BreakGlass bool
	Violations []policy.Violation
	Deployment *workload.Deployment

	// EventError: what went wrong.
	Error string

	// EventKube (and EventAlert on a Kubernetes-event policy): the request.
	Resource  KubeResource
	Container string   // exec and attach, when the request names one
	Command   []string // exec
	Ports     []int32  // port-forward, when given as options
}
