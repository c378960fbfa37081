package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/stockade-dev/stockade/internal/k8stest"
)

var captureDir = flag.String("capture", "", "record the AdmissionReviews kube-apiserver sends into this directory (testdata/reviews)")

// capturingWebhook admits everything and keeps each AdmissionReview body
// under a name made of operation, resource, subresource and object name.
type capturingWebhook struct {
	mu      sync.Mutex
	reviews map[string][]byte
}

func (w *capturingWebhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var body bytes.Buffer
	if _, err := body.ReadFrom(http.MaxBytesReader(rw, r.Body, DefaultMaxBody)); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body.Bytes(), &review); err != nil || review.Request == nil {
		http.Error(rw, fmt.Sprintf("bad review: %v", err), http.StatusBadRequest)
		return
	}
	req := review.Request
	name := strings.ToLower(string(req.Operation)) + "-" + req.Resource.Resource
	if req.SubResource != "" {
		name += "-" + req.SubResource
	}
	name += "-" + req.Name
	if req.Name == "" {
		var m metav1.PartialObjectMetadata
		_ = json.Unmarshal(req.Object.Raw, &m)
		name += m.Name
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body.Bytes(), "", "  "); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.reviews[name] = pretty.Bytes()
	w.mu.Unlock()
	out, _ := json.Marshal(&admissionv1.AdmissionReview{
		TypeMeta: review.TypeMeta,
		Response: &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true},
	})
	rw.Header().Set("Content-Type", "application/json")
	_, _ = rw.Write(out)
}

func (w *capturingWebhook) has(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.reviews[name]
	return ok
}

// TestCaptureReviews records the reviews the unit tests and the fuzzer's
// seed corpus use, from a real kube-apiserver driven by kubectl:
//
//	go test ./internal/sensor/admission -run TestCaptureReviews -capture testdata/reviews
func TestCaptureReviews(t *testing.T) {
	if *captureDir == "" {
		t.Skip("records testdata/reviews; run with -capture testdata/reviews")
	}
	c := k8stest.Shared(t)
	ns := c.NewNamespace(t)
	cs, err := kubernetes.NewForConfig(c.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	hook := &capturingWebhook{reviews: map[string][]byte{}}
	url, ca := serveTLS(t, hook)
	registerWebhook(t, cs, ns, url+"/validate", ca)
	waitForWebhook(t, c, ns, hook.has)

	for _, priv := range []bool{false, true} {
		name := "clean"
		if priv {
			name = "privileged"
		}
		if out, err := kubectl(t, c, listJSON(t, workloads(name, priv, "1")...), "apply", "-n", ns, "-f", "-"); err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, out)
		}
		if out, err := kubectl(t, c, listJSON(t, workloads(name, priv, "2")...), "apply", "-n", ns, "-f", "-"); err != nil {
			t.Fatalf("kubectl apply (update): %v\n%s", err, out)
		}
		if out, err := kubectl(t, c, nil, "scale", "-n", ns, "deployment/"+name, "--replicas=3"); err != nil {
			t.Fatalf("kubectl scale: %v\n%s", err, out)
		}
	}
	// A pod a ReplicaSet controls, as the ReplicaSet controller makes them.
	ctx := context.Background()
	rs, err := cs.AppsV1().ReplicaSets(ns).Get(ctx, "privileged", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned := workloads("privileged", true, "1")[0].(*corev1.Pod)
	owned.Name = "owned"
	controller := true
	owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &controller}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, owned, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Connections: kube-apiserver asks the webhook before it looks for the
	// pod's node, which this cluster does not have, so kubectl fails after.
	_, _ = kubectl(t, c, nil, "exec", "-n", ns, "clean", "-c", "app", "--", "cat", "/etc/hostname")
	_, _ = kubectl(t, c, nil, "attach", "-n", ns, "clean", "-c", "app", "--pod-running-timeout=2s")
	setPodRunning(t, cs, ns, "clean")
	_, _ = portForward(t, c, ns, "clean")

	dir := *captureDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	for name, body := range hook.reviews {
		if strings.Contains(name, "probe") {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name+".json"), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d reviews to %s", len(hook.reviews), dir)
}

// waitForWebhook creates probe pods until the webhook has seen one: the API
// server picks a new configuration up through a watch.
func waitForWebhook(t testing.TB, c *k8stest.Cluster, ns string, seen func(name string) bool) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		name := fmt.Sprintf("probe-%d", i)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/probe:1"}}}}
		_, _ = cs.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
		if seen("create-pods-" + name) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the webhook was not called 30s after it was registered")
}

// setPodRunning marks a pod Running, as a kubelet would, so that kubectl
// port-forward goes as far as the API server.
func setPodRunning(t testing.TB, cs kubernetes.Interface, ns, name string) {
	t.Helper()
	ctx := context.Background()
	pod, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodRunning
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("mark pod %s running: %v", name, err)
	}
}

// portForward runs kubectl port-forward, which asks the API server for the
// stream as it starts; with no node behind the pod it then fails.
func portForward(t testing.TB, c *k8stest.Cluster, ns, pod string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd, err := c.Kubectl(ctx, "port-forward", "-n", ns, "pod/"+pod, "--address", "127.0.0.1", "0:80")
	if err != nil {
		t.Skipf("kubectl: %v", err)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
