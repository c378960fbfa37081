package registry

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// DockerConfig is the credentials part of a docker CLI config.json: the
// "auths" map, keyed by registry ("https://index.docker.io/v1/",
// "registry.example.com:5000", or with a repository path as podman
// allows), each with a base64 "auth" of user:password, separate
// "username"/"password", an "identitytoken" (OAuth2 refresh token) or a
// "registrytoken" (bearer token) — and the credential helpers named in
// "credHelpers" (per registry) and "credsStore" (all others), which win
// over "auths" as they do for the docker CLI, when the helper is installed.
type DockerConfig struct {
	// Path is the file it was read from ("" when there was none).
	Path        string
	entries     []dockerEntry
	credsStore  string
	credHelpers map[string]string
}

type dockerEntry struct {
	key  string // as written in the file, for messages
	ep   endpoint
	auth authn.AuthConfig
}

// maxDockerConfig bounds the size of a config.json read.
const maxDockerConfig = 4 << 20

// LoadDockerConfig reads $DOCKER_CONFIG/config.json, or
// ~/.docker/config.json without DOCKER_CONFIG. A missing file is an empty
// config, not an error.
func LoadDockerConfig() (*DockerConfig, error) {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return &DockerConfig{}, nil //nolint:nilerr // no home directory means no docker config, as for the docker CLI
		}
		dir = filepath.Join(home, ".docker")
	}
	cfg, err := ReadDockerConfig(filepath.Join(dir, "config.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return &DockerConfig{}, nil
	}
	return cfg, err
}

// ReadDockerConfig reads a docker config.json file.
func ReadDockerConfig(path string) (*DockerConfig, error) {
	f, err := os.Open(path) //nolint:gosec // G703: reading the config file the caller names is the point
	if err != nil {
		return nil, fmt.Errorf("read docker config: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxDockerConfig+1))
	if err != nil {
		return nil, fmt.Errorf("read docker config %s: %w", path, err)
	}
	if len(data) > maxDockerConfig {
		return nil, fmt.Errorf("read docker config %s: larger than %d bytes", path, maxDockerConfig)
	}
	return ParseDockerConfig(data, path)
}

// ParseDockerConfig parses the content of a config.json; path names it in
// errors. Error messages never quote credentials.
func ParseDockerConfig(data []byte, path string) (*DockerConfig, error) {
	var file struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			Username      string `json:"username"`
			Password      string `json:"password"`
			IdentityToken string `json:"identitytoken"`
			RegistryToken string `json:"registrytoken"`
		} `json:"auths"`
		CredsStore  string            `json:"credsStore"`
		CredHelpers map[string]string `json:"credHelpers"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("parse docker config %s: invalid JSON at byte %d", path, se.Offset)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("parse docker config %s: field %s: expected %s", path, te.Field, te.Type)
		}
		return nil, fmt.Errorf("parse docker config %s: invalid JSON", path)
	}
	cfg := &DockerConfig{Path: path, credsStore: file.CredsStore, credHelpers: map[string]string{}}
	for host, helper := range file.CredHelpers {
		if !validHelperName(helper) {
			return nil, fmt.Errorf("parse docker config %s: credHelpers[%q]: invalid helper name %q", path, host, helper)
		}
		cfg.credHelpers[host] = helper
	}
	if cfg.credsStore != "" && !validHelperName(cfg.credsStore) {
		return nil, fmt.Errorf("parse docker config %s: credsStore: invalid helper name %q", path, cfg.credsStore)
	}
	keys := make([]string, 0, len(file.Auths))
	for k := range file.Auths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		a := file.Auths[key]
		ep, err := parseEndpoint(key)
		if err != nil {
			return nil, fmt.Errorf("parse docker config %s: auths[%q]: %w", path, key, err)
		}
		ac := authn.AuthConfig{
			Username: a.Username, Password: a.Password,
			IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken,
		}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(a.Auth))
			if err != nil {
				return nil, fmt.Errorf("parse docker config %s: auths[%q].auth: not base64", path, key)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("parse docker config %s: auths[%q].auth: not user:password", path, key)
			}
			ac.Username, ac.Password = user, pass
		}
		if ac == (authn.AuthConfig{}) {
			continue // an entry a credential helper fills; nothing to use here
		}
		cfg.entries = append(cfg.entries, dockerEntry{key: key, ep: ep, auth: ac})
	}
	return cfg, nil
}

// validHelperName accepts the names helpers have (osxkeychain, pass,
// ecr-login, gcloud): no path separators, nothing a shell would read.
func validHelperName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !helperNameRune(r) {
			return false
		}
	}
	return true
}

func helperNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}

// Hosts lists the registries the config has credentials for, as written.
func (c *DockerConfig) Hosts() []string {
	if c == nil {
		return nil
	}
	out := make([]string, len(c.entries))
	for i, e := range c.entries {
		out[i] = e.key
	}
	return out
}
