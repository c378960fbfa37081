package central

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/central/imageapi"
	"github.com/stockade-dev/stockade/internal/central/vulnapi"
	"github.com/stockade-dev/stockade/internal/pgtest"
	"github.com/stockade-dev/stockade/internal/registrytest"
)

// vulnSeed is what seedVulns scanned and recorded.
type vulnSeed struct {
	reg          *registrytest.Registry
	oldRef, app  string // image names
	oldDigest    string
	appDigest    string
	web, toolbox string // deployment names
}

// workloadYAML is a Deployment running images, one container each.
func workloadYAML(name, namespace string, images ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  selector: {matchLabels: {app: %s}}\n"+
		"  template:\n    metadata: {labels: {app: %s}}\n    spec:\n      containers:\n", name, namespace, name, name)
	for i, im := range images {
		fmt.Fprintf(&b, "      - name: c%d\n        image: %s\n", i, im)
	}
	return b.String()
}

// seedVulns scans two Alpine 3.4 images from a real registry against the
// real secdb, and records deployments running them through deploy-time
// detection: shop/web runs the app image, ops/toolbox both images. The
// deployments are recorded before the old image is scanned, so the index
// must join them whichever came first.
func seedVulns(t *testing.T, c *central) vulnSeed {
	t.Helper()
	reg := registrytest.Start(t)
	reg.Push(t, "alpine/old:3.4", alpineImage(t, nil))
	reg.Push(t, "team/app:1", alpineImage(t, map[string][]byte{"srv/app/README": []byte("app\n")}))
	c.importAlpineSecdb()
	c.insecureIntegration("test registry", reg.Host, "", "")
	s := vulnSeed{reg: reg, oldRef: reg.Host + "/alpine/old:3.4", app: reg.Host + "/team/app:1", web: "web", toolbox: "toolbox"}
	s.appDigest = c.scan(c.admin(), s.app, false).Digest
	for _, y := range []string{workloadYAML(s.web, "shop", s.app), workloadYAML(s.toolbox, "ops", s.oldRef, s.app)} {
		req := yamlRequest(y, true)
		req["cluster"] = "lab"
		c.must(http.StatusOK, c.admin(), "POST", "/v1/detect/deploy/yaml", req)
	}
	s.oldDigest = c.scan(c.admin(), s.oldRef, false).Digest
	return s
}

func TestVulnerabilityAPI(t *testing.T) {
	for _, b := range []struct {
		name string
		opts func(t *testing.T) []startOpt
	}{
		{"sqlite", func(*testing.T) []startOpt { return nil }},
		{"postgres", func(t *testing.T) []startOpt { return []startOpt{withDSN(pgtest.NewDatabase(t))} }},
	} {
		t.Run(b.name, func(t *testing.T) { testVulnerabilityAPI(t, b.opts(t)...) })
	}
}

func testVulnerabilityAPI(t *testing.T, opts ...startOpt) {
	c := start(t, t.TempDir(), opts...)
	s := seedVulns(t, c)
	_, analyst := c.token("analyst", "Analyst", nil)
	reader := bearer(analyst)

	// The musl CVE is in both images and so in both deployments, once each.
	var list vulnapi.CVEList
	c.must(http.StatusOK, reader, "GET", "/v1/cves?query="+strings.ToLower(muslCVE), nil).json(t, &list)
	if list.Total != 1 || len(list.CVEs) != 1 {
		t.Fatalf("CVE query = %+v", list)
	}
	musl := list.CVEs[0]
	if musl.ID != muslCVE || !musl.Fixable || musl.Images != 2 || musl.Deployments != 2 || musl.FirstSeen.IsZero() || musl.Severity == "" {
		t.Errorf("musl CVE = %+v", musl)
	}
	c.must(http.StatusOK, reader, "GET", "/v1/cves?query=musl&fixable=true&limit=1000", nil).json(t, &list)
	if !slices.ContainsFunc(list.CVEs, func(v vulnapi.CVE) bool { return v.ID == muslCVE }) {
		t.Errorf("component query: %+v", list.CVEs)
	}
	for _, v := range list.CVEs {
		if !v.Fixable {
			t.Errorf("fixable=true listed %+v", v)
		}
	}

	// All CVEs, paged: pages add up, and the default order is by severity.
	var all vulnapi.CVEList
	c.must(http.StatusOK, reader, "GET", "/v1/cves?limit=1000", nil).json(t, &all)
	if all.Total < 5 || len(all.CVEs) != all.Total {
		t.Fatalf("all CVEs: total %d, %d listed", all.Total, len(all.CVEs))
	}
	for i := 1; i < len(all.CVEs); i++ {
		if rank(all.CVEs[i].Severity) > rank(all.CVEs[i-1].Severity) {
			t.Errorf("default order: %s (%s) after %s (%s)", all.CVEs[i].ID, all.CVEs[i].Severity, all.CVEs[i-1].ID, all.CVEs[i-1].Severity)
		}
	}
	var page vulnapi.CVEList
	c.must(http.StatusOK, reader, "GET", "/v1/cves?sort=id&offset=2&limit=2", nil).json(t, &page)
	ids := make([]string, len(all.CVEs))
	for i, v := range all.CVEs {
		ids[i] = v.ID
	}
	slices.Sort(ids)
	if page.Total != all.Total || len(page.CVEs) != 2 || page.CVEs[0].ID != ids[2] || page.CVEs[1].ID != ids[3] {
		t.Errorf("page 2 by id = %+v, ids %v", page, ids[:4])
	}
	// Scoped to a namespace whose deployment runs only the app image.
	c.must(http.StatusOK, reader, "GET", "/v1/cves?cluster=lab&namespace=shop&query="+muslCVE, nil).json(t, &list)
	if list.Total != 1 || list.CVEs[0].Images != 1 || list.CVEs[0].Deployments != 1 {
		t.Errorf("scoped to shop: %+v", list)
	}
	c.must(http.StatusOK, reader, "GET", "/v1/cves?cluster=elsewhere", nil).json(t, &list)
	if list.Total != 0 || list.CVEs == nil {
		t.Errorf("another cluster: %+v", list)
	}

	// The dashboard's fixable-images tile: Alpine's secdb gives no
	// severities, so no image has a fixable critical or important CVE (the
	// ranking itself is tested in the store); bad parameters are named.
	var top vulnapi.FixableImageList
	c.must(http.StatusOK, reader, "GET", "/v1/vulns/images/fixable?cluster=lab&limit=5", nil).json(t, &top)
	if top.Images == nil || len(top.Images) != 0 {
		t.Errorf("fixable images without severities = %+v", top)
	}
	for _, bad := range []string{"limit=0", "limit=101", "sort=name"} {
		if r := c.do(reader, "GET", "/v1/vulns/images/fixable?"+bad, nil); r.status != http.StatusBadRequest {
			t.Errorf("fixable images ?%s: %d %s", bad, r.status, r.body)
		}
	}

	// Detail: components with versions and the fix, images, deployments, links.
	var d vulnapi.Detail
	c.must(http.StatusOK, reader, "GET", "/v1/cves/"+muslCVE, nil).json(t, &d)
	// Alpine's musl and musl-utils, in each image.
	found := map[string]bool{}
	for _, comp := range d.Components {
		if comp.Version != "1.1.14-r10" || comp.FixedBy != "1.1.14-r13" || comp.Type == "" || comp.Layer == "" || comp.ImageName == "" {
			t.Errorf("component = %+v", comp)
		}
		found[comp.ImageName+" "+comp.Name] = true
	}
	if len(d.Components) != 4 || !found[s.oldRef+" musl"] || !found[s.app+" musl"] {
		t.Errorf("components = %+v", d.Components)
	}
	if len(d.AffectedImages) != 2 || d.AffectedImages[0].Name != s.oldRef || d.AffectedImages[1].Name != s.app {
		t.Errorf("images = %+v", d.AffectedImages)
	}
	var deps []string
	for _, dep := range d.AffectedDeployments {
		deps = append(deps, fmt.Sprintf("%s/%s/%s:%d", dep.Cluster, dep.Namespace, dep.Name, len(dep.Images)))
	}
	if strings.Join(deps, " ") != "lab/ops/toolbox:2 lab/shop/web:1" || d.AffectedDeployments[0].ID == "" {
		t.Errorf("deployments = %v", deps)
	}
	if !slices.Contains(d.References, "https://nvd.nist.gov/vuln/detail/"+muslCVE) {
		t.Errorf("references = %v", d.References)
	}
	c.must(http.StatusNotFound, reader, "GET", "/v1/cves/CVE-1999-0000", nil)

	// CSV: a header, every CVE, in the order asked for.
	r := c.must(http.StatusOK, reader, "GET", "/v1/cves?format=csv&sort=id&limit=1", nil)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || !strings.Contains(r.header.Get("Content-Disposition"), "cves.csv") {
		t.Errorf("CSV headers: %v", r.header)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != all.Total+1 || rows[0][0] != "CVE" || rows[1][0] != ids[0] {
		t.Errorf("CSV: %d rows, first %q", len(rows), rows[:2])
	}
	for _, row := range rows[1:] {
		if row[0] == muslCVE && (row[4] != "true" || row[5] != "2" || row[6] != "2") {
			t.Errorf("musl CSV row = %q", row)
		}
	}

	// Deployments with their images' CVEs: the toolbox has the union.
	var dl vulnapi.DeploymentList
	c.must(http.StatusOK, reader, "GET", "/v1/vulns/deployments?sort=name", nil).json(t, &dl)
	// Both images hold the same packages: the union counts each CVE once.
	if dl.Total != 2 || dl.Deployments[0].Name != "toolbox" || len(dl.Deployments[0].Images) != 2 || dl.Deployments[1].Name != "web" ||
		dl.Deployments[1].CVEs == 0 || dl.Deployments[0].CVEs != dl.Deployments[1].CVEs || dl.Deployments[1].Fixable == 0 ||
		dl.Deployments[1].Images[0].Digest != s.appDigest {
		t.Errorf("deployments = %+v", dl)
	}
	r = c.must(http.StatusOK, reader, "GET", "/v1/vulns/deployments?format=csv&query=web", nil)
	if rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll(); err != nil || len(rows) != 2 || rows[1][0] != "web" || rows[1][3] != s.app {
		t.Errorf("deployments CSV = %q (%v)", rows, err)
	}

	// Images: severity and fixable filters, deployments counted, CSV.
	var il imageapi.List
	c.must(http.StatusOK, reader, "GET", "/v1/images?fixable=true&sort=-vulns", nil).json(t, &il)
	if il.Total != 2 || il.Images[0].Deployments != 2 && il.Images[1].Deployments != 2 {
		t.Errorf("fixable images = %+v", il)
	}
	for _, im := range il.Images {
		want := map[string]int{s.appDigest: 2, s.oldDigest: 1}[im.ID]
		if im.Deployments != want {
			t.Errorf("image %s runs in %d deployments, want %d", im.Name, im.Deployments, want)
		}
	}
	c.must(http.StatusOK, reader, "GET", "/v1/images?fixable=false", nil).json(t, &il)
	if il.Total != 0 {
		t.Errorf("images without fixable CVEs: %+v", il)
	}
	r = c.must(http.StatusOK, reader, "GET", "/v1/images?format=csv&query=team", nil)
	if rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll(); err != nil || len(rows) != 2 || rows[1][0] != s.app || rows[1][10] != "2" {
		t.Errorf("images CSV = %q (%v)", rows, err)
	}
	var running imageapi.Deployments
	c.must(http.StatusOK, reader, "GET", "/v1/images/"+s.oldDigest+"/deployments", nil).json(t, &running)
	if running.Total != 1 || running.Deployments[0].Name != "toolbox" || running.Deployments[0].Namespace != "ops" {
		t.Errorf("deployments running the old image = %+v", running)
	}
	c.must(http.StatusNotFound, reader, "GET", "/v1/images/sha256:0000/deployments", nil)

	// Bad input is a 400 naming the parameter.
	for q, param := range map[string]string{
		"/v1/cves?sort=size": "sort", "/v1/cves?severity=HIGH": "severity", "/v1/cves?fixable=maybe": "fixable",
		"/v1/cves?format=xml": "format", "/v1/cves?limit=0": "limit", "/v1/cves?color=red": "color",
		"/v1/vulns/deployments?sort=severity": "sort", "/v1/images?severity=UNKNOWN": "severity",
		"/v1/cves?format=csv&sort=nope": "sort",
	} {
		var eb errorBody
		c.must(http.StatusBadRequest, reader, "GET", q, nil).json(t, &eb)
		if len(eb.Details) == 0 || eb.Details[0].Path != param {
			t.Errorf("%s: %+v, want a detail naming %s", q, eb, param)
		}
	}
	// Unauthenticated callers read nothing.
	c.must(http.StatusUnauthorized, cred{}, "GET", "/v1/cves?query="+url.QueryEscape(muslCVE), nil)
}

func rank(sev any) int {
	switch fmt.Sprint(sev) {
	case "CRITICAL":
		return 4
	case "IMPORTANT":
		return 3
	case "MODERATE":
		return 2
	case "LOW":
		return 1
	}
	return 0
}

// TestAlertsCSV exports violations with the list's filters and order.
func TestAlertsCSV(t *testing.T) {
	c := start(t, t.TempDir())
	c.must(http.StatusOK, c.admin(), "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": privilegedPod + "---\n" + hardenedDeployment, "record": true, "cluster": "lab"})
	var list struct {
		Total  int `json:"total"`
		Alerts []struct {
			ID string `json:"id"`
		} `json:"alerts"`
	}
	c.must(http.StatusOK, c.admin(), "GET", "/v1/alerts?sort=policy&limit=1000", nil).json(t, &list)
	if list.Total < 2 {
		t.Fatalf("%d alerts recorded", list.Total)
	}
	r := c.must(http.StatusOK, c.admin(), "GET", "/v1/alerts?sort=policy&format=csv&limit=1", nil)
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != list.Total+1 || rows[0][0] != "Policy" || rows[0][9] != "ID" {
		t.Fatalf("CSV has %d rows (header %q), want %d alerts", len(rows), rows[0], list.Total)
	}
	for i, a := range list.Alerts {
		if rows[i+1][9] != a.ID || rows[i+1][3] != "lab" {
			t.Errorf("row %d = %q, want alert %s", i+1, rows[i+1], a.ID)
		}
	}
	r = c.must(http.StatusOK, c.admin(), "GET", "/v1/alerts?format=csv&namespace=nowhere", nil)
	if strings.TrimSpace(string(r.body)) != "Policy,Severity,Deployment,Cluster,Namespace,Stage,State,Enforced,Time,ID" {
		t.Errorf("empty export = %q", r.body)
	}
	c.must(http.StatusBadRequest, c.admin(), "GET", "/v1/alerts?format=csv&sort=color", nil)
}
