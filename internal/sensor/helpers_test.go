package sensor

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/initbundle"
	"github.com/stockade-dev/stockade/internal/k8stest"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/sensor/install"
)

func TestMain(m *testing.M) { k8stest.Main(m) }

// testCA issues the certificates of a test: Central's serving
// certificate, the Sensor's client certificate, the webhook's.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	mu   sync.Mutex
	sn   int64
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sensor test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), sn: 1}
}

func (c *testCA) issue(t testing.TB, cn string, usage x509.ExtKeyUsage) initbundle.KeyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.sn++
	sn := c.sn
	c.mu.Unlock()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(sn), Subject: pkix.Name{CommonName: cn}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, key.Public(), c.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return initbundle.KeyPair{Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})}
}

// standIn is a stand-in for Central's SensorService over real gRPC and
// mutual TLS: it accepts every Sensor the CA vouches for, pushes the
// policy set it holds, answers heartbeats and records every message.
type standIn struct {
	sensorv1.UnimplementedSensorServiceServer
	addr string
	srv  *grpc.Server

	mu      sync.Mutex
	gen     uint64
	doc     []byte
	streams []*recordedStream
}

type recordedStream struct {
	mu   sync.Mutex
	msgs []*sensorv1.SensorMessage
	send func(*sensorv1.CentralMessage) error
	kill chan struct{}
}

func (r *recordedStream) all() []*sensorv1.SensorMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*sensorv1.SensorMessage(nil), r.msgs...)
}

func startStandIn(t testing.TB, ca *testCA, addr string, policies []byte) *standIn {
	t.Helper()
	s := &standIn{gen: 1, doc: policies}
	server := ca.issue(t, "central", x509.ExtKeyUsageServerAuth)
	cert, err := tls.X509KeyPair(server.Cert, server.Key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	s.srv = grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})))
	sensorv1.RegisterSensorServiceServer(s.srv, s)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(s.stop)
	return s
}

func (s *standIn) stop() { s.srv.Stop() }

func (s *standIn) Communicate(st sensorv1.SensorService_CommunicateServer) error {
	rec := &recordedStream{kill: make(chan struct{})}
	var sendMu sync.Mutex
	rec.send = func(m *sensorv1.CentralMessage) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return st.Send(m)
	}
	s.mu.Lock()
	s.streams = append(s.streams, rec)
	s.mu.Unlock()
	msgs := make(chan *sensorv1.SensorMessage)
	errc := make(chan error, 1)
	go func() {
		for {
			m, err := st.Recv()
			if err != nil {
				errc <- err
				return
			}
			select {
			case msgs <- m:
			case <-st.Context().Done():
				return
			}
		}
	}()
	for {
		select {
		case <-rec.kill:
			return fmt.Errorf("killed by the test")
		case err := <-errc:
			return err
		case m := <-msgs:
			rec.mu.Lock()
			rec.msgs = append(rec.msgs, m)
			rec.mu.Unlock()
			switch m.GetMsg().(type) {
			case *sensorv1.SensorMessage_Hello:
				s.mu.Lock()
				ps := &sensorv1.PolicySync{Generation: s.gen, PoliciesJson: s.doc}
				s.mu.Unlock()
				if err := rec.send(&sensorv1.CentralMessage{Msg: &sensorv1.CentralMessage_HelloAck{HelloAck: &sensorv1.HelloAck{ClusterId: "cluster-1"}}}); err != nil {
					return err
				}
				if err := rec.send(&sensorv1.CentralMessage{Msg: &sensorv1.CentralMessage_PolicySync{PolicySync: ps}}); err != nil {
					return err
				}
			case *sensorv1.SensorMessage_Heartbeat:
				if err := rec.send(&sensorv1.CentralMessage{Msg: &sensorv1.CentralMessage_Heartbeat{Heartbeat: &sensorv1.Heartbeat{}}}); err != nil {
					return err
				}
			}
		}
	}
}

// push sends a new policy set to every stream.
func (s *standIn) push(t testing.TB, doc []byte) {
	t.Helper()
	s.mu.Lock()
	s.gen++
	s.doc = doc
	ps := &sensorv1.PolicySync{Generation: s.gen, PoliciesJson: doc}
	streams := append([]*recordedStream(nil), s.streams...)
	s.mu.Unlock()
	for _, st := range streams {
		_ = st.send(&sensorv1.CentralMessage{Msg: &sensorv1.CentralMessage_PolicySync{PolicySync: ps}})
	}
}

func (s *standIn) stream(i int) *recordedStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.streams) {
		return nil
	}
	return s.streams[i]
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Names of what the tests enforce.
const (
	privilegedName = "Container running in privileged mode"
	privilegedID   = "3f2c8a61-5d0b-4c4e-9b7a-2e61f0c9d514"
)

// enforcedDoc is the built-in set with admission enforcement on the
// privileged-container policy (enforce) or without it.
func enforcedDoc(t testing.TB, enforce bool) []byte {
	t.Helper()
	return builtinDoc(t, func(p *policy.Policy) {
		if p.Name == privilegedName && enforce {
			p.EnforcementActions = append(p.EnforcementActions, policy.EnforceFailDeploymentCreate, policy.EnforceFailDeploymentUpdate)
		}
	})
}

// fixture is what a Sensor under test needs: certificates, a bundle file,
// the webhook's certificate and a Central stand-in.
type fixture struct {
	ca      *testCA
	dir     string
	bundle  string
	cert    string
	key     string
	central *standIn
	cluster *k8stest.Cluster
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{ca: newTestCA(t), dir: t.TempDir(), cluster: k8stest.Shared(t)}
	b := &initbundle.Bundle{ID: "bundle-1", Name: "test", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), CA: f.ca.pem,
		Sensor: f.ca.issue(t, "sensor", x509.ExtKeyUsageClientAuth), Admission: f.ca.issue(t, "admission", x509.ExtKeyUsageClientAuth)}
	data, err := b.Render()
	if err != nil {
		t.Fatal(err)
	}
	f.bundle = filepath.Join(f.dir, "bundle.yaml")
	serving := f.ca.issue(t, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	f.cert, f.key = filepath.Join(f.dir, "tls.crt"), filepath.Join(f.dir, "tls.key")
	for path, content := range map[string][]byte{f.bundle: data, f.cert: serving.Cert, f.key: serving.Key} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.central = startStandIn(t, f.ca, "127.0.0.1:0", enforcedDoc(t, true))
	return f
}

func (f *fixture) config(cluster string) Config {
	return Config{Kubeconfig: f.cluster.Kubeconfig(), Central: f.central.addr, InitBundle: f.bundle, ClusterName: cluster,
		Namespace: "stockade", AdmissionListen: "127.0.0.1:0", AdmissionCert: f.cert, AdmissionKey: f.key,
		AdmissionEnforce: true, HealthListen: "127.0.0.1:0", LogLevel: "debug", LogFormat: "text",
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Heartbeat: time.Second}
}

// syncBuffer is a log sink safe to read while the Sensor writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a Sensor under test.
type running struct {
	*Sensor
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
	client *http.Client
}

// start runs a Sensor until the test ends or stop is called.
func start(t *testing.T, cfg Config) *running {
	t.Helper()
	logs := &syncBuffer{}
	s, err := New(context.Background(), cfg, cfg.Logger(logs))
	if err != nil {
		t.Fatalf("new sensor: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Sensor: s, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	r.client = &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("sensor logs:\n%s", logs.String())
		}
	})
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("sensor did not stop within 20s")
	}
}

// get fetches a path of the health server.
func (r *running) get(t testing.TB, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+r.HealthAddr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// review posts an AdmissionReview of a CREATE of d to the webhook, over
// HTTPS trusting ca, as kube-apiserver would.
func (r *running) review(t testing.TB, ca *testCA, d *appsv1.Deployment) *admissionv1.AdmissionResponse {
	t.Helper()
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	rv := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID(fmt.Sprintf("review-%d", time.Now().UnixNano())),
			Kind:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			Resource:  metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
			Name:      d.Name,
			Namespace: d.Namespace,
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
	body, err := json.Marshal(rv)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "https://"+r.AdmissionAddr()+install.AdmissionPath+"?timeout=10s", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("post review: %v", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("review: HTTP %d: %s", resp.StatusCode, out)
	}
	var got admissionv1.AdmissionReview
	if err := json.Unmarshal(out, &got); err != nil || got.Response == nil {
		t.Fatalf("review response %s: %v", out, err)
	}
	return got.Response
}

// deployment is a Deployment in ns; privileged makes its container so.
func deployment(ns, name string, privileged bool, labels map[string]string) *appsv1.Deployment {
	if labels == nil {
		labels = map[string]string{}
	}
	labels["app"] = name
	replicas := int32(2)
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "registry.example.com/shop/" + name + ":1.0",
					SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
				}}},
			},
		},
	}
}

// messagesOf returns a stream's messages of one deployment id.
func messagesOf(msgs []*sensorv1.SensorMessage, id string) (deps []*sensorv1.DeploymentEvent, alerts []*sensorv1.AlertEvent) {
	for _, m := range msgs {
		if d := m.GetDeployment(); d != nil && d.GetId() == id {
			deps = append(deps, d)
		}
		if a := m.GetAlert(); a != nil && a.GetDeploymentId() == id {
			alerts = append(alerts, a)
		}
	}
	return deps, alerts
}

func lists(a *sensorv1.AlertEvent, policyID string) bool {
	for _, pa := range a.GetAlerts() {
		if pa.GetPolicyId() == policyID {
			return true
		}
	}
	return false
}

func metricValue(body, series string) string {
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}
