package central

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/deploycheck"
	"github.com/stockade-dev/stockade/internal/policy"
)

// privilegedPolicy is the built-in policy the privileged pod violates.
func privilegedPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	ps, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if len(p.PolicySections) == 1 && len(p.PolicySections[0].PolicyGroups) == 1 &&
			p.PolicySections[0].PolicyGroups[0].FieldName == "Privileged Container" {
			return p
		}
	}
	t.Fatal("no built-in policy on Privileged Container alone")
	return nil
}

func violated(rep deploycheck.Report, name string) *deploycheck.ViolatedPolicy {
	for _, res := range rep.Results {
		for i, vp := range res.ViolatedPolicies {
			if vp.Name == name {
				return &res.ViolatedPolicies[i]
			}
		}
	}
	return nil
}

func TestDetectDeployYAML(t *testing.T) {
	c := start(t, t.TempDir())
	admin := c.admin()
	priv := privilegedPolicy(t)

	r := c.must(200, admin, "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": privilegedPod + "---\n" + hardenedDeployment})
	// The roxctl shape, key for key.
	var raw map[string]any
	r.json(t, &raw)
	if _, ok := raw["results"]; !ok || len(raw) != 2 {
		t.Fatalf("report keys = %v, want results and summary", raw)
	}
	var rep deploycheck.Report
	r.json(t, &rep)
	vp := violated(rep, priv.Name)
	if vp == nil {
		t.Fatalf("the privileged pod does not violate %q: %s", priv.Name, r.body)
	}
	if vp.Severity != "CRITICAL" || !vp.FailingCheck || len(vp.Violation) == 0 || !strings.Contains(vp.Violation[0], "app") {
		t.Errorf("violated policy = %+v", vp)
	}
	if rep.Results[0].Metadata.AdditionalInfo != (deploycheck.AdditionalInfo{Name: "priv", Namespace: "prod", Type: "Pod"}) {
		t.Errorf("metadata = %+v", rep.Results[0].Metadata)
	}
	if rep.Summary.Critical < 1 || rep.Summary.Total < rep.Summary.Critical {
		t.Errorf("summary = %+v", rep.Summary)
	}

	// Categories limit the policies; ACS's exact request shape is accepted.
	c.must(200, admin, "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": privilegedPod, "policyCategories": []string{"no such category"}}).json(t, &rep)
	if len(rep.Results) != 0 {
		t.Errorf("unknown category still found violations: %+v", rep.Results)
	}
	c.must(200, admin, "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": privilegedPod, "policyCategories": []string{strings.ToLower(priv.Categories[0])}}).json(t, &rep)
	if violated(rep, priv.Name) == nil {
		t.Error("the privileged policy's own category does not select it")
	}

	// Disabling the policy takes effect on the next check (the compiled set is rebuilt).
	c.must(200, admin, "PATCH", "/v1/policies/"+priv.ID, map[string]bool{"disabled": true})
	c.must(200, admin, "POST", "/v1/detect/deploy/yaml", yamlRequest(privilegedPod, false)).json(t, &rep)
	if violated(rep, priv.Name) != nil {
		t.Error("a disabled policy is still evaluated")
	}
	c.must(200, admin, "PATCH", "/v1/policies/"+priv.ID, map[string]bool{"disabled": false})
	c.must(200, admin, "POST", "/v1/detect/deploy/yaml", yamlRequest(privilegedPod, false)).json(t, &rep)
	if violated(rep, priv.Name) == nil {
		t.Error("a re-enabled policy is not evaluated")
	}

	// Without record, nothing is stored.
	var alerts alertList
	c.must(200, admin, "GET", "/v1/alerts", nil).json(t, &alerts)
	if alerts.Total != 0 {
		t.Errorf("%d alerts recorded without record=true", alerts.Total)
	}

	// Bad input.
	for _, body := range []any{
		map[string]any{"yaml": ""},
		map[string]any{"yaml": "kind: Pod\nmetadata: [unclosed\n"},
		map[string]any{"yaml": privilegedPod, "unknown": true},
		[]byte(`{"yaml": 5}`),
	} {
		c.must(http.StatusBadRequest, admin, "POST", "/v1/detect/deploy/yaml", body)
	}
}

type alertList struct {
	Total  int             `json:"total"`
	Alerts []alertListItem `json:"alerts"`
}

func TestRecordedAlertsAndDryRun(t *testing.T) {
	c := start(t, t.TempDir())
	admin := c.admin()
	priv := privilegedPolicy(t)

	var rep deploycheck.Report
	c.must(200, admin, "POST", "/v1/detect/deploy/yaml", map[string]any{
		"yaml": privilegedPod + "---\n" + hardenedDeployment, "record": true, "cluster": "lab",
	}).json(t, &rep)
	violations := 0
	for _, res := range rep.Results {
		violations += len(res.ViolatedPolicies)
	}

	var all alertList
	c.must(200, admin, "GET", "/v1/alerts?limit=1000", nil).json(t, &all)
	if all.Total != violations || len(all.Alerts) != violations {
		t.Fatalf("recorded %d alerts (%d listed), want one per violated policy: %d", all.Total, len(all.Alerts), violations)
	}
	for _, a := range all.Alerts {
		if a.State != "ACTIVE" || a.LifecycleStage != "DEPLOY" || len(a.Violations) == 0 || a.Deployment.ClusterName != "lab" {
			t.Errorf("alert = %+v", a)
		}
	}

	var page alertList
	c.must(200, admin, "GET", "/v1/alerts?policyId="+priv.ID, nil).json(t, &page)
	if page.Total != 1 || page.Alerts[0].Deployment.Name != "priv" || page.Alerts[0].Policy.Severity != "CRITICAL_SEVERITY" {
		t.Fatalf("alerts of the privileged policy = %+v", page)
	}
	privAlert := page.Alerts[0].ID
	if !strings.Contains(page.Alerts[0].Violations[0].Message, "privileged") {
		t.Errorf("violation message = %q", page.Alerts[0].Violations[0].Message)
	}
	for query, want := range map[string]func(alertListItem) bool{
		"severity=CRITICAL":           func(a alertListItem) bool { return a.Policy.Severity == "CRITICAL_SEVERITY" },
		"namespace=prod":              func(a alertListItem) bool { return a.Deployment.Namespace == "prod" },
		"deployment=web":              func(a alertListItem) bool { return a.Deployment.Name == "web" },
		"cluster=lab&stage=deploy":    func(a alertListItem) bool { return true },
		"query=PRIV":                  func(a alertListItem) bool { return true },
		"state=ACTIVE&namespace=shop": func(a alertListItem) bool { return a.Deployment.Namespace == "shop" },
	} {
		var l alertList
		c.must(200, admin, "GET", "/v1/alerts?"+query, nil).json(t, &l)
		if l.Total == 0 || l.Total > all.Total {
			t.Errorf("%s: total %d", query, l.Total)
		}
		for _, a := range l.Alerts {
			if !want(a) {
				t.Errorf("%s: alert %+v does not match", query, a)
			}
		}
	}
	var none alertList
	c.must(200, admin, "GET", "/v1/alerts?cluster=other", nil).json(t, &none)
	if none.Total != 0 {
		t.Errorf("cluster=other: %d alerts", none.Total)
	}

	// Paging and sorting.
	var p1, p2 alertList
	c.must(200, admin, "GET", "/v1/alerts?sort=severity&limit=2", nil).json(t, &p1)
	c.must(200, admin, "GET", "/v1/alerts?sort=severity&limit=2&offset=2", nil).json(t, &p2)
	if len(p1.Alerts) != 2 || p1.Total != all.Total || p1.Alerts[0].Policy.Severity != "CRITICAL_SEVERITY" {
		t.Errorf("first page = %+v", p1)
	}
	if len(p2.Alerts) == 0 || slices.ContainsFunc(p2.Alerts, func(a alertListItem) bool { return a.ID == p1.Alerts[0].ID }) {
		t.Errorf("second page overlaps the first")
	}
	for _, q := range []string{"limit=0", "limit=5000", "offset=-1", "sort=random", "colour=red"} {
		c.must(400, admin, "GET", "/v1/alerts?"+q, nil)
	}

	// Resolve.
	var resolved alertListItem
	c.must(200, admin, "PATCH", "/v1/alerts/"+privAlert, map[string]string{"state": "RESOLVED"}).json(t, &resolved)
	if resolved.State != "RESOLVED" {
		t.Errorf("patched alert state = %s", resolved.State)
	}
	var res alertList
	c.must(200, admin, "GET", "/v1/alerts?state=RESOLVED", nil).json(t, &res)
	if res.Total != 1 || res.Alerts[0].ID != privAlert {
		t.Errorf("resolved alerts = %+v", res)
	}
	c.must(200, admin, "GET", "/v1/alerts/"+privAlert, nil).json(t, &resolved)
	if resolved.State != "RESOLVED" {
		t.Errorf("GET after resolve: state %s", resolved.State)
	}
	c.must(400, admin, "PATCH", "/v1/alerts/"+privAlert, map[string]string{"state": "GONE"})
	c.must(404, admin, "PATCH", "/v1/alerts/no-such-alert", map[string]string{"state": "RESOLVED"})
	c.must(404, admin, "GET", "/v1/alerts/no-such-alert", nil)

	// Dry run: a new policy against the deployments recorded above.
	var dry struct {
		Alerts []struct {
			Deployment struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"deployment"`
			Violations []string `json:"violations"`
		} `json:"alerts"`
		DeploymentsEvaluated int `json:"deploymentsEvaluated"`
	}
	probe := samplePolicy("Image from example.com")
	probe["policySections"] = []any{map[string]any{"policyGroups": []any{
		map[string]any{"fieldName": "Image Registry", "values": []any{map[string]string{"value": "registry.example.com"}}},
	}}}
	c.must(200, admin, "POST", "/v1/policies/dryrun", probe).json(t, &dry)
	if dry.DeploymentsEvaluated != 2 || len(dry.Alerts) != 1 || dry.Alerts[0].Deployment.Name != "web" || len(dry.Alerts[0].Violations) == 0 {
		t.Errorf("dry run = %+v", dry)
	}
	// Recording the same workloads again replaces them in the inventory.
	c.must(200, admin, "POST", "/v1/detect/deploy/yaml", yamlRequest(hardenedDeployment, true))
	c.must(200, admin, "POST", "/v1/policies/dryrun", probe).json(t, &dry)
	if dry.DeploymentsEvaluated != 2 {
		t.Errorf("after re-recording: %d deployments evaluated, want 2", dry.DeploymentsEvaluated)
	}
	// The dry run saved nothing.
	c.must(200, admin, "GET", "/v1/policies?query=example.com", nil).json(t, &struct{}{})
	bad := samplePolicy("Bad dry run")
	bad["severity"] = "SOMETIMES"
	c.must(400, admin, "POST", "/v1/policies/dryrun", bad)
}

type alertListItem struct {
	ID             string `json:"id"`
	State          string `json:"state"`
	LifecycleStage string `json:"lifecycleStage"`
	Policy         struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Severity string `json:"severity"`
	} `json:"policy"`
	Deployment struct {
		Name        string `json:"name"`
		Namespace   string `json:"namespace"`
		ClusterName string `json:"clusterName"`
	} `json:"deployment"`
	Violations []struct {
		Message string `json:"message"`
	} `json:"violations"`
}
