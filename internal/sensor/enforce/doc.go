// Package enforce is the Kubernetes side of Sensor's enforcement: what
// happens to a workload when it violates a policy that carries
// SCALE_TO_ZERO_ENFORCEMENT, UNSATISFIABLE_NODE_CONSTRAINT_ENFORCEMENT or,
// for runtime policies, KILL_POD_ENFORCEMENT.
//
// The one idea: every action leaves the workload saying what was done and
// why, and doing it again changes nothing. An Enforcer reads the object,
// decides from its current state whether there is anything left to do, and
// writes with JSON merge patches that carry the resourceVersion it read, so
// that it never overwrites a change it has not seen (a conflict reads the
// object again). Each action that changed something records a Kubernetes
// Event on the object (events.k8s.io/v1, reason StockadeScaledToZero, …),
// which is what `kubectl describe` shows a user wondering where their pods
// went; a call that finds the work already done writes nothing.
//
//   - SCALE_TO_ZERO: Deployments, StatefulSets, ReplicaSets,
//     ReplicationControllers and OpenShift DeploymentConfigs go to zero
//     replicas through their scale subresource, after the object is
//     annotated with the policy and time (AnnotationScaledToZero) and the
//     replica count to restore (AnnotationPreviousReplicas). The kinds
//     without replicas get the nearest equivalent: a DaemonSet the node
//     constraint below, a CronJob and a Job spec.suspend=true (a suspended
//     Job's running pods are stopped). A bare Pod cannot be scaled and is
//     refused with ErrUnsupported: only KILL_POD stops it.
//   - UNSATISFIABLE_NODE_CONSTRAINT: the pod template gets the node
//     selector LabelBlocked=<policy id>, a label no node carries, so new pods
//     stay Pending; the object is annotated with AnnotationNodeConstraint.
//     Pods already running keep running until they are replaced (a rollout
//     of a Deployment, DaemonSet or StatefulSet replaces them; a ReplicaSet
//     or ReplicationController does not). Jobs and Pods cannot change their
//     pod spec and are refused with ErrUnsupported.
//   - KILL_POD deletes one pod (its controller, if any, makes a new one).
//
// The namespaces kube-system, kube-public and Sensor's own are never
// touched: every action there fails with ErrSystemNamespace.
//
// Permissions: exactly what `stockade sensor generate k8s` grants
// (install.Rules): get on the workloads, patch on them and on their scale
// subresources, delete on pods, create on events.
package enforce
