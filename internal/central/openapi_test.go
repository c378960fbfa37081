package central

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/central/deploymentapi"
	"github.com/stockade-dev/stockade/internal/central/imageapi"
	"github.com/stockade-dev/stockade/internal/central/integrationapi"
	"github.com/stockade-dev/stockade/internal/central/notifierapi"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"

	"github.com/stockade-dev/stockade/internal/central/alertapi"
	"github.com/stockade-dev/stockade/internal/central/detectapi"
	"github.com/stockade-dev/stockade/internal/central/policyapi"
	"github.com/stockade-dev/stockade/internal/central/sessionapi"
	"github.com/stockade-dev/stockade/internal/central/sysconfig"
	"github.com/stockade-dev/stockade/internal/central/tokenapi"
	"github.com/stockade-dev/stockade/internal/central/vulnapi"
	"github.com/stockade-dev/stockade/internal/policy"
)

type openAPIDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Security  *[]any                     `json:"security"`
	Responses map[string]json.RawMessage `json:"responses"`
}

func servedOpenAPI(t *testing.T, c *central) (openAPIDoc, []byte) {
	t.Helper()
	r := c.must(http.StatusOK, c.admin(), "GET", "/openapi.json", nil)
	var doc openAPIDoc
	r.json(t, &doc)
	return doc, r.body
}

// TestOpenAPIMatchesRoutes walks the mounted routes and the served OpenAPI
// document: every route is documented, every documented operation is
// served, and the documented security matches the declared permission.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	c := start(t, t.TempDir())
	doc, _ := servedOpenAPI(t, c)

	routes := map[string]bool{}
	for _, rt := range c.srv.routes {
		key := rt.Method + " " + rt.Path
		routes[key] = true
		ops, ok := doc.Paths[rt.Path]
		if !ok {
			t.Errorf("route %s: path not in the OpenAPI document", key)
			continue
		}
		raw, ok := ops[strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("route %s: method not in the OpenAPI document", key)
			continue
		}
		var op operation
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		public := op.Security != nil && len(*op.Security) == 0
		if public != rt.Permission.IsPublic() {
			t.Errorf("route %s: documented public=%v, declared %s", key, public, rt.Permission)
		}
		if !rt.Permission.IsPublic() {
			if _, ok := op.Responses["401"]; !ok {
				t.Errorf("route %s: needs credentials but documents no 401", key)
			}
		}
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			key := strings.ToUpper(method) + " " + path
			documented = append(documented, key)
			if !routes[key] {
				t.Errorf("OpenAPI documents %s, which is not served", key)
			}
		}
	}
	sort.Strings(documented)
	if len(documented) != len(routes) {
		t.Errorf("%d documented operations, %d routes", len(documented), len(routes))
	}
}

// jsonFields lists the JSON names of a struct's fields, with the fields
// of embedded structs promoted as encoding/json promotes them.
func jsonFields(typ reflect.Type) []string {
	var out []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPISchemasMatchTypes keeps the hand-written schemas in step with
// the Go types the API encodes and decodes, and every $ref resolvable.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	c := start(t, t.TempDir())
	doc, raw := servedOpenAPI(t, c)
	for schema, typ := range map[string]reflect.Type{
		"Policy":               reflect.TypeFor[policy.Policy](),
		"PolicySummary":        reflect.TypeFor[policyapi.Summary](),
		"DryRunResult":         reflect.TypeFor[policyapi.DryRunResult](),
		"CriteriaList":         reflect.TypeFor[policyapi.CriteriaList](),
		"Criterion":            reflect.TypeFor[policy.Criterion](),
		"CriterionUsage":       reflect.TypeFor[policy.Usage](),
		"ValidateResult":       reflect.TypeFor[policyapi.ValidateResult](),
		"ExcludeRequest":       reflect.TypeFor[alertapi.ExcludeRequest](),
		"ExcludeResult":        reflect.TypeFor[alertapi.ExcludeResult](),
		"ImportResult":         reflect.TypeFor[policyapi.ImportResult](),
		"Token":                reflect.TypeFor[tokenapi.Metadata](),
		"GenerateTokenRequest": reflect.TypeFor[tokenapi.GenerateRequest](),
		"AuthStatus":           reflect.TypeFor[tokenapi.Status](),
		"LoginRequest":         reflect.TypeFor[sessionapi.LoginRequest](),
		"LoginResponse":        reflect.TypeFor[sessionapi.LoginResponse](),
		"AlertSummary":         reflect.TypeFor[alertapi.Summary](),
		"AlertGroupCount":      reflect.TypeFor[alertapi.GroupCount](),
		"DeployYAMLRequest":    reflect.TypeFor[detectapi.DeployYAMLRequest](),
		"ScanImage":            reflect.TypeFor[scan.Image](),
		"Component":            reflect.TypeFor[scan.Component](),
		"Vuln":                 reflect.TypeFor[scan.Vuln](),
		"ImageSummary":         reflect.TypeFor[imageapi.Summary](),
		"ScanImageRequest":     reflect.TypeFor[imageapi.ScanRequest](),
		"BuildRequest":         reflect.TypeFor[detectapi.BuildRequest](),
		"ImageIntegration":     reflect.TypeFor[integrationapi.ImageIntegration](),
		"Notifier":             reflect.TypeFor[notifierapi.Notifier](),
		"Delivery":             reflect.TypeFor[notifierapi.Delivery](),
		"VulnDBImportResult":   reflect.TypeFor[vulndb.ImportResult](),
		"VulnDBStatus":         reflect.TypeFor[vulndb.Status](),
		"DeploymentSummary":    reflect.TypeFor[deploymentapi.Summary](),
		"SystemConfig":         reflect.TypeFor[sysconfig.Config](),
		"LoginNotice":          reflect.TypeFor[sysconfig.LoginNotice](),
		"CVE":                  reflect.TypeFor[vulnapi.CVE](),
		"CVEComponent":         reflect.TypeFor[vulnapi.Component](),
		"CVEImage":             reflect.TypeFor[vulnapi.Image](),
		"CVEDeployment":        reflect.TypeFor[vulnapi.Deployment](),
		"DeploymentVulns":      reflect.TypeFor[vulnapi.DeploymentVulns](),
		"FixableImage":         reflect.TypeFor[vulnapi.FixableImage](),
		"ImageDeployment":      reflect.TypeFor[imageapi.Deployment](),
	} {
		s, ok := doc.Components.Schemas[schema]
		if !ok {
			t.Errorf("schema %s missing", schema)
			continue
		}
		var documented []string
		for k := range s.Properties {
			documented = append(documented, k)
		}
		sort.Strings(documented)
		if want := jsonFields(typ); !slices.Equal(documented, want) {
			t.Errorf("schema %s has properties %v, the type %s has %v", schema, documented, typ, want)
		}
	}
	for _, schema := range []string{"Policy", "Report", "Alert", "Token", "Error"} {
		if _, ok := doc.Components.Schemas[schema]; !ok {
			t.Errorf("schema %s missing", schema)
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				name, found := strings.CutPrefix(ref, "#/components/schemas/")
				if found {
					if _, ok := doc.Components.Schemas[name]; !ok {
						t.Errorf("dangling $ref %s", ref)
					}
				} else if !strings.HasPrefix(ref, "#/components/responses/") && !strings.HasPrefix(ref, "#/components/parameters/") {
					t.Errorf("unexpected $ref %s", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var all any
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	walk(all)
}
