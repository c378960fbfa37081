package k8stest

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestMain(m *testing.M) { Main(m) }

// needKubectl ends a test that found no kubectl: skipped, or failed under
// STOCKADE_REQUIRE_KUBE=1 (build.sh builds kubectl beside kube-apiserver).
func needKubectl(t *testing.T, err error) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatal(err)
	}
	t.Skip(err)
}

func clientset(t *testing.T, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func deployment(name string, labels map[string]string) *appsv1.Deployment {
	sel := map[string]string{"app": name}
	podLabels := map[string]string{"app": name}
	replicas := int32(2)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "web",
					Image: "registry.example/web@sha256:" + strings.Repeat("ab", 32),
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				}}},
			},
		},
	}
}

func TestClusterStoresAndReadsBackObjects(t *testing.T) {
	c := Shared(t)
	etcdRSS, apiRSS, err := c.RSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kubernetes %s ready in %s; RSS etcd %d MiB, kube-apiserver %d MiB", c.Version(), c.StartupTime().Round(time.Millisecond), etcdRSS>>20, apiRSS>>20)

	ctx := context.Background()
	cs := clientset(t, c.RestConfig())
	ns := c.NewNamespace(t)
	got, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read namespace back: %v", err)
	}
	if got.Status.Phase != corev1.NamespaceActive {
		t.Errorf("namespace phase = %s, want Active", got.Status.Phase)
	}

	want := deployment("web", map[string]string{"team": "blue"})
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, want, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read deployment back: %v", err)
	}
	if d.UID == "" || d.ResourceVersion == "" || d.Generation != 1 {
		t.Errorf("stored deployment lacks server fields: uid %q rv %q generation %d", d.UID, d.ResourceVersion, d.Generation)
	}
	if *d.Spec.Replicas != 2 || d.Labels["team"] != "blue" || d.Spec.Template.Spec.Containers[0].Image != want.Spec.Template.Spec.Containers[0].Image {
		t.Errorf("deployment read back differs: replicas %d labels %v image %s", *d.Spec.Replicas, d.Labels, d.Spec.Template.Spec.Containers[0].Image)
	}
	// Defaulting ran on the server: the strategy was not sent.
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("strategy = %q, want the server's default RollingUpdate", d.Spec.Strategy.Type)
	}
	list, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: "team=blue"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "web" {
		t.Errorf("list by label = %d items, want web", len(list.Items))
	}
	// The ServiceAccount admission plugin finds the namespace's default
	// account, so a Pod is stored (Pending: there are no nodes).
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: want.Spec.Template.Spec}
	p, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	if p.Spec.ServiceAccountName != "default" || p.Status.Phase != corev1.PodPending {
		t.Errorf("pod: service account %q phase %q, want default and Pending", p.Spec.ServiceAccountName, p.Status.Phase)
	}
	// A second create of the same name is a conflict, as etcd holds the first.
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, want, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Errorf("second create: err = %v, want AlreadyExists", err)
	}
}

func TestServerReportsVersionFromLdflags(t *testing.T) {
	c := Shared(t)
	v, err := clientset(t, c.RestConfig()).Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(strings.TrimPrefix(c.Version(), "v"), ".", 3)
	if v.GitVersion != c.Version() || v.Major != parts[0] || v.Minor != parts[1] {
		t.Errorf("server version %s (%s.%s), want %s from hack/kube/go.mod", v.GitVersion, v.Major, v.Minor, c.Version())
	}
	if v.GitTreeState != "clean" {
		t.Errorf("gitTreeState = %q, want clean", v.GitTreeState)
	}
	if !strings.HasPrefix(v.GitCommit, "h1:") {
		t.Errorf("gitCommit = %q, want the module's h1: hash from go.sum", v.GitCommit)
	}
	built, err := time.Parse(time.RFC3339, v.BuildDate)
	if err != nil || built.Year() < 2025 {
		t.Errorf("buildDate = %q (%v), want the build's time", v.BuildDate, err)
	}
}

func TestKubectlGetNamespaces(t *testing.T) {
	c := Shared(t)
	ns := c.NewNamespace(t)
	ctx := context.Background()
	cmd, err := c.Kubectl(ctx, "get", "ns", "-o", "name")
	if err != nil {
		needKubectl(t, err)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl get ns: %v: %s", err, out)
	}
	for _, want := range []string{"namespace/" + ns, "namespace/kube-system", "namespace/default"} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("kubectl get ns lacks %s:\n%s", want, out)
		}
	}

	cmd, err = c.Kubectl(ctx, "version", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("kubectl version: %v", err)
	}
	var versions struct {
		Client struct{ GitVersion string } `json:"clientVersion"`
		Server struct{ GitVersion string } `json:"serverVersion"`
	}
	if err := json.Unmarshal(out, &versions); err != nil {
		t.Fatalf("kubectl version output: %v: %s", err, out)
	}
	if versions.Server.GitVersion != c.Version() {
		t.Errorf("kubectl sees server %s, want %s", versions.Server.GitVersion, c.Version())
	}
	t.Logf("kubectl %s (%s)", versions.Client.GitVersion, c.KubectlPath())
}

func TestRestrictedUserIsForbiddenSecrets(t *testing.T) {
	c := Shared(t)
	ctx := context.Background()
	ns := c.NewNamespace(t)
	admin := clientset(t, c.RestConfig())
	if _, err := admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		StringData: map[string]string{"password": "hunter2"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	u, err := c.CreateUser(ctx, UserSpec{
		Name:   "pod-reader@" + ns,
		Groups: []string{"readers"},
		Grants: []Grant{{Namespace: ns, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"},
		}}}},
	})
	if err != nil {
		t.Fatal(err)
	}

	for name, cfg := range map[string]*rest.Config{"token": u.RestConfig(), "client certificate": u.CertRestConfig()} {
		t.Run(name, func(t *testing.T) {
			cs := clientset(t, cfg)
			review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("who am I: %v", err)
			}
			if got := review.Status.UserInfo; got.Username != u.Name || !contains(got.Groups, "readers") || !contains(got.Groups, "system:authenticated") {
				t.Errorf("authenticated as %s %v, want %s in readers", got.Username, got.Groups, u.Name)
			}
			if _, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err != nil {
				t.Errorf("list pods in %s (granted): %v", ns, err)
			}
			_, err = cs.CoreV1().Secrets(ns).Get(ctx, "db", metav1.GetOptions{})
			if !apierrors.IsForbidden(err) {
				t.Fatalf("get secret: err = %v, want 403 Forbidden", err)
			}
			var status apierrors.APIStatus
			if !errors.As(err, &status) || status.Status().Code != http.StatusForbidden {
				t.Errorf("status = %v, want code 403", err)
			}
			if _, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
				t.Errorf("list secrets: err = %v, want 403 Forbidden", err)
			}
			if _, err := cs.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
				t.Errorf("list pods outside the granted namespace: err = %v, want 403 Forbidden", err)
			}
		})
	}

	// A token the webhook never issued is refused, not taken for anyone.
	bad := u.RestConfig()
	bad.BearerToken = strings.Repeat("0", 64)
	if _, err := clientset(t, bad).CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("unknown token: err = %v, want 401 Unauthorized", err)
	}

	if _, err := c.CreateUser(ctx, UserSpec{Name: u.Name}); err == nil {
		t.Error("a second user of the same name was created")
	}

	cmd, err := u.Kubectl(ctx, "auth", "can-i", "get", "secrets", "-n", ns)
	if err != nil {
		needKubectl(t, err)
	}
	out, err := cmd.CombinedOutput()
	if err == nil || strings.TrimSpace(string(out)) != "no" {
		t.Errorf("kubectl auth can-i get secrets as %s = %v %q, want exit 1 and no", u.Name, err, out)
	}
}

func TestClusterRoleGrant(t *testing.T) {
	c := Shared(t)
	ctx := context.Background()
	u, err := c.CreateUser(ctx, UserSpec{Name: "operator", Grants: []Grant{{ClusterRole: "cluster-admin"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clientset(t, u.RestConfig()).CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("cluster-admin lists secrets: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// denyingWebhook is an admission webhook that denies every object without
// the label allow=yes and records what it was asked.
type denyingWebhook struct {
	mu       sync.Mutex
	requests []admissionv1.AdmissionRequest
}

const denyMessage = "k8stest webhook denies"

func (w *denyingWebhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 1<<20)).Decode(&review); err != nil || review.Request == nil {
		http.Error(rw, fmt.Sprintf("bad AdmissionReview: %v", err), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.requests = append(w.requests, *review.Request)
	w.mu.Unlock()
	var obj metav1.PartialObjectMetadata
	if err := json.Unmarshal(review.Request.Object.Raw, &obj); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: obj.Labels["allow"] == "yes"}
	if !resp.Allowed {
		resp.Result = &metav1.Status{Code: http.StatusForbidden, Message: denyMessage + " " + obj.Name}
	}
	review.Request, review.Response = nil, resp
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(&review)
}

func (w *denyingWebhook) seen() []admissionv1.AdmissionRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]admissionv1.AdmissionRequest(nil), w.requests...)
}

func TestValidatingWebhookDeniesDeployment(t *testing.T) {
	c := Shared(t)
	ctx := context.Background()
	ns := c.NewNamespace(t)
	hook := &denyingWebhook{}
	srv := httptest.NewTLSServer(hook)
	defer srv.Close()
	caBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	admin := clientset(t, c.RestConfig())
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	timeout := int32(5)
	url := srv.URL + "/validate"
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "k8stest-" + ns},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "deny.k8stest.stockade.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, Rule: admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}}}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if _, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), cfg.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete webhook configuration: %v", err)
		}
	})

	// The API server picks the configuration up through a watch: until it
	// does, creates pass unchecked, so each try uses a new name.
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		_, err = admin.AppsV1().Deployments(ns).Create(ctx, deployment("denied-"+strconv.Itoa(i), nil), metav1.CreateOptions{})
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err == nil {
		t.Fatal("deployments still admitted 30s after the webhook was registered")
	}
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), denyMessage) {
		t.Fatalf("create: err = %v, want the webhook's denial", err)
	}
	reqs := hook.seen()
	if len(reqs) == 0 {
		t.Fatal("the webhook was never called")
	}
	last := reqs[len(reqs)-1]
	if last.Operation != admissionv1.Create || last.Kind.Kind != "Deployment" || last.Namespace != ns || last.UserInfo.Username != AdminUser {
		t.Errorf("webhook saw %s %s %s/%s by %s, want CREATE Deployment in %s by %s", last.Operation, last.Kind.Kind, last.Namespace, last.Name, last.UserInfo.Username, ns, AdminUser)
	}

	// The webhook's allow is honoured too.
	if _, err := admin.AppsV1().Deployments(ns).Create(ctx, deployment("allowed", map[string]string{"allow": "yes"}), metav1.CreateOptions{}); err != nil {
		t.Errorf("create a deployment the webhook allows: %v", err)
	}

	// kubectl shows the denial to a user as it is.
	manifest, err := json.Marshal(func() *appsv1.Deployment {
		d := deployment("from-kubectl", nil)
		d.APIVersion, d.Kind = "apps/v1", "Deployment"
		return d
	}())
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := c.Kubectl(ctx, "apply", "-n", ns, "-f", "-")
	if err != nil {
		needKubectl(t, err)
	}
	cmd.Stdin = bytes.NewReader(manifest)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), denyMessage+" from-kubectl") {
		t.Errorf("kubectl apply = %v: %s, want the webhook's denial", err, out)
	}
}

func TestFindBinaries(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	toolDir := filepath.Join(root, toolModule)
	version, sum, err := pinnedVersion(toolDir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(version, "v1.") {
		t.Fatalf("pinned version %q", version)
	}
	etcd := filepath.Join(t.TempDir(), "etcd")
	if err := os.WriteFile(etcd, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	cache := t.TempDir()
	_, err = findBinaries(toolDir, cache, []string{etcd})
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "not built") || !strings.HasSuffix(err.Error(), "run make kube-apiserver") {
		t.Errorf("empty cache: err = %v, want not built, run make kube-apiserver", err)
	}

	_, err = findBinaries(toolDir, cache, []string{filepath.Join(t.TempDir(), "etcd")})
	if !errors.Is(err, ErrNotInstalled) || !strings.HasSuffix(err.Error(), "etcd not installed: apt-get install -y etcd-server") {
		t.Errorf("no etcd: err = %v", err)
	}

	dir := filepath.Join(cache, version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	apiserver := filepath.Join(dir, "kube-apiserver")
	if err := os.WriteFile(apiserver, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(apiserver+".key", []byte(version+" go.sum:0000 build.sh:1111\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = findBinaries(toolDir, cache, []string{etcd})
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "another hack/kube/go.sum") {
		t.Errorf("stale stamp: err = %v, want built from another go.sum", err)
	}

	if err := os.WriteFile(apiserver+".key", []byte(version+" go.sum:"+sum+" build.sh:1111\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := findBinaries(toolDir, cache, []string{etcd})
	if err != nil {
		t.Fatal(err)
	}
	if b.APIServer != apiserver || b.Etcd != etcd || b.Version != version {
		t.Errorf("found %+v", b)
	}
}

func TestRemoveStale(t *testing.T) {
	parent := t.TempDir()
	old := time.Now().Add(-2 * staleAfter)
	mk := func(name, pids string, mtime time.Time) string {
		d := filepath.Join(parent, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if pids != "" {
			if err := os.WriteFile(filepath.Join(d, "pids"), []byte(pids), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(d, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return d
	}
	// A pid that is surely not running: beyond the kernel's pid_max.
	dead := mk("k8stest-dead", "4194305\n", old)
	alive := mk("k8stest-alive", strconv.Itoa(syscall.Getpid())+"\n", old)
	fresh := mk("k8stest-fresh", "", time.Now())
	other := mk("pgtest-other", "", old)
	removeStale(parent)
	for d, want := range map[string]bool{dead: false, alive: true, fresh: true, other: true} {
		_, err := os.Stat(d)
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(d), got, want)
		}
	}
}

func TestTokenWebhook(t *testing.T) {
	ca, err := newCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	w, err := startTokenWebhook(context.Background(), ca)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := w.close(); err != nil {
			t.Error(err)
		}
	}()
	w.add("good", authenticationv1.UserInfo{Username: "alice", Groups: []string{"dev"}})
	h := http.HandlerFunc(w.authenticate)
	review := func(body string) (int, authenticationv1.TokenReview) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/authenticate", strings.NewReader(body)))
		var out authenticationv1.TokenReview
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
		}
		return rec.Code, out
	}
	if code, out := review(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"good"}}`); code != 200 || !out.Status.Authenticated || out.Status.User.Username != "alice" {
		t.Errorf("known token: %d %+v", code, out.Status)
	}
	if code, out := review(`{"spec":{"token":"bad"}}`); code != 200 || out.Status.Authenticated {
		t.Errorf("unknown token: %d %+v", code, out.Status)
	}
	if code, _ := review(`{"spec":`); code != http.StatusBadRequest {
		t.Errorf("malformed review: %d, want 400", code)
	}
	if code, _ := review(`{"spec":{"token":"` + strings.Repeat("x", maxReviewBytes) + `"}}`); code != http.StatusBadRequest {
		t.Errorf("oversized review: %d, want 400", code)
	}
}
