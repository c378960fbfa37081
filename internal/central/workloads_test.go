package central

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/central/clusterapi"
	"github.com/stockade-dev/stockade/internal/central/deploymentapi"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/workload"
)

// workloadsFixture is a cluster "prod" whose Sensor streams three
// deployments (web privileged, with an open critical violation and a
// second container; db; cache pinned by digest), a cluster "idle" with
// none, a deployment recorded by detection in cluster "lab", and a scan of
// web's image.
type workloadsFixture struct {
	prod, idle *sensor
}

func seedWorkloads(t *testing.T, c *central) workloadsFixture {
	t.Helper()
	web := workloadNamed("web", "docker.io/library/nginx:1.25", true)
	web.Containers = append(web.Containers, workload.Container{Name: "sidecar", Image: workload.Image{FullName: "docker.io/library/nginx:1.25"}})
	web.Containers = append(web.Containers, workload.Container{Name: "init", Init: true, Image: workload.Image{FullName: "docker.io/library/busybox:1"}})
	web.RBAC = workload.PermissionElevatedInNamespace
	db := workloadNamed("db", "docker.io/library/postgres:16", false)
	cache := workloadNamed("cache", "docker.io/library/redis@sha256:"+strings.Repeat("ab", 32), false)
	cache.Containers[0].Image.Digest = "sha256:" + strings.Repeat("ab", 32)
	cache.Namespace = "infra"
	bundle, _ := c.initBundle("workloads")
	prod := c.dialSensor(bundle, "prod", func() []*sensorv1.SensorMessage {
		return []*sensorv1.SensorMessage{deploymentEvent(t, web), deploymentEvent(t, db), deploymentEvent(t, cache)}
	})
	prod.waitSynced(t)
	idle := c.dialSensor(bundle, "idle", nil)
	idle.waitSynced(t)
	waitUntil(t, "three deployments", func() bool { return len(c.clusterDeployments("prod")) == 3 })
	prod.Send(alertEvent(web.ID, sensorv1.AlertState_ACTIVE, privilegedPolicyID))
	waitUntil(t, "web's alert", func() bool { return len(c.alertsOf(web.ID)[privilegedPolicyID]) == 1 })
	c.must(http.StatusOK, c.admin(), "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": hardenedDeployment, "record": true, "cluster": "lab"})
	scanned := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	if err := c.srv.store.UpsertImage(context.Background(), store.ImageRecord{
		Digest: "sha256:" + strings.Repeat("cd", 32), FullName: "docker.io/library/nginx:1.25.3", Registry: "docker.io", Remote: "library/nginx",
		Tag: "1.25.3", ScanTime: scanned, VulnDBVersion: "test", Components: 90, Vulns: 7, Critical: 1, Important: 2, Moderate: 3, Low: 1, Fixable: 4,
		JSON: []byte(`{}`),
	}, "docker.io/library/nginx:1.25"); err != nil {
		t.Fatal(err)
	}
	return workloadsFixture{prod: prod, idle: idle}
}

func deploymentNames(l deploymentapi.List) string {
	var out []string
	for _, d := range l.Deployments {
		out = append(out, d.Name)
	}
	return strings.Join(out, ",")
}

// The deployments list carries each row's open violations and images, and
// filters and sorts by violations; a deployment reads with its images'
// scans and its RBAC level by name.
func TestDeploymentViolationsAPI(t *testing.T) {
	c := start(t, t.TempDir())
	seedWorkloads(t, c)

	var all deploymentapi.List
	c.must(http.StatusOK, c.admin(), "GET", "/v1/deployments?sort=violations", nil).json(t, &all)
	if all.Total != 4 || len(all.Deployments) != 4 || all.Deployments[0].Name != "web" {
		t.Fatalf("by violations = %+v", all)
	}
	web := all.Deployments[0]
	if web.Violations.Critical != 1 || web.Violations.Total != 1 || web.Cluster != "prod" {
		t.Errorf("web's violations = %+v", web.Violations)
	}
	if !slices.Equal(web.Images, []string{"docker.io/library/nginx:1.25", "docker.io/library/busybox:1"}) {
		t.Errorf("web's images = %q", web.Images)
	}
	// The recorded deployment violates built-in policies too (its image
	// uses no digest…); the streamed db does not, so it has no count.
	var lab deploymentapi.List
	c.must(http.StatusOK, c.admin(), "GET", "/v1/deployments?cluster=lab", nil).json(t, &lab)
	if lab.Total != 1 || lab.Deployments[0].Violations.Total == 0 || lab.Deployments[0].Source != "api" {
		t.Errorf("lab = %+v", lab)
	}
	for _, tc := range []struct{ query, want string }{
		{"violated=true&cluster=prod", "web"},
		{"violated=false", "cache,db"},
		{"severity=CRITICAL_SEVERITY&cluster=prod", "web"},
		{"severity=LOW_SEVERITY&cluster=prod", ""},
		{"sort=-violations&cluster=prod", "cache,db,web"},
		{"sort=violations&cluster=prod&offset=1&limit=1", "cache"},
		{"namespace=infra", "cache"},
		{"query=CACH", "cache"},
		{"kind=Deployment&cluster=prod&sort=-name", "web,db,cache"},
	} {
		var got deploymentapi.List
		c.must(http.StatusOK, c.admin(), "GET", "/v1/deployments?"+tc.query, nil).json(t, &got)
		if names := deploymentNames(got); names != tc.want {
			t.Errorf("%s: %q, want %q", tc.query, names, tc.want)
		}
	}
	for q, field := range map[string]string{"violated=yes": "violated", "severity=HIGH": "severity", "sort=riskiest": "sort"} {
		body := string(c.must(http.StatusBadRequest, c.admin(), "GET", "/v1/deployments?"+q, nil).body)
		if !strings.Contains(body, `"path":"`+field+`"`) {
			t.Errorf("%s: error %s does not name %s", q, body, field)
		}
	}

	var got deploymentapi.Deployment
	c.must(http.StatusOK, c.admin(), "GET", "/v1/deployments/uid-web", nil).json(t, &got)
	if got.RBACLevel != "ELEVATED_IN_NAMESPACE" || got.Violations.Critical != 1 || len(got.ImageScans) != 2 {
		t.Fatalf("web = %+v", got)
	}
	nginx, busybox := got.ImageScans[0], got.ImageScans[1]
	if nginx.Name != "docker.io/library/nginx:1.25" || !slices.Equal(nginx.Containers, []string{"app", "sidecar"}) || !nginx.Scanned ||
		nginx.ID != "sha256:"+strings.Repeat("cd", 32) || nginx.Critical != 1 || nginx.Important != 2 || nginx.Fixable != 4 || nginx.Vulns != 7 ||
		nginx.ScanTime == nil || !nginx.ScanTime.Equal(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("nginx = %+v", nginx)
	}
	if busybox.Scanned || busybox.ID != "" || !slices.Equal(busybox.Containers, []string{"init"}) {
		t.Errorf("busybox = %+v", busybox)
	}
	var doc workload.Deployment
	if err := json.Unmarshal(got.Deployment, &doc); err != nil || len(doc.Containers) != 3 {
		t.Errorf("document: %v %+v", err, doc)
	}
	// A pinned image is looked up by its digest.
	if err := c.srv.store.UpsertImage(context.Background(), store.ImageRecord{
		Digest: "sha256:" + strings.Repeat("ab", 32), FullName: "docker.io/library/redis:7", Registry: "docker.io", Remote: "library/redis",
		Tag: "7", VulnDBVersion: "test", Low: 5, Vulns: 5, JSON: []byte(`{}`),
	}); err != nil {
		t.Fatal(err)
	}
	c.must(http.StatusOK, c.admin(), "GET", "/v1/deployments/uid-cache", nil).json(t, &got)
	if got.RBACLevel != "NONE" || got.Violations.Total != 0 || len(got.ImageScans) != 1 || !got.ImageScans[0].Scanned || got.ImageScans[0].Low != 5 {
		t.Errorf("cache = %+v", got)
	}
}

func clusterNames(l clusterapi.ClusterList) string {
	var out []string
	for _, c := range l.Clusters {
		out = append(out, c.Name)
	}
	return strings.Join(out, ",")
}

// The clusters list carries each cluster's deployments, namespaces and
// open violations, filters, sorts and pages; one cluster reads with its
// namespaces.
func TestClusterListAPI(t *testing.T) {
	c := start(t, t.TempDir())
	f := seedWorkloads(t, c)

	var list clusterapi.ClusterList
	c.must(http.StatusOK, c.admin(), "GET", "/v1/clusters", nil).json(t, &list)
	if list.Total != 2 || clusterNames(list) != "idle,prod" {
		t.Fatalf("clusters = %+v", list)
	}
	prod := list.Clusters[1]
	if prod.Deployments != 3 || prod.Namespaces != 2 || prod.Violations.Critical != 1 || prod.Violations.Total != 1 ||
		prod.Status != clusterapi.StatusHealthy || !prod.Connected || prod.SensorVersion != "0.9.0-test" {
		t.Errorf("prod = %+v", prod)
	}
	if idle := list.Clusters[0]; idle.Deployments != 0 || idle.Violations.Total != 0 {
		t.Errorf("idle = %+v", idle)
	}
	for _, tc := range []struct{ query, want string }{
		{"sort=-name", "prod,idle"},
		{"sort=violations", "prod,idle"},
		{"sort=-violations", "idle,prod"},
		{"sort=deployments", "prod,idle"},
		{"query=PRO", "prod"},
		{"status=HEALTHY", "idle,prod"},
		{"status=UNHEALTHY", ""},
		{"limit=1&offset=1", "prod"},
		{"offset=5", ""},
	} {
		var got clusterapi.ClusterList
		c.must(http.StatusOK, c.admin(), "GET", "/v1/clusters?"+tc.query, nil).json(t, &got)
		if names := clusterNames(got); names != tc.want || (tc.query == "offset=5" && got.Total != 2) {
			t.Errorf("%s: %q of %d, want %q", tc.query, names, got.Total, tc.want)
		}
	}
	for q, field := range map[string]string{"sort=size": "sort", "sort=-": "sort", "status=FINE": "status", "limit=0": "limit", "colour=red": "colour"} {
		body := string(c.must(http.StatusBadRequest, c.admin(), "GET", "/v1/clusters?"+q, nil).body)
		if !strings.Contains(body, `"path":"`+field+`"`) {
			t.Errorf("%s: error %s does not name %s", q, body, field)
		}
	}

	// The idle cluster's Sensor goes away: no longer connected, it is
	// degraded at once, and sorts after the healthy one.
	if err := f.idle.Close(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "idle disconnected", func() bool {
		var got clusterapi.ClusterList
		c.must(http.StatusOK, c.admin(), "GET", "/v1/clusters?sort=status", nil).json(t, &got)
		return clusterNames(got) == "prod,idle" && !got.Clusters[1].Connected && got.Clusters[1].Status == clusterapi.StatusDegraded
	})

	var detail clusterapi.ClusterDetail
	c.must(http.StatusOK, c.admin(), "GET", "/v1/clusters/"+prod.ID, nil).json(t, &detail)
	if detail.Cluster.Name != "prod" || detail.Cluster.Deployments != 3 || detail.Cluster.Namespaces != 2 || detail.Cluster.Violations.Critical != 1 {
		t.Errorf("prod detail = %+v", detail.Cluster)
	}
	want := []clusterapi.NamespaceStats{
		{Name: "infra", Deployments: 1},
		{Name: "shop", Deployments: 2, Violations: deploymentapi.Violations{Critical: 1, Total: 1}},
	}
	if !reflect.DeepEqual(detail.Namespaces, want) {
		t.Errorf("prod namespaces = %+v, want %+v", detail.Namespaces, want)
	}
	_, analyst := c.token("analyst", "Analyst", nil)
	c.must(http.StatusOK, bearer(analyst), "GET", "/v1/clusters?sort=violations", nil)
	_, ci := c.token("ci", "Continuous Integration", nil)
	c.must(http.StatusForbidden, bearer(ci), "GET", "/v1/clusters/"+prod.ID, nil)
}

// TestWorkloadSchemasMatchTypes keeps the workload views' schemas in step
// with their Go types.
func TestWorkloadSchemasMatchTypes(t *testing.T) {
	c := start(t, t.TempDir())
	doc, _ := servedOpenAPI(t, c)
	for schema, typ := range map[string]reflect.Type{
		"ViolationCounts":     reflect.TypeFor[deploymentapi.Violations](),
		"NamespaceStats":      reflect.TypeFor[clusterapi.NamespaceStats](),
		"DeploymentImageScan": reflect.TypeFor[deploymentapi.ImageScan](),
		"Cluster":             reflect.TypeFor[clusterapi.Cluster](),
		"DeploymentSummary":   reflect.TypeFor[deploymentapi.Summary](),
		"DeploymentRisk":      reflect.TypeFor[deploymentapi.Risk](),
		"DeploymentCVECounts": reflect.TypeFor[deploymentapi.CVECounts](),
	} {
		s, ok := doc.Components.Schemas[schema]
		if !ok {
			t.Errorf("schema %s missing", schema)
			continue
		}
		documented := names(s.Properties)
		if want := jsonFields(typ); !slices.Equal(documented, sortedCopy(want)) {
			t.Errorf("schema %s has properties %v, the type %s has %v", schema, documented, typ, want)
		}
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
