// Package watch is Sensor's view of its cluster: client-go informers on every
// workload kind and on the objects that say how a workload is reached and
// what it may do, turned into a stream of normalized deployment events.
//
// The one idea: informer callbacks never do the work. They update the
// workload.Context (Services, Ingresses, Routes, NetworkPolicies, service
// accounts, RBAC) and put the key of each top-level workload a change can
// affect into a work queue; workers take keys from the queue, normalize the
// workload as it is now (workload.FromObject, image digests from its pods,
// Context.Enrich), hash it, and tell the Sink only when the hash changed. A
// burst of changes to one workload — a rollout touching its pods again and
// again — therefore costs one normalization per worker pass and emits at most
// one event, and a change Central could not see (a status update, a field the
// model leaves out) emits nothing.
//
// What a key is: the kind, namespace and name of a top-level workload, the
// object no watched workload controls. A Pod resolves through its controller
// owner references (Pod → ReplicaSet → Deployment, Pod → Job → CronJob, Pod
// → ReplicationController → DeploymentConfig); a Pod, ReplicaSet, Job or
// ReplicationController without such an owner is a deployment of its own.
// Pods contribute image digests: when a container's image is not pinned, the
// digest a pod reports in containerStatuses[].imageID fills Image.Digest
// (Image.FullName stays as written), and is kept while the image does not
// change even when no pod reports it any more.
//
// Memory: informers are resync-free and a transform strips managedFields and
// the last-applied-configuration annotation from every object before it
// enters a cache, and keeps only the metadata and image statuses of pods and
// the metadata of ReplicaSets, Jobs and ReplicationControllers that a watched
// workload controls. Secrets are watched through the metadata API
// (PartialObjectMetadata): their data is never requested. The
// last-applied-configuration annotation kubectl writes on an applied Secret
// holds its data and is part of the metadata, so the server does send it; the
// transform drops it before the object is stored or handed to anyone.
//
// OpenShift DeploymentConfigs (apps.openshift.io/v1) and Routes
// (route.openshift.io/v1) are watched through a dynamic informer, only when
// discovery says the API server serves them, and converted to the
// workload.DeploymentConfig and workload.Route types on arrival.
package watch
