package workload

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const template = `
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: nginx:1.25`

func TestFromObjectKinds(t *testing.T) {
	tests := []struct {
		doc      string
		kind     string
		replicas int64
	}{
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  replicas: 3" + template, KindDeployment, 3},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:" + template, KindDeployment, 1},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  replicas: 0" + template, KindDeployment, 0},
		{"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: w}\nspec:" + template, KindDaemonSet, 0},
		{"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: w}\nspec:\n  replicas: 2" + template, KindStatefulSet, 2},
		{"apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: w}\nspec:" + template, KindReplicaSet, 1},
		{"apiVersion: v1\nkind: ReplicationController\nmetadata: {name: w}\nspec:\n  replicas: 4" + template, KindReplicationController, 4},
		{"apiVersion: batch/v1\nkind: Job\nmetadata: {name: w}\nspec:\n  parallelism: 5" + template, KindJob, 1},
		{"apiVersion: apps.openshift.io/v1\nkind: DeploymentConfig\nmetadata: {name: w}\nspec:\n  replicas: 2" + template, KindDeploymentConfig, 2},
		{"apiVersion: apps.openshift.io/v1\nkind: DeploymentConfig\nmetadata: {name: w}\nspec:" + template, KindDeploymentConfig, 1},
		{`apiVersion: batch/v1
kind: CronJob
metadata: {name: w}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:` + indent(template, "    "), KindCronJob, 0},
		{podWith("  containers:\n  - name: c\n    image: nginx:1.25\n"), KindPod, 1},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			d := normalize(t, tt.doc)
			if d.Kind != tt.kind || d.Replicas != tt.replicas {
				t.Errorf("kind %q replicas %d, want %q %d", d.Kind, d.Replicas, tt.kind, tt.replicas)
			}
			if len(d.Containers) != 1 || d.Containers[0].Image.FullName != "docker.io/library/nginx:1.25" {
				t.Fatalf("containers = %+v", d.Containers)
			}
			if d.PodLabels["app"] != "web" {
				t.Errorf("pod labels = %v", d.PodLabels)
			}
			if d.Namespace != "default" || d.ServiceAccount != "default" || !d.AutomountServiceAccountToken {
				t.Errorf("defaults: namespace %q service account %q automount %v", d.Namespace, d.ServiceAccount, d.AutomountServiceAccountToken)
			}
		})
	}
}

func indent(s, prefix string) string {
	out := ""
	for i, c := range s {
		out += string(c)
		if c == '\n' && i != len(s)-1 {
			out += prefix
		}
	}
	return out
}

func TestFromObjectNotWorkload(t *testing.T) {
	d, ok, err := FromObject(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, "")
	if d != nil || ok || err != nil {
		t.Errorf("Service: %v %v %v, want nil false nil", d, ok, err)
	}
	if _, _, err := FromObject(nil, ""); err == nil {
		t.Error("nil object: want an error")
	}
	if _, ok, err := FromObject((*corev1.Pod)(nil), ""); err == nil || !ok {
		t.Errorf("typed nil Pod: ok=%v err=%v, want true and an error", ok, err)
	}
	if _, ok, err := FromObject(&corev1.Pod{}, ""); err == nil || !ok {
		t.Errorf("Pod without a name: ok=%v err=%v, want true and an error", ok, err)
	}
	d, _, err = FromObject(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "job-"}}, "")
	if err != nil || d.Name != "job-" {
		t.Errorf("generateName: %v %v", d, err)
	}
}

func TestIDs(t *testing.T) {
	doc := podWith("  containers: [{name: c, image: x}]\n")
	a := normalize(t, doc)
	b := normalize(t, doc)
	if a.ID != b.ID || len(a.ID) != 36 {
		t.Errorf("stable ids differ or are malformed: %q %q", a.ID, b.ID)
	}
	if got := StableID("", "default", KindPod, "p"); got != a.ID {
		t.Errorf("StableID = %q, want %q", got, a.ID)
	}
	for _, other := range []string{
		StableID("prod", "default", KindPod, "p"), StableID("", "kube-system", KindPod, "p"),
		StableID("", "default", KindDeployment, "p"), StableID("", "default", KindPod, "q"),
	} {
		if other == a.ID {
			t.Errorf("id %q does not depend on every part", other)
		}
	}
	d, _, err := FromObject(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "1234-uid"}}, "c1")
	if err != nil || d.ID != "1234-uid" || d.Namespace != "ns" || d.ClusterName != "c1" {
		t.Errorf("uid: %+v %v", d, err)
	}
}

func TestContainersOrderAndPodSettings(t *testing.T) {
	d := normalize(t, podWith(`  serviceAccount: legacy
  automountServiceAccountToken: false
  hostNetwork: true
  hostPID: true
  hostIPC: true
  runtimeClassName: gvisor
  initContainers:
  - {name: init1, image: busybox}
  containers:
  - {name: app, image: nginx, livenessProbe: {exec: {command: ["true"]}}}
  - {name: side, image: envoy, readinessProbe: {httpGet: {port: 80}}}
`))
	var names []string
	for _, c := range d.Containers {
		names = append(names, c.Name)
	}
	if !reflect.DeepEqual(names, []string{"init1", "app", "side"}) || !d.Containers[0].Init || d.Containers[1].Init {
		t.Errorf("containers %v (init flags %v %v)", names, d.Containers[0].Init, d.Containers[1].Init)
	}
	if !d.Containers[1].LivenessProbe || d.Containers[1].ReadinessProbe || !d.Containers[2].ReadinessProbe {
		t.Errorf("probes: %+v", d.Containers)
	}
	if d.ServiceAccount != "legacy" || d.AutomountServiceAccountToken || !d.HostNetwork || !d.HostPID || !d.HostIPC || d.RuntimeClass != "gvisor" {
		t.Errorf("pod settings: %+v", d)
	}
	d = normalize(t, podWith("  serviceAccountName: new\n  serviceAccount: legacy\n  containers: [{name: c, image: x}]\n"))
	if d.ServiceAccount != "new" {
		t.Errorf("serviceAccountName should win over serviceAccount: %q", d.ServiceAccount)
	}
}

func TestSecurityContext(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want func(c Container) bool
	}{
		{"escalation defaults to true", `  containers: [{name: c, image: x}]`,
			func(c Container) bool { return c.AllowPrivilegeEscalation && !c.Privileged }},
		{"escalation off", `  containers: [{name: c, image: x, securityContext: {allowPrivilegeEscalation: false}}]`,
			func(c Container) bool { return !c.AllowPrivilegeEscalation }},
		{"privileged forces escalation", `  containers: [{name: c, image: x, securityContext: {privileged: true, allowPrivilegeEscalation: false}}]`,
			func(c Container) bool { return c.Privileged && c.AllowPrivilegeEscalation }},
		{"CAP_SYS_ADMIN forces escalation", `  containers: [{name: c, image: x, securityContext: {capabilities: {add: [cap_sys_admin]}, allowPrivilegeEscalation: false}}]`,
			func(c Container) bool {
				return c.AllowPrivilegeEscalation && reflect.DeepEqual(c.AddCapabilities, []string{"SYS_ADMIN"})
			}},
		{"capabilities normalized", `  containers: [{name: c, image: x, securityContext: {capabilities: {add: [NET_ADMIN, CAP_NET_RAW], drop: [all]}}}]`,
			func(c Container) bool {
				return reflect.DeepEqual(c.AddCapabilities, []string{"NET_ADMIN", "NET_RAW"}) && reflect.DeepEqual(c.DropCapabilities, []string{"ALL"})
			}},
		{"read-only root", `  containers: [{name: c, image: x, securityContext: {readOnlyRootFilesystem: true}}]`,
			func(c Container) bool { return c.ReadOnlyRootFilesystem }},
		{"pod runAsUser inherited", `  securityContext: {runAsUser: 1000, runAsNonRoot: true}
  containers: [{name: c, image: x}]`,
			func(c Container) bool { return *c.RunAsUser == 1000 && *c.RunAsNonRoot }},
		{"container runAsUser overrides", `  securityContext: {runAsUser: 1000, runAsNonRoot: true}
  containers: [{name: c, image: x, securityContext: {runAsUser: 0, runAsNonRoot: false}}]`,
			func(c Container) bool { return *c.RunAsUser == 0 && !*c.RunAsNonRoot }},
		{"unset stays nil", `  containers: [{name: c, image: x}]`,
			func(c Container) bool { return c.RunAsUser == nil && c.RunAsNonRoot == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := normalize(t, podWith(tt.spec+"\n"))
			if !tt.want(d.Containers[0]) {
				t.Errorf("unexpected container %+v", d.Containers[0])
			}
		})
	}
}

func TestSeccompAndAppArmor(t *testing.T) {
	manifest := func(annotations, podSC, containerSC string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {" + annotations + "}\nspec:\n  securityContext: {" + podSC +
			"}\n  containers: [{name: c, image: x, securityContext: {" + containerSC + "}}]\n"
	}
	tests := []struct {
		name                            string
		annotations, podSC, containerSC string
		seccomp, apparmor               string
	}{
		{"nothing", "", "", "", SeccompUnconfined, ""},
		{"container field", "", "seccompProfile: {type: Unconfined}", "seccompProfile: {type: RuntimeDefault}", SeccompRuntimeDefault, ""},
		{"pod field", "", "seccompProfile: {type: Localhost, localhostProfile: p.json}", "", SeccompLocalhost, ""},
		{"field beats annotation", "seccomp.security.alpha.kubernetes.io/pod: unconfined", "seccompProfile: {type: RuntimeDefault}", "", SeccompRuntimeDefault, ""},
		{"pod annotation docker/default", "seccomp.security.alpha.kubernetes.io/pod: docker/default", "", "", SeccompRuntimeDefault, ""},
		{"container annotation beats pod's", "seccomp.security.alpha.kubernetes.io/pod: runtime/default, container.seccomp.security.alpha.kubernetes.io/c: unconfined", "", "", SeccompUnconfined, ""},
		{"localhost annotation", "container.seccomp.security.alpha.kubernetes.io/c: localhost/profile.json", "", "", SeccompLocalhost, ""},
		{"other container's annotation", "container.seccomp.security.alpha.kubernetes.io/other: runtime/default", "", "", SeccompUnconfined, ""},
		{"apparmor container field", "", "appArmorProfile: {type: Unconfined}", "appArmorProfile: {type: RuntimeDefault}", SeccompUnconfined, "runtime/default"},
		{"apparmor pod field localhost", "", "appArmorProfile: {type: Localhost, localhostProfile: k8s-deny}", "", SeccompUnconfined, "localhost/k8s-deny"},
		{"apparmor unconfined", "", "", "appArmorProfile: {type: Unconfined}", SeccompUnconfined, "unconfined"},
		{"apparmor annotation", "container.apparmor.security.beta.kubernetes.io/c: localhost/custom", "", "", SeccompUnconfined, "localhost/custom"},
		{"apparmor field beats annotation", "container.apparmor.security.beta.kubernetes.io/c: unconfined", "appArmorProfile: {type: RuntimeDefault}", "", SeccompUnconfined, "runtime/default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := normalize(t, manifest(tt.annotations, tt.podSC, tt.containerSC)).Containers[0]
			if c.SeccompProfileType != tt.seccomp || c.AppArmorProfile != tt.apparmor {
				t.Errorf("seccomp %q apparmor %q, want %q %q", c.SeccompProfileType, c.AppArmorProfile, tt.seccomp, tt.apparmor)
			}
		})
	}
}

func TestResources(t *testing.T) {
	tests := []struct {
		resources                      string
		cpuReq, cpuLim, memReq, memLim float64
	}{
		{"{}", 0, 0, 0, 0},
		{"{requests: {cpu: 500m, memory: 128Mi}, limits: {cpu: 2, memory: 1G}}", 0.5, 2, 134.217728, 1000},
		{"{limits: {cpu: 250m, memory: 64Mi}}", 0.25, 0.25, 67.108864, 67.108864},
		{"{requests: {cpu: '0.1', memory: 100M}}", 0.1, 0, 100, 0},
		{"{requests: {cpu: 1500m, memory: 1Gi}}", 1.5, 0, 1073.741824, 0},
	}
	for _, tt := range tests {
		t.Run(tt.resources, func(t *testing.T) {
			c := normalize(t, podWith("  containers: [{name: c, image: x, resources: "+tt.resources+"}]\n")).Containers[0]
			if c.CPURequest != tt.cpuReq || c.CPULimit != tt.cpuLim || c.MemoryRequest != tt.memReq || c.MemoryLimit != tt.memLim {
				t.Errorf("cpu %v/%v memory %v/%v, want %v/%v %v/%v", c.CPURequest, c.CPULimit, c.MemoryRequest, c.MemoryLimit,
					tt.cpuReq, tt.cpuLim, tt.memReq, tt.memLim)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	c := normalize(t, podWith(`  containers:
  - name: c
    image: x
    env:
    - {name: PLAIN, value: hello}
    - {name: EMPTY}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
    - {name: MODE, valueFrom: {configMapKeyRef: {name: cfg, key: mode}}}
    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: LIMIT, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
    envFrom:
    - {secretRef: {name: creds}, prefix: DB_}
    - {configMapRef: {name: settings}}
`)).Containers[0]
	want := []EnvVar{
		{Name: "PLAIN", Value: "hello", Source: EnvRaw},
		{Name: "EMPTY", Source: EnvRaw},
		{Name: "PASSWORD", Source: EnvSecretKey},
		{Name: "MODE", Source: EnvConfigMapKey},
		{Name: "NODE", Source: EnvField},
		{Name: "LIMIT", Source: EnvResourceField},
		{Name: "DB_", Source: EnvSecretKey},
		{Name: "", Source: EnvConfigMapKey},
	}
	if !reflect.DeepEqual(c.Env, want) {
		t.Errorf("env\n got %+v\nwant %+v", c.Env, want)
	}
}

func TestMounts(t *testing.T) {
	c := normalize(t, podWith(`  volumes:
  - {name: host, hostPath: {path: /var/run/docker.sock}}
  - {name: sec, secret: {secretName: tls}}
  - {name: cfg, configMap: {name: settings}}
  - {name: tmp, emptyDir: {}}
  - {name: data, persistentVolumeClaim: {claimName: pvc-1}}
  - {name: share, nfs: {server: nfs.local, path: /exports}}
  - {name: proj, projected: {sources: []}}
  - {name: down, downwardAPI: {items: []}}
  - {name: inline, csi: {driver: secrets-store.csi.k8s.io}}
  containers:
  - name: c
    image: x
    volumeMounts:
    - {name: host, mountPath: /var/run/docker.sock, mountPropagation: Bidirectional}
    - {name: sec, mountPath: /tls, readOnly: true}
    - {name: cfg, mountPath: /etc/app, mountPropagation: HostToContainer}
    - {name: tmp, mountPath: /tmp, mountPropagation: None}
    - {name: data, mountPath: /data}
    - {name: share, mountPath: /share}
    - {name: proj, mountPath: /proj}
    - {name: down, mountPath: /down}
    - {name: inline, mountPath: /secrets}
    - {name: missing, mountPath: /nowhere}
`)).Containers[0]
	want := []Mount{
		{Name: "host", Destination: "/var/run/docker.sock", MountPropagation: PropagationBidirectional, Type: "HostPath", Source: "/var/run/docker.sock"},
		{Name: "sec", Destination: "/tls", ReadOnly: true, MountPropagation: PropagationNone, Type: "Secret", Source: "tls"},
		{Name: "cfg", Destination: "/etc/app", MountPropagation: PropagationHostToContainer, Type: "ConfigMap", Source: "settings"},
		{Name: "tmp", Destination: "/tmp", MountPropagation: PropagationNone, Type: "EmptyDir"},
		{Name: "data", Destination: "/data", MountPropagation: PropagationNone, Type: "PersistentVolumeClaim", Source: "pvc-1"},
		{Name: "share", Destination: "/share", MountPropagation: PropagationNone, Type: "NFS", Source: "nfs.local:/exports"},
		{Name: "proj", Destination: "/proj", MountPropagation: PropagationNone, Type: "Projected"},
		{Name: "down", Destination: "/down", MountPropagation: PropagationNone, Type: "DownwardAPI"},
		{Name: "inline", Destination: "/secrets", MountPropagation: PropagationNone, Type: "CSI", Source: "secrets-store.csi.k8s.io"},
		{Name: "missing", Destination: "/nowhere", MountPropagation: PropagationNone},
	}
	if !reflect.DeepEqual(c.Mounts, want) {
		t.Errorf("mounts\n got %+v\nwant %+v", c.Mounts, want)
	}
}

func TestPorts(t *testing.T) {
	d := normalize(t, podWith(`  containers:
  - name: c
    image: x
    ports:
    - {name: http, containerPort: 8080}
    - {containerPort: 53, protocol: UDP, hostPort: 5353}
`))
	want := []Port{
		{Name: "http", ContainerPort: 8080, Protocol: "TCP"},
		{ContainerPort: 53, Protocol: "UDP", HostPort: 5353, Exposures: []Exposure{{Level: ExposureHost, NodePort: 5353}}},
	}
	if !reflect.DeepEqual(d.Containers[0].Ports, want) {
		t.Errorf("ports\n got %+v\nwant %+v", d.Containers[0].Ports, want)
	}
	d = normalize(t, podWith("  hostNetwork: true\n  containers: [{name: c, image: x, ports: [{containerPort: 9100}]}]\n"))
	if p := d.Containers[0].Ports[0]; p.HostPort != 9100 || len(p.Exposures) != 1 || p.Exposures[0].Level != ExposureHost {
		t.Errorf("hostNetwork port: %+v", p)
	}
}

func TestUnparsableImageKeepsRaw(t *testing.T) {
	c := normalize(t, podWith("  containers: [{name: c, image: '${IMAGE}'}]\n")).Containers[0]
	if c.Image != (Image{Raw: "${IMAGE}"}) {
		t.Errorf("image = %+v", c.Image)
	}
}

func TestLabelsAreCopies(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "1"}}}
	d, _, _ := FromObject(pod, "")
	d.Labels["a"] = "2"
	if pod.Labels["a"] != "1" {
		t.Error("FromObject shares the object's label map")
	}
}
