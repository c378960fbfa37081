package central

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/workload"
)

// TestWorkloadsEndToEnd drives the clusters and deployments pages in
// Debian's Chromium (ui/e2e/workloads.spec.ts) against this Central: a
// cluster "prod" whose Sensor is connected through a real session and
// streams 26 deployments (among them "web", with labels, ports exposed
// by a NodePort Service, a privileged container with capabilities,
// resources and a volume, and an open critical violation), a cluster
// "idle" whose Sensor connected once and left, deployments of the staging
// manifests recorded by detection, and a scan of web's image. The spec
// checks the lists' filters, sorts and pages in the URL against the API,
// the details against what was seeded, an axe pass and a screenshot of
// every page.
func TestWorkloadsEndToEnd(t *testing.T) {
	p := needBrowser(t)
	c := start(t, t.TempDir())

	web := &workload.Deployment{ID: "uid-web", Name: "web", Namespace: "shop", Kind: "Deployment", Replicas: 3,
		Labels: map[string]string{"app": "web", "team": "storefront"}, Annotations: map[string]string{"owner": "alice"},
		PodLabels: map[string]string{"app": "web"}, ServiceAccount: "web-sa", AutomountServiceAccountToken: true,
		RBAC: workload.PermissionElevatedInNamespace, HasIngressNetworkPolicy: true,
		Containers: []workload.Container{
			{Name: "app", Image: workload.Image{FullName: "docker.io/library/nginx:1.25"}, Privileged: true, AllowPrivilegeEscalation: true,
				AddCapabilities: []string{"NET_ADMIN"}, DropCapabilities: []string{"MKNOD"}, SeccompProfileType: "RUNTIME_DEFAULT",
				CPURequest: 0.25, CPULimit: 0.5, MemoryRequest: 128, MemoryLimit: 256, LivenessProbe: true, ReadinessProbe: true,
				Ports: []workload.Port{{Name: "http", ContainerPort: 8080, Protocol: "TCP", Exposures: []workload.Exposure{
					{Level: workload.ExposureNode, ServiceName: "web", ServicePort: 80, NodePort: 30080}}}},
				Mounts: []workload.Mount{{Name: "config", Destination: "/etc/nginx/conf.d", ReadOnly: true, MountPropagation: "NONE",
					Type: "ConfigMap", Source: "web-config"}}},
			{Name: "log-shipper", Image: workload.Image{FullName: "docker.io/library/busybox:1.36"}, ReadOnlyRootFilesystem: true,
				SeccompProfileType: "RUNTIME_DEFAULT"},
		}}
	state := []*sensorv1.SensorMessage{deploymentEvent(t, web)}
	for i := 1; i <= 25; i++ {
		d := workloadNamed(fmt.Sprintf("svc-%02d", i), fmt.Sprintf("registry.example.com/svc-%02d:1.0", i), false)
		if i%2 == 0 {
			d.Namespace = "payments"
		}
		state = append(state, deploymentEvent(t, d))
	}
	bundle, _ := c.initBundle("e2e")
	idle := c.dialSensor(bundle, "idle", nil)
	idle.waitSynced(t)
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	prod := c.dialSensor(bundle, "prod", func() []*sensorv1.SensorMessage { return state })
	prod.waitSynced(t)
	waitUntil(t, "prod's deployments", func() bool { return len(c.clusterDeployments("prod")) == 26 })
	prod.Send(alertEvent(web.ID, sensorv1.AlertState_ACTIVE, privilegedPolicyID))
	prod.Send(alertEvent("uid-svc-07", sensorv1.AlertState_ACTIVE, latestTagPolicy(t, c)))
	waitUntil(t, "the alerts", func() bool {
		return len(c.alertsOf(web.ID)[privilegedPolicyID]) == 1 && len(c.alertsOf("uid-svc-07")) == 1
	})

	staging, err := os.ReadFile(filepath.Join("testdata", "ui-e2e", "staging.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c.must(http.StatusOK, c.admin(), "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": string(staging), "record": true, "cluster": "staging"})

	if err := c.srv.store.UpsertImage(context.Background(), store.ImageRecord{
		Digest: "sha256:" + strings.Repeat("5e", 32), FullName: "docker.io/library/nginx:1.25", Registry: "docker.io", Remote: "library/nginx",
		Tag: "1.25", ScanTime: time.Now().Add(-time.Hour), VulnDBVersion: "e2e", Components: 143, Vulns: 12, Critical: 2, Important: 4,
		Moderate: 5, Low: 1, Fixable: 6, JSON: []byte(`{}`),
	}, "docker.io/library/nginx:1.25"); err != nil {
		t.Fatal(err)
	}
	runPlaywright(t, p, c, "workloads")
}
