package central

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/deploycheck"
	"github.com/stockade-dev/stockade/internal/registrytest"
)

// imagePolicy is a policy on one image criterion, in category "Image Tests".
func imagePolicy(name string, stages []string, enforce []string, field, value string) map[string]any {
	return map[string]any{
		"name": name, "severity": "HIGH_SEVERITY", "lifecycleStages": stages, "categories": []string{"Image Tests"},
		"description": "A test policy on " + field + ".", "enforcementActions": enforce,
		"policySections": []any{map[string]any{"policyGroups": []any{
			map[string]any{"fieldName": field, "values": []any{map[string]string{"value": value}}},
		}}},
	}
}

// violatedByName returns the report's violated policies by name.
func violatedByName(rep deploycheck.Report) map[string]deploycheck.ViolatedPolicy {
	out := map[string]deploycheck.ViolatedPolicy{}
	for _, res := range rep.Results {
		for _, vp := range res.ViolatedPolicies {
			out[vp.Name] = vp
		}
	}
	return out
}

func TestDetectBuild(t *testing.T) {
	reg := registrytest.Start(t)
	reg.Push(t, "alpine/old:3.4", alpineImage(t, nil))
	c := start(t, t.TempDir())
	admin := c.admin()
	c.insecureIntegration("test registry", reg.Host, "", "")
	c.importAlpineSecdb()
	ref := reg.Host + "/alpine/old:3.4"

	c.must(http.StatusOK, admin, "POST", "/v1/policies", imagePolicy("Musl CVE blocks the build", []string{"BUILD"}, []string{"FAIL_BUILD_ENFORCEMENT"}, "CVE", muslCVE))
	c.must(http.StatusOK, admin, "POST", "/v1/policies", imagePolicy("apk-tools is informative", []string{"BUILD"}, nil, "Image Component", "apk-tools="))
	c.must(http.StatusOK, admin, "POST", "/v1/policies", imagePolicy("Deploy-only CVE check", []string{"DEPLOY"}, []string{"SCALE_TO_ZERO_ENFORCEMENT"}, "CVE", muslCVE))

	_, ci := c.token("ci", "Continuous Integration", nil)
	var rep deploycheck.Report
	c.must(http.StatusOK, bearer(ci), "POST", "/v1/detect/build", map[string]any{"imageName": ref, "policyCategories": []string{"image tests"}}).json(t, &rep)
	if len(rep.Results) != 1 {
		t.Fatalf("report has %d results, want the image's one: %+v", len(rep.Results), rep)
	}
	res := rep.Results[0]
	if res.Metadata.AdditionalInfo.Type != "Image" || res.Metadata.AdditionalInfo.Name != ref || res.Metadata.AdditionalInfo.Namespace != "" || !strings.HasPrefix(res.Metadata.ID, "sha256:") {
		t.Errorf("result metadata = %+v", res.Metadata)
	}
	got := violatedByName(rep)
	blocker, info := got["Musl CVE blocks the build"], got["apk-tools is informative"]
	if !blocker.FailingCheck || len(blocker.Violation) == 0 || !strings.Contains(strings.Join(blocker.Violation, "\n"), muslCVE) {
		t.Errorf("enforced policy = %+v", blocker)
	}
	if info.Name == "" || info.FailingCheck {
		t.Errorf("informative policy = %+v", info)
	}
	if _, ok := got["Deploy-only CVE check"]; ok || len(got) != 2 {
		t.Errorf("violated = %v, want the two BUILD policies of the category", got)
	}
	if rep.Summary.High != 2 || rep.Summary.Total != 2 || !rep.Failed() {
		t.Errorf("summary = %+v, failed = %v", rep.Summary, rep.Failed())
	}

	// Without the enforced policy nothing fails the build.
	rep = deploycheck.Report{}
	c.must(http.StatusOK, admin, "POST", "/v1/detect/build", map[string]any{"imageName": ref, "policyCategories": []string{"no such category"}}).json(t, &rep)
	if rep.Failed() {
		t.Errorf("report over other categories fails: %+v", rep)
	}
	if len(rep.Results) != 0 || rep.Summary.Total != 0 {
		t.Errorf("an image that violates nothing has a result, as in deploy checks: %+v", rep)
	}

	// Errors: missing name, unknown field, unknown image.
	c.must(http.StatusBadRequest, admin, "POST", "/v1/detect/build", map[string]any{"imageName": ""})
	c.must(http.StatusBadRequest, admin, "POST", "/v1/detect/build", map[string]any{"imageName": ref, "policies": []string{}})
	c.must(http.StatusNotFound, admin, "POST", "/v1/detect/build", map[string]any{"imageName": reg.Host + "/alpine/none:1"})
}

func TestDeployYAMLEvaluatesStoredImageScans(t *testing.T) {
	reg := registrytest.Start(t)
	reg.Push(t, "alpine/old:3.4", alpineImage(t, nil))
	c := start(t, t.TempDir())
	admin := c.admin()
	c.insecureIntegration("test registry", reg.Host, "", "")
	c.importAlpineSecdb()
	c.must(http.StatusOK, admin, "POST", "/v1/policies", imagePolicy("Musl CVE at deploy", []string{"DEPLOY"}, []string{"SCALE_TO_ZERO_ENFORCEMENT"}, "CVE", muslCVE))

	pod := `apiVersion: v1
kind: Pod
metadata:
  name: old-alpine
  namespace: shop
spec:
  containers:
  - name: app
    image: ` + reg.Host + `/alpine/old:3.4
  - name: other
    image: ` + reg.Host + `/never/scanned:1
`
	check := func() deploycheck.Report {
		t.Helper()
		var rep deploycheck.Report
		c.must(http.StatusOK, admin, "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": pod, "policyCategories": []string{"Image Tests"}}).json(t, &rep)
		return rep
	}
	// Unscanned: the image criteria cannot match, and the check never scans.
	if got := violatedByName(check()); len(got) != 0 {
		t.Fatalf("before any scan: %v", got)
	}
	var list struct{ Total int }
	c.must(http.StatusOK, admin, "GET", "/v1/images", nil).json(t, &list)
	if list.Total != 0 {
		t.Fatalf("the deploy check scanned %d images", list.Total)
	}

	c.scan(admin, reg.Host+"/alpine/old:3.4", false)
	rep := check()
	vp, ok := violatedByName(rep)["Musl CVE at deploy"]
	if !ok || !vp.FailingCheck || !strings.Contains(strings.Join(vp.Violation, "\n"), muslCVE) {
		t.Fatalf("after the scan: %+v", rep)
	}
	if len(rep.Results) != 1 || rep.Results[0].Metadata.AdditionalInfo.Name != "old-alpine" {
		t.Errorf("results = %+v", rep.Results)
	}

	// Recorded alerts carry the image finding too.
	c.must(http.StatusOK, admin, "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": pod, "record": true})
	var alerts alertList
	c.must(http.StatusOK, admin, "GET", "/v1/alerts?query=Musl", nil).json(t, &alerts)
	if alerts.Total != 1 {
		t.Errorf("%d alerts for the image policy recorded, want 1", alerts.Total)
	}
}
