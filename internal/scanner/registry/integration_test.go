package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

const saJSON = `{"type":"service_account","project_id":"p","private_key_id":"k","private_key":"PRIVATE-KEY-MATERIAL","client_email":"scanner@p.iam.gserviceaccount.com"}`

// everySecret is an integration of each type with distinctive secrets.
func everySecret() []Integration {
	return []Integration{
		{Name: "hub", Type: TypeDockerHub, Username: "u", Password: "hub-pass-SECRET"},
		{Name: "quay-robot", Type: TypeQuay, Username: "org+robot", Password: "quay-robot-SECRET"},
		{Name: "quay-oauth", Type: TypeQuay, Password: "quay-oauth-SECRET"},
		{Name: "ghcr", Type: TypeGHCR, Username: "octo", Password: "ghp_SECRET"},
		{Name: "rh", Type: TypeRedHat, Username: "1234|svc", Password: "rh-SECRET"},
		{Name: "ibm", Type: TypeIBM, Endpoint: "us.icr.io", Password: "ibm-api-key-SECRET"},
		{Name: "art", Type: TypeArtifactory, Endpoint: "acme.jfrog.io", Username: "ci", Password: "art-SECRET"},
		{Name: "nexus", Type: TypeNexus, Endpoint: "nexus.example.com:8443", Username: "ci", Password: "nexus-SECRET"},
		{Name: "ecr", Type: TypeECR, ECR: &ECRConfig{Region: "us-east-1", RegistryID: "123456789012",
			AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "aws-SECRET", SessionToken: "aws-session-SECRET"}},
		{Name: "gcr", Type: TypeGCR, Google: &GoogleConfig{ServiceAccountJSON: saJSON}},
		{Name: "gar", Type: TypeArtifactRegistry, Endpoint: "europe-docker.pkg.dev/proj", Google: &GoogleConfig{ServiceAccountJSON: saJSON}},
		{Name: "acr", Type: TypeACR, Endpoint: "acme.azurecr.io", Azure: &AzureConfig{TenantID: "t", ClientID: "app-id", ClientSecret: "azure-SECRET"}},
	}
}

var secretMarkers = []string{"SECRET", "PRIVATE-KEY-MATERIAL"}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, m := range secretMarkers {
		if strings.Contains(s, m) {
			t.Errorf("%s leaks a secret: %s", what, s)
		}
	}
}

func TestSecretsRedacted(t *testing.T) {
	for _, in := range everySecret() {
		if err := in.Validate(); err != nil {
			t.Fatalf("%s: %v", in.Name, err)
		}
		assertNoSecret(t, "String", in.String())
		assertNoSecret(t, "%v", fmt.Sprintf("%v", in))
		assertNoSecret(t, "%+v", fmt.Sprintf("%+v", in))
		assertNoSecret(t, "%#v", fmt.Sprintf("%#v", in))
		js, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		assertNoSecret(t, "JSON", string(js))
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("integration", "integration", in, "password", in.Password)
		assertNoSecret(t, "slog", buf.String())
		if err := Test(t.Context(), Integration{Name: in.Name, Type: in.Type, Endpoint: "http://" + in.Name, Password: in.Password}, Options{}); err != nil {
			assertNoSecret(t, "validation error", err.Error())
		}
	}
	if got := fmt.Sprintf("%v", Secret("x")); got != Redacted {
		t.Errorf("Secret prints %q", got)
	}
	if got := fmt.Sprintf("%v", Secret("")); got != "" {
		t.Errorf("empty Secret prints %q", got)
	}
}

func TestMarshalWithSecretsRoundTrip(t *testing.T) {
	for _, in := range everySecret() {
		in.ID, in.Insecure, in.SkipTLSVerify = "id-"+in.Name, true, true
		js, err := in.MarshalWithSecrets()
		if err != nil {
			t.Fatal(err)
		}
		var back Integration
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatal(err)
		}
		a, _ := in.MarshalWithSecrets()
		b, _ := back.MarshalWithSecrets()
		if !bytes.Equal(a, b) {
			t.Errorf("round trip of %s:\n%s\n%s", in.Name, a, b)
		}
		// What the API shows, sent back, keeps the stored secrets.
		shown, _ := json.Marshal(in)
		var edited Integration
		if err := json.Unmarshal(shown, &edited); err != nil {
			t.Fatal(err)
		}
		edited.KeepSecrets(in)
		c, _ := edited.MarshalWithSecrets()
		if !bytes.Equal(a, c) {
			t.Errorf("KeepSecrets of %s:\n%s\n%s", in.Name, a, c)
		}
	}
}

func TestAuthenticatorPerType(t *testing.T) {
	want := map[string][2]string{
		"hub":        {"u", "hub-pass-SECRET"},
		"quay-robot": {"org+robot", "quay-robot-SECRET"},
		"quay-oauth": {"$oauthtoken", "quay-oauth-SECRET"},
		"ghcr":       {"octo", "ghp_SECRET"},
		"rh":         {"1234|svc", "rh-SECRET"},
		"ibm":        {"iamapikey", "ibm-api-key-SECRET"},
		"art":        {"ci", "art-SECRET"},
		"nexus":      {"ci", "nexus-SECRET"},
		"gcr":        {"_json_key", saJSON},
		"gar":        {"_json_key", saJSON},
		"acr":        {"app-id", "azure-SECRET"},
	}
	for _, in := range everySecret() {
		a := in.authenticator(nil)
		if in.Type == TypeECR {
			if _, ok := a.(*ecrAuth); !ok {
				t.Errorf("ecr authenticator is %T", a)
			}
			continue
		}
		cfg, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if w := want[in.Name]; cfg.Username != w[0] || cfg.Password != w[1] {
			t.Errorf("%s: user %q", in.Name, cfg.Username)
		}
	}
	if a := (Integration{Name: "anon", Type: TypeDocker, Endpoint: "r.example.com"}).authenticator(nil); a != authn.Anonymous {
		t.Errorf("no credentials gave %T", a)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		in   Integration
		want string
	}{
		{Integration{Type: TypeDocker, Endpoint: "r"}, "name: must not be empty"},
		{Integration{Name: "x", Type: "harbor", Endpoint: "r"}, `type: "harbor" is not one of`},
		{Integration{Name: "x", Type: TypeDocker}, "endpoint: must not be empty"},
		{Integration{Name: "x", Type: TypeDocker, Endpoint: "ftp://r"}, "scheme must be https or http"},
		{Integration{Name: "x", Type: TypeDocker, Endpoint: "r:99999"}, `bad port "99999"`},
		{Integration{Name: "x", Type: TypeDocker, Endpoint: "http://r"}, "not marked insecure"},
		{Integration{Name: "x", Type: TypeDocker, Endpoint: "r", Username: "u"}, `password: must be set with username "u"`},
		{Integration{Name: "x", Type: TypeIBM}, "IAM API key is required"},
		{Integration{Name: "x", Type: TypeECR, Endpoint: "r"}, "ecr: region and access key are required"},
		{Integration{Name: "x", Type: TypeECR, Endpoint: "r", ECR: &ECRConfig{AccessKeyID: "a", SecretAccessKey: "s"}}, "ecr.region: required"},
		{Integration{Name: "x", Type: TypeECR, Endpoint: "123456789012.dkr.ecr.eu-west-3.amazonaws.com", ECR: &ECRConfig{AccessKeyID: "a"}}, "ecr.accessKeyId, ecr.secretAccessKey"},
		{Integration{Name: "x", Type: TypeECR, Endpoint: "r", ECR: &ECRConfig{Region: "r", AccessKeyID: "a", SecretAccessKey: "s", RoleARN: "role"}}, "ecr.roleArn"},
		{Integration{Name: "x", Type: TypeGCR}, "google.serviceAccountJson: required"},
		{Integration{Name: "x", Type: TypeGCR, Google: &GoogleConfig{ServiceAccountJSON: "{not json SECRET"}}, "not a JSON key file"},
		{Integration{Name: "x", Type: TypeGCR, Google: &GoogleConfig{ServiceAccountJSON: `{"private_key":"SECRET"}`}}, "no client_email"},
		{Integration{Name: "x", Type: TypeACR, Endpoint: "a.azurecr.io", Azure: &AzureConfig{ClientID: "c"}}, "azure.clientId, azure.clientSecret"},
	}
	for _, tt := range tests {
		err := tt.in.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.in, err, tt.want)
			continue
		}
		assertNoSecret(t, "validation error", err.Error())
		if !strings.Contains(err.Error(), "integration") {
			t.Errorf("error %q does not say which integration", err)
		}
	}
	// Defaults: ECR's host from registry id and region; ECR's region from its host.
	ecr := Integration{Name: "e", Type: TypeECR, ECR: &ECRConfig{Region: "us-west-2", RegistryID: "123456789012", AccessKeyID: "a", SecretAccessKey: "s"}}
	if err := ecr.Validate(); err != nil || ecr.endpointOrDefault() != "123456789012.dkr.ecr.us-west-2.amazonaws.com" {
		t.Errorf("ecr default endpoint %q %v", ecr.endpointOrDefault(), err)
	}
	if r := regionFromECRHost("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com"); r != "us-gov-west-1" {
		t.Errorf("region = %q", r)
	}
	if err := (Integration{Name: "h", Type: TypeDockerHub}).Validate(); err != nil {
		t.Errorf("anonymous Docker Hub: %v", err)
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct{ in, host, hostname, port, path, scheme string }{
		{"registry.example.com", "registry.example.com", "registry.example.com", "", "", ""},
		{"https://Registry.Example.com:5000/Team/", "registry.example.com:5000", "registry.example.com", "5000", "Team", "https"},
		{"docker.io", "index.docker.io", "index.docker.io", "", "", ""},
		{"https://index.docker.io/v1/", "index.docker.io", "index.docker.io", "", "", "https"},
		{"registry-1.docker.io/library", "index.docker.io", "index.docker.io", "", "library", ""},
		{"http://127.0.0.1:5000", "127.0.0.1:5000", "127.0.0.1", "5000", "", "http"},
		{"[::1]:5000/a/b", "[::1]:5000", "::1", "5000", "a/b", ""},
	}
	for _, tt := range tests {
		ep, err := parseEndpoint(tt.in)
		if err != nil {
			t.Errorf("parseEndpoint(%q): %v", tt.in, err)
			continue
		}
		if ep.host != tt.host || ep.hostname != tt.hostname || ep.port != tt.port || ep.path != tt.path || ep.scheme != tt.scheme {
			t.Errorf("parseEndpoint(%q) = %+v", tt.in, ep)
		}
	}
	for _, bad := range []string{"", "   ", "a b", "host:", "host:x", "user@host", "host/p?q"} {
		if _, err := parseEndpoint(bad); err == nil {
			t.Errorf("parseEndpoint(%q) accepted", bad)
		}
	}
}
