package watch

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stockade-dev/stockade/internal/k8stest"
	"github.com/stockade-dev/stockade/internal/shareddata"
	"github.com/stockade-dev/stockade/internal/workload"
)

// TestMicroservicesDemo applies the microservices-demo release manifests
// with kubectl and checks each Deployment's exposure, then its network
// policy coverage as the demo's policies are applied.
func TestMicroservicesDemo(t *testing.T) {
	c := k8stest.Shared(t)
	ns := c.NewNamespace(t)
	_, rec := startWatcher(t, c.RestConfig(), 0)
	demo := shareddata.Path(t, "manifests", "microservices-demo")
	kubectl(t, c, "apply", "-n", ns, "-f", filepath.Join(demo, "release", "kubernetes-manifests.yaml"))

	// Each Deployment's container port and the Services that expose it,
	// from the manifest: frontend is also behind a LoadBalancer, the load
	// generator declares no port.
	wantPorts := map[string]map[int32][]string{
		"frontend":              {8080: {"INTERNAL frontend:80", "EXTERNAL frontend-external:80"}},
		"adservice":             {9555: {"INTERNAL adservice:9555"}},
		"currencyservice":       {7000: {"INTERNAL currencyservice:7000"}},
		"cartservice":           {7070: {"INTERNAL cartservice:7070"}},
		"redis-cart":            {6379: {"INTERNAL redis-cart:6379"}},
		"loadgenerator":         {},
		"recommendationservice": {8080: {"INTERNAL recommendationservice:8080"}},
		"checkoutservice":       {5050: {"INTERNAL checkoutservice:5050"}},
		"emailservice":          {8080: {"INTERNAL emailservice:5000"}},
		"paymentservice":        {50051: {"INTERNAL paymentservice:50051"}},
		"shippingservice":       {50051: {"INTERNAL shippingservice:50051"}},
		"productcatalogservice": {3550: {"INTERNAL productcatalogservice:3550"}},
	}
	mismatch := func(want func(name string) (ingress, egress bool)) string {
		latest := rec.latest(ns)
		var diffs []string
		if len(latest) != len(wantPorts) {
			diffs = append(diffs, fmt.Sprintf("%d deployments, want %d", len(latest), len(wantPorts)))
		}
		for name, ports := range wantPorts {
			ev, ok := latest[workload.KindDeployment+"/"+name]
			if !ok {
				diffs = append(diffs, name+": no event")
				continue
			}
			got := portExposures(ev.Deployment)
			if !reflect.DeepEqual(got, ports) && (len(got) != 0 || len(ports) != 0) {
				diffs = append(diffs, fmt.Sprintf("%s: exposures %v, want %v", name, got, ports))
			}
			in, eg := want(name)
			if d := ev.Deployment; d.HasIngressNetworkPolicy != in || d.HasEgressNetworkPolicy != eg {
				diffs = append(diffs, fmt.Sprintf("%s: network policy ingress %v egress %v, want %v %v", name, d.HasIngressNetworkPolicy, d.HasEgressNetworkPolicy, in, eg))
			}
		}
		slices.Sort(diffs)
		return strings.Join(diffs, "\n")
	}
	settle := func(what string, want func(name string) (ingress, egress bool)) {
		t.Helper()
		deadline := time.Now().Add(waitTimeout)
		for {
			diff := mismatch(want)
			if diff == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s:\n%s", what, diff)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	settle("after kubectl apply of the demo", func(string) (bool, bool) { return false, false })

	frontend := rec.latest(ns)[workload.KindDeployment+"/frontend"].Deployment
	if img := frontend.Containers[0].Image; img.Registry != "us-central1-docker.pkg.dev" || img.Tag != "v0.10.6" {
		t.Errorf("frontend image = %+v", img)
	}
	if _, ok := frontend.Annotations[lastApplied]; ok {
		t.Errorf("frontend keeps kubectl's %s annotation", lastApplied)
	}
	if frontend.ServiceAccount != "frontend" || !frontend.Containers[0].ReadOnlyRootFilesystem || frontend.Containers[0].AllowPrivilegeEscalation {
		t.Errorf("frontend: service account %q, read-only root %v, privilege escalation %v", frontend.ServiceAccount, frontend.Containers[0].ReadOnlyRootFilesystem, frontend.Containers[0].AllowPrivilegeEscalation)
	}

	policies := filepath.Join(demo, "kustomize", "components", "network-policies")
	kubectl(t, c, "apply", "-n", ns, "-f", filepath.Join(policies, "network-policy-frontend.yaml"), "-f", filepath.Join(policies, "network-policy-redis.yaml"))
	settle("after the frontend and redis policies", func(name string) (bool, bool) {
		covered := name == "frontend" || name == "redis-cart"
		return covered, covered
	})
	kubectl(t, c, "apply", "-n", ns, "-f", filepath.Join(policies, "network-policy-deny-all.yaml"))
	settle("after deny-all", func(string) (bool, bool) { return true, true })
}

// wireScanner looks for needles in every response body the watcher reads,
// across read boundaries.
type wireScanner struct {
	mu      sync.Mutex
	needles map[string][]byte
	seen    map[string]bool
	read    int64
}

func (s *wireScanner) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if resp != nil && resp.Body != nil {
			resp.Body = &scanBody{ReadCloser: resp.Body, s: s}
		}
		return resp, err
	})
}

func (s *wireScanner) scan(tail *[]byte, chunk []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read += int64(len(chunk))
	buf := append(*tail, chunk...)
	longest := 0
	for name, n := range s.needles {
		longest = max(longest, len(n))
		if bytes.Contains(buf, n) {
			s.seen[name] = true
		}
	}
	*tail = slices.Clone(buf[max(0, len(buf)-longest+1):])
}

func (s *wireScanner) saw(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[name]
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type scanBody struct {
	io.ReadCloser
	s    *wireScanner
	tail []byte
}

func (b *scanBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.s.scan(&b.tail, p[:n])
	}
	return n, err
}

func randomValue(t *testing.T) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "value-" + hex.EncodeToString(b)
}

// TestSecretsMetadataOnly checks that Secrets reach the watcher as metadata
// only: by type (PartialObjectMetadata has no data field), and on the wire
// (a created Secret's value never appears in anything the watcher reads).
// A kubectl-applied Secret shows why the transform matters: its
// last-applied-configuration annotation carries the data, does cross the
// wire (the scanner's proof that it can see), and is gone from the cache.
func TestSecretsMetadataOnly(t *testing.T) {
	c := k8stest.Shared(t)
	ctx := context.Background()
	cs := clientset(t, c.RestConfig())
	ns := c.NewNamespace(t)

	created, applied := randomValue(t), randomValue(t)
	scanner := &wireScanner{
		needles: map[string][]byte{
			"created":        []byte(created),
			"created-base64": []byte(base64.StdEncoding.EncodeToString([]byte(created))),
			"applied-base64": []byte(base64.StdEncoding.EncodeToString([]byte(applied))),
		},
		seen: map[string]bool{},
	}
	cfg := c.RestConfig()
	cfg.Wrap(scanner.wrap)
	w, _ := startWatcher(t, cfg, 0)

	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Labels: map[string]string{"tier": "db"}},
		Data:       map[string][]byte{"password": []byte(created)},
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(t.TempDir(), "secret.yaml")
	yaml := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api-token\n  annotations:\n    owner: payments\ndata:\n  token: " +
		base64.StdEncoding.EncodeToString([]byte(applied)) + "\n"
	if err := os.WriteFile(manifest, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl(t, c, "apply", "-n", ns, "-f", manifest)

	var db, token *metav1.PartialObjectMetadata
	deadline := time.Now().Add(waitTimeout)
	for db == nil || token == nil {
		if time.Now().After(deadline) {
			t.Fatalf("secrets not in the watcher's cache: db %v, api-token %v", db != nil, token != nil)
		}
		time.Sleep(20 * time.Millisecond)
		db, _ = w.SecretMetadata(ns, "db")
		token, _ = w.SecretMetadata(ns, "api-token")
	}
	if db.Labels["tier"] != "db" || db.UID == "" {
		t.Errorf("db secret metadata = %+v", db.ObjectMeta)
	}
	if token.Annotations["owner"] != "payments" {
		t.Errorf("api-token annotations = %v, want owner=payments", token.Annotations)
	}
	if _, ok := token.Annotations[lastApplied]; ok {
		t.Errorf("the cached api-token keeps %s, which holds its data", lastApplied)
	}
	onServer, err := cs.CoreV1().Secrets(ns).Get(ctx, "api-token", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(onServer.Annotations[lastApplied], base64.StdEncoding.EncodeToString([]byte(applied))) {
		t.Fatalf("the server's api-token lacks the data in %s; the test proves nothing", lastApplied)
	}

	// By type: the cache holds PartialObjectMetadata, which has no field
	// that could carry data.
	for _, field := range []string{"Data", "StringData", "Type"} {
		if _, ok := reflect.TypeFor[metav1.PartialObjectMetadata]().FieldByName(field); ok {
			t.Errorf("PartialObjectMetadata has a %s field", field)
		}
	}
	items := w.secrets.GetStore().List()
	if len(items) < 2 {
		t.Fatalf("secrets cache holds %d objects", len(items))
	}
	for _, it := range items {
		if _, ok := it.(*metav1.PartialObjectMetadata); !ok {
			t.Fatalf("secrets cache holds a %T", it)
		}
	}

	// On the wire.
	if !scanner.saw("applied-base64") {
		t.Fatalf("the scanner never saw the applied secret's annotation (%d bytes read): it cannot see", scanner.read)
	}
	for _, name := range []string{"created", "created-base64"} {
		if scanner.saw(name) {
			t.Errorf("the watcher received the created secret's data (%s)", name)
		}
	}
}

// TestOpenShiftKinds serves the OpenShift APIs as custom resources and
// checks that a watcher finds them through discovery and reports a
// DeploymentConfig exposed by a Route.
func TestOpenShiftKinds(t *testing.T) {
	c := k8stest.Shared(t)
	ns := c.NewNamespace(t)
	probe, err := New(c.RestConfig(), Config{Sink: newRecorder()})
	if err != nil {
		t.Fatal(err)
	}
	if dc, routes, err := probe.servesOpenShift(); err != nil || dc || routes {
		t.Fatalf("before the CRDs: deploymentconfigs %v routes %v err %v, want false false nil", dc, routes, err)
	}
	crds, err := filepath.Abs(filepath.Join("testdata", "openshift-crds.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kubectl(t, c, "apply", "-f", crds)
	t.Cleanup(func() {
		kubectl(t, c, "delete", "-f", crds, "--wait=true")
		waitServed(t, probe, false)
	})
	kubectl(t, c, "wait", "--for", "condition=Established", "-f", crds, "--timeout", "30s")
	waitServed(t, probe, true)

	_, rec := startWatcher(t, c.RestConfig(), 0)
	app, err := filepath.Abs(filepath.Join("testdata", "openshift-app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kubectl(t, c, "apply", "-n", ns, "-f", app)
	want := []string{"INTERNAL legacy:80", "ROUTE legacy:80"}
	rec.until(t, "the DeploymentConfig exposed by its Route", ns, func([]Event) bool {
		ev, ok := rec.latest(ns)[workload.KindDeploymentConfig+"/legacy"]
		return ok && slices.Equal(portExposures(ev.Deployment)[8080], want)
	})
	d := rec.latest(ns)[workload.KindDeploymentConfig+"/legacy"].Deployment
	if d.Replicas != 2 || d.Containers[0].Image.FullName != "quay.io/acme/legacy:4.2" || d.ID == "" {
		t.Errorf("deploymentconfig = replicas %d image %s id %q", d.Replicas, d.Containers[0].Image.FullName, d.ID)
	}
}

// waitServed waits until discovery agrees that both OpenShift APIs are
// served (or both gone).
func waitServed(t *testing.T, w *Watcher, want bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		dc, routes, err := w.servesOpenShift()
		if err == nil && dc == want && routes == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("discovery: deploymentconfigs %v routes %v err %v, want %v", dc, routes, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
