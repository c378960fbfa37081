package workload

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"strings"

	"github.com/google/uuid"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Workload kinds, as Kubernetes and OpenShift name them.
const (
	KindDeployment            = "Deployment"
	KindDaemonSet             = "DaemonSet"
	KindStatefulSet           = "StatefulSet"
	KindReplicaSet            = "ReplicaSet"
	KindReplicationController = "ReplicationController"
	KindJob                   = "Job"
	KindCronJob               = "CronJob"
	KindPod                   = "Pod"
	KindDeploymentConfig      = "DeploymentConfig"
)

// Seccomp profile types, with ACS's names.
const (
	SeccompUnconfined     = "UNCONFINED"
	SeccompRuntimeDefault = "RUNTIME_DEFAULT"
	SeccompLocalhost      = "LOCALHOST"
)

// Mount propagation modes, with ACS's names.
const (
	PropagationNone            = "NONE"
	PropagationHostToContainer = "HOST_TO_CONTAINER"
	PropagationBidirectional   = "BIDIRECTIONAL"
)

// Legacy annotations that predate the securityContext fields; the kubelet
// honoured them and manifests still carry them.
const (
	annotationSeccompPod       = "seccomp.security.alpha.kubernetes.io/pod"
	annotationSeccompContainer = "container.seccomp.security.alpha.kubernetes.io/"
	annotationAppArmor         = "container.apparmor.security.beta.kubernetes.io/"
)

const (
	defaultNamespace      = "default"
	defaultServiceAccount = "default"
)

// FromObject normalizes one workload object: a Deployment, DaemonSet,
// StatefulSet, ReplicaSet, ReplicationController, Job, CronJob or Pod from
// k8s.io/api (any API version decodes into these types), or a
// *DeploymentConfig. ok is false, with a nil error, for any other object, so
// callers can hand it everything they read. cluster fills ClusterName and
// takes part in synthetic ids; it is empty for manifests.
//
// The result holds effective values (see the package comment) but nothing
// that depends on other objects: call (*Context).Enrich for port exposures,
// network policy coverage, RBAC and the service account's token setting.
//
// Replicas: spec.replicas (default 1) for the kinds that have it, 1 for a
// Pod and a Job, 0 for a DaemonSet (one pod per node, count unknown) and a
// CronJob (no pod until it fires).
func FromObject(obj runtime.Object, cluster string) (d *Deployment, ok bool, err error) {
	if obj == nil {
		return nil, false, errors.New("normalize workload: object is nil")
	}
	var (
		kind     string
		meta     *metav1.ObjectMeta
		tmpl     *corev1.PodTemplateSpec
		replicas int64 = 1
	)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		kind = KindDeployment
		if o != nil {
			meta, tmpl, replicas = &o.ObjectMeta, &o.Spec.Template, replicasOf(o.Spec.Replicas)
		}
	case *appsv1.DaemonSet:
		kind = KindDaemonSet
		if o != nil {
			meta, tmpl, replicas = &o.ObjectMeta, &o.Spec.Template, 0
		}
	case *appsv1.StatefulSet:
		kind = KindStatefulSet
		if o != nil {
			meta, tmpl, replicas = &o.ObjectMeta, &o.Spec.Template, replicasOf(o.Spec.Replicas)
		}
	case *appsv1.ReplicaSet:
		kind = KindReplicaSet
		if o != nil {
			meta, tmpl, replicas = &o.ObjectMeta, &o.Spec.Template, replicasOf(o.Spec.Replicas)
		}
	case *corev1.ReplicationController:
		kind = KindReplicationController
		if o != nil {
			meta, tmpl, replicas = &o.ObjectMeta, o.Spec.Template, replicasOf(o.Spec.Replicas)
		}
	case *batchv1.Job:
		kind = KindJob
		if o != nil {
			meta, tmpl = &o.ObjectMeta, &o.Spec.Template
		}
	case *batchv1.CronJob:
		kind = KindCronJob
		if o != nil {
			meta, tmpl, replicas = &o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template, 0
		}
	case *corev1.Pod:
		kind = KindPod
		if o != nil {
			meta, tmpl = &o.ObjectMeta, &corev1.PodTemplateSpec{ObjectMeta: o.ObjectMeta, Spec: o.Spec}
		}
	case *DeploymentConfig:
		kind = KindDeploymentConfig
		if o != nil {
			meta, tmpl, replicas = &o.ObjectMeta, o.Spec.Template, replicasOf(o.Spec.Replicas)
		}
	default:
		if v := reflect.ValueOf(obj); v.Kind() == reflect.Pointer && v.IsNil() {
			return nil, false, fmt.Errorf("normalize workload: %T is nil", obj)
		}
		return nil, false, nil
	}
	if meta == nil {
		return nil, true, fmt.Errorf("normalize %s: object is nil", kind)
	}

	name := meta.Name
	if name == "" {
		name = meta.GenerateName
	}
	if name == "" {
		return nil, true, fmt.Errorf("normalize %s: metadata.name is empty", kind)
	}
	ns := meta.Namespace
	if ns == "" {
		ns = defaultNamespace
	}
	d = &Deployment{
		ID:          string(meta.UID),
		Name:        name,
		Namespace:   ns,
		Kind:        kind,
		ClusterName: cluster,
		Labels:      maps.Clone(meta.Labels),
		Annotations: maps.Clone(meta.Annotations),
		Replicas:    replicas,
		// The defaults of an empty pod spec, for kinds written without one.
		ServiceAccount:               defaultServiceAccount,
		AutomountServiceAccountToken: true,
		RBAC:                         PermissionNone,
	}
	if d.ID == "" {
		d.ID = StableID(cluster, ns, kind, name)
	}
	if tmpl != nil {
		d.PodLabels = maps.Clone(tmpl.Labels)
		fillPod(d, &tmpl.Spec, tmpl.Annotations)
	}
	return d, true, nil
}

// StableID is the synthetic id of a workload that has no metadata.uid (one
// read from a manifest): a UUIDv5 of "cluster/namespace/kind/name", the same
// in every run.
func StableID(cluster, namespace, kind, name string) string {
	return uuid.NewSHA1(idNamespace(), []byte(cluster+"/"+namespace+"/"+kind+"/"+name)).String()
}

// idNamespace is the UUIDv5 name space of Stockade's synthetic workload ids.
func idNamespace() uuid.UUID {
	return uuid.UUID{0x16, 0x78, 0x7e, 0x4b, 0x3a, 0xb5, 0x45, 0xd3, 0x8d, 0x97, 0x28, 0x7d, 0x46, 0xd0, 0xa6, 0x87}
}

func replicasOf(r *int32) int64 {
	if r == nil {
		return 1
	}
	return int64(*r)
}

func fillPod(d *Deployment, spec *corev1.PodSpec, podAnnotations map[string]string) {
	switch {
	case spec.ServiceAccountName != "":
		d.ServiceAccount = spec.ServiceAccountName
	case spec.DeprecatedServiceAccount != "":
		d.ServiceAccount = spec.DeprecatedServiceAccount
	}
	if spec.AutomountServiceAccountToken != nil {
		d.AutomountServiceAccountToken = *spec.AutomountServiceAccountToken
		d.automountFromPod = true
	}
	d.HostNetwork, d.HostPID, d.HostIPC = spec.HostNetwork, spec.HostPID, spec.HostIPC
	if spec.RuntimeClassName != nil {
		d.RuntimeClass = *spec.RuntimeClassName
	}
	d.Containers = make([]Container, 0, len(spec.InitContainers)+len(spec.Containers))
	for i := range spec.InitContainers {
		d.Containers = append(d.Containers, containerFrom(&spec.InitContainers[i], true, spec, podAnnotations))
	}
	for i := range spec.Containers {
		d.Containers = append(d.Containers, containerFrom(&spec.Containers[i], false, spec, podAnnotations))
	}
}

func containerFrom(c *corev1.Container, init bool, spec *corev1.PodSpec, podAnnotations map[string]string) Container {
	out := Container{
		Name:           c.Name,
		Init:           init,
		LivenessProbe:  c.LivenessProbe != nil,
		ReadinessProbe: c.ReadinessProbe != nil,
	}
	if img, err := ParseImage(c.Image); err == nil {
		out.Image = img
	} else {
		// Kubernetes accepts any string here and fails at pull time; keep
		// what was written so that messages can show it.
		out.Image = Image{Raw: c.Image}
	}
	fillSecurity(&out, c, spec.SecurityContext, podAnnotations)
	fillResources(&out, &c.Resources)
	fillEnv(&out, c)
	fillPorts(&out, c, spec.HostNetwork)
	fillMounts(&out, c, spec.Volumes)
	return out
}

func fillSecurity(out *Container, c *corev1.Container, psc *corev1.PodSecurityContext, podAnnotations map[string]string) {
	csc := c.SecurityContext
	allowEscalation := true // Kubernetes' default: no_new_privs is not set
	if csc != nil {
		out.Privileged = csc.Privileged != nil && *csc.Privileged
		out.ReadOnlyRootFilesystem = csc.ReadOnlyRootFilesystem != nil && *csc.ReadOnlyRootFilesystem
		if csc.AllowPrivilegeEscalation != nil {
			allowEscalation = *csc.AllowPrivilegeEscalation
		}
		if csc.Capabilities != nil {
			out.AddCapabilities = normalizeCaps(csc.Capabilities.Add)
			out.DropCapabilities = normalizeCaps(csc.Capabilities.Drop)
		}
		out.RunAsUser = cloneInt64(csc.RunAsUser)
		out.RunAsNonRoot = cloneBool(csc.RunAsNonRoot)
	}
	// A privileged container, or one with CAP_SYS_ADMIN (ALL includes it),
	// can always escalate; Kubernetes refuses the contrary setting.
	if out.Privileged || hasCap(out.AddCapabilities, "SYS_ADMIN") || hasCap(out.AddCapabilities, "ALL") {
		allowEscalation = true
	}
	out.AllowPrivilegeEscalation = allowEscalation
	if psc != nil {
		if out.RunAsUser == nil {
			out.RunAsUser = cloneInt64(psc.RunAsUser)
		}
		if out.RunAsNonRoot == nil {
			out.RunAsNonRoot = cloneBool(psc.RunAsNonRoot)
		}
	}
	out.SeccompProfileType = seccompOf(c.Name, csc, psc, podAnnotations)
	out.AppArmorProfile = appArmorOf(c.Name, csc, psc, podAnnotations)
}

func seccompOf(name string, csc *corev1.SecurityContext, psc *corev1.PodSecurityContext, ann map[string]string) string {
	if csc != nil && csc.SeccompProfile != nil {
		return seccompType(csc.SeccompProfile.Type)
	}
	if psc != nil && psc.SeccompProfile != nil {
		return seccompType(psc.SeccompProfile.Type)
	}
	if v, ok := ann[annotationSeccompContainer+name]; ok {
		return seccompAnnotation(v)
	}
	if v, ok := ann[annotationSeccompPod]; ok {
		return seccompAnnotation(v)
	}
	return SeccompUnconfined
}

// seccompType maps the securityContext field; a type Kubernetes would
// reject counts as unconfined, the weakest reading.
func seccompType(t corev1.SeccompProfileType) string {
	switch t {
	case corev1.SeccompProfileTypeRuntimeDefault:
		return SeccompRuntimeDefault
	case corev1.SeccompProfileTypeLocalhost:
		return SeccompLocalhost
	default:
		return SeccompUnconfined
	}
}

func seccompAnnotation(v string) string {
	switch {
	case v == "runtime/default" || v == "docker/default":
		return SeccompRuntimeDefault
	case strings.HasPrefix(v, "localhost/"):
		return SeccompLocalhost
	default:
		return SeccompUnconfined
	}
}

func appArmorOf(name string, csc *corev1.SecurityContext, psc *corev1.PodSecurityContext, ann map[string]string) string {
	if csc != nil && csc.AppArmorProfile != nil {
		return appArmorProfile(csc.AppArmorProfile)
	}
	if psc != nil && psc.AppArmorProfile != nil {
		return appArmorProfile(psc.AppArmorProfile)
	}
	return ann[annotationAppArmor+name]
}

func appArmorProfile(p *corev1.AppArmorProfile) string {
	switch p.Type {
	case corev1.AppArmorProfileTypeRuntimeDefault:
		return "runtime/default"
	case corev1.AppArmorProfileTypeLocalhost:
		if p.LocalhostProfile != nil {
			return "localhost/" + *p.LocalhostProfile
		}
		return "localhost/"
	case corev1.AppArmorProfileTypeUnconfined:
		return "unconfined"
	default:
		return string(p.Type)
	}
}

// normalizeCaps upper-cases capability names and drops a "CAP_" prefix, so
// that "cap_net_admin", "CAP_NET_ADMIN" and "NET_ADMIN" compare equal.
func normalizeCaps(caps []corev1.Capability) []string {
	if len(caps) == 0 {
		return nil
	}
	out := make([]string, len(caps))
	for i, c := range caps {
		out[i] = strings.TrimPrefix(strings.ToUpper(string(c)), "CAP_")
	}
	return out
}

func hasCap(caps []string, want string) bool {
	for _, c := range caps {
		if c == want {
			return true
		}
	}
	return false
}

func cloneInt64(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneBool(p *bool) *bool {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// fillResources reads CPU in cores and memory in MB (10^6 bytes). A limit
// without a request also sets the request, as Kubernetes' defaulting does.
func fillResources(out *Container, r *corev1.ResourceRequirements) {
	if q, ok := r.Limits[corev1.ResourceCPU]; ok {
		out.CPULimit = cores(q)
	}
	if q, ok := r.Limits[corev1.ResourceMemory]; ok {
		out.MemoryLimit = megabytes(q)
	}
	if q, ok := r.Requests[corev1.ResourceCPU]; ok {
		out.CPURequest = cores(q)
	} else {
		out.CPURequest = out.CPULimit
	}
	if q, ok := r.Requests[corev1.ResourceMemory]; ok {
		out.MemoryRequest = megabytes(q)
	} else {
		out.MemoryRequest = out.MemoryLimit
	}
}

// exactBelow bounds the quantities read through int64 arithmetic, which is
// exact; beyond it the float approximation is as good as anything.
const exactBelow = 1e15

func cores(q resource.Quantity) float64 {
	if f := q.AsApproximateFloat64(); math.Abs(f) >= exactBelow/1000 {
		return f
	}
	return float64(q.MilliValue()) / 1000
}

func megabytes(q resource.Quantity) float64 {
	if f := q.AsApproximateFloat64(); math.Abs(f) >= exactBelow {
		return f / 1e6
	}
	return float64(q.Value()) / 1e6
}

func fillEnv(out *Container, c *corev1.Container) {
	if len(c.Env)+len(c.EnvFrom) == 0 {
		return
	}
	out.Env = make([]EnvVar, 0, len(c.Env)+len(c.EnvFrom))
	for i := range c.Env {
		e := &c.Env[i]
		v := EnvVar{Name: e.Name}
		switch f := e.ValueFrom; {
		case f == nil:
			v.Source, v.Value = EnvRaw, e.Value
		case f.SecretKeyRef != nil:
			v.Source = EnvSecretKey
		case f.ConfigMapKeyRef != nil:
			v.Source = EnvConfigMapKey
		case f.FieldRef != nil:
			v.Source = EnvField
		case f.ResourceFieldRef != nil:
			v.Source = EnvResourceField
		default:
			v.Source = EnvUnknown
		}
		out.Env = append(out.Env, v)
	}
	for i := range c.EnvFrom {
		e := &c.EnvFrom[i]
		v := EnvVar{Name: e.Prefix, Source: EnvUnknown}
		switch {
		case e.SecretRef != nil:
			v.Source = EnvSecretKey
		case e.ConfigMapRef != nil:
			v.Source = EnvConfigMapKey
		}
		out.Env = append(out.Env, v)
	}
}

// fillPorts lists container ports. With hostNetwork every port is a host
// port (Kubernetes defaults hostPort to containerPort there).
func fillPorts(out *Container, c *corev1.Container, hostNetwork bool) {
	if len(c.Ports) == 0 {
		return
	}
	out.Ports = make([]Port, len(c.Ports))
	for i := range c.Ports {
		p := &c.Ports[i]
		port := Port{Name: p.Name, ContainerPort: p.ContainerPort, Protocol: string(p.Protocol), HostPort: p.HostPort}
		if port.Protocol == "" {
			port.Protocol = string(corev1.ProtocolTCP)
		}
		if port.HostPort == 0 && hostNetwork {
			port.HostPort = port.ContainerPort
		}
		if port.HostPort != 0 {
			port.Exposures = []Exposure{hostExposure(port.HostPort)}
		}
		out.Ports[i] = port
	}
}

func hostExposure(hostPort int32) Exposure {
	return Exposure{Level: ExposureHost, NodePort: hostPort}
}

func fillMounts(out *Container, c *corev1.Container, volumes []corev1.Volume) {
	if len(c.VolumeMounts) == 0 {
		return
	}
	out.Mounts = make([]Mount, len(c.VolumeMounts))
	for i := range c.VolumeMounts {
		vm := &c.VolumeMounts[i]
		m := Mount{
			Name:             vm.Name,
			Destination:      vm.MountPath,
			ReadOnly:         vm.ReadOnly,
			MountPropagation: propagation(vm.MountPropagation),
		}
		for j := range volumes {
			if volumes[j].Name == vm.Name {
				m.Type, m.Source = volumeSource(&volumes[j].VolumeSource)
				break
			}
		}
		out.Mounts[i] = m
	}
}

func propagation(p *corev1.MountPropagationMode) string {
	if p == nil {
		return PropagationNone
	}
	switch *p {
	case corev1.MountPropagationHostToContainer:
		return PropagationHostToContainer
	case corev1.MountPropagationBidirectional:
		return PropagationBidirectional
	default:
		return PropagationNone
	}
}

// volumeSource names the volume's kind as the pod spec field does,
// capitalized (the Go field name), and what it points at.
func volumeSource(v *corev1.VolumeSource) (kind, source string) {
	switch {
	case v.HostPath != nil:
		return "HostPath", v.HostPath.Path
	case v.EmptyDir != nil:
		return "EmptyDir", ""
	case v.Secret != nil:
		return "Secret", v.Secret.SecretName
	case v.ConfigMap != nil:
		return "ConfigMap", v.ConfigMap.Name
	case v.PersistentVolumeClaim != nil:
		return "PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName
	case v.Projected != nil:
		return "Projected", ""
	case v.DownwardAPI != nil:
		return "DownwardAPI", ""
	case v.NFS != nil:
		return "NFS", v.NFS.Server + ":" + v.NFS.Path
	case v.CSI != nil:
		return "CSI", v.CSI.Driver
	case v.Ephemeral != nil:
		return "Ephemeral", ""
	case v.Image != nil:
		return "Image", v.Image.Reference
	case v.GCEPersistentDisk != nil:
		return "GCEPersistentDisk", v.GCEPersistentDisk.PDName
	case v.AWSElasticBlockStore != nil:
		return "AWSElasticBlockStore", v.AWSElasticBlockStore.VolumeID
	case v.GitRepo != nil:
		return "GitRepo", v.GitRepo.Repository
	case v.ISCSI != nil:
		return "ISCSI", v.ISCSI.TargetPortal + ":" + v.ISCSI.IQN
	case v.Glusterfs != nil:
		return "Glusterfs", v.Glusterfs.EndpointsName + ":" + v.Glusterfs.Path
	case v.RBD != nil:
		return "RBD", v.RBD.RBDPool + "/" + v.RBD.RBDImage
	case v.FlexVolume != nil:
		return "FlexVolume", v.FlexVolume.Driver
	case v.Cinder != nil:
		return "Cinder", v.Cinder.VolumeID
	case v.CephFS != nil:
		return "CephFS", strings.Join(v.CephFS.Monitors, ",") + ":" + v.CephFS.Path
	case v.Flocker != nil:
		if v.Flocker.DatasetName != "" {
			return "Flocker", v.Flocker.DatasetName
		}
		return "Flocker", v.Flocker.DatasetUUID
	case v.FC != nil:
		if len(v.FC.TargetWWNs) > 0 {
			return "FC", strings.Join(v.FC.TargetWWNs, ",")
		}
		return "FC", strings.Join(v.FC.WWIDs, ",")
	case v.AzureFile != nil:
		return "AzureFile", v.AzureFile.ShareName
	case v.VsphereVolume != nil:
		return "VsphereVolume", v.VsphereVolume.VolumePath
	case v.Quobyte != nil:
		return "Quobyte", v.Quobyte.Registry + "/" + v.Quobyte.Volume
	case v.AzureDisk != nil:
		return "AzureDisk", v.AzureDisk.DiskName
	case v.PhotonPersistentDisk != nil:
		return "PhotonPersistentDisk", v.PhotonPersistentDisk.PdID
	case v.PortworxVolume != nil:
		return "PortworxVolume", v.PortworxVolume.VolumeID
	case v.ScaleIO != nil:
		return "ScaleIO", v.ScaleIO.VolumeName
	case v.StorageOS != nil:
		return "StorageOS", v.StorageOS.VolumeName
	default:
		return "", ""
	}
}
