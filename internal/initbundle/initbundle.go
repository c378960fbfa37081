// Package initbundle is the file format of an init bundle: the client
// certificates a secured cluster's Sensor and admission control
// authenticate to Central with, and the CA that signed Central's server
// certificate, as two Kubernetes Secrets in one YAML file (the shape of
// ACS's init bundles). Central renders it (clusterapi); the Sensor reads it
// back from the file, or from the Secret mounted as a directory. Both sides
// import this package, never each other.
package initbundle

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Where the Secrets go and what they hold.
const (
	Namespace       = "stockade"
	SensorSecret    = "stockade-sensor-tls"
	AdmissionSecret = "stockade-admission-tls"

	CAKey            = "ca.pem"
	SensorCertKey    = "sensor-cert.pem"
	SensorKeyKey     = "sensor-key.pem"
	AdmissionCertKey = "admission-cert.pem"
	AdmissionKeyKey  = "admission-key.pem"
)

// Services a bundle's certificates authenticate, as named in their
// subjects' organizational unit and in Central's store.
const (
	ServiceSensor    = "SENSOR_SERVICE"
	ServiceAdmission = "ADMISSION_CONTROL_SERVICE"
)

// Annotations on the rendered Secrets.
const (
	annotationID      = "init-bundle.stockade.io/id"
	annotationName    = "init-bundle.stockade.io/name"
	annotationCreated = "init-bundle.stockade.io/created"
	annotationExpires = "init-bundle.stockade.io/expires"
)

// MaxFile bounds a bundle file: a few kilobytes of PEM in practice.
const MaxFile = 1 << 20

// KeyPair is a certificate and its private key, both PEM.
type KeyPair struct {
	Cert []byte
	Key  []byte
}

// Bundle is an init bundle. CA may be empty when Central serves with an
// operator's certificate, which clients then verify with the system roots.
type Bundle struct {
	ID        string
	Name      string
	CreatedAt time.Time
	ExpiresAt time.Time
	CA        []byte
	Sensor    KeyPair
	Admission KeyPair
}

// secret is the part of a Kubernetes Secret the bundle uses.
type secret struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   metadata `yaml:"metadata"`
	Type       string   `yaml:"type,omitempty"`
	// Data is base64, as kubectl get -o yaml shows it; StringData is what
	// Render writes.
	Data       map[string]string `yaml:"data,omitempty"`
	StringData map[string]string `yaml:"stringData,omitempty"`
}

type metadata struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// Render writes the bundle as the two Secrets in the namespace stockade,
// with a comment saying what the file is.
func (b *Bundle) Render() ([]byte, error) { return b.RenderIn(Namespace) }

// RenderIn is Render for Sensor installed in namespace.
func (b *Bundle) RenderIn(namespace string) ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Stockade init bundle %q (id %s), created %s, expires %s.\n", b.Name, b.ID,
		b.CreatedAt.UTC().Format(time.RFC3339), b.ExpiresAt.UTC().Format(time.RFC3339))
	buf.WriteString("# It holds private keys: keep it secret. Install it in each secured cluster with\n")
	fmt.Fprintf(&buf, "#   kubectl create namespace %s; kubectl apply -f FILE\n", namespace)
	buf.WriteString("# before the Sensor, or pass it to stockade-sensor --init-bundle FILE.\n")
	annotations := map[string]string{
		annotationID: b.ID, annotationName: b.Name,
		annotationCreated: b.CreatedAt.UTC().Format(time.RFC3339), annotationExpires: b.ExpiresAt.UTC().Format(time.RFC3339),
	}
	for i, s := range []struct {
		name, component, certKey, keyKey string
		pair                             KeyPair
	}{
		{SensorSecret, "sensor", SensorCertKey, SensorKeyKey, b.Sensor},
		{AdmissionSecret, "admission-control", AdmissionCertKey, AdmissionKeyKey, b.Admission},
	} {
		data := map[string]string{s.certKey: string(s.pair.Cert), s.keyKey: string(s.pair.Key)}
		if len(b.CA) > 0 {
			data[CAKey] = string(b.CA)
		}
		doc := secret{
			APIVersion: "v1", Kind: "Secret", Type: "Opaque",
			Metadata: metadata{Name: s.name, Namespace: namespace, Annotations: annotations,
				Labels: map[string]string{"app.kubernetes.io/name": "stockade", "app.kubernetes.io/component": s.component}},
			StringData: data,
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("render init bundle %q: %w", b.Name, err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("render init bundle %q: %w", b.Name, err)
		}
	}
	return buf.Bytes(), nil
}

// Parse reads a bundle file: YAML documents among which the two Secrets
// (stringData or base64 data). Other documents are ignored; the sensor
// Secret is required, the admission one optional.
func Parse(data []byte) (*Bundle, error) {
	if len(data) > MaxFile {
		return nil, fmt.Errorf("init bundle is %d bytes, more than %d: not an init bundle", len(data), MaxFile)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var (
		b     Bundle
		found = map[string]bool{}
	)
	for doc := 1; ; doc++ {
		var s secret
		err := dec.Decode(&s)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("init bundle document %d: %w", doc, err)
		}
		if s.Kind != "Secret" || (s.Metadata.Name != SensorSecret && s.Metadata.Name != AdmissionSecret) {
			continue
		}
		if found[s.Metadata.Name] {
			return nil, fmt.Errorf("init bundle document %d: Secret %s appears twice", doc, s.Metadata.Name)
		}
		found[s.Metadata.Name] = true
		values, err := secretValues(s)
		if err != nil {
			return nil, fmt.Errorf("init bundle document %d (Secret %s): %w", doc, s.Metadata.Name, err)
		}
		if err := b.take(s.Metadata.Name, values); err != nil {
			return nil, fmt.Errorf("init bundle document %d (Secret %s): %w", doc, s.Metadata.Name, err)
		}
		b.ID, b.Name = s.Metadata.Annotations[annotationID], s.Metadata.Annotations[annotationName]
		b.CreatedAt, _ = time.Parse(time.RFC3339, s.Metadata.Annotations[annotationCreated])
		b.ExpiresAt, _ = time.Parse(time.RFC3339, s.Metadata.Annotations[annotationExpires])
	}
	if !found[SensorSecret] {
		return nil, fmt.Errorf("init bundle has no Secret named %s", SensorSecret)
	}
	return &b, nil
}

// secretValues merges data (base64) and stringData, as the API server does.
func secretValues(s secret) (map[string][]byte, error) {
	out := map[string][]byte{}
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s.Data[k]))
		if err != nil {
			return nil, fmt.Errorf("data.%s: not base64: %w", k, err)
		}
		out[k] = v
	}
	for k, v := range s.StringData {
		out[k] = []byte(v)
	}
	return out, nil
}

// take sets the fields the Secret named name holds.
func (b *Bundle) take(name string, values map[string][]byte) error {
	if ca := values[CAKey]; len(ca) > 0 {
		b.CA = ca
	}
	pair, certKey, keyKey := &b.Sensor, SensorCertKey, SensorKeyKey
	if name == AdmissionSecret {
		pair, certKey, keyKey = &b.Admission, AdmissionCertKey, AdmissionKeyKey
	}
	pair.Cert, pair.Key = values[certKey], values[keyKey]
	if len(pair.Cert) == 0 || len(pair.Key) == 0 {
		return fmt.Errorf("needs %s and %s", certKey, keyKey)
	}
	if _, err := tls.X509KeyPair(pair.Cert, pair.Key); err != nil {
		return fmt.Errorf("%s and %s: %w", certKey, keyKey, err)
	}
	return nil
}

// Load reads the Sensor's part of a bundle from path: a bundle file, or a
// directory where the sensor Secret is mounted (ca.pem, sensor-cert.pem,
// sensor-key.pem).
func Load(path string) (*Bundle, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read init bundle: %w", err)
	}
	if !info.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read init bundle: %w", err)
		}
		defer f.Close() //nolint:errcheck // opened read-only: closing loses nothing
		data, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
		if err != nil {
			return nil, fmt.Errorf("read init bundle %s: %w", path, err)
		}
		b, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("read init bundle %s: %w", path, err)
		}
		return b, nil
	}
	values := map[string][]byte{}
	for _, k := range []string{CAKey, SensorCertKey, SensorKeyKey} {
		v, err := readSmall(filepath.Join(path, k))
		switch {
		case errors.Is(err, fs.ErrNotExist) && k == CAKey:
		case err != nil:
			return nil, fmt.Errorf("read init bundle directory %s: %w", path, err)
		}
		values[k] = v
	}
	var b Bundle
	if err := b.take(SensorSecret, values); err != nil {
		return nil, fmt.Errorf("read init bundle directory %s: %w", path, err)
	}
	return &b, nil
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // opened read-only: closing loses nothing
	data, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFile {
		return nil, fmt.Errorf("%s is more than %d bytes", path, MaxFile)
	}
	return data, nil
}
