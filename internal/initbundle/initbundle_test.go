package initbundle

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func pair(t *testing.T, cn string) KeyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return KeyPair{Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})}
}

func sample(t *testing.T) *Bundle {
	created := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	return &Bundle{ID: "b-1", Name: "prod", CreatedAt: created, ExpiresAt: created.AddDate(1, 0, 0),
		CA: pair(t, "ca").Cert, Sensor: pair(t, "sensor"), Admission: pair(t, "admission")}
}

func same(t *testing.T, got, want *Bundle) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!bytes.Equal(got.CA, want.CA) || !bytes.Equal(got.Sensor.Cert, want.Sensor.Cert) || !bytes.Equal(got.Sensor.Key, want.Sensor.Key) ||
		!bytes.Equal(got.Admission.Cert, want.Admission.Cert) || !bytes.Equal(got.Admission.Key, want.Admission.Key) {
		t.Fatalf("bundle did not round-trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestRenderParseRoundTrip(t *testing.T) {
	b := sample(t)
	data, err := b.Render()
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"kind: Secret", "name: " + SensorSecret, "name: " + AdmissionSecret, "namespace: " + Namespace,
		"sensor-key.pem: |", "admission-cert.pem: |", "\n---\n", "keep it secret"} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered bundle lacks %q:\n%s", want, text)
		}
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, b)
}

// A bundle rendered for another namespace reads back the same, with its
// Secrets in that namespace.
func TestRenderInNamespace(t *testing.T) {
	b := sample(t)
	data, err := b.RenderIn("security")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(data), "namespace: security") != 2 || strings.Contains(string(data), "namespace: "+Namespace+"\n") {
		t.Fatalf("rendered bundle:\n%s", data)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, b)
}

// TestParseKubectlOutput reads Secrets as kubectl get -o yaml prints them:
// base64 data, in a List-free multi-document stream with other objects.
func TestParseKubectlOutput(t *testing.T) {
	b := sample(t)
	enc := base64.StdEncoding.EncodeToString
	doc := "apiVersion: v1\nkind: Namespace\nmetadata: {name: stockade}\n---\n" +
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: stockade-sensor-tls\n  namespace: stockade\ndata:\n" +
		"  ca.pem: " + enc(b.CA) + "\n  sensor-cert.pem: " + enc(b.Sensor.Cert) + "\n  sensor-key.pem: " + enc(b.Sensor.Key) + "\n"
	got, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.CA, b.CA) || !bytes.Equal(got.Sensor.Key, b.Sensor.Key) || got.Admission.Cert != nil {
		t.Fatalf("parsed %+v", got)
	}
}

func TestLoadFileAndMountedDirectory(t *testing.T) {
	b := sample(t)
	data, err := b.Render()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "bundle.yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, b)

	mount := filepath.Join(dir, "mount")
	if err := os.Mkdir(mount, 0o700); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string][]byte{SensorCertKey: b.Sensor.Cert, SensorKeyKey: b.Sensor.Key} {
		if err := os.WriteFile(filepath.Join(mount, k), v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Without ca.pem (an operator's certificate on Central) it loads.
	got, err = Load(mount)
	if err != nil || got.CA != nil || !bytes.Equal(got.Sensor.Cert, b.Sensor.Cert) {
		t.Fatalf("Load(dir without CA) = %+v, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(mount, CAKey), b.CA, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err = Load(mount); err != nil || !bytes.Equal(got.CA, b.CA) {
		t.Fatalf("Load(dir) = %+v, %v", got, err)
	}
	if err := os.Remove(filepath.Join(mount, SensorKeyKey)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(mount); err == nil || !strings.Contains(err.Error(), SensorKeyKey) {
		t.Fatalf("Load(dir without key): %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("loaded a missing path")
	}
}

func TestParseRefusesBrokenBundles(t *testing.T) {
	b := sample(t)
	good, err := b.Render()
	if err != nil {
		t.Fatal(err)
	}
	other := sample(t)
	for name, tc := range map[string]struct {
		data string
		want string
	}{
		"empty":           {"", "no Secret named " + SensorSecret},
		"not YAML":        {"kind: [", "document 1"},
		"only admission":  {strings.SplitN(string(good), "\n---\n", 2)[1], "no Secret named " + SensorSecret},
		"twice":           {string(good) + "---\n" + strings.SplitN(string(good), "\n---\n", 2)[0] + "\n", "appears twice"},
		"bad base64":      {"kind: Secret\nmetadata: {name: stockade-sensor-tls}\ndata: {ca.pem: '%%%'}\n", "not base64"},
		"mismatched key":  {strings.Replace(string(good), indent(string(b.Sensor.Key)), indent(string(other.Sensor.Key)), 1), "sensor-cert.pem and sensor-key.pem"},
		"missing key":     {"kind: Secret\nmetadata: {name: stockade-sensor-tls}\nstringData: {sensor-cert.pem: x}\n", "needs sensor-cert.pem and sensor-key.pem"},
		"too large":       {strings.Repeat("#", MaxFile+1), "more than"},
		"wrong doc shape": {"- a\n- b\n", "document 1"},
	} {
		if _, err := Parse([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, tc.want)
		}
	}
}

// indent renders PEM as it appears under a YAML block scalar key.
func indent(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return "    " + strings.Join(lines, "\n    ")
}
