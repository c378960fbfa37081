package central

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/shareddata"

	"github.com/stockade-dev/stockade/internal/policy"
)

func samplePolicy(name string) map[string]any {
	return map[string]any{
		"name": name, "severity": "HIGH_SEVERITY", "lifecycleStages": []string{"DEPLOY"},
		"categories": []string{"Test Category"}, "description": "A test policy about host networking.",
		"policySections": []any{map[string]any{"policyGroups": []any{
			map[string]any{"fieldName": "Host Network", "values": []any{map[string]string{"value": "true"}}},
		}}},
	}
}

type errorBody struct {
	Error   string `json:"error"`
	Details []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"details"`
}

func (e errorBody) paths() []string {
	var out []string
	for _, d := range e.Details {
		out = append(out, d.Path)
	}
	return out
}

func TestPolicyCRUD(t *testing.T) {
	c := start(t, t.TempDir())
	admin := c.admin()

	var created policy.Policy
	c.must(200, admin, "POST", "/v1/policies", samplePolicy("Host network test")).json(t, &created)
	if created.ID == "" || created.IsDefault {
		t.Fatalf("created = %+v", created)
	}
	var got policy.Policy
	c.must(200, admin, "GET", "/v1/policies/"+created.ID, nil).json(t, &got)
	if !reflect.DeepEqual(got, created) {
		t.Errorf("GET = %+v, want %+v", got, created)
	}

	// List with a text filter.
	var list struct {
		Policies []struct {
			ID          string   `json:"id"`
			Name        string   `json:"name"`
			Severity    string   `json:"severity"`
			Categories  []string `json:"categories"`
			Disabled    bool     `json:"disabled"`
			Enforcement bool     `json:"enforcement"`
			IsDefault   bool     `json:"isDefault"`
		} `json:"policies"`
	}
	c.must(200, admin, "GET", "/v1/policies?query=test+category", nil).json(t, &list)
	if len(list.Policies) != 1 || list.Policies[0].ID != created.ID || list.Policies[0].Severity != "HIGH_SEVERITY" {
		t.Fatalf("filtered list = %+v", list.Policies)
	}

	// Duplicate name (case-insensitive) → 409.
	c.must(http.StatusConflict, admin, "POST", "/v1/policies", samplePolicy("HOST NETWORK TEST"))

	// Replace.
	upd := samplePolicy("Host network test, renamed")
	upd["severity"] = "LOW_SEVERITY"
	var updated policy.Policy
	c.must(200, admin, "PUT", "/v1/policies/"+created.ID, upd).json(t, &updated)
	if updated.ID != created.ID || updated.Severity != policy.SeverityLow {
		t.Errorf("updated = %+v", updated)
	}
	upd["id"] = "another-id"
	r := c.must(400, admin, "PUT", "/v1/policies/"+created.ID, upd)
	var eb errorBody
	r.json(t, &eb)
	if len(eb.Details) != 1 || eb.Details[0].Path != "id" {
		t.Errorf("id mismatch error = %s", r.body)
	}
	c.must(404, admin, "PUT", "/v1/policies/no-such-policy", samplePolicy("Whatever"))

	// Disable and enable.
	var patched policy.Policy
	c.must(200, admin, "PATCH", "/v1/policies/"+created.ID, map[string]bool{"disabled": true}).json(t, &patched)
	if !patched.Disabled {
		t.Error("PATCH disabled=true left the policy enabled")
	}
	c.must(200, admin, "GET", "/v1/policies?query=renamed", nil).json(t, &list)
	if len(list.Policies) != 1 || !list.Policies[0].Disabled {
		t.Errorf("list after disabling = %+v", list.Policies)
	}
	c.must(400, admin, "PATCH", "/v1/policies/"+created.ID, map[string]any{})
	c.must(400, admin, "PATCH", "/v1/policies/"+created.ID, map[string]any{"disabled": "yes"})
	c.must(404, admin, "PATCH", "/v1/policies/no-such-policy", map[string]bool{"disabled": false})

	// Delete.
	c.must(http.StatusNoContent, admin, "DELETE", "/v1/policies/"+created.ID, nil)
	c.must(404, admin, "GET", "/v1/policies/"+created.ID, nil)
	c.must(404, admin, "DELETE", "/v1/policies/"+created.ID, nil)
}

func TestEditingBuiltinPolicyKeepsItBuiltin(t *testing.T) {
	c := start(t, t.TempDir())
	builtin, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var p policy.Policy
	c.must(200, c.admin(), "GET", "/v1/policies/"+builtin[0].ID, nil).json(t, &p)
	if !p.IsDefault {
		t.Fatal("built-in policy not marked isDefault")
	}
	p.Description = "Edited by the test."
	p.IsDefault = false // the client cannot change it
	var out policy.Policy
	c.must(200, c.admin(), "PUT", "/v1/policies/"+p.ID, p).json(t, &out)
	if !out.IsDefault || out.Description != "Edited by the test." {
		t.Errorf("edited built-in = %+v", out)
	}
}

func TestPolicyValidationErrors(t *testing.T) {
	c := start(t, t.TempDir())
	admin := c.admin()

	bad := samplePolicy("Bad policy")
	bad["severity"] = "EXTREME"
	bad["policySections"] = []any{map[string]any{"policyGroups": []any{
		map[string]any{"fieldName": "No Such Criterion", "values": []any{map[string]string{"value": "x"}}},
		map[string]any{"fieldName": "Replicas", "values": []any{map[string]string{"value": "lots"}}},
	}}}
	var eb errorBody
	c.must(400, admin, "POST", "/v1/policies", bad).json(t, &eb)
	got := strings.Join(eb.paths(), " ")
	for _, want := range []string{"severity", "policySections[0].policyGroups[0].fieldName", "policySections[0].policyGroups[1].values[0].value"} {
		if !strings.Contains(got, want) {
			t.Errorf("validation paths %q lack %s (%s)", got, want, eb.Error)
		}
	}

	unknown := samplePolicy("Unknown field")
	unknown["severityy"] = "HIGH"
	c.must(400, admin, "POST", "/v1/policies", unknown).json(t, &eb)
	if len(eb.Details) != 1 || eb.Details[0].Path != "severityy" {
		t.Errorf("unknown field error = %+v", eb)
	}

	r := c.must(400, admin, "POST", "/v1/policies", []byte("{\n  \"name\": \"x\",\n  \"severity\": HIGH\n}"))
	r.json(t, &eb)
	if !strings.Contains(eb.Error, "line 3") {
		t.Errorf("malformed JSON error does not name line 3: %s", r.body)
	}
	r = c.must(400, admin, "POST", "/v1/policies", []byte(`{"name": 5}`))
	r.json(t, &eb)
	if len(eb.Details) != 1 || eb.Details[0].Path != "name" {
		t.Errorf("type error = %s", r.body)
	}
	c.must(400, admin, "POST", "/v1/policies", []byte(``))
	c.must(400, admin, "POST", "/v1/policies", []byte(`{"name": "a"} {"name": "b"}`))

	// Nothing was written by any of them.
	var list struct{ Policies []struct{ Name string } }
	c.must(200, admin, "GET", "/v1/policies?query=bad", nil).json(t, &list)
	if len(list.Policies) != 0 {
		t.Errorf("invalid policies were stored: %+v", list.Policies)
	}
}

func stackroxFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(shareddata.Dir(t), "stackrox-policies", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 89 {
		t.Fatalf("found %d StackRox policy files, want 89", len(files))
	}
	sort.Strings(files)
	return files
}

type importResult struct {
	AllSucceeded bool `json:"allSucceeded"`
	Responses    []struct {
		Policy    policy.Policy `json:"policy"`
		Succeeded bool          `json:"succeeded"`
		Errors    []struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"errors"`
	} `json:"responses"`
}

func exportAll(t *testing.T, c *central) []*policy.Policy {
	t.Helper()
	r := c.must(200, c.admin(), "POST", "/v1/policies/export", map[string]any{"policyIds": []string{}})
	ps, err := policy.Parse("export", r.body)
	if err != nil {
		t.Fatalf("parse export: %v", err)
	}
	return ps
}

func TestImportEveryStackRoxPolicyAndRoundTrip(t *testing.T) {
	c := start(t, t.TempDir())
	admin := c.admin()
	builtinCount := len(exportAll(t, c))

	want := map[string]*policy.Policy{}
	for _, f := range stackroxFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var res importResult
		c.must(200, admin, "POST", "/v1/policies/import", data).json(t, &res)
		if !res.AllSucceeded || len(res.Responses) != 1 || !res.Responses[0].Succeeded {
			t.Errorf("import %s: %+v", filepath.Base(f), res)
			continue
		}
		ps, err := policy.Parse(f, data)
		if err != nil {
			t.Fatal(err)
		}
		p := ps[0]
		p.IsDefault = false // imported policies are the user's
		want[p.ID] = p
	}
	// Every imported policy reads back as it was in its file.
	for id, p := range want {
		var got policy.Policy
		c.must(200, admin, "GET", "/v1/policies/"+id, nil).json(t, &got)
		if !reflect.DeepEqual(&got, p) {
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(p)
			t.Errorf("policy %s (%s) changed on import:\n got %s\nwant %s", id, p.Name, gj, wj)
		}
	}

	// Export → import with overwrite → export gives the same policies.
	first := exportAll(t, c)
	if len(first) != builtinCount+89 {
		t.Fatalf("exported %d policies, want %d", len(first), builtinCount+89)
	}
	doc, err := policy.Export(first)
	if err != nil {
		t.Fatal(err)
	}
	var res importResult
	c.must(200, admin, "POST", "/v1/policies/import", doc).json(t, &res)
	if res.AllSucceeded {
		t.Fatal("re-import without overwrite succeeded; want every policy refused as a duplicate")
	}
	for _, r := range res.Responses {
		if r.Succeeded || len(r.Errors) == 0 || r.Errors[0].Type != "duplicate_id" {
			t.Fatalf("re-import response = %+v", r)
		}
	}
	c.must(200, admin, "POST", "/v1/policies/import?overwrite=true", doc).json(t, &res)
	if !res.AllSucceeded || len(res.Responses) != len(first) {
		t.Fatalf("re-import with overwrite: allSucceeded=%v, %d responses", res.AllSucceeded, len(res.Responses))
	}
	second := exportAll(t, c)
	// Built-ins lose their built-in mark when overwritten by an import.
	for _, p := range first {
		p.IsDefault = false
	}
	if !reflect.DeepEqual(first, second) {
		t.Error("export → import → export changed the policies")
	}

	// Export of some ids, and of a missing one.
	r := c.must(200, admin, "POST", "/v1/policies/export", map[string]any{"policyIds": []string{first[0].ID, first[1].ID, first[0].ID}})
	some, err := policy.Parse("export", r.body)
	if err != nil || len(some) != 2 {
		t.Fatalf("export of 2 ids: %d policies, %v", len(some), err)
	}
	c.must(404, admin, "POST", "/v1/policies/export", map[string]any{"policyIds": []string{"no-such-policy"}})
	// An empty body exports everything too.
	r = c.must(200, admin, "POST", "/v1/policies/export", nil)
	if all, _ := policy.Parse("export", r.body); len(all) != len(second) {
		t.Errorf("export without a body: %d policies, want %d", len(all), len(second))
	}
}

func TestImportIsAllOrNothing(t *testing.T) {
	c := start(t, t.TempDir())
	admin := c.admin()
	var existing policy.Policy
	c.must(200, admin, "POST", "/v1/policies", samplePolicy("Existing policy")).json(t, &existing)
	before := len(exportAll(t, c))

	fresh := samplePolicy("Fresh policy")
	clash := samplePolicy("existing POLICY")
	invalid := samplePolicy("Invalid policy")
	invalid["severity"] = "NONE"
	body, _ := json.Marshal(map[string]any{"policies": []any{fresh, clash, invalid}})
	var res importResult
	c.must(200, admin, "POST", "/v1/policies/import", body).json(t, &res)
	if res.AllSucceeded || len(res.Responses) != 3 {
		t.Fatalf("import with a clash = %+v", res)
	}
	wantTypes := []string{"not_imported", "duplicate_name", "invalid_policy"}
	for i, r := range res.Responses {
		if r.Succeeded || len(r.Errors) == 0 || r.Errors[0].Type != wantTypes[i] {
			t.Errorf("response %d = %+v, want error %s", i, r, wantTypes[i])
		}
	}
	if n := len(exportAll(t, c)); n != before {
		t.Fatalf("a failed import changed the store: %d policies, want %d", n, before)
	}

	// Duplicates within one request.
	body, _ = json.Marshal([]any{samplePolicy("Twin"), samplePolicy("twin")})
	c.must(200, admin, "POST", "/v1/policies/import", body).json(t, &res)
	if res.AllSucceeded {
		t.Error("two policies with one name were imported")
	}

	// With overwrite the clash replaces the stored policy: YAML body, ACS metadata form.
	c.must(200, admin, "POST", "/v1/policies/import?overwrite=true", mustJSON(t, []any{fresh, clash})).json(t, &res)
	if !res.AllSucceeded {
		t.Fatalf("overwrite import = %+v", res)
	}
	c.must(404, admin, "GET", "/v1/policies/"+existing.ID, nil)
	yamlBody := []byte("name: From YAML\nseverity: LOW_SEVERITY\nlifecycleStages: [DEPLOY]\npolicySections:\n- policyGroups:\n  - fieldName: Host PID\n    values: [{value: \"true\"}]\n")
	c.must(200, admin, "POST", "/v1/policies/import", yamlBody).json(t, &res)
	if !res.AllSucceeded {
		t.Fatalf("YAML import = %+v", res)
	}
	acs := fmt.Sprintf(`{"metadata": {"overwrite": true}, "policies": [%s]}`, mustJSON(t, samplePolicy("From YAML")))
	c.must(200, admin, "POST", "/v1/policies/import", []byte(acs)).json(t, &res)
	if !res.AllSucceeded {
		t.Fatalf("ACS metadata import with overwrite = %+v", res)
	}
	// A document that does not parse is a 400 naming the line; unknown fields too.
	r := c.must(400, admin, "POST", "/v1/policies/import", []byte("{\"policies\": [\n{\"name\": \"x\",\n \"bogus\": 1}]}"))
	if !bytes.Contains(r.body, []byte("bogus")) {
		t.Errorf("unknown field import error = %s", r.body)
	}
	c.must(400, admin, "POST", "/v1/policies/import?overwrite=maybe", mustJSON(t, fresh))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
