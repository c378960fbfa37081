package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/stockade-dev/stockade/internal/central/clusterapi"
	"github.com/stockade-dev/stockade/internal/central/deploymentapi"
	"github.com/stockade-dev/stockade/internal/k8stest"
	"github.com/stockade-dev/stockade/internal/workload"
)

const (
	clusterName    = "e2e"
	privilegedID   = "3f2c8a61-5d0b-4c4e-9b7a-2e61f0c9d514"
	privilegedName = "Container running in privileged mode"
	// webhookLabel marks the namespaces the test's webhook judges.
	webhookLabel = "stockade.io/e2e-webhook"
)

// alert is the part of Central's alert the tests read.
type alert struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	BreakGlass bool   `json:"breakGlass"`
	Enforced   bool   `json:"enforced"`
	Policy     struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"policy"`
	Deployment struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"deployment"`
}

type alertList struct {
	Alerts []alert `json:"alerts"`
	Total  int     `json:"total"`
}

func (c *centralServer) alerts(q url.Values) alertList {
	c.t.Helper()
	var out alertList
	c.must(http.StatusOK, http.MethodGet, "/v1/alerts?"+q.Encode(), nil, &out)
	return out
}

func (c *centralServer) deployments(ns string) map[string]deploymentapi.Summary {
	c.t.Helper()
	var list deploymentapi.List
	c.must(http.StatusOK, http.MethodGet, "/v1/deployments?"+url.Values{"cluster": {clusterName}, "namespace": {ns}, "limit": {"1000"}}.Encode(), nil, &list)
	out := map[string]deploymentapi.Summary{}
	for _, d := range list.Deployments {
		out[d.Name] = d
	}
	return out
}

func (c *centralServer) deployment(id string) *workload.Deployment {
	c.t.Helper()
	var got deploymentapi.Deployment
	c.must(http.StatusOK, http.MethodGet, "/v1/deployments/"+url.PathEscape(id), nil, &got)
	var d workload.Deployment
	if err := json.Unmarshal(got.Deployment, &d); err != nil {
		c.t.Fatalf("deployment %s: %v", id, err)
	}
	return &d
}

// setAdmissionEnforcement adds the create and update admission
// enforcement to the built-in privileged-container policy, or takes them
// away, through Central's policy API.
func (c *centralServer) setAdmissionEnforcement(on bool) {
	c.t.Helper()
	var p map[string]any
	c.must(http.StatusOK, http.MethodGet, "/v1/policies/"+privilegedID, nil, &p)
	var actions []any
	if old, ok := p["enforcementActions"].([]any); ok {
		for _, a := range old {
			if a != "FAIL_DEPLOYMENT_CREATE_ENFORCEMENT" && a != "FAIL_DEPLOYMENT_UPDATE_ENFORCEMENT" {
				actions = append(actions, a)
			}
		}
	}
	if on {
		actions = append(actions, "FAIL_DEPLOYMENT_CREATE_ENFORCEMENT", "FAIL_DEPLOYMENT_UPDATE_ENFORCEMENT")
	}
	p["enforcementActions"] = actions
	c.must(http.StatusOK, http.MethodPut, "/v1/policies/"+privilegedID, p, nil)
}

func (c *centralServer) cluster() clusterapi.Cluster {
	c.t.Helper()
	var out struct {
		Clusters []clusterapi.Cluster `json:"clusters"`
	}
	c.must(http.StatusOK, http.MethodGet, "/v1/clusters", nil, &out)
	for _, cl := range out.Clusters {
		if cl.Name == clusterName {
			return cl
		}
	}
	return clusterapi.Cluster{}
}

// deploymentYAML is a Deployment for kubectl apply.
func deploymentYAML(name string, privileged bool, annotations map[string]string) []byte {
	var ann strings.Builder
	if len(annotations) > 0 {
		ann.WriteString("  annotations:\n")
		for k, v := range annotations {
			fmt.Fprintf(&ann, "    %s: %q\n", k, v)
		}
	}
	return fmt.Appendf(nil, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
%[2]sspec:
  replicas: 2
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: app
        image: registry.example.com/shop/%[1]s:1.4.2
        securityContext:
          privileged: %[3]t
`, name, ann.String(), privileged)
}

// demoObjects are the Deployments and Services of a manifest file.
type demoObjects struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
}

func parseManifests(t *testing.T, data []byte) demoObjects {
	t.Helper()
	var out demoObjects
	for doc := range strings.SplitSeq(string(data), "\n---") {
		var head struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("manifest document: %v", err)
		}
		switch head.Kind {
		case "Deployment":
			var d appsv1.Deployment
			if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
				t.Fatal(err)
			}
			out.deployments = append(out.deployments, &d)
		case "Service":
			var s corev1.Service
			if err := yaml.Unmarshal([]byte(doc), &s); err != nil {
				t.Fatal(err)
			}
			out.services = append(out.services, &s)
		}
	}
	return out
}

// exposure is one expected (or reported) way a container port is reached.
type exposure struct {
	port        int32
	level       string
	service     string
	servicePort int32
}

// expectedExposures works out from the manifests, independently of
// Sensor, how each port of d is exposed: every Service whose selector
// matches the pod labels, through each of its ports, at the level of its
// type.
func expectedExposures(d *appsv1.Deployment, services []*corev1.Service) []exposure {
	var out []exposure
	for _, svc := range services {
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		selects := true
		for k, v := range svc.Spec.Selector {
			if d.Spec.Template.Labels[k] != v {
				selects = false
			}
		}
		if !selects {
			continue
		}
		level := map[corev1.ServiceType]string{"": workload.ExposureInternal, corev1.ServiceTypeClusterIP: workload.ExposureInternal,
			corev1.ServiceTypeNodePort: workload.ExposureNode, corev1.ServiceTypeLoadBalancer: workload.ExposureExternal}[svc.Spec.Type]
		for _, sp := range svc.Spec.Ports {
			target := sp.Port
			switch {
			case sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0:
				target = sp.TargetPort.IntVal
			case sp.TargetPort.Type == intstr.String:
				for _, c := range d.Spec.Template.Spec.Containers {
					for _, p := range c.Ports {
						if p.Name == sp.TargetPort.StrVal {
							target = p.ContainerPort
						}
					}
				}
			}
			out = append(out, exposure{port: target, level: level, service: svc.Name, servicePort: sp.Port})
		}
	}
	return sortExposures(out)
}

func reportedExposures(d *workload.Deployment) []exposure {
	var out []exposure
	for _, c := range d.Containers {
		for _, p := range c.Ports {
			for _, e := range p.Exposures {
				out = append(out, exposure{port: p.ContainerPort, level: e.Level, service: e.ServiceName, servicePort: e.ServicePort})
			}
		}
	}
	return sortExposures(out)
}

func sortExposures(es []exposure) []exposure {
	sort.Slice(es, func(i, j int) bool { return fmt.Sprint(es[i]) < fmt.Sprint(es[j]) })
	return es
}

// TestSecuredCluster is issue 4's end-to-end scenario: a real API server,
// Central, the stockade-sensor binary outside the cluster with the
// webhook registered by URL from `stockade sensor generate k8s`, and
// kubectl as the user.
func TestSecuredCluster(t *testing.T) {
	kc := k8stest.Shared(t)
	if kc.KubectlPath() == "" {
		t.Fatal("kubectl is needed: make kube-apiserver builds it")
	}
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(kc.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	bins := build(t, "stockade-sensor", "stockade")
	work := t.TempDir()

	// Central, the init bundle and enforcement, through the API.
	centralAddr := freeAddr(t)
	c := startCentral(t, filepath.Join(work, "central"), centralAddr)
	var gen clusterapi.GenerateResponse
	c.must(http.StatusOK, http.MethodPost, "/v1/cluster-init/init-bundles", map[string]string{"name": "e2e-bundle"}, &gen)
	bundle := filepath.Join(work, "bundle.yaml")
	if err := os.WriteFile(bundle, gen.KubectlBundle, 0o600); err != nil {
		t.Fatal(err)
	}
	c.setAdmissionEnforcement(true)

	// The cluster already runs microservices-demo twice: without network
	// policies and with them.
	shop, demo, demoNetpol := kc.NewNamespace(t), kc.NewNamespace(t), kc.NewNamespace(t)
	t.Cleanup(func() {
		for _, ns := range []string{shop, demo, demoNetpol} {
			_ = cs.AppsV1().Deployments(ns).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{})
		}
	})
	data := sharedData(t)
	release, err := os.ReadFile(filepath.Join(data, "manifests", "microservices-demo", "release", "kubernetes-manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objects := parseManifests(t, release)
	if len(objects.deployments) < 10 {
		t.Fatalf("microservices-demo holds %d deployments", len(objects.deployments))
	}
	mustKubectl(t, kc, release, "apply", "-n", demo, "-f", "-")
	mustKubectl(t, kc, release, "apply", "-n", demoNetpol, "-f", "-")
	mustKubectl(t, kc, nil, "apply", "-n", demoNetpol, "-f", filepath.Join(data, "manifests", "microservices-demo", "kustomize", "components", "network-policies"))

	// The install manifests, rendered for a Sensor outside the cluster.
	admissionAddr := freeAddr(t)
	installDir := filepath.Join(work, "install")
	cmd := exec.Command(filepath.Join(bins, "stockade"), "sensor", "generate", "k8s", "--name", clusterName, "--central", centralAddr,
		"--admission-url", "https://"+admissionAddr, "--admission-enforce", "-o", installDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("stockade sensor generate k8s: %v\n%s", err, out)
	}
	var secret corev1.Secret
	readYAML(t, filepath.Join(installDir, "04-webhook-tls-secret.yaml"), &secret)
	certFile, keyFile := filepath.Join(work, "tls.crt"), filepath.Join(work, "tls.key")
	for path, b := range map[string][]byte{certFile: secret.Data["tls.crt"], keyFile: secret.Data["tls.key"]} {
		if len(b) == 0 {
			t.Fatalf("the webhook secret lacks %s", filepath.Base(path))
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	sensorBin := filepath.Join(bins, "stockade-sensor")
	sensorArgs := []string{"--kubeconfig", kc.Kubeconfig(), "--central", centralAddr, "--init-bundle", bundle, "--cluster-name", clusterName,
		"--admission-listen", admissionAddr, "--admission-cert", certFile, "--admission-key", keyFile, "--admission-enforce=true",
		"--cache-dir", filepath.Join(work, "sensor-cache"), "--log-format", "json"}
	sensor := startSensor(t, sensorBin, sensorArgs...)
	sensor.waitReady(60 * time.Second)

	registerWebhook(t, kc, cs, filepath.Join(installDir, "07-validatingwebhookconfiguration.yaml"), shop)
	privileged := func(name string) *appsv1.Deployment {
		var d appsv1.Deployment
		if err := yaml.Unmarshal(deploymentYAML(name, true, nil), &d); err != nil {
			t.Fatal(err)
		}
		return &d
	}
	// admitted asks the API server (a server-side dry run: the webhook
	// decides, nothing is stored or recorded) whether it admits a
	// privileged deployment.
	admitted := func() bool {
		_, err := cs.AppsV1().Deployments(shop).Create(ctx, privileged("probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil
	}
	waitFor(t, "the webhook to judge", 20*time.Second, func() bool { return !admitted() })

	t.Run("microservices-demo reported with exposure and network-policy coverage", func(t *testing.T) {
		exposed := 0
		for _, d := range objects.deployments {
			exposed += len(expectedExposures(d, objects.services))
		}
		if exposed < len(objects.deployments) {
			t.Fatalf("the manifests expose only %d ports: the oracle reads them wrong", exposed)
		}
		for _, ns := range []string{demo, demoNetpol} {
			var got map[string]deploymentapi.Summary
			waitFor(t, "every deployment of "+ns+" in Central", 30*time.Second, func() bool {
				got = c.deployments(ns)
				return len(got) == len(objects.deployments)
			})
			for _, want := range objects.deployments {
				sum, ok := got[want.Name]
				if !ok {
					t.Errorf("%s/%s: not in Central", ns, want.Name)
					continue
				}
				if sum.Kind != "Deployment" || sum.Source != "sensor" || sum.Cluster != clusterName {
					t.Errorf("%s/%s: summary %+v", ns, want.Name, sum)
				}
				d := c.deployment(sum.ID)
				if exp, rep := expectedExposures(want, objects.services), reportedExposures(d); !slices.Equal(exp, rep) {
					t.Errorf("%s/%s: exposures %v, want %v", ns, want.Name, rep, exp)
				}
				covered := ns == demoNetpol
				if d.HasIngressNetworkPolicy != covered || d.HasEgressNetworkPolicy != covered {
					t.Errorf("%s/%s: network policy coverage ingress=%v egress=%v, want %v", ns, want.Name,
						d.HasIngressNetworkPolicy, d.HasEgressNetworkPolicy, covered)
				}
			}
		}
		// The front end is the one reachable from outside.
		fe := c.deployment(c.deployments(demo)["frontend"].ID)
		if !slices.ContainsFunc(reportedExposures(fe), func(e exposure) bool { return e.level == workload.ExposureExternal && e.port == 8080 }) {
			t.Errorf("frontend exposures %v lack EXTERNAL on 8080", reportedExposures(fe))
		}
		cl := c.cluster()
		if !cl.Connected || cl.Status != "HEALTHY" || cl.KubernetesVersion != kc.Version() || cl.SensorVersion == "" {
			t.Errorf("cluster = %+v", cl)
		}
	})

	t.Run("privileged deployment denied with the policy name", func(t *testing.T) {
		out, err := kubectl(t, kc, deploymentYAML("priv", true, nil), "apply", "-n", shop, "-f", "-")
		if err == nil {
			t.Fatalf("kubectl apply of a privileged deployment succeeded:\n%s", out)
		}
		for _, want := range []string{"denied the request", privilegedName, "admission.stockade.io/break-glass"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl's error lacks %q:\n%s", want, out)
			}
		}
		waitFor(t, "the ATTEMPTED alert in Central", 10*time.Second, func() bool {
			l := c.alerts(url.Values{"cluster": {clusterName}, "namespace": {shop}, "deployment": {"priv"}, "state": {"ATTEMPTED"}})
			return l.Total == 1 && l.Alerts[0].Policy.ID == privilegedID && l.Alerts[0].Enforced
		})
	})

	t.Run("clean deployment admitted", func(t *testing.T) {
		mustKubectl(t, kc, deploymentYAML("clean", false, nil), "apply", "-n", shop, "-f", "-")
		waitFor(t, "the clean deployment in Central", 10*time.Second, func() bool { _, ok := c.deployments(shop)["clean"]; return ok })
	})

	t.Run("break-glass admitted with an alert, then scaled to zero", func(t *testing.T) {
		out := mustKubectl(t, kc, deploymentYAML("glass", true, map[string]string{"admission.stockade.io/break-glass": "INC-2231 hotfix"}),
			"apply", "-n", shop, "-f", "-")
		if !strings.Contains(out, "break-glass") {
			t.Errorf("kubectl shows no break-glass warning:\n%s", out)
		}
		waitFor(t, "the break-glass alert in Central", 10*time.Second, func() bool {
			l := c.alerts(url.Values{"cluster": {clusterName}, "namespace": {shop}, "deployment": {"glass"}, "state": {"ACTIVE"}, "policyId": {privilegedID}})
			return l.Total == 1 && l.Alerts[0].BreakGlass
		})
		// The policy carries SCALE_TO_ZERO: Sensor stops what got in.
		waitFor(t, "scale to zero", 10*time.Second, func() bool {
			d, err := cs.AppsV1().Deployments(shop).Get(ctx, "glass", metav1.GetOptions{})
			return err == nil && d.Spec.Replicas != nil && *d.Spec.Replicas == 0
		})
	})

	t.Run("deleting a deployment resolves its alerts", func(t *testing.T) {
		q := url.Values{"cluster": {clusterName}, "namespace": {demo}, "deployment": {"loadgenerator"}}
		active := url.Values{"state": {"ACTIVE"}}
		for k, v := range q {
			active[k] = v
		}
		var open int
		waitFor(t, "loadgenerator's alerts", 20*time.Second, func() bool { open = c.alerts(active).Total; return open > 0 })
		mustKubectl(t, kc, nil, "delete", "deployment", "loadgenerator", "-n", demo)
		waitFor(t, "loadgenerator's alerts resolved", 10*time.Second, func() bool { return c.alerts(active).Total == 0 })
		resolved := url.Values{"state": {"RESOLVED"}}
		for k, v := range q {
			resolved[k] = v
		}
		if n := c.alerts(resolved).Total; n < open {
			t.Errorf("%d alerts resolved, %d were open", n, open)
		}
		if _, ok := c.deployments(demo)["loadgenerator"]; ok {
			t.Error("loadgenerator still in Central")
		}
	})

	t.Run("a policy change reaches the webhook within a second", func(t *testing.T) {
		for _, on := range []bool{false, true} {
			c.setAdmissionEnforcement(on)
			changed := time.Now()
			for admitted() == on {
				if time.Since(changed) > time.Second {
					t.Fatalf("enforcement %v: the webhook's answer did not change within a second", on)
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("enforcement %v: webhook answered accordingly %s after the API call returned", on, time.Since(changed).Round(time.Millisecond))
		}
	})

	t.Run("admission decides while Central is away", func(t *testing.T) {
		c.stop()
		waitFor(t, "the sensor to notice", 10*time.Second, func() bool {
			_, body := sensor.get("/metrics")
			return strings.Contains(body, "\nstockade_sensor_central_connected 0\n")
		})
		out, err := kubectl(t, kc, deploymentYAML("priv-away", true, nil), "apply", "-n", shop, "-f", "-")
		if err == nil || !strings.Contains(out, privilegedName) {
			t.Errorf("privileged deployment while Central is away: err=%v\n%s", err, out)
		}
		mustKubectl(t, kc, deploymentYAML("while-away", false, nil), "apply", "-n", shop, "-f", "-")
		mustKubectl(t, kc, nil, "delete", "deployment", "clean", "-n", shop)
	})

	t.Run("restarted Central gets a full resync", func(t *testing.T) {
		c.start()
		waitFor(t, "the resync", 60*time.Second, func() bool {
			got := c.deployments(shop)
			_, away := got["while-away"]
			_, clean := got["clean"]
			return away && !clean
		})
		// The denial was buffered and follows the resync's SyncDone marker.
		attempted := url.Values{"cluster": {clusterName}, "namespace": {shop}, "deployment": {"priv-away"}, "state": {"ATTEMPTED"}}
		waitFor(t, "the denial made while Central was away (buffered, sent after the resync)", 10*time.Second, func() bool {
			return c.alerts(attempted).Total >= 1
		})
		if n := c.alerts(attempted).Total; n != 1 {
			t.Errorf("the denial while Central was away: %d ATTEMPTED alerts, want 1", n)
		}
		if cl := c.cluster(); !cl.Connected {
			t.Errorf("cluster after the restart = %+v", cl)
		}
		code, body := sensor.get("/metrics")
		if code != http.StatusOK || !strings.Contains(body, "\nstockade_sensor_central_connected 1\n") ||
			!strings.Contains(body, "stockade_sensor_central_connects_total 2\n") {
			t.Errorf("sensor metrics after the restart:\n%s", grep(body, "stockade_sensor_central"))
		}
	})
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// registerWebhook applies the generated ValidatingWebhookConfiguration,
// narrowed to the namespace ns (labelled for it) so that nothing else in the
// shared API server meets it, and deletes it when the test ends.
func registerWebhook(t *testing.T, kc *k8stest.Cluster, cs kubernetes.Interface, path, ns string) {
	t.Helper()
	var cfg admissionregistrationv1.ValidatingWebhookConfiguration
	readYAML(t, path, &cfg)
	if len(cfg.Webhooks) == 0 || cfg.Webhooks[0].ClientConfig.URL == nil || len(cfg.Webhooks[0].ClientConfig.CABundle) == 0 {
		t.Fatalf("generated webhook configuration: %+v", cfg)
	}
	value := strings.ReplaceAll(ns, "/", "-")
	mustKubectl(t, kc, nil, "label", "namespace", ns, webhookLabel+"="+value)
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{webhookLabel: value}}
	}
	cfg.Name += "-" + value
	out, err := yaml.Marshal(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, kc, out, "apply", "-f", "-")
	t.Cleanup(func() {
		if err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), cfg.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete the webhook configuration: %v", err)
		}
	})
}

func grep(body, prefix string) string {
	var b bytes.Buffer
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
