package registry

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Resolver picks the credentials for an image: the integration whose
// endpoint matches the image's registry most specifically, else an entry of
// the docker config.json (for the CLI), else anonymous.
//
// An endpoint matches when its host name equals the image's registry host
// name (Docker Hub's names are one), its port (if it has one) equals the
// registry's, and its path (if it has one) is a prefix of the repository at
// a "/" boundary. Among matches, one naming the port beats one that does
// not, then the longer path wins, then the earlier integration.
//
// A Resolver is safe for concurrent use; it keeps each ECR integration's
// token until it nears expiry.
type Resolver struct {
	integrations []resolverEntry
	docker       *DockerConfig
}

type resolverEntry struct {
	in   Integration
	ep   endpoint
	auth authn.Authenticator
}

// awsClientTimeout bounds one AWS API call of an ECR login.
const awsClientTimeout = 30 * time.Second

// NewResolver validates the integrations and builds their authenticators.
// docker may be nil.
func NewResolver(integrations []Integration, docker *DockerConfig) (*Resolver, error) {
	r := &Resolver{docker: docker}
	awsClient := &http.Client{Timeout: awsClientTimeout}
	for _, in := range integrations {
		if err := in.Validate(); err != nil {
			return nil, err
		}
		ep, err := parseEndpoint(in.endpointOrDefault())
		if err != nil {
			return nil, fmt.Errorf("integration %q: endpoint: %w", in.Name, err)
		}
		r.integrations = append(r.integrations, resolverEntry{in: in, ep: ep, auth: in.authenticator(awsClient)})
	}
	return r, nil
}

// Access is how to reach one repository.
type Access struct {
	// Source says where the credentials came from: `integration "ci"`,
	// `docker config /root/.docker/config.json ("ghcr.io")`, or "anonymous".
	Source string
	// Integration is the matching integration (nil for docker config and
	// anonymous access).
	Integration *Integration
	Auth        authn.Authenticator
	// Username is the registry user, for messages ("" when anonymous or
	// token-based).
	Username      string
	Insecure      bool
	SkipTLSVerify bool
}

// Anonymous reports whether Access carries no credentials.
func (a Access) Anonymous() bool { return a.Auth == nil || a.Auth == authn.Anonymous }

// who names the credentials in error messages, never their secret part.
func (a Access) who() string {
	if a.Username != "" {
		return a.Source + ", user " + a.Username
	}
	return a.Source
}

// Access returns the credentials and transport settings for repo. A nil
// Resolver gives anonymous access.
func (r *Resolver) Access(repo name.Repository) Access {
	return r.access(repo.RegistryStr(), repo.RepositoryStr())
}

func (r *Resolver) access(registry, path string) Access {
	anon := Access{Source: "anonymous", Auth: authn.Anonymous}
	if r == nil {
		return anon
	}
	hostname, port := splitRegistry(registry)
	best, bestScore := -1, -1
	for i, e := range r.integrations {
		if s, ok := matchScore(e.ep, hostname, port, path); ok && s > bestScore {
			best, bestScore = i, s
		}
	}
	if best >= 0 {
		e := r.integrations[best]
		in := e.in
		return Access{
			Source:        fmt.Sprintf("integration %q", in.Name),
			Integration:   &in,
			Auth:          e.auth,
			Username:      in.username(),
			Insecure:      in.Insecure,
			SkipTLSVerify: in.SkipTLSVerify,
		}
	}
	// A credential helper config.json names wins over its "auths", as for
	// the docker CLI — when it is installed: a config copied from a desktop
	// (credsStore "desktop", "osxkeychain") to a CI runner keeps working
	// with the "auths" it carries.
	if helper := r.docker.helperFor(registry); helper != "" && helperInstalled(helper) {
		return Access{
			Source: fmt.Sprintf("docker credential helper %q (%s)", helper, r.docker.Path),
			Auth:   &helperAuth{helper: helper, server: serverURL(registry)},
		}
	}
	if r.docker != nil {
		bestScore = -1
		var pick *dockerEntry
		for i := range r.docker.entries {
			e := &r.docker.entries[i]
			if s, ok := matchScore(e.ep, hostname, port, path); ok && s > bestScore {
				pick, bestScore = e, s
			}
		}
		if pick != nil {
			return Access{
				Source:   fmt.Sprintf("docker config %s (%q)", r.docker.Path, pick.key),
				Auth:     authn.FromConfig(pick.auth),
				Username: pick.auth.Username,
				// docker's rule: plain HTTP only where the user said so,
				// which config.json does with an http:// key.
				Insecure: pick.ep.scheme == "http",
			}
		}
	}
	return anon
}

// Resolve implements authn.Keychain, so the Resolver can be handed to
// go-containerregistry directly. The resource is a repository
// ("host/team/app") or a registry ("host").
func (r *Resolver) Resolve(res authn.Resource) (authn.Authenticator, error) {
	if repo, err := name.NewRepository(res.String()); err == nil {
		return r.Access(repo).Auth, nil
	}
	return r.access(res.RegistryStr(), "").Auth, nil
}

// splitRegistry splits go-containerregistry's registry string into its
// canonical lower-case host name and its port.
func splitRegistry(reg string) (hostname, port string) {
	hostname = canonicalHost(reg)
	if h, p, err := net.SplitHostPort(hostname); err == nil {
		hostname, port = h, p
	}
	return hostname, port
}

// matchScore says whether ep covers the repository path on hostname:port,
// and how specifically (higher wins).
func matchScore(ep endpoint, hostname, port, path string) (int, bool) {
	if ep.hostname != hostname {
		return 0, false
	}
	score := 0
	if ep.port != "" {
		if ep.port != port {
			return 0, false
		}
		score += 1000
	}
	if ep.path != "" {
		if path != ep.path && !strings.HasPrefix(path, ep.path+"/") {
			return 0, false
		}
		score += strings.Count(ep.path, "/") + 1
	}
	return score, true
}
