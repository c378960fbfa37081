package admission

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/stockade-dev/stockade/internal/k8stest"
	"github.com/stockade-dev/stockade/internal/policy"
)

func TestMain(m *testing.M) { k8stest.Main(m) }

// setPolicies is the simplest Policies: a fixed set.
type setPolicies struct{ s *policy.Set }

func (p setPolicies) Set() *policy.Set { return p.s }

// recorder keeps every event, in order.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Record(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}

// Names of the policies the tests enforce.
const (
	privilegedPolicy = "Container running in privileged mode"
	execPolicy       = "No exec into pods of the shop"
)

// testPolicies is the built-in set with admission enforcement added to the
// privileged-container policy, plus a RUNTIME policy denying exec by
// anyone but the user "oncall", with FAIL_KUBE_REQUEST_ENFORCEMENT.
func testPolicies(t testing.TB) *policy.Set {
	t.Helper()
	ps, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range ps {
		if p.Name == privilegedPolicy {
			p.EnforcementActions = append(p.EnforcementActions, policy.EnforceFailDeploymentCreate, policy.EnforceFailDeploymentUpdate)
			found = true
		}
	}
	if !found {
		t.Fatalf("no built-in policy %q", privilegedPolicy)
	}
	ps = append(ps, &policy.Policy{
		Name:               execPolicy,
		Severity:           policy.SeverityHigh,
		Remediation:        "Debug with logs and metrics; ask on-call for a shell.",
		LifecycleStages:    []policy.LifecycleStage{policy.StageRuntime},
		EventSource:        policy.EventSourceDeployment,
		EnforcementActions: []policy.EnforcementAction{policy.EnforceFailKubeRequest},
		PolicySections: []policy.PolicySection{{PolicyGroups: []policy.PolicyGroup{
			{FieldName: "Kubernetes Resource", Values: []policy.PolicyValue{{Value: "PODS_EXEC"}}},
			{FieldName: "Kubernetes User Name", Negate: true, Values: []policy.PolicyValue{{Value: "oncall"}}},
		}}},
	})
	s, err := policy.NewSet(ps)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mintServing makes a CA and a serving certificate for 127.0.0.1 signed by
// it, as an operator would for a webhook reached by URL.
func mintServing(t testing.TB) (tls.Certificate, []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "admission test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "stockade-admission"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// serveTLS serves h over HTTPS on a free loopback port until the test ends
// and returns its base URL and the CA bundle that verifies it.
func serveTLS(t testing.TB, h http.Handler) (string, []byte) {
	t.Helper()
	cert, caPEM := mintServing(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	return "https://" + ln.Addr().String(), caPEM
}

// webhookName is how kubectl names the webhook in a denial.
const webhookName = "validate.admission.stockade.io"

// registerWebhook points kube-apiserver at url for the workloads, scale
// subresources and pod connections of namespace ns only, and removes the
// configuration when the test ends (other tests share the API server).
func registerWebhook(t testing.TB, cs kubernetes.Interface, ns, url string, caPEM []byte) {
	t.Helper()
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	timeout := int32(10)
	rw := func(groups []string, resources ...string) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule:       admissionregistrationv1.Rule{APIGroups: groups, APIVersions: []string{"*"}, Resources: resources},
		}
	}
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "stockade-admission-" + ns},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         webhookName,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caPEM},
			Rules: []admissionregistrationv1.RuleWithOperations{
				rw([]string{""}, "pods", "replicationcontrollers", "replicationcontrollers/scale"),
				rw([]string{"apps"}, "deployments", "daemonsets", "statefulsets", "replicasets",
					"deployments/scale", "statefulsets/scale", "replicasets/scale"),
				rw([]string{"batch"}, "jobs", "cronjobs"),
				{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Connect},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods/exec", "pods/attach", "pods/portforward"}},
				},
			},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		t.Fatalf("register webhook: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, cfg.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete webhook configuration %s: %v", cfg.Name, err)
		}
	})
}

// podTemplate is a one-container pod template, privileged or not.
func podTemplate(name, image string, privileged bool, restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	c := corev1.Container{Name: "app", Image: image}
	if privileged {
		c.SecurityContext = &corev1.SecurityContext{Privileged: &privileged}
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}, RestartPolicy: restart},
	}
}

// workloads returns one object of every workload kind the API server
// serves, named name, with the label rev=rev: the image changes with rev
// except in the Job, whose template is immutable.
func workloads(name string, privileged bool, rev string) []runtime.Object {
	image := "registry.example/shop/app:1." + rev
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name, "rev": rev}}
	}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
	tmpl := podTemplate(name, image, privileged, corev1.RestartPolicyAlways)
	jobTmpl := podTemplate(name, "registry.example/shop/app:1.1", privileged, corev1.RestartPolicyNever)
	one := int32(1)
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: meta(), Spec: tmpl.Spec}
	return []runtime.Object{
		pod,
		&appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta(),
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: sel, Template: tmpl}},
		&appsv1.DaemonSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"}, ObjectMeta: meta(),
			Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tmpl}},
		&appsv1.StatefulSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"}, ObjectMeta: meta(),
			Spec: appsv1.StatefulSetSpec{Replicas: &one, Selector: sel, Template: tmpl}},
		&appsv1.ReplicaSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"}, ObjectMeta: meta(),
			Spec: appsv1.ReplicaSetSpec{Replicas: &one, Selector: sel, Template: tmpl}},
		&corev1.ReplicationController{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ReplicationController"}, ObjectMeta: meta(),
			Spec: corev1.ReplicationControllerSpec{Replicas: &one, Selector: map[string]string{"app": name}, Template: &tmpl}},
		&batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: meta(),
			Spec: batchv1.JobSpec{Template: jobTmpl}},
		&batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}, ObjectMeta: meta(),
			Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Template: podTemplate(name, image, privileged, corev1.RestartPolicyOnFailure)}}}},
	}
}

// listJSON is objects as a v1 List, which kubectl apply -f - reads.
func listJSON(t testing.TB, objs ...runtime.Object) []byte {
	t.Helper()
	items := make([]json.RawMessage, 0, len(objs))
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, b)
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kubectl runs kubectl as the admin with stdin and returns its combined
// output and error.
func kubectl(t testing.TB, c *k8stest.Cluster, stdin []byte, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, err := c.Kubectl(ctx, args...)
	if err != nil {
		t.Skipf("kubectl: %v", err)
	}
	if stdin != nil {
		cmd.Stdin = strings.NewReader(string(stdin))
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
