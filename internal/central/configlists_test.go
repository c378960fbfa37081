package central

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/central/integrationapi"
	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/registrytest"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
)

func listNames[T any](items []T, name func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, name(it))
	}
	return out
}

// TestIntegrationListAndLastTest: the integration list searches, filters,
// sorts and pages on the server; a test of a stored integration against a
// real registry is kept as its lastTest, a failed one too; a bad field is
// named by its path.
func TestIntegrationListAndLastTest(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithHtpasswd())
	c := start(t, t.TempDir())
	admin := c.admin()
	var good integrationapi.ImageIntegration
	c.must(http.StatusOK, admin, "POST", "/v1/imageintegrations", map[string]any{"name": "Lab registry", "type": "docker",
		"endpoint": reg.Host, "insecure": true, "username": reg.Username, "password": reg.Password}).json(t, &good)
	var wrong integrationapi.ImageIntegration
	c.must(http.StatusOK, admin, "POST", "/v1/imageintegrations", map[string]any{"name": "another lab", "type": "docker",
		"endpoint": reg.Host, "insecure": true, "username": reg.Username, "password": "not-the-password"}).json(t, &wrong)
	c.must(http.StatusOK, admin, "POST", "/v1/imageintegrations", map[string]any{"name": "Quay", "type": "quay"})

	var list integrationapi.List
	get := func(q string) []string {
		t.Helper()
		list = integrationapi.List{}
		c.must(http.StatusOK, admin, "GET", "/v1/imageintegrations"+q, nil).json(t, &list)
		return listNames(list.Integrations, func(i integrationapi.ImageIntegration) string { return i.Name })
	}
	for q, want := range map[string][]string{
		"":                                {"another lab", "Lab registry", "Quay"},
		"?sort=-name":                     {"Quay", "Lab registry", "another lab"},
		"?query=LAB":                      {"another lab", "Lab registry"},
		"?query=lab+registry":             {"Lab registry"},
		"?query=quay.io":                  {},
		"?type=quay":                      {"Quay"},
		"?sort=type&limit=1&offset=2":     {"Quay"},
		"?sort=-type&limit=2":             {"Quay", "another lab"},
		"?query=" + reg.Host + "&limit=1": {"another lab"},
	} {
		if got := get(q); !slices.Equal(got, want) {
			t.Errorf("GET %s = %v, want %v", q, got, want)
		}
	}
	if get("?query=lab&limit=1"); list.Total != 2 {
		t.Errorf("total of a page = %d, want 2", list.Total)
	}
	for _, q := range []string{"?sort=color", "?limit=-1", "?offset=x", "?limit=1001"} {
		if r := c.do(admin, "GET", "/v1/imageintegrations"+q, nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"path"`) {
			t.Errorf("GET %s: %d %s", q, r.status, r.body)
		}
	}

	// Never tested: no lastTest. A test with the stored id and masked
	// password logs in and is kept; the wrong password's refusal too.
	if get(""); list.Integrations[1].LastTest != nil {
		t.Errorf("untested integration has lastTest %+v", list.Integrations[1].LastTest)
	}
	good.Password = "******"
	testBody := map[string]any{"id": good.ID, "name": good.Name, "type": "docker", "endpoint": reg.Host, "insecure": true, "username": reg.Username, "password": "******"}
	c.must(http.StatusOK, admin, "POST", "/v1/imageintegrations/test", testBody)
	testBody["id"], testBody["name"] = wrong.ID, wrong.Name
	c.must(http.StatusBadRequest, admin, "POST", "/v1/imageintegrations/test", testBody)
	var got integrationapi.ImageIntegration
	c.must(http.StatusOK, admin, "GET", "/v1/imageintegrations/"+good.ID, nil).json(t, &got)
	if got.LastTest == nil || !got.LastTest.OK || !strings.Contains(got.LastTest.Message, "logged in") || got.LastTest.At.IsZero() {
		t.Errorf("lastTest after a good test = %+v", got.LastTest)
	}
	c.must(http.StatusOK, admin, "GET", "/v1/imageintegrations/"+wrong.ID, nil).json(t, &got)
	if got.LastTest == nil || got.LastTest.OK || !strings.Contains(got.LastTest.Message, "rejected the credentials") || strings.Contains(got.LastTest.Message, "not-the-password") {
		t.Errorf("lastTest after a refused test = %+v", got.LastTest)
	}
	if order := get("?sort=-lastTest"); !slices.Equal(order, []string{"another lab", "Lab registry", "Quay"}) {
		t.Errorf("by last test, newest first: %v", order)
	}
	c.must(http.StatusNoContent, admin, "DELETE", "/v1/imageintegrations/"+wrong.ID, nil)
	if v, ok, err := c.srv.store.GetSetting(t.Context(), "imageintegration/lasttest/"+wrong.ID); err != nil || ok {
		t.Errorf("last test of a deleted integration still stored: %q %v %v", v, ok, err)
	}

	// Field errors name the field.
	for body, path := range map[string]string{
		`{"name": "x", "type": "ecr", "endpoint": "123456789012.dkr.ecr.us-east-1.amazonaws.com", "ecr": {"region": "us-east-1"}}`: "ecr.accessKeyId",
		`{"name": "x", "type": "docker", "endpoint": "r.example.com", "username": "u"}`:                                            "password",
	} {
		var eb errorBody
		c.must(http.StatusBadRequest, admin, "POST", "/v1/imageintegrations", []byte(body)).json(t, &eb)
		if len(eb.Details) == 0 || eb.Details[0].Path != path {
			t.Errorf("POST %s: details %+v, want path %s", body, eb.Details, path)
		}
	}
}

// TestConfigListsOfNotifiersAndTokens: notifier and token lists search,
// filter, sort and page on the server; a bad notifier field is named by
// its path.
func TestConfigListsOfNotifiersAndTokens(t *testing.T) {
	c := start(t, t.TempDir())
	admin := c.admin()
	for _, n := range []map[string]any{
		{"name": "Ops hook", "type": "generic", "generic": map[string]any{"endpoint": "https://hooks.example.com/a"}},
		{"name": "audit sink", "type": "generic", "generic": map[string]any{"endpoint": "https://hooks.example.com/b"}},
		{"name": "SecOps Slack", "type": "slack", "labelDefault": "https://hooks.slack.com/services/T/B/X"},
	} {
		c.must(http.StatusOK, admin, "POST", "/v1/notifiers", n)
	}
	var nl struct {
		Notifiers []struct{ Name string } `json:"notifiers"`
		Total     int                     `json:"total"`
	}
	for q, want := range map[string][]string{
		"":                  {"audit sink", "Ops hook", "SecOps Slack"},
		"?type=generic":     {"audit sink", "Ops hook"},
		"?query=ops":        {"Ops hook", "SecOps Slack"},
		"?sort=-type":       {"SecOps Slack", "audit sink", "Ops hook"},
		"?offset=1&limit=1": {"Ops hook"},
	} {
		c.must(http.StatusOK, admin, "GET", "/v1/notifiers"+q, nil).json(t, &nl)
		if got := listNames(nl.Notifiers, func(n struct{ Name string }) string { return n.Name }); !slices.Equal(got, want) {
			t.Errorf("GET /v1/notifiers%s = %v, want %v", q, got, want)
		}
	}
	c.must(http.StatusOK, admin, "GET", "/v1/notifiers?limit=1", nil).json(t, &nl)
	if nl.Total != 3 || len(nl.Notifiers) != 1 {
		t.Errorf("total = %d, want 3", nl.Total)
	}
	var eb errorBody
	c.must(http.StatusBadRequest, admin, "POST", "/v1/notifiers", map[string]any{"name": "x", "type": "generic",
		"generic": map[string]any{"endpoint": "ftp://x"}}).json(t, &eb)
	if len(eb.Details) != 1 || eb.Details[0].Path != "generic.endpoint" || !strings.Contains(eb.Details[0].Message, "http") {
		t.Errorf("bad endpoint: %+v", eb)
	}

	c.token("deploy bot", "Continuous Integration", nil)
	c.token("alice", "Analyst", nil)
	revoked, _ := c.token("old bot", "Continuous Integration", nil)
	c.must(http.StatusNoContent, admin, "DELETE", "/v1/apitokens/"+revoked, nil)
	var tl struct {
		Tokens []struct{ Name string } `json:"tokens"`
		Total  int                     `json:"total"`
	}
	for q, want := range map[string][]string{
		"":                             {"deploy bot", "alice", "old bot"},
		"?sort=name":                   {"alice", "deploy bot", "old bot"},
		"?sort=-issuedAt&limit=2":      {"old bot", "alice"},
		"?role=continuous+integration": {"deploy bot", "old bot"},
		"?query=bot&revoked=false":     {"deploy bot"},
		"?query=analyst":               {"alice"},
	} {
		c.must(http.StatusOK, admin, "GET", "/v1/apitokens"+q, nil).json(t, &tl)
		if got := listNames(tl.Tokens, func(n struct{ Name string }) string { return n.Name }); !slices.Equal(got, want) {
			t.Errorf("GET /v1/apitokens%s = %v, want %v", q, got, want)
		}
	}
	if r := c.do(admin, "GET", "/v1/apitokens?role=root", nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"role"`) {
		t.Errorf("bad role filter: %d %s", r.status, r.body)
	}
}

// TestDashboardFormsCoverEveryType keeps the dashboard's typed field
// descriptions (ui/src/config/fields.ts) in step with the notifier and
// registry types the API takes: a new type needs its form.
func TestDashboardFormsCoverEveryType(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(moduleRoot(t), "ui", "src", "config", "fields.ts"))
	if err != nil {
		t.Fatal(err)
	}
	described := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+type: '([a-z]+)',$`).FindAllStringSubmatch(string(src), -1) {
		described[m[1]] = true
	}
	var want []string
	want = append(want, notifier.Types()...)
	for _, rt := range registry.Types() {
		want = append(want, string(rt))
	}
	for _, typ := range want {
		if !described[typ] {
			t.Errorf("type %q has no field description in ui/src/config/fields.ts", typ)
		}
	}
	if len(described) != len(want) {
		t.Errorf("fields.ts describes %d types, the API has %d", len(described), len(want))
	}
}
