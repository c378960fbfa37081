package auth

import (
	"fmt"
	"strings"
)

// Resource is a kind of object the API exposes.
type Resource string

// Resources routes declare permissions on.
const (
	ResourcePolicy    Resource = "Policy"
	ResourceAlert     Resource = "Alert"
	ResourceDetection Resource = "Detection"
	ResourceImage     Resource = "Image"
	ResourceAPIToken  Resource = "APIToken"
	ResourceAPIDocs   Resource = "APIDocs"
	// ResourceImageIntegration is the registry credentials Central scans
	// with; ResourceVulnDB the vulnerability database it matches against.
	ResourceImageIntegration Resource = "ImageIntegration"
	ResourceVulnDB           Resource = "VulnDB"
	// ResourceNotifier is where alerts are forwarded, with its secrets.
	ResourceNotifier Resource = "Notifier"
	// ResourceCluster is the secured clusters and the init bundles they
	// connect with.
	ResourceCluster Resource = "Cluster"
	// ResourceDeployment is the deployments Central knows of.
	ResourceDeployment Resource = "Deployment"
	// ResourceConfig is Central's system configuration: the sign-in notice,
	// the banner and the alert retention.
	ResourceConfig Resource = "Config"
)

// Access is a level of access to a resource.
type Access int

// Access levels. Write implies Read.
const (
	accessNone Access = iota
	Read
	Write
)

func (a Access) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return "none"
}

// Permission is what a route requires. The zero Permission is invalid, so a
// route that forgets to declare one is refused when routes are mounted.
type Permission struct {
	Resource Resource
	Access   Access
	// public marks routes served without authentication (health, metrics).
	public bool
	// authenticated marks routes any signed-in caller may use (whoami).
	authenticated bool
}

// Public() is the permission of routes served to anyone: health and metrics.
func Public() Permission { return Permission{public: true} }

// Authenticated() is the permission of routes any authenticated caller may use.
func Authenticated() Permission { return Permission{authenticated: true} }

// Need returns the permission to access r at level a.
func Need(r Resource, a Access) Permission { return Permission{Resource: r, Access: a} }

// IsPublic reports whether the permission lets unauthenticated callers in.
func (p Permission) IsPublic() bool { return p.public }

// Valid reports whether the permission was declared: public, any
// authenticated caller, or a resource with an access level.
func (p Permission) Valid() bool {
	return p.public || p.authenticated || (p.Resource != "" && p.Access > accessNone)
}

func (p Permission) String() string {
	switch {
	case p.public:
		return "public"
	case p.authenticated:
		return "authenticated"
	case !p.Valid():
		return "undeclared"
	}
	return string(p.Resource) + ":" + p.Access.String()
}

// Role is a named set of permissions, as in ACS.
type Role string

// The roles. Their names are the ones ACS users know.
const (
	RoleAdmin   Role = "Admin"
	RoleAnalyst Role = "Analyst"
	RoleCI      Role = "Continuous Integration"
)

// Roles lists every role, most powerful first.
func Roles() []Role { return []Role{RoleAdmin, RoleAnalyst, RoleCI} }

// ParseRole reads a role name, case-insensitively.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if strings.EqualFold(string(r), strings.TrimSpace(s)) {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (want %q, %q or %q)", s, RoleAdmin, RoleAnalyst, RoleCI)
}

// ciGrant is what the Continuous Integration role may do with r: check
// deployments and images, scan images (Image write: a scan stores its
// result, as in ACS, whose CI role may modify images), and read the
// policies and the vulnerability database they are checked against.
// Registry credentials stay out of its reach.
func ciGrant(r Resource) Access {
	switch r {
	case ResourceImage:
		return Write
	case ResourceDetection, ResourcePolicy, ResourceVulnDB, ResourceAPIDocs:
		return Read
	}
	return accessNone
}

// Allows reports whether the role grants p.
func (r Role) Allows(p Permission) bool {
	switch {
	case p.public:
		return true
	case !p.Valid():
		return false
	case p.authenticated:
		return r == RoleAdmin || r == RoleAnalyst || r == RoleCI
	}
	switch r {
	case RoleAdmin:
		return true
	case RoleAnalyst:
		return p.Access == Read
	case RoleCI:
		return p.Access <= ciGrant(p.Resource)
	}
	return false
}
