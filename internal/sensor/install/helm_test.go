package install

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// helmBinary is the helm built by hack/helm/build.sh, or the test ends:
// skipped when it is missing, failed under STOCKADE_REQUIRE_HELM=1.
func helmBinary(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("bash", "../../../hack/helm/build.sh", "--print-path").Output()
	if err == nil {
		path := strings.TrimSpace(string(out))
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	if os.Getenv("STOCKADE_REQUIRE_HELM") == "1" {
		t.Fatal("helm is not built: run hack/helm/build.sh (make test-deps does)")
	}
	t.Skip("helm is not built: run hack/helm/build.sh")
	return ""
}

const chartDir = "../../../deploy/helm/stockade-secured-cluster"

func helmTemplate(t *testing.T, helm string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(helm, append([]string{"template", "stockade-sensor", chartDir}, args...)...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, stderr.Bytes())
	}
	return out, nil
}

// objects splits a multi-document YAML stream into objects keyed by
// kind/name, as generic maps.
func objects(t *testing.T, stream []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, doc := range strings.Split(string(stream), "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("parse rendered YAML: %v\n%s", err, doc)
		}
		if m == nil {
			continue
		}
		md, _ := m["metadata"].(map[string]any)
		out[m["kind"].(string)+"/"+md["name"].(string)] = m
	}
	return out
}

func generated(t *testing.T, b *Bundle) map[string]map[string]any {
	t.Helper()
	var all bytes.Buffer
	for _, o := range b.Objects {
		data, err := YAML(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		all.WriteString("---\n")
		all.Write(data)
	}
	return objects(t, all.Bytes())
}

// The chart and `stockade sensor generate k8s` install the same objects.
func TestHelmChartRendersWhatTheGeneratorWrites(t *testing.T) {
	helm := helmBinary(t)
	for _, tc := range []struct {
		name   string
		change func(*Options)
		values []string
	}{
		{"defaults", func(*Options) {}, nil},
		{"enforcing_failclosed_url", func(o *Options) {
			o.AdmissionEnforce, o.AdmissionFailClosed, o.AdmissionURL = true, true, "https://127.0.0.1:18443"
		}, []string{"admission.enforce=true", "admission.failClosed=true", "admission.url=https://127.0.0.1:18443"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{ClusterName: "prod-eu", Central: "central.example.com:443", Namespace: "security", Image: "ghcr.io/stockade-dev/stockade-sensor:1.2.3", Now: time.Now()}
			tc.change(&o)
			b, err := Render(o)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for name, data := range map[string][]byte{"ca.pem": b.WebhookCA, "cert.pem": b.WebhookCert, "key.pem": b.WebhookKey} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args := []string{"--namespace", "security", "--set", "createNamespace=true", "--set", "clusterName=prod-eu",
				"--set", "centralEndpoint=central.example.com:443", "--set", "image.tag=1.2.3",
				"--set-file", "admission.tls.caCert=" + filepath.Join(dir, "ca.pem"),
				"--set-file", "admission.tls.cert=" + filepath.Join(dir, "cert.pem"),
				"--set-file", "admission.tls.key=" + filepath.Join(dir, "key.pem")}
			for _, v := range tc.values {
				args = append(args, "--set", v)
			}
			out, err := helmTemplate(t, helm, args...)
			if err != nil {
				t.Fatalf("helm template: %v", err)
			}
			chart, gen := objects(t, out), generated(t, b)
			for key, want := range gen {
				got, ok := chart[key]
				if !ok {
					t.Errorf("the chart does not render %s", key)
					continue
				}
				if !reflect.DeepEqual(normalize(got), normalize(want)) {
					gj, _ := json.MarshalIndent(normalize(got), "", " ")
					wj, _ := json.MarshalIndent(normalize(want), "", " ")
					t.Errorf("%s differs:\nchart:     %s\ngenerator: %s", key, gj, wj)
				}
			}
			for key := range chart {
				if _, ok := gen[key]; !ok {
					t.Errorf("the chart renders %s, the generator does not", key)
				}
			}
		})
	}
}

// normalize makes numbers comparable (YAML ints vs JSON floats).
func normalize(m map[string]any) any {
	data, _ := json.Marshal(m)
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}

// Without values the chart refuses to render and says what is missing; with
// no certificate given it makes one that the caBundle verifies.
func TestHelmChartRequiresValuesAndMakesMatchingCerts(t *testing.T) {
	helm := helmBinary(t)
	_, err := helmTemplate(t, helm)
	if err == nil || !strings.Contains(err.Error(), "clusterName") {
		t.Fatalf("helm template without values: %v", err)
	}
	out, err := helmTemplate(t, helm, "--namespace", "stockade", "--set", "clusterName=c1", "--set", "centralEndpoint=central:443")
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	objs := objects(t, out)
	var secret corev1.Secret
	var webhook admissionregistrationv1.ValidatingWebhookConfiguration
	for key, into := range map[string]any{"Secret/stockade-sensor-webhook-tls": &secret, "ValidatingWebhookConfiguration/stockade-sensor": &webhook} {
		data, _ := json.Marshal(objs[key])
		if err := json.Unmarshal(data, into); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	b := &Bundle{WebhookCA: webhook.Webhooks[0].ClientConfig.CABundle, WebhookCert: secret.Data["tls.crt"]}
	verifyServing(t, b, "stockade-sensor.stockade.svc")
	if string(webhook.Webhooks[1].ClientConfig.CABundle) != string(b.WebhookCA) {
		t.Fatal("the two webhooks trust different CAs")
	}
}
