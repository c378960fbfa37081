package central

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/central/alertapi"
	"github.com/stockade-dev/stockade/internal/central/policyapi"
	"github.com/stockade-dev/stockade/internal/policy"
)

func TestPolicyCriteriaCatalogue(t *testing.T) {
	c := start(t, t.TempDir())
	var list policyapi.CriteriaList
	c.must(http.StatusOK, c.admin(), "GET", "/v1/policies/criteria", nil).json(t, &list)
	if len(list.Criteria) != len(policy.Fields()) || len(list.Usages) != 4 {
		t.Fatalf("criteria: %d of %d, usages %v", len(list.Criteria), len(policy.Fields()), list.Usages)
	}
	byName := map[string]policy.Criterion{}
	for _, cr := range list.Criteria {
		byName[cr.Name] = cr
		if cr.Description == "" || cr.Example == "" || cr.Category == "" || len(cr.UsableIn) == 0 {
			t.Errorf("incomplete criterion %+v", cr)
		}
	}
	if p := byName["Privileged Container"]; p.ValueKind != policy.ValueBoolean || p.Negatable || p.MultipleValues ||
		!slices.Contains(p.UsableIn, policy.Usage{Stage: policy.StageDeploy}) || slices.Contains(p.UsableIn, policy.Usage{Stage: policy.StageBuild}) {
		t.Errorf("Privileged Container = %+v", p)
	}
	if p := byName["Port Exposure Method"]; p.ValueKind != policy.ValueEnum || !slices.Contains(p.Options, "EXTERNAL") {
		t.Errorf("Port Exposure Method = %+v", p)
	}
	// Any signed-in role that reads policies reads the catalogue; CI does.
	_, ci := c.token("ci", "Continuous Integration", nil)
	c.must(http.StatusOK, bearer(ci), "GET", "/v1/policies/criteria", nil)
}

func TestPolicyValidateAnswersLikeCreate(t *testing.T) {
	c := start(t, t.TempDir())
	admin := c.admin()

	good := samplePolicy("Validate me")
	var ok policyapi.ValidateResult
	c.must(http.StatusOK, admin, "POST", "/v1/policies/validate", good).json(t, &ok)
	if !ok.Valid || len(ok.Errors) != 0 {
		t.Fatalf("valid policy: %+v", ok)
	}

	bad := samplePolicy("Validate me")
	bad["severity"] = "SEVERE"
	bad["policySections"] = []any{
		map[string]any{"policyGroups": []any{
			map[string]any{"fieldName": "Host Network", "values": []any{map[string]string{"value": "true"}}},
			map[string]any{"fieldName": "Container CPU Limit", "values": []any{map[string]string{"value": "2"}, map[string]string{"value": "lots"}}},
		}},
		map[string]any{"policyGroups": []any{
			map[string]any{"fieldName": "Host PID", "negate": true, "values": []any{map[string]string{"value": "true"}}},
		}},
	}
	var res policyapi.ValidateResult
	c.must(http.StatusOK, admin, "POST", "/v1/policies/validate", bad).json(t, &res)
	var got []string
	for _, e := range res.Errors {
		got = append(got, e.Path)
	}
	want := []string{"severity", "policySections[0].policyGroups[1].values[1].value", "policySections[1].policyGroups[0].negate"}
	if res.Valid || !slices.Equal(got, want) {
		t.Fatalf("validate = %+v, want errors at %v", res, want)
	}
	// POST reports the same problems, and stores nothing; validate stored nothing either.
	var eb errorBody
	c.must(http.StatusBadRequest, admin, "POST", "/v1/policies", bad).json(t, &eb)
	if !slices.Equal(eb.paths(), want) {
		t.Errorf("POST errors at %v, validate at %v", eb.paths(), want)
	}
	var list struct {
		Total int `json:"total"`
	}
	c.must(http.StatusOK, admin, "GET", "/v1/policies?query=Validate+me", nil).json(t, &list)
	if list.Total != 0 {
		t.Errorf("validate stored a policy: %d match", list.Total)
	}
	// A body that is no policy is a 400 naming the field.
	c.must(http.StatusBadRequest, admin, "POST", "/v1/policies/validate", map[string]any{"name": "x", "bogus": 1})
	c.must(http.StatusBadRequest, admin, "POST", "/v1/policies/validate", []byte(`{"name": `))
}

func TestLockedCriteriaOfBuiltinPolicyStayLocked(t *testing.T) {
	c := start(t, t.TempDir())
	admin := c.admin()
	priv := privilegedPolicy(t)
	var p policy.Policy
	c.must(http.StatusOK, admin, "GET", "/v1/policies/"+priv.ID, nil).json(t, &p)
	if !p.CriteriaLocked {
		t.Fatal("the built-in privileged policy does not lock its criteria; every built-in must (TestBuiltin conformance)")
	}
	// Scope, exclusions, enforcement and notifiers stay editable.
	p.Scope = []policy.Scope{{Namespace: "prod"}}
	p.EnforcementActions = []policy.EnforcementAction{policy.EnforceScaleToZero}
	var updated policy.Policy
	c.must(http.StatusOK, admin, "PUT", "/v1/policies/"+p.ID, p).json(t, &updated)
	if len(updated.Scope) != 1 || !updated.IsDefault {
		t.Errorf("updated = %+v", updated)
	}
	// The criteria do not.
	p.PolicySections[0].PolicyGroups[0].Values = []policy.PolicyValue{{Value: "false"}}
	var eb errorBody
	c.must(http.StatusBadRequest, admin, "PUT", "/v1/policies/"+p.ID, p).json(t, &eb)
	if !slices.Equal(eb.paths(), []string{"policySections"}) {
		t.Errorf("errors at %v, want policySections", eb.paths())
	}
	p.PolicySections = updated.PolicySections
	p.CriteriaLocked = false
	c.must(http.StatusBadRequest, admin, "PUT", "/v1/policies/"+p.ID, p).json(t, &eb)
	if !slices.Equal(eb.paths(), []string{"criteriaLocked"}) {
		t.Errorf("errors at %v, want criteriaLocked", eb.paths())
	}
}

func TestExcludeDeploymentFromAlertPolicy(t *testing.T) {
	c := start(t, t.TempDir())
	admin := c.admin()
	priv := privilegedPolicy(t)
	record := func() {
		t.Helper()
		c.must(http.StatusOK, admin, "POST", "/v1/detect/deploy/yaml", map[string]any{
			"yaml": privilegedPod + "---\n" + strings.ReplaceAll(privilegedPod, "namespace: prod", "namespace: dev"), "record": true, "cluster": "lab",
		})
	}
	record()
	var page alertList
	c.must(http.StatusOK, admin, "GET", "/v1/alerts?policyId="+priv.ID+"&namespace=prod", nil).json(t, &page)
	if page.Total != 1 {
		t.Fatalf("alerts of the privileged policy in prod: %+v", page)
	}
	alertID := page.Alerts[0].ID

	// Analysts cannot change policies.
	_, analyst := c.token("analyst", "Analyst", nil)
	c.must(http.StatusForbidden, bearer(analyst), "POST", "/v1/alerts/"+alertID+"/exclude", nil)
	c.must(http.StatusBadRequest, admin, "POST", "/v1/alerts/"+alertID+"/exclude", map[string]string{"expiration": "next week"})
	c.must(http.StatusNotFound, admin, "POST", "/v1/alerts/no-such-alert/exclude", nil)

	var res alertapi.ExcludeResult
	c.must(http.StatusOK, admin, "POST", "/v1/alerts/"+alertID+"/exclude", nil).json(t, &res)
	d := res.Exclusion.Deployment
	if !res.Added || d == nil || d.Name != "priv" || d.Scope == nil || d.Scope.Cluster != "lab" || d.Scope.Namespace != "prod" {
		t.Fatalf("exclusion = %+v", res)
	}
	if !slices.Equal(res.Resolved, []string{alertID}) {
		t.Errorf("resolved %v, want %s", res.Resolved, alertID)
	}
	var a alertListItem
	c.must(http.StatusOK, admin, "GET", "/v1/alerts/"+alertID, nil).json(t, &a)
	if a.State != "RESOLVED" {
		t.Errorf("alert state = %s", a.State)
	}
	var p policy.Policy
	c.must(http.StatusOK, admin, "GET", "/v1/policies/"+priv.ID, nil).json(t, &p)
	if n := len(p.Exclusions); n != len(priv.Exclusions)+1 {
		t.Errorf("policy has %d exclusions, want %d", n, len(priv.Exclusions)+1)
	}

	// Detection honours the exclusion at once: the same pod in prod raises
	// nothing new, the one in dev still violates.
	record()
	var prod, dev alertList
	c.must(http.StatusOK, admin, "GET", "/v1/alerts?policyId="+priv.ID+"&state=ACTIVE&namespace=prod", nil).json(t, &prod)
	c.must(http.StatusOK, admin, "GET", "/v1/alerts?policyId="+priv.ID+"&state=ACTIVE&namespace=dev", nil).json(t, &dev)
	if prod.Total != 0 || dev.Total == 0 {
		t.Errorf("active alerts of the policy after excluding prod/priv: %d in prod, %d in dev", prod.Total, dev.Total)
	}

	// Excluding again adds nothing and may set an expiration.
	var again alertapi.ExcludeResult
	c.must(http.StatusOK, admin, "POST", "/v1/alerts/"+alertID+"/exclude", map[string]string{"expiration": "2030-01-01T00:00:00Z"}).json(t, &again)
	if again.Added || len(again.Resolved) != 0 || again.Exclusion.Expiration != "2030-01-01T00:00:00Z" || len(again.Policy.Exclusions) != len(p.Exclusions) {
		t.Errorf("second exclusion = %+v", again)
	}
}
