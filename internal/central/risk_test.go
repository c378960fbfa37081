package central

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/central/deploymentapi"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/central/vulnapi"
	"github.com/stockade-dev/stockade/internal/pgtest"
)

func TestDeploymentRiskAPI(t *testing.T) {
	for _, b := range []struct {
		name string
		opts func(t *testing.T) []startOpt
	}{
		{"sqlite", func(*testing.T) []startOpt { return nil }},
		{"postgres", func(t *testing.T) []startOpt { return []startOpt{withDSN(pgtest.NewDatabase(t))} }},
	} {
		t.Run(b.name, func(t *testing.T) { testDeploymentRiskAPI(t, b.opts(t)...) })
	}
}

// Deployments ranked by risk: two scanned Alpine images run by shop/web
// and ops/toolbox (seedVulns), and shop/plain, recorded like web but
// running an image never scanned, so that it has violations (about as many
// as web's: the policies on CVEs add some to web) and no CVEs. Every row carries its risk, computed from the counts it shows.
func testDeploymentRiskAPI(t *testing.T, opts ...startOpt) {
	c := start(t, t.TempDir(), opts...)
	s := seedVulns(t, c)
	req := yamlRequest(workloadYAML("plain", "shop", s.reg.Host+"/team/unscanned:1"), true)
	req["cluster"] = "lab"
	c.must(http.StatusOK, c.admin(), "POST", "/v1/detect/deploy/yaml", req)

	var vulns vulnapi.DeploymentList
	c.must(http.StatusOK, c.admin(), "GET", "/v1/vulns/deployments?limit=100", nil).json(t, &vulns)
	cves := map[string]vulnapi.DeploymentVulns{}
	for _, d := range vulns.Deployments {
		cves[d.Name] = d
	}

	var all deploymentapi.List
	c.must(http.StatusOK, c.admin(), "GET", "/v1/deployments?sort=-risk", nil).json(t, &all)
	if all.Total != 3 || len(all.Deployments) != 3 {
		t.Fatalf("by risk = %+v", all)
	}
	byName := map[string]deploymentapi.Summary{}
	for i, d := range all.Deployments {
		byName[d.Name] = d
		v, cv := d.Risk.Violations, cves[d.Name]
		if v != d.Violations {
			t.Errorf("%s: risk's violations %+v, the row's %+v", d.Name, v, d.Violations)
		}
		if got := d.Risk.CVEs; got.Total != cv.CVEs || got.Critical != cv.Critical || got.Important != cv.Important ||
			got.Moderate != cv.Moderate || got.Low != cv.Low || got.Fixable != cv.Fixable {
			t.Errorf("%s: risk's CVEs %+v, the vulnerability list's %+v", d.Name, got, cv)
		}
		want := deploymentapi.RiskOf(store.RiskOf(store.ViolationCounts{Critical: v.Critical, High: v.High, Medium: v.Medium, Low: v.Low},
			store.VulnCounts{CVEs: cv.CVEs, Critical: cv.Critical, Important: cv.Important, Moderate: cv.Moderate, Low: cv.Low, Fixable: cv.Fixable}))
		if d.Risk != want {
			t.Errorf("%s: risk %+v, want %+v", d.Name, d.Risk, want)
		}
		if i > 0 {
			prev := all.Deployments[i-1]
			if prev.Risk.Score < d.Risk.Score || (prev.Risk.Score == d.Risk.Score && prev.Name > d.Name) {
				t.Errorf("%s (%v) ranked after %s (%v)", d.Name, d.Risk.Score, prev.Name, prev.Risk.Score)
			}
		}
	}
	web, plain := byName["web"], byName["plain"]
	if web.Risk.CVEs.Total == 0 || plain.Risk.CVEs.Total != 0 || web.Risk.VulnFactor <= 1 || plain.Risk.VulnFactor != 1 {
		t.Fatalf("web's CVEs %+v, plain's %+v", web.Risk, plain.Risk)
	}
	if plain.Violations.Total == 0 || plain.Risk.ViolationFactor <= 1 || web.Risk.Score <= web.Risk.ViolationFactor {
		t.Fatalf("plain's violations %+v; web's score %v with a violation factor %v", plain.Risk, web.Risk.Score, web.Risk.ViolationFactor)
	}
	if web.Risk.Score <= plain.Risk.Score {
		t.Errorf("web (violations and CVEs) scores %v, plain (violations only) %v", web.Risk.Score, plain.Risk.Score)
	}

	names := func(query string) string {
		t.Helper()
		var l deploymentapi.List
		c.must(http.StatusOK, c.admin(), "GET", "/v1/deployments?"+query, nil).json(t, &l)
		var out []string
		for _, d := range l.Deployments {
			out = append(out, d.Name)
		}
		return strings.Join(out, ",")
	}
	ranked := names("sort=-risk")
	for _, tc := range []struct{ query, want string }{
		{"sort=-risk&cluster=lab&namespace=shop", strings.Join(without(strings.Split(ranked, ","), "toolbox"), ",")},
		{"sort=-risk&namespace=ops", "toolbox"},
		{"sort=-risk&cluster=elsewhere", ""},
		{"sort=-risk&limit=1&offset=2", strings.Split(ranked, ",")[2]},
		{"sort=risk", ascending(all.Deployments)},
		{"sort=-risk&query=PLAIN", "plain"},
	} {
		if got := names(tc.query); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.query, got, tc.want)
		}
	}
	// The detail carries the same risk.
	var detail deploymentapi.Deployment
	c.must(http.StatusOK, c.admin(), "GET", "/v1/deployments/"+web.ID, nil).json(t, &detail)
	if detail.Risk != web.Risk {
		t.Errorf("web's detail risk %+v, list %+v", detail.Risk, web.Risk)
	}
	// Same auth as the list: Analyst reads, Continuous Integration does not.
	_, analyst := c.token("analyst", "Analyst", nil)
	c.must(http.StatusOK, bearer(analyst), "GET", "/v1/deployments?sort=-risk&limit=10", nil)
	_, ci := c.token("ci", "Continuous Integration", nil)
	c.must(http.StatusForbidden, bearer(ci), "GET", "/v1/deployments?sort=-risk&limit=10", nil)
	body := string(c.must(http.StatusBadRequest, c.admin(), "GET", "/v1/deployments?sort=--risk", nil).body)
	if !strings.Contains(body, `"path":"sort"`) {
		t.Errorf("bad sort: %s", body)
	}
}

func without(s []string, drop string) []string {
	var out []string
	for _, v := range s {
		if v != drop {
			out = append(out, v)
		}
	}
	return out
}

// ascending is the order of sort=risk: lowest score first, ties by name.
func ascending(ds []deploymentapi.Summary) string {
	s := slices.Clone(ds)
	slices.SortFunc(s, func(a, b deploymentapi.Summary) int {
		return cmp.Or(cmp.Compare(a.Risk.Score, b.Risk.Score), strings.Compare(a.Name, b.Name))
	})
	var out []string
	for _, d := range s {
		out = append(out, d.Name)
	}
	return strings.Join(out, ",")
}
