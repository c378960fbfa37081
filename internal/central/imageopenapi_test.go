package central

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/central/detectapi"
	"github.com/stockade-dev/stockade/internal/central/imageapi"
	"github.com/stockade-dev/stockade/internal/central/integrationapi"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

// flatJSONFields lists the JSON names of a struct's fields, with the fields
// of embedded structs promoted as encoding/json promotes them.
func flatJSONFields(typ reflect.Type) []string {
	var out []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, flatJSONFields(f.Type)...)
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

// TestOpenAPIImageSchemasMatchTypes keeps the image, integration and
// vulnerability database schemas in step with the Go types the API encodes.
func TestOpenAPIImageSchemasMatchTypes(t *testing.T) {
	c := start(t, t.TempDir())
	doc, _ := servedOpenAPI(t, c)
	for schema, typ := range map[string]reflect.Type{
		"ScanImage":          reflect.TypeFor[scan.Image](),
		"Component":          reflect.TypeFor[scan.Component](),
		"Vuln":               reflect.TypeFor[scan.Vuln](),
		"ImageSummary":       reflect.TypeFor[imageapi.Summary](),
		"ScanImageRequest":   reflect.TypeFor[imageapi.ScanRequest](),
		"BuildRequest":       reflect.TypeFor[detectapi.BuildRequest](),
		"ImageIntegration":   reflect.TypeFor[integrationapi.ImageIntegration](),
		"VulnDBImportResult": reflect.TypeFor[vulndb.ImportResult](),
		"VulnDBStatus":       reflect.TypeFor[vulndb.Status](),
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
		if want := flatJSONFields(typ); !slices.Equal(documented, want) {
			t.Errorf("schema %s has properties %v, the type %s has %v", schema, documented, typ, want)
		}
	}
}
