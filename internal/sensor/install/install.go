// Package install renders the Kubernetes objects that install Stockade's
// Sensor in a secured cluster: its namespace, service account, the
// least-privilege cluster role and binding, the Deployment, the Service the
// admission webhook is reached through, the webhook's serving certificate,
// and the ValidatingWebhookConfiguration. `stockade sensor generate k8s`
// writes them to a directory for `kubectl apply -f`; the Helm chart in
// deploy/helm/stockade-secured-cluster renders the same objects.
//
// The one idea: the manifests are built as typed Kubernetes objects, so
// what is applied is what the API server's types accept, and the
// permissions Sensor gets are listed here once, next to why it needs them.
package install

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Names shared by the generator, the chart and Sensor.
const (
	DefaultNamespace = "stockade"
	Name             = "stockade-sensor"
	// SensorTLSSecret holds the init bundle's Sensor client certificate
	// (created by `kubectl apply` of the bundle from
	// `stockade central init-bundle generate`).
	SensorTLSSecret = "stockade-sensor-tls"
	// WebhookTLSSecret holds the admission webhook's serving certificate.
	WebhookTLSSecret = "stockade-sensor-webhook-tls"
	// AdmissionPath is where Sensor serves admission reviews.
	AdmissionPath = "/admission"
	// AdmissionPort is the port Sensor's webhook listens on in the pod.
	AdmissionPort = 8443
	// HealthPort serves /healthz, /readyz and /metrics over plain HTTP.
	HealthPort = 9090
	// BreakGlassAnnotation admits a workload that violates an enforced
	// policy and raises an alert instead.
	BreakGlassAnnotation = "admission.stockade.io/break-glass"
	// certValidity is how long the generated webhook certificates last;
	// run the generator again (or helm upgrade) to renew them.
	certValidity = 2 * 365 * 24 * time.Hour
)

// Options are what `stockade sensor generate k8s` takes.
type Options struct {
	ClusterName string
	// Central is Central's gRPC address, host:port.
	Central   string
	Namespace string
	// Image is Sensor's container image.
	Image string
	// AdmissionEnforce makes the webhook deny workloads that violate
	// policies with deploy-time enforcement; without it the webhook only
	// records what it would have denied.
	AdmissionEnforce bool
	// AdmissionFailClosed makes the API server refuse requests when the
	// webhook cannot answer (failurePolicy Fail); the default admits them.
	AdmissionFailClosed bool
	// AdmissionURL registers the webhook at this https URL instead of the
	// in-cluster Service: a Sensor running outside the cluster, or tests.
	AdmissionURL string
	// Now dates the generated certificates.
	Now time.Time
	// WebhookCert, WebhookKey and WebhookCA (PEM) reuse an existing serving
	// certificate instead of generating one.
	WebhookCert, WebhookKey, WebhookCA []byte
}

// Bundle is the rendered installation: the objects in apply order, and the
// webhook's serving material.
type Bundle struct {
	Objects []Object
	// WebhookCA signs WebhookCert; it is the caBundle of the webhook.
	WebhookCA, WebhookCert, WebhookKey []byte
}

// Object is one manifest: a file name (ordered for kubectl apply) and the
// typed object.
type Object struct {
	File   string
	Object runtime.Object
	// Secret marks objects holding private keys (written 0600).
	Secret bool
}

func (o *Options) check() error {
	var errs []error
	if msgs := validation.IsDNS1123Subdomain(o.ClusterName); o.ClusterName == "" || len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--name %q: want a DNS-1123 name (lower-case letters, digits, '-' and '.')", o.ClusterName))
	}
	if host, port, err := net.SplitHostPort(o.Central); err != nil || host == "" || port == "" {
		errs = append(errs, fmt.Errorf("--central %q: want HOST:PORT of Central", o.Central))
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		errs = append(errs, fmt.Errorf("--central %q: port must be 1-65535", o.Central))
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if msgs := validation.IsDNS1123Label(o.Namespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--namespace %q: %s", o.Namespace, strings.Join(msgs, "; ")))
	}
	if o.Image == "" {
		errs = append(errs, errors.New("--image: required"))
	}
	if o.AdmissionURL != "" {
		u, err := url.Parse(o.AdmissionURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("--admission-url %q: want an https:// URL", o.AdmissionURL))
		}
	}
	if (len(o.WebhookCert) == 0) != (len(o.WebhookKey) == 0) || (len(o.WebhookCert) == 0) != (len(o.WebhookCA) == 0) {
		errs = append(errs, errors.New("webhook certificate, key and CA go together"))
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return errors.Join(errs...)
}

// Render builds the objects of an installation.
func Render(o Options) (*Bundle, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	b := &Bundle{WebhookCA: o.WebhookCA, WebhookCert: o.WebhookCert, WebhookKey: o.WebhookKey}
	if len(b.WebhookCert) == 0 {
		var err error
		b.WebhookCA, b.WebhookCert, b.WebhookKey, err = webhookCerts(webhookHosts(o), o.Now)
		if err != nil {
			return nil, err
		}
	}
	labels := Labels()
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels}
	}
	b.Objects = []Object{
		{File: "00-namespace.yaml", Object: &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: o.Namespace, Labels: labels},
		}},
		{File: "01-serviceaccount.yaml", Object: &corev1.ServiceAccount{
			TypeMeta:                     metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta:                   meta(Name),
			AutomountServiceAccountToken: ptr(true),
		}},
		{File: "02-clusterrole.yaml", Object: &rbacv1.ClusterRole{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: labels},
			Rules:      Rules(),
		}},
		{File: "03-clusterrolebinding.yaml", Object: &rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: labels},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: Name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: Name, Namespace: o.Namespace}},
		}},
		{File: "04-webhook-tls-secret.yaml", Secret: true, Object: &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: meta(WebhookTLSSecret),
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{"tls.crt": b.WebhookCert, "tls.key": b.WebhookKey, "ca.crt": b.WebhookCA},
		}},
		{File: "05-deployment.yaml", Object: deployment(o, meta(Name), labels)},
		{File: "06-service.yaml", Object: &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: meta(Name),
			Spec: corev1.ServiceSpec{
				Selector: selector(),
				Ports: []corev1.ServicePort{
					{Name: "admission", Port: 443, TargetPort: intstr.FromInt32(AdmissionPort), Protocol: corev1.ProtocolTCP},
					{Name: "metrics", Port: HealthPort, TargetPort: intstr.FromInt32(HealthPort), Protocol: corev1.ProtocolTCP},
				},
			},
		}},
		{File: "07-validatingwebhookconfiguration.yaml", Object: webhookConfig(o, b.WebhookCA, labels)},
	}
	return b, nil
}

// Labels are on every object the installation makes.
func Labels() map[string]string {
	return map[string]string{"app.kubernetes.io/name": Name, "app.kubernetes.io/part-of": "stockade"}
}

func selector() map[string]string { return map[string]string{"app.kubernetes.io/name": Name} }

func ptr[T any](v T) *T { return &v }

// Rules are Sensor's permissions, and only those: reading what it watches,
// and the few writes enforcement needs.
func Rules() []rbacv1.PolicyRule {
	read := []string{"get", "list", "watch"}
	return []rbacv1.PolicyRule{
		// The workloads and what shapes their exposure and permissions.
		{APIGroups: []string{""}, Resources: []string{"pods", "services", "namespaces", "nodes", "serviceaccounts", "replicationcontrollers"}, Verbs: read},
		// Secrets: Sensor reads their metadata only (a metadata informer);
		// RBAC cannot grant less than list and watch, but no get.
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "daemonsets", "statefulsets", "replicasets"}, Verbs: read},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: read},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses", "networkpolicies"}, Verbs: read},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "clusterroles", "rolebindings", "clusterrolebindings"}, Verbs: read},
		{APIGroups: []string{"apps.openshift.io"}, Resources: []string{"deploymentconfigs"}, Verbs: read},
		{APIGroups: []string{"route.openshift.io"}, Resources: []string{"routes"}, Verbs: read},
		// Enforcement: SCALE_TO_ZERO through the scale subresources, and
		// UNSATISFIABLE_NODE_CONSTRAINT plus the annotation saying why
		// through a patch of the workload.
		{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale", "statefulsets/scale", "replicasets/scale"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"replicationcontrollers/scale"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{"apps.openshift.io"}, Resources: []string{"deploymentconfigs/scale"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "daemonsets", "statefulsets", "replicasets"}, Verbs: []string{"patch"}},
		{APIGroups: []string{""}, Resources: []string{"replicationcontrollers"}, Verbs: []string{"patch"}},
		{APIGroups: []string{"batch"}, Resources: []string{"cronjobs", "jobs"}, Verbs: []string{"patch"}},
		{APIGroups: []string{"apps.openshift.io"}, Resources: []string{"deploymentconfigs"}, Verbs: []string{"patch"}},
		// KILL_POD for runtime policies.
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete"}},
		// Kubernetes events telling users what Stockade enforced.
		{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}
}

func deployment(o Options, meta metav1.ObjectMeta, labels map[string]string) *appsv1.Deployment {
	const (
		bundleDir  = "/run/secrets/stockade/sensor-tls"
		webhookDir = "/run/secrets/stockade/webhook-tls"
	)
	args := []string{
		"--central=" + o.Central,
		"--cluster-name=" + o.ClusterName,
		"--init-bundle=" + bundleDir,
		"--admission-listen=:" + strconv.Itoa(AdmissionPort),
		"--admission-cert=" + webhookDir + "/tls.crt",
		"--admission-key=" + webhookDir + "/tls.key",
		"--admission-enforce=" + strconv.FormatBool(o.AdmissionEnforce),
		"--admission-fail-closed=" + strconv.FormatBool(o.AdmissionFailClosed),
		"--health-listen=:" + strconv.Itoa(HealthPort),
	}
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(HealthPort)}},
			PeriodSeconds: 10, TimeoutSeconds: 2, FailureThreshold: 3}
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: selector()},
			// One Sensor per cluster: never two streams to Central at once.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: Name,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr(true),
						RunAsUser:      ptr(int64(65534)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            "sensor",
						Image:           o.Image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Args:            args,
						Ports: []corev1.ContainerPort{
							{Name: "admission", ContainerPort: AdmissionPort, Protocol: corev1.ProtocolTCP},
							{Name: "metrics", ContainerPort: HealthPort, Protocol: corev1.ProtocolTCP},
						},
						Env: []corev1.EnvVar{{Name: "STOCKADE_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("512Mi")},
						},
						LivenessProbe:  probe("/healthz"),
						ReadinessProbe: probe("/readyz"),
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr(false),
							ReadOnlyRootFilesystem:   ptr(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "sensor-tls", MountPath: bundleDir, ReadOnly: true},
							{Name: "webhook-tls", MountPath: webhookDir, ReadOnly: true},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "sensor-tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: SensorTLSSecret, DefaultMode: ptr(int32(0o400))}}},
						{Name: "webhook-tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: WebhookTLSSecret, DefaultMode: ptr(int32(0o400))}}},
					},
				},
			},
		},
	}
}

// SystemNamespaces are never judged by the webhook.
func SystemNamespaces(own string) []string { return []string{"kube-system", "kube-public", own} }

func webhookConfig(o Options, ca []byte, labels map[string]string) *admissionregistrationv1.ValidatingWebhookConfiguration {
	client := admissionregistrationv1.WebhookClientConfig{CABundle: ca}
	if o.AdmissionURL != "" {
		u := strings.TrimRight(o.AdmissionURL, "/")
		if parsed, err := url.Parse(u); err == nil && (parsed.Path == "" || parsed.Path == "/") {
			u += AdmissionPath
		}
		client.URL = &u
	} else {
		client.Service = &admissionregistrationv1.ServiceReference{Namespace: o.Namespace, Name: Name, Path: ptr(AdmissionPath), Port: ptr(int32(443))}
	}
	policy := admissionregistrationv1.Ignore
	if o.AdmissionFailClosed {
		policy = admissionregistrationv1.Fail
	}
	notSystem := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: SystemNamespaces(o.Namespace),
	}}}
	rule := func(ops []admissionregistrationv1.OperationType, group string, resources ...string) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{Operations: ops, Rule: admissionregistrationv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources, Scope: ptr(admissionregistrationv1.NamespacedScope),
		}}
	}
	cu := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	none := admissionregistrationv1.SideEffectClassNone
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: labels},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{
			{
				Name:         "workloads.admission.stockade.io",
				ClientConfig: client,
				Rules: []admissionregistrationv1.RuleWithOperations{
					rule(cu, "", "pods", "replicationcontrollers", "replicationcontrollers/scale"),
					rule(cu, "apps", "deployments", "daemonsets", "statefulsets", "replicasets", "deployments/scale", "statefulsets/scale", "replicasets/scale"),
					rule(cu, "batch", "jobs", "cronjobs"),
					rule(cu, "apps.openshift.io", "deploymentconfigs", "deploymentconfigs/scale"),
				},
				FailurePolicy:           &policy,
				MatchPolicy:             ptr(admissionregistrationv1.Equivalent),
				NamespaceSelector:       notSystem,
				SideEffects:             &none,
				TimeoutSeconds:          ptr(int32(10)),
				AdmissionReviewVersions: []string{"v1"},
			},
			{
				Name:         "connect.admission.stockade.io",
				ClientConfig: client,
				Rules: []admissionregistrationv1.RuleWithOperations{
					rule([]admissionregistrationv1.OperationType{admissionregistrationv1.Connect}, "", "pods/exec", "pods/attach", "pods/portforward"),
				},
				FailurePolicy:           &policy,
				MatchPolicy:             ptr(admissionregistrationv1.Equivalent),
				NamespaceSelector:       notSystem,
				SideEffects:             &none,
				TimeoutSeconds:          ptr(int32(10)),
				AdmissionReviewVersions: []string{"v1"},
			},
		},
	}
}

// webhookHosts are the names the serving certificate must carry.
func webhookHosts(o Options) []string {
	if o.AdmissionURL != "" {
		if u, err := url.Parse(o.AdmissionURL); err == nil {
			return []string{u.Hostname()}
		}
	}
	svc := Name + "." + o.Namespace
	return []string{svc + ".svc", svc, svc + ".svc.cluster.local"}
}

// webhookCerts makes a CA and a serving certificate for hosts (DNS names or
// IP addresses), ECDSA P-256.
func webhookCerts(hosts []string, now time.Time) (caPEM, certPEM, keyPEM []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook CA key: %w", err)
	}
	serial := func() (*big.Int, error) { return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128)) }
	caSerial, err := serial()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook CA serial: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: caSerial, Subject: pkix.Name{CommonName: "Stockade Sensor webhook CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certValidity),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook key: %w", err)
	}
	leafSerial, err := serial()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook serial: %w", err)
	}
	leaf := &x509.Certificate{
		SerialNumber: leafSerial, Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certValidity),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			leaf.IPAddresses = append(leaf.IPAddresses, ip)
		} else {
			leaf.DNSNames = append(leaf.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}
