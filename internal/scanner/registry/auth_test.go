package registry_test

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/registrytest"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
)

func smallImage(t *testing.T, content string) registrytest.PlatformImage {
	t.Helper()
	return registrytest.PlatformImage{Platform: "linux/amd64", Image: registrytest.ImageFromFiles(t, map[string][]byte{"f": []byte(content)})}
}

func TestFetchWithEachAuthMode(t *testing.T) {
	modes := []struct {
		name string
		opts []registrytest.Option
	}{
		{"htpasswd", []registrytest.Option{registrytest.WithHtpasswd()}},
		{"token", []registrytest.Option{registrytest.WithToken()}},
		{"htpasswd-tls", []registrytest.Option{registrytest.WithHtpasswd(), registrytest.WithTLS()}},
		{"token-tls", []registrytest.Option{registrytest.WithToken(), registrytest.WithTLS()}},
		{"anonymous-tls", []registrytest.Option{registrytest.WithTLS()}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			reg := registrytest.Start(t, m.opts...)
			reg.Push(t, "team/app:1", smallImage(t, m.name).Image)
			opts := registry.Options{Resolver: insecureResolver(t, reg), RootCAs: reg.CertPool()}
			got, err := registry.Fetch(t.Context(), reg.Ref("team/app:1"), opts)
			if err != nil {
				t.Fatalf("fetch: %v", err)
			}
			if f := readLayer(t, got.Layers()[0]); f["f"] != m.name {
				t.Errorf("layer content %v", f)
			}
			if reg.Auth != registrytest.AuthNone && !strings.Contains(got.Source, `integration "test registry"`) {
				t.Errorf("source %q", got.Source)
			}
			if err := registry.Test(t.Context(), integrationFor(reg), opts); err != nil {
				t.Errorf("Test: %v", err)
			}
			if reg.Auth == registrytest.AuthNone {
				return
			}

			// Wrong password.
			bad := integrationFor(reg)
			bad.Password = "wrong"
			badOpts := opts
			badOpts.Resolver = resolverOf(t, bad)
			_, err = registry.Fetch(t.Context(), reg.Ref("team/app:1"), badOpts)
			want := "registry " + reg.Host + ` rejected the credentials (integration "test registry", user stockade) for ` + reg.Ref("team/app:1")
			if !errors.Is(err, registry.ErrUnauthorized) || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("wrong password: %v\nwant prefix: %s", err, want)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("error quotes the password: %v", err)
			}
			err = registry.Test(t.Context(), bad, opts)
			if !errors.Is(err, registry.ErrUnauthorized) || !strings.Contains(err.Error(), "rejected the credentials") {
				t.Errorf("Test with wrong password: %v", err)
			}

			// No credentials at all.
			anon := integrationFor(reg)
			anon.Username, anon.Password = "", ""
			anonOpts := opts
			anonOpts.Resolver = resolverOf(t, anon)
			_, err = registry.Fetch(t.Context(), reg.Ref("team/app:1"), anonOpts)
			if !errors.Is(err, registry.ErrUnauthorized) || !strings.Contains(err.Error(), "requires credentials for "+reg.Ref("team/app:1")+" and none are configured") {
				t.Errorf("anonymous: %v", err)
			}
		})
	}
}

// resolverOf makes a resolver of the integrations.
func resolverOf(t *testing.T, ins ...registry.Integration) *registry.Resolver {
	t.Helper()
	r, err := registry.NewResolver(ins, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTLSTrust(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithTLS(), registrytest.WithHtpasswd())
	reg.Push(t, "app:1", smallImage(t, "tls").Image)
	in := integrationFor(reg)
	r := resolverOf(t, in)

	_, err := registry.Fetch(t.Context(), reg.Ref("app:1"), registry.Options{Resolver: r})
	if !errors.Is(err, registry.ErrTLS) || !strings.Contains(err.Error(), "registry "+reg.Host+" failed TLS verification") ||
		!strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted CA: %v", err)
	}
	if err := registry.Test(t.Context(), in, registry.Options{}); !errors.Is(err, registry.ErrTLS) {
		t.Errorf("Test with untrusted CA: %v", err)
	}
	if _, err := registry.Fetch(t.Context(), reg.Ref("app:1"), registry.Options{Resolver: r, RootCAs: reg.CertPool()}); err != nil {
		t.Errorf("trusted CA: %v", err)
	}
	in.SkipTLSVerify = true
	if _, err := registry.Fetch(t.Context(), reg.Ref("app:1"), registry.Options{Resolver: resolverOf(t, in)}); err != nil {
		t.Errorf("skip TLS verify: %v", err)
	}
	if err := registry.Test(t.Context(), in, registry.Options{}); err != nil {
		t.Errorf("Test with skip TLS verify: %v", err)
	}
}

func TestPlainHTTPOnlyWhenInsecure(t *testing.T) {
	reg := registrytest.Start(t)
	reg.Push(t, "app:1", smallImage(t, "http").Image)
	in := integrationFor(reg)
	in.Insecure = false
	for name, r := range map[string]*registry.Resolver{"integration": resolverOf(t, in), "anonymous": nil} {
		_, err := registry.Fetch(t.Context(), reg.Ref("app:1"), registry.Options{Resolver: r})
		if !errors.Is(err, registry.ErrTLS) ||
			!strings.Contains(err.Error(), "registry "+reg.Host+" does not serve HTTPS; plain HTTP is used only when the integration is marked insecure") {
			t.Errorf("%s over plain HTTP: %v", name, err)
		}
	}
	if err := registry.Test(t.Context(), in, registry.Options{}); !errors.Is(err, registry.ErrTLS) {
		t.Errorf("Test over plain HTTP: %v", err)
	}
	in.Insecure = true
	if _, err := registry.Fetch(t.Context(), reg.Ref("app:1"), registry.Options{Resolver: resolverOf(t, in)}); err != nil {
		t.Errorf("insecure integration: %v", err)
	}
}

func TestResolverPicksMostSpecificAgainstRegistry(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithToken(), registrytest.WithUser("teamuser", "teampass", "team/"))
	reg.Push(t, "team/app:1", smallImage(t, "team").Image)
	reg.Push(t, "other/app:1", smallImage(t, "other").Image)

	hostWide := registry.Integration{Name: "host-wide", Type: registry.TypeDocker, Endpoint: reg.Host,
		Username: reg.Username, Password: "stale-password", Insecure: true}
	team := registry.Integration{Name: "team", Type: registry.TypeDocker, Endpoint: "http://" + reg.Host + "/team",
		Username: "teamuser", Password: "teampass", Insecure: true}
	for _, order := range [][]registry.Integration{{hostWide, team}, {team, hostWide}} {
		r := resolverOf(t, order...)
		got, err := registry.Fetch(t.Context(), reg.Ref("team/app:1"), registry.Options{Resolver: r})
		if err != nil || got.Source != `integration "team"` {
			t.Fatalf("team repository: %v (source %v)", err, got)
		}
		_, err = registry.Fetch(t.Context(), reg.Ref("other/app:1"), registry.Options{Resolver: r})
		if !errors.Is(err, registry.ErrUnauthorized) || !strings.Contains(err.Error(), `integration "host-wide", user stockade`) {
			t.Fatalf("other repository should use the stale host-wide integration: %v", err)
		}
	}
	// A user the token server keeps out of a repository: 403.
	r := resolverOf(t, registry.Integration{Name: "team-only", Type: registry.TypeDocker, Endpoint: reg.Host,
		Username: "teamuser", Password: "teampass", Insecure: true})
	_, err := registry.Fetch(t.Context(), reg.Ref("other/app:1"), registry.Options{Resolver: r})
	if !errors.Is(err, registry.ErrForbidden) ||
		!strings.HasPrefix(err.Error(), "registry "+reg.Host+" denied access to "+reg.Ref("other/app:1")+` (integration "team-only", user teamuser)`) {
		t.Errorf("forbidden: %v", err)
	}
}

func TestDockerConfigCredentials(t *testing.T) {
	basic := registrytest.Start(t, registrytest.WithHtpasswd())
	token := registrytest.Start(t, registrytest.WithToken())
	basic.Push(t, "app:1", smallImage(t, "basic").Image)
	token.Push(t, "app:1", smallImage(t, "token").Image)

	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(basic.Username + ":" + basic.Password))
	cfg := `{"auths": {
	  "http://` + basic.Host + `": {"auth": "` + auth + `"},
	  "http://` + token.Host + `": {"identitytoken": "` + token.IdentityToken + `"}
	}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	dc, err := registry.LoadDockerConfig()
	if err != nil {
		t.Fatal(err)
	}
	r, err := registry.NewResolver(nil, dc)
	if err != nil {
		t.Fatal(err)
	}
	for content, reg := range map[string]*registrytest.Registry{"basic": basic, "token": token} {
		got, err := registry.Fetch(t.Context(), reg.Ref("app:1"), registry.Options{Resolver: r})
		if err != nil {
			t.Fatalf("%s: %v", reg.Auth, err)
		}
		if !strings.HasPrefix(got.Source, "docker config "+filepath.Join(dir, "config.json")) {
			t.Errorf("source %q", got.Source)
		}
		if f := readLayer(t, got.Layers()[0]); f["f"] != content {
			t.Errorf("%s layer %v", reg.Auth, f)
		}
	}
}

func TestIntegrationTestRepositoryPath(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithToken())
	reg.Push(t, "team/app:1", smallImage(t, "x").Image)
	in := integrationFor(reg)
	in.Endpoint = reg.Host + "/team/app"
	if err := registry.Test(t.Context(), in, registry.Options{}); err != nil {
		t.Errorf("existing repository: %v", err)
	}
	in.Endpoint = reg.Host + "/team/missing"
	err := registry.Test(t.Context(), in, registry.Options{})
	if !errors.Is(err, registry.ErrNotFound) || !strings.Contains(err.Error(), "repository "+reg.Host+"/team/missing not found in registry "+reg.Host) {
		t.Errorf("missing repository: %v", err)
	}
	in.Endpoint = reg.Host
	in.Password = ""
	in.Username = ""
	err = registry.Test(t.Context(), in, registry.Options{})
	if !errors.Is(err, registry.ErrUnauthorized) || !strings.Contains(err.Error(), "requires credentials") {
		t.Errorf("no credentials: %v", err)
	}
	reg.Stop()
	in = integrationFor(reg)
	err = registry.Test(t.Context(), in, registry.Options{})
	if !errors.Is(err, registry.ErrUnreachable) || !strings.HasPrefix(err.Error(), "registry "+reg.Host+" is not reachable: ") {
		t.Errorf("stopped registry: %v", err)
	}
}
