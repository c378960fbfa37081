package install

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/stockade-dev/stockade/internal/k8stest"
)

func TestMain(m *testing.M) { k8stest.Main(m) }

func opts() Options {
	return Options{ClusterName: "prod-eu", Central: "central.example.com:443", Image: "ghcr.io/stockade-dev/stockade-sensor:1.0.0", Now: time.Now()}
}

func find[T any](t *testing.T, b *Bundle) T {
	t.Helper()
	for _, o := range b.Objects {
		if v, ok := o.Object.(T); ok {
			return v
		}
	}
	var zero T
	t.Fatalf("no %T rendered", zero)
	return zero
}

func TestRenderChecksOptions(t *testing.T) {
	for _, tc := range []struct {
		change func(*Options)
		says   string
	}{
		{func(o *Options) { o.ClusterName = "" }, "--name"},
		{func(o *Options) { o.ClusterName = "Prod_EU" }, "--name \"Prod_EU\""},
		{func(o *Options) { o.Central = "central" }, "--central \"central\""},
		{func(o *Options) { o.Central = "central:99999" }, "port must be 1-65535"},
		{func(o *Options) { o.Namespace = "Stockade" }, "--namespace"},
		{func(o *Options) { o.AdmissionURL = "http://10.0.0.1:8443" }, "--admission-url"},
		{func(o *Options) { o.Image = "" }, "--image"},
		{func(o *Options) { o.WebhookCert = []byte("x") }, "go together"},
	} {
		o := opts()
		tc.change(&o)
		if _, err := Render(o); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Render error %v, want it to say %q", err, tc.says)
		}
	}
}

func verifyServing(t *testing.T, b *Bundle, host string) {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(b.WebhookCA) {
		t.Fatal("webhook CA is not PEM")
	}
	blk, _ := pem.Decode(b.WebhookCert)
	if blk == nil {
		t.Fatal("webhook certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("serving certificate does not verify for %s: %v", host, err)
	}
}

func TestRenderInClusterService(t *testing.T) {
	o := opts()
	o.AdmissionEnforce = true
	b, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	verifyServing(t, b, "stockade-sensor.stockade.svc")
	wh := find[*admissionregistrationv1.ValidatingWebhookConfiguration](t, b)
	for _, w := range wh.Webhooks {
		svc := w.ClientConfig.Service
		if svc == nil || svc.Namespace != "stockade" || svc.Name != Name || *svc.Path != AdmissionPath || w.ClientConfig.URL != nil {
			t.Fatalf("webhook %s client config = %+v", w.Name, w.ClientConfig)
		}
		if *w.FailurePolicy != admissionregistrationv1.Ignore || string(w.ClientConfig.CABundle) != string(b.WebhookCA) {
			t.Fatalf("webhook %s: failure policy %s or CA bundle wrong", w.Name, *w.FailurePolicy)
		}
		if got := w.NamespaceSelector.MatchExpressions[0].Values; strings.Join(got, ",") != "kube-system,kube-public,stockade" {
			t.Fatalf("webhook %s skips %v", w.Name, got)
		}
	}
	dep := find[*appsv1.Deployment](t, b)
	args := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"--central=central.example.com:443", "--cluster-name=prod-eu", "--admission-enforce=true", "--admission-fail-closed=false"} {
		if !strings.Contains(args, want) {
			t.Errorf("sensor args %q lack %q", args, want)
		}
	}
	sc := dep.Spec.Template.Spec.Containers[0].SecurityContext
	if *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || sc.Capabilities.Drop[0] != "ALL" || !*dep.Spec.Template.Spec.SecurityContext.RunAsNonRoot {
		t.Fatal("sensor container is not locked down")
	}
}

func TestRenderURLAndFailClosed(t *testing.T) {
	o := opts()
	o.AdmissionURL = "https://127.0.0.1:18443"
	o.AdmissionFailClosed = true
	o.Namespace = "secure"
	b, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	wh := find[*admissionregistrationv1.ValidatingWebhookConfiguration](t, b)
	if u := wh.Webhooks[0].ClientConfig.URL; u == nil || *u != "https://127.0.0.1:18443/admission" || wh.Webhooks[0].ClientConfig.Service != nil {
		t.Fatalf("client config = %+v", wh.Webhooks[0].ClientConfig)
	}
	if *wh.Webhooks[0].FailurePolicy != admissionregistrationv1.Fail {
		t.Fatal("fail-closed not rendered")
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(b.WebhookCA)
	blk, _ := pem.Decode(b.WebhookCert)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.IPAddresses) != 1 || cert.IPAddresses[0].String() != "127.0.0.1" {
		t.Fatalf("serving certificate IPs = %v", cert.IPAddresses)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots}); err != nil {
		t.Fatal(err)
	}
}

func TestWriteDirPermissionsAndYAML(t *testing.T) {
	b, err := Render(opts())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	files, err := WriteDir(dir, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(b.Objects) {
		t.Fatalf("wrote %d files for %d objects", len(files), len(b.Objects))
	}
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		secret := strings.Contains(string(data), "kind: Secret")
		if secret != (info.Mode().Perm() == 0o600) {
			t.Errorf("%s: mode %v", f, info.Mode().Perm())
		}
		if strings.Contains(string(data), "creationTimestamp") || strings.Contains(string(data), "status: {}") {
			t.Errorf("%s carries empty fields:\n%s", f, data)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// The rendered objects apply to a real API server as they are, and the
// service account gets exactly the access Sensor needs.
func TestManifestsApplyAndGrantLeastPrivilege(t *testing.T) {
	c := k8stest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := opts()
	o.Namespace = fmt.Sprintf("stockade-install-%d", time.Now().UnixNano()%1_000_000)
	b, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := WriteDir(dir, b); err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) string {
		t.Helper()
		cmd, err := c.Kubectl(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	admin, err := kubernetes.NewForConfig(c.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bg := context.Background()
		_ = admin.CoreV1().Namespaces().Delete(bg, o.Namespace, metav1.DeleteOptions{})
		_ = admin.RbacV1().ClusterRoleBindings().Delete(bg, Name, metav1.DeleteOptions{})
		_ = admin.RbacV1().ClusterRoles().Delete(bg, Name, metav1.DeleteOptions{})
	})
	// The webhook configuration is checked by the server but not kept: it
	// would send every other test's workloads to a Sensor that is not running.
	kubectl("apply", "-f", filepath.Join(dir, "00-namespace.yaml"))
	out := kubectl("apply", "--dry-run=server", "-f", dir)
	if !strings.Contains(out, "validatingwebhookconfiguration.admissionregistration.k8s.io/stockade-sensor created (server dry run)") {
		t.Fatalf("dry run:\n%s", out)
	}
	for _, f := range []string{"01-serviceaccount.yaml", "02-clusterrole.yaml", "03-clusterrolebinding.yaml", "04-webhook-tls-secret.yaml", "05-deployment.yaml", "06-service.yaml"} {
		kubectl("apply", "-f", filepath.Join(dir, f))
	}
	sa := "system:serviceaccount:" + o.Namespace + ":" + Name
	for _, tc := range []struct {
		verb, group, resource, sub string
		allowed                    bool
	}{
		{"watch", "apps", "deployments", "", true},
		{"list", "", "secrets", "", true},
		{"list", "rbac.authorization.k8s.io", "clusterrolebindings", "", true},
		{"update", "apps", "deployments", "scale", true},
		{"patch", "apps", "deployments", "", true},
		{"delete", "", "pods", "", true},
		{"create", "", "events", "", true},
		{"get", "", "secrets", "", false},
		{"create", "apps", "deployments", "", false},
		{"delete", "apps", "deployments", "", false},
		{"update", "", "configmaps", "", false},
		{"create", "", "pods", "exec", false},
		{"escalate", "rbac.authorization.k8s.io", "clusterroles", "", false},
	} {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: sa, Groups: []string{"system:serviceaccounts", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "default", Verb: tc.verb, Group: tc.group, Resource: tc.resource, Subresource: tc.sub},
		}}
		res, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status.Allowed != tc.allowed {
			t.Errorf("%s %s/%s %s: allowed=%v, want %v", tc.verb, tc.group, tc.resource, tc.sub, res.Status.Allowed, tc.allowed)
		}
	}
}
