package central

import (
	"encoding/json"
	"net/http"
	"testing"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/central/deploymentapi"
	"github.com/stockade-dev/stockade/internal/workload"
)

// The deployment API lists what Sensors stream and detection records, and
// reads one with its workload document.
func TestDeploymentAPI(t *testing.T) {
	c := start(t, t.TempDir())
	bundle, _ := c.initBundle("lab-bundle")
	web, db := workloadNamed("web", "nginx:1.25", false), workloadNamed("db", "postgres:16", true)
	web.Containers[0].Ports = []workload.Port{{ContainerPort: 8080, Protocol: "TCP"}}
	web.HasIngressNetworkPolicy = true
	s := c.dialSensor(bundle, "lab", func() []*sensorv1.SensorMessage {
		return []*sensorv1.SensorMessage{deploymentEvent(t, web), deploymentEvent(t, db)}
	})
	s.waitSynced(t)
	waitUntil(t, "two deployments", func() bool { return len(c.clusterDeployments("lab")) == 2 })
	c.must(http.StatusOK, c.admin(), "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": hardenedDeployment, "record": true, "cluster": "elsewhere"})

	var list deploymentapi.List
	c.must(http.StatusOK, c.admin(), "GET", "/v1/deployments", nil).json(t, &list)
	if list.Total != 3 || len(list.Deployments) != 3 || list.Deployments[0].Name != "db" {
		t.Fatalf("all deployments = %+v", list)
	}
	c.must(http.StatusOK, c.admin(), "GET", "/v1/deployments?cluster=lab&sort=-name&limit=1", nil).json(t, &list)
	if list.Total != 2 || len(list.Deployments) != 1 || list.Deployments[0].Name != "web" || list.Deployments[0].Source != "sensor" ||
		list.Deployments[0].Namespace != "shop" || list.Deployments[0].Kind != "Deployment" || list.Deployments[0].CreatedAt.IsZero() {
		t.Errorf("lab, by name descending, one = %+v", list)
	}
	c.must(http.StatusOK, c.admin(), "GET", "/v1/deployments?source=api", nil).json(t, &list)
	if list.Total != 1 || list.Deployments[0].Cluster != "elsewhere" {
		t.Errorf("source api = %+v", list)
	}

	var got deploymentapi.Deployment
	c.must(http.StatusOK, c.admin(), "GET", "/v1/deployments/uid-web", nil).json(t, &got)
	var doc workload.Deployment
	if err := json.Unmarshal(got.Deployment, &doc); err != nil {
		t.Fatal(err)
	}
	if got.ID != "uid-web" || got.Cluster != "lab" || doc.Name != "web" || !doc.HasIngressNetworkPolicy ||
		len(doc.Containers) != 1 || len(doc.Containers[0].Ports) != 1 || doc.Containers[0].Ports[0].ContainerPort != 8080 {
		t.Errorf("web = %+v, document %+v", got.Summary, doc)
	}
	c.must(http.StatusNotFound, c.admin(), "GET", "/v1/deployments/nope", nil)
	for _, q := range []string{"limit=0", "limit=1001", "offset=-1", "sort=size", "colour=red"} {
		c.must(http.StatusBadRequest, c.admin(), "GET", "/v1/deployments?"+q, nil)
	}

	// Analysts read deployments; the CI role does not.
	_, analyst := c.token("analyst", "Analyst", nil)
	c.must(http.StatusOK, bearer(analyst), "GET", "/v1/deployments", nil)
	_, ci := c.token("ci", "Continuous Integration", nil)
	c.must(http.StatusForbidden, bearer(ci), "GET", "/v1/deployments", nil)
	c.must(http.StatusUnauthorized, cred{}, "GET", "/v1/deployments", nil)
}
