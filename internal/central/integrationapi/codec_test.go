package integrationapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/central/secret"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
)

// full is an integration with every optional part present and every secret
// set to a distinct value.
func full() registry.Integration {
	return registry.Integration{
		ID: "id-1", Name: "everything", Type: registry.TypeECR, Endpoint: "123.dkr.ecr.eu-west-1.amazonaws.com",
		Username: "user", Password: "secret-password",
		ECR:    &registry.ECRConfig{Region: "eu-west-1", AccessKeyID: "AKIA", SecretAccessKey: "secret-aws-key", SessionToken: "secret-session"},
		Google: &registry.GoogleConfig{ServiceAccountJSON: `{"secret":"gcp-key-material"}`},
		Azure:  &registry.AzureConfig{ClientID: "client", ClientSecret: "secret-azure"},
	}
}

// secretPaths finds every registry.Secret in the type by reflection, as
// JSON paths.
func secretPaths(typ reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft == reflect.TypeFor[registry.Secret]():
			out = append(out, prefix+name)
		case ft.Kind() == reflect.Struct:
			out = append(out, secretPaths(ft, prefix+name+".")...)
		}
	}
	return out
}

func TestSecretFieldsCoverTheType(t *testing.T) {
	in := full()
	var listed []string
	for _, f := range secretFields(&in) {
		listed = append(listed, f.path)
	}
	sort.Strings(listed)
	want := secretPaths(reflect.TypeFor[registry.Integration](), "")
	sort.Strings(want)
	if !slices.Equal(listed, want) {
		t.Fatalf("secretFields lists %v; the type has secrets %v", listed, want)
	}
}

func TestSealOpenMask(t *testing.T) {
	box, _, err := secret.Load(filepath.Join(t.TempDir(), secret.KeyFile), true)
	if err != nil {
		t.Fatal(err)
	}
	in := full()
	rec, err := seal(box, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"secret-password", "secret-aws-key", "secret-session", "gcp-key-material", "secret-azure"} {
		if bytes.Contains(rec.JSON, []byte(s)) {
			t.Errorf("sealed document shows %q: %s", s, rec.JSON)
		}
	}
	if n := bytes.Count(rec.JSON, []byte(`"`+secret.Prefix)); n != 5 {
		t.Errorf("%d ciphertexts in the document, want 5: %s", n, rec.JSON)
	}
	if in.Password != "secret-password" || in.ECR.SecretAccessKey != "secret-aws-key" {
		t.Error("seal changed its argument")
	}
	got, err := open(box, rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("open(seal(x)) = %#v, want %#v", got, in)
	}

	// A ciphertext moved to another field does not open.
	var doc map[string]any
	if err := json.Unmarshal(rec.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	doc["password"] = doc["azure"].(map[string]any)["clientSecret"]
	rec.JSON, _ = json.Marshal(doc)
	if _, err := open(box, rec); err == nil || !strings.Contains(err.Error(), "password") || strings.Contains(err.Error(), "secret-azure") {
		t.Errorf("swapped ciphertext: %v", err)
	}

	masked := mask(in)
	out := fmt.Sprintf("%v %+v %#v", masked, masked, masked)
	data, _ := json.Marshal(view(masked, rec))
	for _, s := range []string{"secret-password", "secret-aws-key", "secret-session", "gcp-key-material", "secret-azure"} {
		if strings.Contains(out, s) || bytes.Contains(data, []byte(s)) {
			t.Errorf("masked integration shows %q", s)
		}
	}
	if masked.Password != registry.Redacted || masked.Azure.ClientSecret != registry.Redacted || in.Azure.ClientSecret != "secret-azure" {
		t.Errorf("mask = %+v (original %+v)", masked, in)
	}
}
