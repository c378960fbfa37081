package registry

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func repo(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolverMostSpecific(t *testing.T) {
	r, err := NewResolver([]Integration{
		{Name: "host", Type: TypeDocker, Endpoint: "reg.example.com", Username: "h", Password: "p"},
		{Name: "host-port", Type: TypeDocker, Endpoint: "reg.example.com:5000", Username: "hp", Password: "p"},
		{Name: "team", Type: TypeDocker, Endpoint: "https://reg.example.com/team", Username: "t", Password: "p"},
		{Name: "team-app", Type: TypeDocker, Endpoint: "reg.example.com/team/app", Username: "ta", Password: "p"},
		{Name: "port-team", Type: TypeDocker, Endpoint: "reg.example.com:5000/team", Username: "pt", Password: "p", Insecure: true},
		{Name: "hub", Type: TypeDockerHub, Username: "d", Password: "p"},
		{Name: "hub-library", Type: TypeDockerHub, Endpoint: "docker.io/library", Username: "dl", Password: "p"},
		{Name: "second-host", Type: TypeDocker, Endpoint: "reg.example.com", Username: "h2", Password: "p"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ repo, want string }{
		{"reg.example.com/other/app", "host"}, // first of two equal matches
		{"reg.example.com/team/app", "team-app"},
		{"reg.example.com/team/app2", "team"}, // a prefix ends at a "/"
		{"reg.example.com/team/app/sub", "team-app"},
		{"reg.example.com/teamx/app", "host"},
		{"reg.example.com:5000/other", "host-port"},
		{"reg.example.com:5000/team/app", "port-team"}, // port and path beat either alone
		{"reg.example.com:6000/team/x", "team"},        // no port in the endpoint matches any port
		{"REG.example.com/other/app", "host"},
		{"nginx", "hub-library"},
		{"index.docker.io/bitnami/redis", "hub"},
		{"docker.io/bitnami/redis", "hub"},
	}
	for _, tt := range tests {
		a := r.Access(repo(t, tt.repo))
		if a.Integration == nil || a.Integration.Name != tt.want {
			t.Errorf("%s: got %s, want integration %q", tt.repo, a.Source, tt.want)
		}
	}
	if a := r.Access(repo(t, "other.example.com/x")); a.Source != "anonymous" || !a.Anonymous() {
		t.Errorf("unmatched host: %+v", a)
	}
	if a := r.Access(repo(t, "reg.example.com:5000/team/app")); !a.Insecure {
		t.Error("insecure flag of the integration not carried")
	}
	// As a keychain.
	auth, err := r.Resolve(repo(t, "reg.example.com/team/app"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _ := auth.Authorization(); cfg.Username != "ta" {
		t.Errorf("keychain user %q", cfg.Username)
	}
	auth, _ = r.Resolve(name.MustParseReference("reg.example.com:5000/x").Context().Registry)
	if cfg, _ := auth.Authorization(); cfg.Username != "hp" {
		t.Errorf("keychain for a registry: user %q", cfg.Username)
	}
	var nilResolver *Resolver
	if a := nilResolver.Access(repo(t, "reg.example.com/x")); !a.Anonymous() {
		t.Error("nil resolver is not anonymous")
	}
	if _, err := NewResolver([]Integration{{Name: "bad", Type: TypeDocker}}, nil); err == nil {
		t.Error("invalid integration accepted")
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestDockerConfig(t *testing.T) {
	cfgJSON := `{
	  "auths": {
	    "https://index.docker.io/v1/": {"auth": "` + b64("hubuser:hubpass") + `"},
	    "reg.example.com": {"auth": "` + b64("alice:a:b:c") + `"},
	    "reg.example.com/team": {"username": "bob", "password": "bobpass"},
	    "http://plain.example.com:5000": {"auth": "` + b64("p:q") + `"},
	    "tok.example.com": {"identitytoken": "refresh-123"},
	    "helper.example.com": {}
	  },
	  "credsStore": "desktop"
	}`
	dc, err := ParseDockerConfig([]byte(cfgJSON), "/home/u/.docker/config.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(dc.Hosts(), " "); got != "http://plain.example.com:5000 https://index.docker.io/v1/ reg.example.com reg.example.com/team tok.example.com" {
		t.Errorf("hosts = %s", got)
	}
	r, err := NewResolver([]Integration{
		{Name: "wins", Type: TypeDocker, Endpoint: "reg.example.com/prod", Username: "int", Password: "p"},
	}, dc)
	if err != nil {
		t.Fatal(err)
	}
	check := func(ref, wantUser, wantSourcePart string, wantIdentity string) {
		t.Helper()
		a := r.Access(repo(t, ref))
		cfg, err := authn.Authorization(t.Context(), a.Auth)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Username != wantUser || cfg.IdentityToken != wantIdentity || !strings.Contains(a.Source, wantSourcePart) {
			t.Errorf("%s: user %q identity %q from %s", ref, cfg.Username, cfg.IdentityToken, a.Source)
		}
	}
	check("nginx", "hubuser", `config.json ("https://index.docker.io/v1/")`, "")
	check("reg.example.com/x/y", "alice", `("reg.example.com")`, "")
	check("reg.example.com/team/y", "bob", `("reg.example.com/team")`, "")
	check("reg.example.com/prod/y", "int", `integration "wins"`, "")
	check("tok.example.com/x", "", "tok.example.com", "refresh-123")
	check("helper.example.com/x", "", "anonymous", "")
	a := r.Access(repo(t, "plain.example.com:5000/x"))
	if !a.Insecure || a.Username != "p" {
		t.Errorf("http:// key: %+v", a)
	}
	if a := r.Access(repo(t, "reg.example.com/x")); a.Insecure {
		t.Error("plain host key made insecure")
	}
	if cfg, _ := authn.Authorization(t.Context(), r.Access(repo(t, "reg.example.com/x")).Auth); cfg.Password != "a:b:c" {
		t.Errorf("password with colons = %q", cfg.Password)
	}

	for _, bad := range []struct{ json, want string }{
		{`{"auths": {"r": {"auth": "!!!SECRET"}}}`, `auths["r"].auth: not base64`},
		{`{"auths": {"r": {"auth": "` + b64("nocolonSECRET") + `"}}}`, `auths["r"].auth: not user:password`},
		{`{"auths": [1]}`, "field auths: expected"},
		{`{"auths": {"r": {"auth": "SECRET"`, "invalid JSON at byte"},
		{`{"auths": {"ftp://r": {"auth": ""}}}`, `auths["ftp://r"]`},
	} {
		_, err := ParseDockerConfig([]byte(bad.json), "/x/config.json")
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "/x/config.json") {
			t.Errorf("ParseDockerConfig(%s) = %v, want %q", bad.json, err, bad.want)
			continue
		}
		assertNoSecret(t, "docker config error", err.Error())
	}
}

func TestLoadDockerConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", "")
	dc, err := LoadDockerConfig()
	if err != nil || len(dc.Hosts()) != 0 || dc.Path != "" {
		t.Fatalf("no file: %+v %v", dc, err)
	}
	write := func(dir, content string) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "config.json")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	homeCfg := write(filepath.Join(home, ".docker"), `{"auths":{"home.example.com":{"auth":"`+b64("h:p")+`"}}}`)
	dc, err = LoadDockerConfig()
	if err != nil || dc.Path != homeCfg || dc.Hosts()[0] != "home.example.com" {
		t.Fatalf("home config: %+v %v", dc, err)
	}
	envDir := filepath.Join(t.TempDir(), "dc")
	envCfg := write(envDir, `{"auths":{"env.example.com":{"auth":"`+b64("e:p")+`"}}}`)
	t.Setenv("DOCKER_CONFIG", envDir)
	dc, err = LoadDockerConfig()
	if err != nil || dc.Path != envCfg || dc.Hosts()[0] != "env.example.com" {
		t.Fatalf("DOCKER_CONFIG: %+v %v", dc, err)
	}
	write(envDir, `{"auths":`)
	if _, err := LoadDockerConfig(); err == nil || !strings.Contains(err.Error(), envCfg) {
		t.Fatalf("broken file: %v", err)
	}
	big := make([]byte, maxDockerConfig+10)
	for i := range big {
		big[i] = ' '
	}
	write(envDir, string(big))
	if _, err := LoadDockerConfig(); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("huge file: %v", err)
	}
}
