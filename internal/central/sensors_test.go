package central

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
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/central/certs"
	"github.com/stockade-dev/stockade/internal/central/clusterapi"
	"github.com/stockade-dev/stockade/internal/central/sensorconn"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/initbundle"
	"github.com/stockade-dev/stockade/internal/pgtest"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/sensor/conn"
	"github.com/stockade-dev/stockade/internal/workload"
)

// initBundle generates a bundle through the API and reads it back as the
// Sensor would.
func (c *central) initBundle(name string) (*initbundle.Bundle, clusterapi.GenerateResponse) {
	c.t.Helper()
	var resp clusterapi.GenerateResponse
	c.must(http.StatusOK, c.admin(), "POST", "/v1/cluster-init/init-bundles", map[string]string{"name": name}).json(c.t, &resp)
	b, err := initbundle.Parse(resp.KubectlBundle)
	if err != nil {
		c.t.Fatalf("parse init bundle: %v", err)
	}
	return b, resp
}

// sensor is a Sensor's connection under test with what it received.
type sensor struct {
	*conn.Client
	mu       sync.Mutex
	policies []*sensorv1.PolicySync
}

func (s *sensor) lastPolicies() *sensorv1.PolicySync {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.policies) == 0 {
		return nil
	}
	return s.policies[len(s.policies)-1]
}

// dialSensor connects to c as cluster with the bundle; state is the full
// state sent on each connect.
func (c *central) dialSensor(b *initbundle.Bundle, cluster string, state func() []*sensorv1.SensorMessage) *sensor {
	c.t.Helper()
	s := &sensor{}
	cl, err := conn.Dial(context.Background(), strings.TrimPrefix(c.url, "https://"), b, conn.Options{
		Hello: conn.Hello{ClusterName: cluster, SensorVersion: "0.9.0-test", KubernetesVersion: "v1.36.3", Capabilities: []string{"admission"}},
		FullState: func(ctx context.Context, send func(*sensorv1.SensorMessage) error) error {
			if state == nil {
				return nil
			}
			for _, m := range state() {
				if err := send(m); err != nil {
					return err
				}
			}
			return nil
		},
		OnPolicySync: func(p *sensorv1.PolicySync) {
			s.mu.Lock()
			s.policies = append(s.policies, p)
			s.mu.Unlock()
		},
		MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond,
		Heartbeat:  time.Second,
	})
	if err != nil {
		c.t.Fatalf("dial: %v", err)
	}
	s.Client = cl
	c.t.Cleanup(func() { _ = cl.Close() })
	return s
}

func (s *sensor) waitSynced(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitSynced(ctx); err != nil {
		t.Fatalf("sensor did not sync: %v", err)
	}
}

func deploymentEvent(t *testing.T, d *workload.Deployment) *sensorv1.SensorMessage {
	t.Helper()
	doc, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return &sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Deployment{Deployment: &sensorv1.DeploymentEvent{
		Action: sensorv1.DeploymentEvent_UPDATE, Id: d.ID, DeploymentJson: doc}}}
}

func removal(id string) *sensorv1.SensorMessage {
	return &sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Deployment{Deployment: &sensorv1.DeploymentEvent{
		Action: sensorv1.DeploymentEvent_REMOVE, Id: id}}}
}

func workloadNamed(name, image string, privileged bool) *workload.Deployment {
	return &workload.Deployment{ID: "uid-" + name, Name: name, Namespace: "shop", Kind: "Deployment", Replicas: 1,
		ServiceAccount: "default", Containers: []workload.Container{{Name: "app", Image: workload.Image{FullName: image}, Privileged: privileged}}}
}

// clusterDeployments are the inventory's deployments of cluster, by name.
func (c *central) clusterDeployments(cluster string) map[string]store.DeploymentRecord {
	c.t.Helper()
	recs, _, err := c.srv.store.ListDeployments(context.Background(), store.DeploymentQuery{Cluster: cluster})
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[string]store.DeploymentRecord{}
	for _, r := range recs {
		out[r.Name] = r
	}
	return out
}

func names[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (c *central) clusters() []clusterapi.Cluster {
	c.t.Helper()
	var out struct {
		Clusters []clusterapi.Cluster `json:"clusters"`
	}
	c.must(http.StatusOK, c.admin(), "GET", "/v1/clusters", nil).json(c.t, &out)
	return out.Clusters
}

func TestSensorSync(t *testing.T) {
	for _, b := range []struct {
		name string
		opts func(t *testing.T) []startOpt
	}{
		{"sqlite", func(*testing.T) []startOpt { return nil }},
		{"postgres", func(t *testing.T) []startOpt { return []startOpt{withDSN(pgtest.NewDatabase(t))} }},
	} {
		t.Run(b.name, func(t *testing.T) { testSensorSync(t, b.opts(t)...) })
	}
}

func testSensorSync(t *testing.T, opts ...startOpt) {
	c := start(t, t.TempDir(), opts...)
	bundle, _ := c.initBundle("prod-bundle")
	web, api, db := workloadNamed("web", "nginx:1.25", false), workloadNamed("api", "api:2", false), workloadNamed("db", "postgres:16", false)
	// A deployment recorded through detection in another cluster stays
	// out of the sync's reach.
	c.must(http.StatusOK, c.admin(), "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": hardenedDeployment, "record": true, "cluster": "elsewhere"})

	var mu sync.Mutex
	state := []*workload.Deployment{web, api, db}
	full := func() []*sensorv1.SensorMessage {
		mu.Lock()
		defer mu.Unlock()
		var out []*sensorv1.SensorMessage
		for _, d := range state {
			out = append(out, deploymentEvent(t, d))
		}
		return out
	}
	s := c.dialSensor(bundle, "prod", full)
	s.waitSynced(t)
	waitUntil(t, "three deployments", func() bool { return len(c.clusterDeployments("prod")) == 3 })
	got := c.clusterDeployments("prod")
	if got["web"].Source != "sensor" || got["web"].Namespace != "shop" || got["web"].Kind != "Deployment" {
		t.Fatalf("stored web = %+v", got["web"])
	}
	var doc workload.Deployment
	if err := json.Unmarshal(got["web"].JSON, &doc); err != nil || doc.ClusterName != "prod" || doc.Containers[0].Image.FullName != "nginx:1.25" {
		t.Fatalf("stored document %s: %v", got["web"].JSON, err)
	}
	if s.ClusterID() == "" {
		t.Fatal("no cluster id from HelloAck")
	}

	// The cluster is listed, connected and healthy.
	cs := c.clusters()
	if len(cs) != 1 || cs[0].Name != "prod" || cs[0].ID != s.ClusterID() || !cs[0].Connected || cs[0].Status != clusterapi.StatusHealthy ||
		cs[0].SensorVersion != "0.9.0-test" || cs[0].KubernetesVersion != "v1.36.3" || !slices.Equal(cs[0].Capabilities, []string{"admission"}) ||
		time.Since(cs[0].LastContact) > time.Minute {
		t.Fatalf("clusters = %+v", cs)
	}
	var one struct {
		Cluster clusterapi.Cluster `json:"cluster"`
	}
	c.must(http.StatusOK, c.admin(), "GET", "/v1/clusters/"+s.ClusterID(), nil).json(t, &one)
	if one.Cluster.Name != "prod" || one.Cluster.InitBundleID == "" {
		t.Fatalf("cluster = %+v", one.Cluster)
	}
	c.must(http.StatusNotFound, c.admin(), "GET", "/v1/clusters/nope", nil)
	var list struct {
		Items []clusterapi.InitBundleMeta `json:"items"`
	}
	c.must(http.StatusOK, c.admin(), "GET", "/v1/cluster-init/init-bundles", nil).json(t, &list)
	if len(list.Items) != 1 || len(list.Items[0].ImpactedClusters) != 1 || list.Items[0].ImpactedClusters[0].Name != "prod" {
		t.Fatalf("bundles = %+v", list.Items)
	}

	// Live events: an update and a removal.
	web2 := workloadNamed("web", "nginx:1.27", false)
	s.Send(deploymentEvent(t, web2))
	s.Send(removal(db.ID))
	waitUntil(t, "the update and the removal", func() bool {
		got := c.clusterDeployments("prod")
		return len(got) == 2 && strings.Contains(string(got["web"].JSON), "nginx:1.27")
	})

	// A second Sensor with the same name is refused while one is connected.
	twin := c.dialSensor(bundle, "prod", nil)
	waitUntil(t, "the twin's refusal", func() bool { return status.Code(twin.LastError()) == codes.AlreadyExists })
	if !strings.Contains(twin.LastError().Error(), `cluster "prod" is connected already`) {
		t.Errorf("twin refused with %v", twin.LastError())
	}
	if err := twin.Close(); err != nil {
		t.Fatal(err)
	}

	// Reconnect with fewer deployments: the one not reported is removed
	// at SyncDone; the unchanged one is not written again.
	before := c.clusterDeployments("prod")["api"].UpdatedAt
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the disconnect", func() bool { cs := c.clusters(); return len(cs) == 1 && !cs[0].Connected })
	if cs := c.clusters(); cs[0].Status != clusterapi.StatusDegraded {
		t.Errorf("a cluster just disconnected is %s, want DEGRADED", cs[0].Status)
	}
	mu.Lock()
	state = []*workload.Deployment{api}
	mu.Unlock()
	s2 := c.dialSensor(bundle, "prod", full)
	s2.waitSynced(t)
	waitUntil(t, "stale removal", func() bool { return slices.Equal(names(c.clusterDeployments("prod")), []string{"api"}) })
	if after := c.clusterDeployments("prod")["api"].UpdatedAt; !after.Equal(before) {
		t.Errorf("an unchanged deployment was written again (%v → %v)", before, after)
	}
	if s2.ClusterID() != cs[0].ID {
		t.Errorf("reconnect got cluster id %s, want %s", s2.ClusterID(), cs[0].ID)
	}
	if got := c.clusterDeployments("elsewhere"); len(got) != 1 {
		t.Errorf("the other cluster's deployments: %v", names(got))
	}

	// Bad events are skipped, the stream lives on: a broken document, an
	// id another cluster holds.
	other := c.clusterDeployments("elsewhere")["web"]
	s2.Send(&sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Deployment{Deployment: &sensorv1.DeploymentEvent{Id: "x", DeploymentJson: []byte("{")}}})
	hijack := workloadNamed("hijack", "evil:1", true)
	hijack.ID = other.ID
	s2.Send(deploymentEvent(t, hijack))
	late := workloadNamed("late", "late:1", false)
	s2.Send(deploymentEvent(t, late))
	waitUntil(t, "the event after the bad ones", func() bool { return len(c.clusterDeployments("prod")) == 2 })
	if rec, err := c.srv.store.GetDeployment(context.Background(), other.ID); err != nil || rec.Cluster != "elsewhere" || rec.Name != "web" {
		t.Errorf("another cluster's deployment was overwritten: %+v, %v", rec, err)
	}
	if st := s2.Stats(); !st.Connected || st.Connects != 1 || st.Dropped != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSensorPolicyPush(t *testing.T) {
	c := start(t, t.TempDir())
	bundle, _ := c.initBundle("b")
	s := c.dialSensor(bundle, "prod", nil)
	s.waitSynced(t)
	waitUntil(t, "the first policy set", func() bool { return s.lastPolicies() != nil })
	first := s.lastPolicies()
	var ps []*policy.Policy
	if err := json.Unmarshal(first.GetPoliciesJson(), &ps); err != nil || len(ps) == 0 {
		t.Fatalf("policy set: %d policies, %v", len(ps), err)
	}
	var pol map[string]any
	c.must(http.StatusOK, c.admin(), "GET", "/v1/policies/"+privilegedPolicyID, nil).json(t, &pol)
	pol["description"] = "pushed to sensors"
	changed := time.Now()
	c.must(http.StatusOK, c.admin(), "PUT", "/v1/policies/"+privilegedPolicyID, pol)
	deadline := changed.Add(time.Second)
	for {
		p := s.lastPolicies()
		if p.GetGeneration() > first.GetGeneration() && strings.Contains(string(p.GetPoliciesJson()), "pushed to sensors") {
			t.Logf("policy change reached the sensor in %s", time.Since(changed).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("policy change not pushed within a second (last generation %d, first %d)", p.GetGeneration(), first.GetGeneration())
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Shutting down does not wait for the Sensor's stream to end.
	began := time.Now()
	c.stop()
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("shutdown with a connected Sensor took %s", d)
	}
	waitUntil(t, "the sensor to notice", func() bool { return !s.Stats().Connected })
}

// rawDial opens a stream with the given TLS client certificates (none
// when empty) and returns the status Central ends it with.
func rawDial(t *testing.T, c *central, certs []tls.Certificate) error {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(c.dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cc, err := grpc.NewClient(strings.TrimPrefix(c.url, "https://"), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: certs, ServerName: "127.0.0.1"})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := sensorv1.NewSensorServiceClient(cc).Communicate(ctx)
	if err != nil {
		return err
	}
	if err := st.Send(&sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Hello{Hello: &sensorv1.Hello{ClusterName: "raw"}}}); err != nil {
		_, err = st.Recv()
		return err
	}
	_, err = st.Recv()
	return err
}

// foreignCert is a client certificate of a CA Central never heard of.
func foreignCert(t *testing.T) tls.Certificate {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Impostor CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(8), Subject: pkix.Name{CommonName: "SENSOR_SERVICE: fake", OrganizationalUnit: []string{"SENSOR_SERVICE"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestSensorAuthentication(t *testing.T) {
	c := start(t, t.TempDir())
	bundle, resp := c.initBundle("to-revoke")

	if err := rawDial(t, c, nil); status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "client certificate") {
		t.Errorf("no certificate: %v", err)
	}
	if err := rawDial(t, c, []tls.Certificate{foreignCert(t)}); status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "cluster CA") {
		t.Errorf("another CA's certificate: %v", err)
	}
	admission, err := tls.X509KeyPair(bundle.Admission.Cert, bundle.Admission.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := rawDial(t, c, []tls.Certificate{admission}); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "not for the Sensor") {
		t.Errorf("admission certificate: %v", err)
	}
	// REST needs no client certificate, and ignores one that is sent.
	c.must(http.StatusOK, cred{}, "GET", "/healthz", nil)

	// A connected Sensor is dropped when its bundle is revoked, and refused
	// when it comes back.
	s := c.dialSensor(bundle, "prod", nil)
	s.waitSynced(t)
	c.must(http.StatusNoContent, c.admin(), "DELETE", "/v1/cluster-init/init-bundles/"+resp.Meta.ID, nil)
	waitUntil(t, "the revoked sensor's refusal", func() bool { return status.Code(s.LastError()) == codes.PermissionDenied })
	if !strings.Contains(s.LastError().Error(), "to-revoke") || !strings.Contains(s.LastError().Error(), "revoked") {
		t.Errorf("revoked: %v", s.LastError())
	}
	time.Sleep(300 * time.Millisecond) // a few reconnect attempts
	if st := s.Stats(); st.Connected || st.Connects != 1 {
		t.Errorf("the revoked sensor got back in: %+v", st)
	}
	var list struct {
		Items []clusterapi.InitBundleMeta `json:"items"`
	}
	c.must(http.StatusOK, c.admin(), "GET", "/v1/cluster-init/init-bundles", nil).json(t, &list)
	if len(list.Items) != 1 || !list.Items[0].Revoked || list.Items[0].RevokedAt == nil {
		t.Errorf("bundles after revocation = %+v", list.Items)
	}
	c.must(http.StatusNotFound, c.admin(), "DELETE", "/v1/cluster-init/init-bundles/nope", nil)
}

func TestInitBundleAPI(t *testing.T) {
	dir := t.TempDir()
	c := start(t, dir)
	_, analyst := c.token("reader", "Analyst", nil)
	_, ci := c.token("ci", "Continuous Integration", nil)
	bundle, resp := c.initBundle("prod")
	if resp.Meta.Name != "prod" || resp.Meta.CreatedBy != "admin" || resp.Meta.Revoked ||
		resp.Meta.ExpiresAt.Sub(resp.Meta.CreatedAt) < 364*24*time.Hour {
		t.Fatalf("meta = %+v", resp.Meta)
	}
	// The certificates name the bundle and chain to the cluster CA; the
	// bundle's CA is the one that signed Central's server certificate.
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if string(bundle.CA) != string(caPEM) || resp.Certs.CA != string(caPEM) || resp.Certs.SensorKey != string(bundle.Sensor.Key) {
		t.Fatal("bundle CA or keys differ between the YAML and the JSON")
	}
	clusterCA, err := os.ReadFile(filepath.Join(dir, certs.ClusterCAFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(clusterCA)
	for svc, p := range map[string][]byte{"SENSOR_SERVICE": bundle.Sensor.Cert, "ADMISSION_CONTROL_SERVICE": bundle.Admission.Cert} {
		blk, _ := pem.Decode(p)
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if cert.Subject.CommonName != svc+": prod" || !slices.Contains(cert.Subject.OrganizationalUnit, svc) ||
			!slices.Contains(cert.Subject.OrganizationalUnit, "INIT_BUNDLE: "+resp.Meta.ID) {
			t.Errorf("%s certificate subject %v", svc, cert.Subject)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s certificate does not chain to the cluster CA: %v", svc, err)
		}
	}
	// Keys are never stored nor listed.
	r := c.must(http.StatusOK, bearer(analyst), "GET", "/v1/cluster-init/init-bundles", nil)
	if strings.Contains(string(r.body), "PRIVATE KEY") || strings.Contains(string(r.body), "BEGIN CERTIFICATE") {
		t.Error("the bundle list shows keys or certificates")
	}
	keyBody := strings.Split(string(bundle.Sensor.Key), "\n")[1]
	if found := dataDirHolds(t, dir, keyBody); len(found) > 0 {
		t.Errorf("a bundle's private key is in %v", found)
	}
	// Names: valid, unique among live bundles.
	c.must(http.StatusConflict, c.admin(), "POST", "/v1/cluster-init/init-bundles", map[string]string{"name": "prod"})
	for _, bad := range []string{"", "has space", "-lead", strings.Repeat("x", 129), "../etc"} {
		c.must(http.StatusBadRequest, c.admin(), "POST", "/v1/cluster-init/init-bundles", map[string]string{"name": bad})
	}
	// Roles: Analyst reads, CI does not, only Admin writes.
	c.must(http.StatusForbidden, bearer(analyst), "POST", "/v1/cluster-init/init-bundles", map[string]string{"name": "x"})
	c.must(http.StatusForbidden, bearer(ci), "GET", "/v1/clusters", nil)
	c.must(http.StatusOK, bearer(analyst), "GET", "/v1/clusters", nil)

	// ACS's revoke: a bundle in use needs its clusters confirmed.
	s := c.dialSensor(bundle, "prod-1", nil)
	s.waitSynced(t)
	var rv clusterapi.RevokeResponse
	c.must(http.StatusOK, c.admin(), "PATCH", "/v1/cluster-init/init-bundles/revoke", map[string]any{"ids": []string{resp.Meta.ID, "nope"}}).json(t, &rv)
	if len(rv.RevokedIDs) != 0 || len(rv.RevocationErrors) != 2 || len(rv.RevocationErrors[0].ImpactedClusters) != 1 ||
		rv.RevocationErrors[0].ImpactedClusters[0].Name != "prod-1" {
		t.Fatalf("unconfirmed revoke = %+v", rv)
	}
	c.must(http.StatusOK, c.admin(), "PATCH", "/v1/cluster-init/init-bundles/revoke", map[string]any{
		"ids": []string{resp.Meta.ID}, "confirmImpactedClustersIds": []string{s.ClusterID()}}).json(t, &rv)
	if !slices.Equal(rv.RevokedIDs, []string{resp.Meta.ID}) || len(rv.RevocationErrors) != 0 {
		t.Fatalf("confirmed revoke = %+v", rv)
	}
	c.must(http.StatusBadRequest, c.admin(), "PATCH", "/v1/cluster-init/init-bundles/revoke", map[string]any{"ids": []string{}})
	// The revoked name is free again.
	c.initBundle("prod")
}

// alertsOf returns the alerts of deployment id, by policy id.
func (c *central) alertsOf(id string) map[string][]store.AlertRecord {
	c.t.Helper()
	recs, _, err := c.srv.store.ListAlerts(context.Background(), store.AlertQuery{Deployment: id})
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[string][]store.AlertRecord{}
	for _, r := range recs {
		out[r.PolicyID] = append(out[r.PolicyID], r)
	}
	return out
}

func alertEvent(id string, state sensorv1.AlertState, policies ...string) *sensorv1.SensorMessage {
	ev := &sensorv1.AlertEvent{DeploymentId: id, State: state}
	for _, p := range policies {
		ev.Alerts = append(ev.Alerts, &sensorv1.PolicyAlert{PolicyId: p, Violations: []*sensorv1.Violation{
			{Message: "Container 'app' is privileged", Container: "app"}}})
	}
	return &sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Alert{Alert: ev}}
}

func TestSensorAlerts(t *testing.T) {
	peer := newHookPeer(t)
	c := start(t, t.TempDir())
	var hook struct {
		ID string `json:"id"`
	}
	c.must(http.StatusOK, c.admin(), "POST", "/v1/notifiers", peer.notifier("hook", false)).json(t, &hook)
	c.sendPolicyTo(hook.ID)
	bundle, _ := c.initBundle("b")
	priv := workloadNamed("priv", "nginx:1.25", true)
	other := workloadNamed("other", "nginx:1.25", true)
	s := c.dialSensor(bundle, "prod", func() []*sensorv1.SensorMessage {
		return []*sensorv1.SensorMessage{deploymentEvent(t, priv), deploymentEvent(t, other)}
	})
	s.waitSynced(t)

	// ACTIVE opens an alert with the deployment and violation, notified.
	s.Send(alertEvent(priv.ID, sensorv1.AlertState_ACTIVE, privilegedPolicyID, "no-such-policy"))
	waitUntil(t, "the alert", func() bool { return len(c.alertsOf(priv.ID)[privilegedPolicyID]) == 1 })
	a := c.alertsOf(priv.ID)[privilegedPolicyID][0]
	if a.State != store.AlertActive || a.ClusterName != "prod" || a.DeploymentName != "priv" || a.LifecycleStage != "DEPLOY" ||
		!strings.Contains(string(a.JSON), "Container 'app' is privileged") {
		t.Fatalf("alert = %+v %s", a, a.JSON)
	}
	waitUntil(t, "the notification", func() bool { return len(peer.received(t, "alert")) == 1 })
	if !strings.Contains(string(peer.received(t, "alert")[0]), `"event":"NEW"`) {
		t.Errorf("notification: %s", peer.received(t, "alert")[0])
	}
	// The same again changes nothing; an empty list (fixed) resolves it.
	s.Send(alertEvent(priv.ID, sensorv1.AlertState_ACTIVE, privilegedPolicyID))
	s.Send(alertEvent(priv.ID, sensorv1.AlertState_ACTIVE))
	waitUntil(t, "the resolution", func() bool {
		as := c.alertsOf(priv.ID)[privilegedPolicyID]
		return len(as) == 1 && as[0].State == store.AlertResolved
	})
	waitUntil(t, "the resolution's notification", func() bool { return len(peer.received(t, "alert")) == 2 })

	// A removed deployment's open alerts are resolved.
	s.Send(alertEvent(other.ID, sensorv1.AlertState_ACTIVE, privilegedPolicyID))
	waitUntil(t, "the other alert", func() bool { return len(c.alertsOf(other.ID)[privilegedPolicyID]) == 1 })
	s.Send(removal(other.ID))
	waitUntil(t, "resolution on removal", func() bool {
		as := c.alertsOf(other.ID)[privilegedPolicyID]
		return len(as) == 1 && as[0].State == store.AlertResolved
	})

	// ATTEMPTED comes with the denied deployment, which is not in the
	// inventory; it stays ATTEMPTED and enforced.
	denied := workloadNamed("denied", "evil:1", true)
	doc, _ := json.Marshal(denied)
	s.Send(&sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Alert{Alert: &sensorv1.AlertEvent{
		DeploymentId: denied.ID, State: sensorv1.AlertState_ATTEMPTED, DeploymentJson: doc,
		Alerts: []*sensorv1.PolicyAlert{{PolicyId: privilegedPolicyID, Violations: []*sensorv1.Violation{{Message: "privileged"}}}}}}})
	waitUntil(t, "the attempt", func() bool { return len(c.alertsOf(denied.ID)[privilegedPolicyID]) == 1 })
	at := c.alertsOf(denied.ID)[privilegedPolicyID][0]
	if at.State != store.AlertAttempted || !at.Enforced || at.DeploymentName != "denied" {
		t.Fatalf("attempt = %+v", at)
	}
	if _, ok := c.clusterDeployments("prod")["denied"]; ok {
		t.Error("a denied deployment entered the inventory")
	}

	// Break glass opens alerts without resolving others, marked.
	s.Send(alertEvent(priv.ID, sensorv1.AlertState_ACTIVE, privilegedPolicyID))
	waitUntil(t, "the reopened alert", func() bool { return len(c.alertsOf(priv.ID)[privilegedPolicyID]) == 2 })
	bg := alertEvent(priv.ID, sensorv1.AlertState_ACTIVE, latestTagPolicy(t, c))
	bg.GetAlert().BreakGlass = true
	s.Send(bg)
	waitUntil(t, "the break-glass alert", func() bool { return len(c.alertsOf(priv.ID)[latestTagPolicy(t, c)]) == 1 })
	open := 0
	for _, as := range c.alertsOf(priv.ID) {
		for _, a := range as {
			if a.State == store.AlertActive {
				open++
			}
			if a.PolicyID == latestTagPolicy(t, c) && !strings.Contains(string(a.JSON), `"breakGlass":true`) {
				t.Errorf("break-glass alert not marked: %s", a.JSON)
			}
		}
	}
	if open != 2 {
		t.Errorf("%d open alerts after break glass, want 2", open)
	}
	// RESOLVED of one policy leaves the other open.
	s.Send(alertEvent(priv.ID, sensorv1.AlertState_RESOLVED, latestTagPolicy(t, c)))
	waitUntil(t, "the targeted resolution", func() bool {
		return c.alertsOf(priv.ID)[latestTagPolicy(t, c)][0].State == store.AlertResolved
	})

	// A request admission control could not decide is an alert on
	// admission control: ACTIVE when admitted (fail-open), ATTEMPTED when
	// denied (fail-closed), naming the error.
	s.Send(&sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_AdmissionError{AdmissionError: &sensorv1.AdmissionError{
		Namespace: "shop", Name: "checkout", Kind: "Deployment", Operation: "CREATE", Admitted: true, User: "alice",
		Error: "no policy set loaded yet"}}})
	s.Send(&sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_AdmissionError{AdmissionError: &sensorv1.AdmissionError{
		Namespace: "shop", Name: "cart", Kind: "Deployment", Operation: "UPDATE", Admitted: false, Error: "deadline exceeded"}}})
	var undecided []store.AlertRecord
	waitUntil(t, "the admission-control alerts", func() bool {
		all, _, err := c.srv.store.ListAlerts(context.Background(), store.AlertQuery{PolicyID: sensorconn.AdmissionFailurePolicyID})
		undecided = all
		return err == nil && len(all) == 2
	})
	for _, a := range undecided {
		switch a.DeploymentName {
		case "checkout":
			if a.State != store.AlertActive || a.Enforced || !strings.Contains(string(a.JSON), "fail-open") ||
				!strings.Contains(string(a.JSON), "no policy set loaded yet") || !strings.Contains(string(a.JSON), "by alice") {
				t.Errorf("fail-open alert = %+v %s", a, a.JSON)
			}
		case "cart":
			if a.State != store.AlertAttempted || !a.Enforced || !strings.Contains(string(a.JSON), "fail-closed") {
				t.Errorf("fail-closed alert = %+v %s", a, a.JSON)
			}
		default:
			t.Errorf("unexpected alert on %s", a.DeploymentName)
		}
		if a.PolicyName != "Admission control could not decide" || a.ClusterName != "prod" {
			t.Errorf("admission-control alert = %+v", a)
		}
	}
	if s.Stats().Connects != 1 {
		t.Errorf("the stream was restarted: %+v", s.Stats())
	}
}

// latestTagPolicy is the id of a built-in policy other than the
// privileged one.
func latestTagPolicy(t *testing.T, c *central) string {
	t.Helper()
	var out struct {
		Policies []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"policies"`
	}
	c.must(http.StatusOK, c.admin(), "GET", "/v1/policies", nil).json(t, &out)
	for _, p := range out.Policies {
		if p.ID != privilegedPolicyID {
			return p.ID
		}
	}
	t.Fatal("only one policy")
	return ""
}

// TestClusterSchemasMatchTypes keeps the cluster API's schemas in step
// with its Go types.
func TestClusterSchemasMatchTypes(t *testing.T) {
	c := start(t, t.TempDir())
	doc, _ := servedOpenAPI(t, c)
	for schema, typ := range map[string]reflect.Type{
		"InitBundleMeta":             reflect.TypeFor[clusterapi.InitBundleMeta](),
		"GenerateInitBundleRequest":  reflect.TypeFor[clusterapi.GenerateRequest](),
		"GenerateInitBundleResponse": reflect.TypeFor[clusterapi.GenerateResponse](),
		"InitBundleCerts":            reflect.TypeFor[clusterapi.BundleCerts](),
		"RevokeInitBundlesRequest":   reflect.TypeFor[clusterapi.RevokeRequest](),
		"RevokeInitBundlesResponse":  reflect.TypeFor[clusterapi.RevokeResponse](),
		"Cluster":                    reflect.TypeFor[clusterapi.Cluster](),
		"ClusterRef":                 reflect.TypeFor[clusterapi.ClusterRef](),
	} {
		s, ok := doc.Components.Schemas[schema]
		if !ok {
			t.Errorf("schema %s missing", schema)
			continue
		}
		documented := names(s.Properties)
		if want := jsonFields(typ); !slices.Equal(documented, want) {
			t.Errorf("schema %s has properties %v, the type %s has %v", schema, documented, typ, want)
		}
	}
}
