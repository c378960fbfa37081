package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Docker credential helpers (https://github.com/docker/docker-credential-helpers):
// config.json names them in "credsStore" (for every registry) and
// "credHelpers" (per registry, winning over credsStore). A helper is the
// program docker-credential-NAME on PATH; `get` reads the server URL on
// stdin and prints {"ServerURL","Username","Secret"}, a Username of
// "<token>" meaning Secret is an identity token.

const (
	helperTimeout   = 30 * time.Second
	maxHelperOutput = 64 << 10
	dockerHubServer = "https://index.docker.io/v1/"
)

// helperFor returns the credential helper config.json names for a
// registry ("" for none).
func (c *DockerConfig) helperFor(registry string) string {
	if c == nil {
		return ""
	}
	if h, ok := c.credHelpers[registry]; ok {
		return h
	}
	if registry == "index.docker.io" || registry == "docker.io" {
		for _, k := range []string{"index.docker.io", "docker.io", dockerHubServer} {
			if h, ok := c.credHelpers[k]; ok {
				return h
			}
		}
	}
	return c.credsStore
}

func helperInstalled(helper string) bool {
	_, err := exec.LookPath("docker-credential-" + helper)
	return err == nil
}

// helperAuth asks a credential helper for the credentials of one registry,
// when go-containerregistry first needs them.
type helperAuth struct {
	helper, server string
}

func serverURL(registry string) string {
	if registry == "index.docker.io" || registry == "docker.io" {
		return dockerHubServer
	}
	return registry
}

// Authorization implements authn.Authenticator.
func (h *helperAuth) Authorization() (*authn.AuthConfig, error) {
	return h.AuthorizationContext(context.Background())
}

// AuthorizationContext runs the helper. A helper that has no credentials
// for the registry means anonymous access, as for the docker CLI.
func (h *helperAuth) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	ctx, cancel := context.WithTimeout(ctx, helperTimeout)
	defer cancel()
	prog := "docker-credential-" + h.helper
	path, err := exec.LookPath(prog)
	if err != nil {
		return nil, fmt.Errorf("credential helper %s named in docker config.json: %w", prog, err)
	}
	cmd := exec.CommandContext(ctx, path, "get") //nolint:gosec // the helper the user's config.json names, as the docker CLI runs it
	cmd.Stdin = strings.NewReader(h.server)
	var out, errOut limitedBuffer
	out.max, errOut.max = maxHelperOutput, 4<<10
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String() + " " + errOut.String())
		if strings.Contains(strings.ToLower(msg), "credentials not found") {
			return &authn.AuthConfig{}, nil
		}
		return nil, fmt.Errorf("credential helper %s for %s: %w: %s", prog, h.server, err, firstLine(msg))
	}
	var creds struct {
		Username string `json:"Username"`
		Secret   string `json:"Secret"`
	}
	if err := json.Unmarshal(out.Bytes(), &creds); err != nil {
		return nil, fmt.Errorf("credential helper %s for %s: unreadable answer: %w", prog, h.server, err)
	}
	if creds.Username == "<token>" {
		return &authn.AuthConfig{IdentityToken: creds.Secret}, nil
	}
	return &authn.AuthConfig{Username: creds.Username, Password: creds.Secret}, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// limitedBuffer keeps at most max bytes; a helper's answer is small.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

var errHelperOutput = errors.New("credential helper output too large")

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errHelperOutput
	}
	return b.Buffer.Write(p)
}
