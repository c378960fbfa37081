// Package admission is the validating admission webhook Sensor serves (and the
// same binary serves in admission mode): kube-apiserver sends it an
// AdmissionReview (admission.k8s.io/v1) before it stores a workload or opens
// an exec, attach or port-forward stream, and it answers allow or deny.
//
// The one idea: a decision is made locally and quickly from the policy set
// Sensor has cached (Policies.Set), never by asking Central, and a failure
// to decide is itself an answer. By default the webhook fails open — an
// internal error or a missed per-request deadline admits the request and
// records an EventError — and fails closed (denies with a plain message)
// when Config.FailClosed is set.
//
// What is judged:
//
//   - CREATE and UPDATE of Pods and of every kind internal/workload
//     normalizes (Deployment, DaemonSet, StatefulSet, ReplicaSet,
//     ReplicationController, Job, CronJob, DeploymentConfig), against the
//     enabled DEPLOY policies that carry FAIL_DEPLOYMENT_CREATE_ENFORCEMENT
//     (on CREATE) or FAIL_DEPLOYMENT_UPDATE_ENFORCEMENT (on UPDATE). Image
//     criteria need scans the webhook does not have; those sections are
//     skipped. The workload is judged as written: Services, NetworkPolicies
//     and RBAC are not looked up (Config.Enricher can add them).
//   - An object whose controller (ownerReferences, controller=true) is one of
//     those kinds is not judged again: its owner was. Pods of other
//     controllers (custom resources) are judged as bare pods. With a Getter,
//     the owner must exist with the UID the reference names.
//   - An UPDATE that changes nothing the policies read, other than the
//     workload's annotations and a replica count that does not grow, is
//     admitted unjudged, as is an object being deleted: controllers'
//     bookkeeping, scale-downs (Sensor's own scale-to-zero among them) and
//     finalizer removal are never blocked by a workload that predates a
//     policy.
//   - UPDATE of a */scale subresource: the request carries only Scale objects,
//     so the target's current spec is fetched through Config.Getter and judged
//     with the requested replica count (the "Replicas" criterion sees it).
//     Scale-downs are admitted without a fetch; without a Getter every scale
//     request is admitted.
//   - CONNECT on pods/exec, pods/attach and pods/portforward: always recorded
//     as an EventKube (user, groups, pod, container, command, ports), and
//     denied when an enabled RUNTIME policy carrying
//     FAIL_KUBE_REQUEST_ENFORCEMENT matches it. The policy engine has no
//     evaluator for Kubernetes event criteria, so this package matches them
//     itself (kubematch.go): "Kubernetes Resource" (PODS_EXEC,
//     PODS_PORTFORWARD, PODS_ATTACH), "Kubernetes User Name", "Kubernetes
//     User Groups" and "Kubernetes Resource Name" (the pod's name). A
//     section with any other criterion cannot be decided from a CONNECT
//     request and never matches.
//
// Objects in excluded namespaces (kube-system, kube-public and stockade by
// default) are admitted without evaluation. The break-glass annotation
// (BreakGlassAnnotation, any non-empty value, on the object or its pod
// template) admits a violating workload and records its violations as ACTIVE
// alerts flagged BreakGlass; a denial records an ATTEMPTED alert per policy.
// Dry runs are decided the same way and record nothing: the webhook
// declares no side effects. With Config.Inform (admission enforcement off)
// nothing is denied by policy: what would be denied is admitted with a
// warning and recorded as ACTIVE alerts. A Recorder that is a
// DecisionRecorder receives each decision whole, with its events.
//
// Malformed, wrong-version or oversized AdmissionReviews are answered with
// HTTP 400 and a plain message; the body is bounded by Config.MaxBody.
package admission
