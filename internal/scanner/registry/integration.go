package registry

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Type is the kind of registry an integration talks to; it decides how the
// credentials become registry auth.
type Type string

// Integration types.
const (
	TypeDocker           Type = "docker"           // any Docker Registry HTTP API v2
	TypeDockerHub        Type = "dockerhub"        // Docker Hub: user + password or access token
	TypeQuay             Type = "quay"             // Quay: robot account, or an OAuth access token
	TypeGHCR             Type = "ghcr"             // GitHub: user + personal access token
	TypeRedHat           Type = "redhat"           // registry.redhat.io: service account user + token
	TypeIBM              Type = "ibm"              // IBM Cloud: IAM API key
	TypeArtifactory      Type = "artifactory"      // JFrog Artifactory: user + password or API key
	TypeNexus            Type = "nexus"            // Sonatype Nexus: user + password
	TypeECR              Type = "ecr"              // Amazon ECR: access key (and role) → token
	TypeGCR              Type = "gcr"              // Google Container Registry: service-account JSON
	TypeArtifactRegistry Type = "artifactregistry" // Google Artifact Registry: service-account JSON
	TypeACR              Type = "acr"              // Azure: service principal, or admin user
)

// Types lists every integration type, in the order a UI offers them.
func Types() []Type {
	return []Type{TypeDocker, TypeDockerHub, TypeQuay, TypeGHCR, TypeRedHat, TypeIBM, TypeArtifactory,
		TypeNexus, TypeECR, TypeGCR, TypeArtifactRegistry, TypeACR}
}

// defaultEndpoint is the registry a type means when no endpoint is given.
func (t Type) defaultEndpoint() string {
	switch t {
	case TypeDockerHub:
		return "docker.io"
	case TypeQuay:
		return "quay.io"
	case TypeGHCR:
		return "ghcr.io"
	case TypeRedHat:
		return "registry.redhat.io"
	case TypeIBM:
		return "icr.io"
	case TypeGCR:
		return "gcr.io"
	}
	return ""
}

// Secret is a credential. It prints, logs and marshals as Redacted, so an
// integration can be logged or returned by the API without leaking it;
// Reveal gives the value to the code that authenticates.
type Secret string

// Redacted is what a non-empty Secret shows instead of its value. An API
// update that sends Redacted back means "keep the stored secret" (see
// KeepSecrets).
const Redacted = "******"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes Redacted for a non-empty secret. Use
// Integration.MarshalWithSecrets for storage.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Integration is a stored image integration: where a registry is and how to
// log in to it. Secrets are Secret values, redacted whenever the integration
// is printed, logged or marshaled.
type Integration struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type Type   `json:"type"`
	// Endpoint is the registry host, with an optional port and repository
	// path prefix: "registry.example.com:5000/team". It may start with
	// https:// (or http:// when Insecure). Empty means the type's default
	// registry (docker.io for dockerhub, quay.io, ghcr.io, …).
	Endpoint string `json:"endpoint"`
	Username string `json:"username,omitempty"`
	Password Secret `json:"password,omitempty"`
	// Insecure allows plain HTTP to the registry; SkipTLSVerify accepts any
	// certificate.
	Insecure      bool `json:"insecure,omitempty"`
	SkipTLSVerify bool `json:"skipTLSVerify,omitempty"`

	ECR    *ECRConfig    `json:"ecr,omitempty"`
	Google *GoogleConfig `json:"google,omitempty"`
	Azure  *AzureConfig  `json:"azure,omitempty"`
}

// ECRConfig is how an ECR integration gets its registry token: with an
// access key, optionally assuming a role first.
type ECRConfig struct {
	Region          string `json:"region"`
	RegistryID      string `json:"registryId,omitempty"` // the account id; with Region it names the registry host
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey Secret `json:"secretAccessKey"`
	SessionToken    Secret `json:"sessionToken,omitempty"`
	RoleARN         string `json:"roleArn,omitempty"`
	// APIEndpoint and STSEndpoint replace the regional AWS endpoints
	// (VPC endpoints, FIPS, tests): "https://api.ecr.us-east-1.amazonaws.com".
	APIEndpoint string `json:"apiEndpoint,omitempty"`
	STSEndpoint string `json:"stsEndpoint,omitempty"`
}

// GoogleConfig holds a service account key for GCR and Artifact Registry.
type GoogleConfig struct {
	ServiceAccountJSON Secret `json:"serviceAccountJson"`
}

// AzureConfig holds an ACR service principal.
type AzureConfig struct {
	TenantID     string `json:"tenantId,omitempty"`
	ClientID     string `json:"clientId"`
	ClientSecret Secret `json:"clientSecret"`
}

func (in Integration) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s integration %q", in.Type, in.Name)
	if in.ID != "" {
		fmt.Fprintf(&b, " (%s)", in.ID)
	}
	fmt.Fprintf(&b, " for %s", in.endpointOrDefault())
	if u := in.username(); u != "" {
		fmt.Fprintf(&b, " as %s", u)
	}
	return b.String()
}

// LogValue logs the integration without its secrets.
func (in Integration) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", in.ID), slog.String("name", in.Name), slog.String("type", string(in.Type)),
		slog.String("endpoint", in.endpointOrDefault()), slog.String("username", in.username()),
	)
}

// plainIntegration has the fields of Integration with secrets as plain
// strings, for MarshalWithSecrets.
type plainIntegration struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	Type          Type         `json:"type"`
	Endpoint      string       `json:"endpoint"`
	Username      string       `json:"username,omitempty"`
	Password      string       `json:"password,omitempty"`
	Insecure      bool         `json:"insecure,omitempty"`
	SkipTLSVerify bool         `json:"skipTLSVerify,omitempty"`
	ECR           *plainECR    `json:"ecr,omitempty"`
	Google        *plainGoogle `json:"google,omitempty"`
	Azure         *plainAzure  `json:"azure,omitempty"`
}

type plainECR struct {
	Region          string `json:"region"`
	RegistryID      string `json:"registryId,omitempty"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken,omitempty"`
	RoleARN         string `json:"roleArn,omitempty"`
	APIEndpoint     string `json:"apiEndpoint,omitempty"`
	STSEndpoint     string `json:"stsEndpoint,omitempty"`
}

type plainGoogle struct {
	ServiceAccountJSON string `json:"serviceAccountJson"`
}

type plainAzure struct {
	TenantID     string `json:"tenantId,omitempty"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// MarshalWithSecrets writes the integration with its secrets in the clear,
// for the store to encrypt. It reads back with json.Unmarshal.
func (in Integration) MarshalWithSecrets() ([]byte, error) {
	p := plainIntegration{
		ID: in.ID, Name: in.Name, Type: in.Type, Endpoint: in.Endpoint, Username: in.Username,
		Password: in.Password.Reveal(), Insecure: in.Insecure, SkipTLSVerify: in.SkipTLSVerify,
	}
	if e := in.ECR; e != nil {
		p.ECR = &plainECR{Region: e.Region, RegistryID: e.RegistryID, AccessKeyID: e.AccessKeyID,
			SecretAccessKey: e.SecretAccessKey.Reveal(), SessionToken: e.SessionToken.Reveal(), RoleARN: e.RoleARN,
			APIEndpoint: e.APIEndpoint, STSEndpoint: e.STSEndpoint}
	}
	if g := in.Google; g != nil {
		p.Google = &plainGoogle{ServiceAccountJSON: g.ServiceAccountJSON.Reveal()}
	}
	if a := in.Azure; a != nil {
		p.Azure = &plainAzure{TenantID: a.TenantID, ClientID: a.ClientID, ClientSecret: a.ClientSecret.Reveal()}
	}
	return json.Marshal(p) //nolint:gosec // G117: secrets in the clear are this function's purpose; the store encrypts them
}

// KeepSecrets replaces each secret of in that is Redacted (an API client
// sending back what it was shown) with the same secret of stored.
func (in *Integration) KeepSecrets(stored Integration) {
	keep := func(s *Secret, old Secret) {
		if *s == Redacted {
			*s = old
		}
	}
	keep(&in.Password, stored.Password)
	if in.ECR != nil && stored.ECR != nil {
		keep(&in.ECR.SecretAccessKey, stored.ECR.SecretAccessKey)
		keep(&in.ECR.SessionToken, stored.ECR.SessionToken)
	}
	if in.Google != nil && stored.Google != nil {
		keep(&in.Google.ServiceAccountJSON, stored.Google.ServiceAccountJSON)
	}
	if in.Azure != nil && stored.Azure != nil {
		keep(&in.Azure.ClientSecret, stored.Azure.ClientSecret)
	}
}

// endpointOrDefault is the endpoint as configured, or the one its type
// implies.
func (in Integration) endpointOrDefault() string {
	if in.Endpoint != "" {
		return in.Endpoint
	}
	if in.Type == TypeECR && in.ECR != nil && in.ECR.RegistryID != "" && in.ECR.Region != "" {
		return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", in.ECR.RegistryID, in.ECR.Region)
	}
	return in.Type.defaultEndpoint()
}

// username is the registry user the integration logs in as.
func (in Integration) username() string {
	switch in.Type {
	case TypeQuay:
		if in.Username == "" && in.Password != "" {
			return quayOAuthUser
		}
	case TypeIBM:
		if in.Username == "" {
			return ibmAPIKeyUser
		}
	case TypeGCR, TypeArtifactRegistry:
		if in.Google != nil {
			return googleJSONKeyUser
		}
	case TypeACR:
		if in.Azure != nil {
			return in.Azure.ClientID
		}
	case TypeECR:
		return "AWS"
	}
	return in.Username
}

// Registry user names with a documented meaning.
const (
	// quayOAuthUser logs in to Quay with an OAuth access token as password.
	quayOAuthUser = "$oauthtoken"
	// ibmAPIKeyUser logs in to IBM Cloud Container Registry with an IAM API key.
	ibmAPIKeyUser = "iamapikey"
	// googleJSONKeyUser logs in to GCR and Artifact Registry with a service
	// account key file as password.
	googleJSONKeyUser = "_json_key"
)

// Validate checks the integration, naming the field at fault. It never
// quotes a secret.
func (in Integration) Validate() error {
	if err := in.validate(); err != nil {
		return &Error{Kind: KindInvalid, Host: in.Endpoint, Ref: in.Name,
			Msg: fmt.Sprintf("integration %q", in.Name), Err: err}
	}
	return nil
}

func (in Integration) validate() error {
	if strings.TrimSpace(in.Name) == "" {
		return fmt.Errorf("name: must not be empty")
	}
	known := false
	for _, t := range Types() {
		known = known || t == in.Type
	}
	if !known {
		return fmt.Errorf("type: %q is not one of %v", in.Type, Types())
	}
	ep, err := parseEndpoint(in.endpointOrDefault())
	if err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	if ep.scheme == "http" && !in.Insecure {
		return fmt.Errorf("endpoint: %q uses http:// but the integration is not marked insecure", in.Endpoint)
	}
	if in.Username != "" && in.Password == "" && in.Type != TypeECR {
		return fmt.Errorf("password: must be set with username %q", in.Username)
	}
	switch in.Type {
	case TypeIBM:
		if in.Password == "" {
			return fmt.Errorf("password: the IBM Cloud IAM API key is required")
		}
	case TypeECR:
		e := in.ECR
		switch {
		case e == nil:
			return fmt.Errorf("ecr: region and access key are required")
		case e.Region == "" && regionFromECRHost(ep.host) == "":
			return fmt.Errorf("ecr.region: required (the endpoint %q does not name one)", ep.host)
		case e.AccessKeyID == "" || e.SecretAccessKey == "":
			return fmt.Errorf("ecr.accessKeyId, ecr.secretAccessKey: both are required")
		case e.RoleARN != "" && !strings.HasPrefix(e.RoleARN, "arn:"):
			return fmt.Errorf("ecr.roleArn: %q is not an ARN", e.RoleARN)
		}
		for field, u := range map[string]string{"ecr.apiEndpoint": e.APIEndpoint, "ecr.stsEndpoint": e.STSEndpoint} {
			if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
				return fmt.Errorf("%s: %q is not an http(s) URL", field, u)
			}
		}
	case TypeGCR, TypeArtifactRegistry:
		if in.Google == nil || in.Google.ServiceAccountJSON == "" {
			if in.Password == "" {
				return fmt.Errorf("google.serviceAccountJson: required")
			}
			break
		}
		var key struct {
			Type        string `json:"type"`
			ClientEmail string `json:"client_email"`
		}
		if err := json.Unmarshal([]byte(in.Google.ServiceAccountJSON.Reveal()), &key); err != nil {
			return fmt.Errorf("google.serviceAccountJson: not a JSON key file")
		}
		if key.ClientEmail == "" {
			return fmt.Errorf("google.serviceAccountJson: the key has no client_email")
		}
	case TypeACR:
		if in.Azure != nil && (in.Azure.ClientID == "" || in.Azure.ClientSecret == "") {
			return fmt.Errorf("azure.clientId, azure.clientSecret: both are required for a service principal")
		}
	}
	return nil
}

// basicAuth is the username and password the integration presents to the
// registry, for every type but ECR (whose password is a token fetched
// later). Empty means anonymous.
func (in Integration) basicAuth() (user, password string) {
	switch in.Type {
	case TypeQuay:
		if in.Username == "" && in.Password != "" {
			return quayOAuthUser, in.Password.Reveal()
		}
	case TypeIBM:
		return in.username(), in.Password.Reveal()
	case TypeGCR, TypeArtifactRegistry:
		if in.Google != nil && in.Google.ServiceAccountJSON != "" {
			return googleJSONKeyUser, in.Google.ServiceAccountJSON.Reveal()
		}
	case TypeACR:
		if in.Azure != nil {
			return in.Azure.ClientID, in.Azure.ClientSecret.Reveal()
		}
	}
	return in.Username, in.Password.Reveal()
}

// authenticator turns the integration's credentials into registry auth.
// client makes the AWS calls of ECR integrations.
func (in Integration) authenticator(client *http.Client) authn.Authenticator {
	if in.Type == TypeECR && in.ECR != nil {
		ep, _ := parseEndpoint(in.endpointOrDefault())
		return newECRAuth(*in.ECR, ep.host, client)
	}
	user, pass := in.basicAuth()
	if user == "" && pass == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: user, Password: pass}
}

// endpoint is a parsed Integration.Endpoint.
type endpoint struct {
	scheme   string // "https", "http", or "" when not given
	host     string // canonical: lower-case, Docker Hub as index.docker.io
	hostname string // host without port
	port     string // "" when not given
	path     string // repository prefix without slashes at the ends
}

// dockerHubHosts are the names of Docker Hub; go-containerregistry calls
// it index.docker.io.
var dockerHubHosts = map[string]bool{
	"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true, "registry.hub.docker.com": true,
}

const dockerHubHost = "index.docker.io"

func canonicalHost(h string) string {
	h = strings.ToLower(h)
	if dockerHubHosts[h] {
		return dockerHubHost
	}
	return h
}

func parseEndpoint(s string) (endpoint, error) {
	var ep endpoint
	s = strings.TrimSpace(s)
	if s == "" {
		return ep, fmt.Errorf("must not be empty")
	}
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		ep.scheme = strings.ToLower(scheme)
		if ep.scheme != "http" && ep.scheme != "https" {
			return ep, fmt.Errorf("%q: scheme must be https or http", s)
		}
		s = rest
	}
	s = strings.Trim(s, "/")
	host, path, _ := strings.Cut(s, "/")
	// docker's config.json keys Docker Hub as https://index.docker.io/v1/.
	if path == "v1" || path == "v2" {
		path = ""
	}
	if host == "" || strings.ContainsAny(host, " \t@?#") {
		return ep, fmt.Errorf("%q: not a registry host", s)
	}
	ep.hostname, ep.port = host, ""
	if h, p, err := net.SplitHostPort(host); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return ep, fmt.Errorf("%q: bad port %q", s, p)
		}
		ep.hostname, ep.port = h, p
	} else if strings.Count(host, ":") == 1 {
		return ep, fmt.Errorf("%q: bad port", s)
	}
	ep.hostname = strings.ToLower(ep.hostname)
	ep.host = canonicalHost(host)
	if ep.host == dockerHubHost {
		ep.hostname = dockerHubHost
	}
	if strings.ContainsAny(path, " \t?#") {
		return ep, fmt.Errorf("%q: bad repository path %q", s, path)
	}
	ep.path = path
	return ep, nil
}
