package registry_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/registrytest"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
)

// writeHelper installs a real docker-credential-NAME program on PATH that
// answers like the docker credential helpers do: the credentials for
// server, "credentials not found" for any other.
func writeHelper(t *testing.T, name, server, user, secret string) {
	t.Helper()
	dir := t.TempDir()
	script := `#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
if [ "$server" = "` + server + `" ]; then
  printf '{"ServerURL":"%s","Username":"` + user + `","Secret":"` + secret + `"}' "$server"
else
  echo "credentials not found in native keychain"
  exit 1
fi
`
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-"+name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestDockerCredentialHelpers(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithTLS(), registrytest.WithHtpasswd())
	reg.Push(t, "app:1", smallImage(t, "helper").Image)
	writeHelper(t, "stockadetest", reg.Host, reg.Username, reg.Password)

	for name, cfg := range map[string]string{
		"credHelpers": `{"credHelpers": {"` + reg.Host + `": "stockadetest"}}`,
		"credsStore":  `{"credsStore": "stockadetest", "auths": {"` + reg.Host + `": {}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dc, err := registry.ParseDockerConfig([]byte(cfg), "config.json")
			if err != nil {
				t.Fatal(err)
			}
			r, err := registry.NewResolver(nil, dc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := registry.Fetch(t.Context(), reg.Ref("app:1"), registry.Options{Resolver: r, RootCAs: reg.CertPool()})
			if err != nil {
				t.Fatalf("fetch with the helper's credentials: %v", err)
			}
			if !strings.Contains(got.Source, `docker credential helper "stockadetest"`) {
				t.Errorf("source %q", got.Source)
			}
		})
	}

	// A helper without credentials for the registry means anonymous access,
	// which this registry refuses with a clear error.
	writeHelper(t, "empty", "elsewhere.example.com", "x", "y")
	dc, err := registry.ParseDockerConfig([]byte(`{"credsStore": "empty"}`), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := registry.NewResolver(nil, dc)
	if _, err := registry.Fetch(t.Context(), reg.Ref("app:1"), registry.Options{Resolver: r, RootCAs: reg.CertPool()}); err == nil {
		t.Fatal("fetch without credentials succeeded")
	}

	// A helper that is not installed leaves the "auths" of config.json in
	// charge, as a config copied from a desktop to a CI runner needs.
	auth := base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + reg.Password))
	dc, err = registry.ParseDockerConfig([]byte(`{"credsStore": "not-installed-here", "auths": {"`+reg.Host+`": {"auth": "`+auth+`"}}}`), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	r, _ = registry.NewResolver(nil, dc)
	if _, err := registry.Fetch(t.Context(), reg.Ref("app:1"), registry.Options{Resolver: r, RootCAs: reg.CertPool()}); err != nil {
		t.Fatalf("missing helper with auths: %v", err)
	}

	if _, err := registry.ParseDockerConfig([]byte(`{"credsStore": "../../bin/sh"}`), "config.json"); err == nil {
		t.Fatal("a helper name with a path was accepted")
	}
}
