package workload

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// The RBAC rule, as ACS reads it, for the level of a service account S in
// namespace N, taking every RoleBinding and ClusterRoleBinding whose
// subjects include S (as a ServiceAccount, as the user
// "system:serviceaccount:N:S", or through the groups "system:serviceaccounts",
// "system:serviceaccounts:N" and "system:authenticated"):
//
//   - NONE: no binding names S.
//   - DEFAULT: every binding grants read only — the verbs get, list and
//     watch on resources other than secrets and the pods/exec, pods/attach,
//     pods/portforward and */proxy subresources, and creating reviews of
//     one's own access (system:basic-user, bound to every authenticated
//     user) — or nothing, or a role that is not in the Context and is not a
//     built-in one.
//   - ELEVATED_IN_NAMESPACE: a RoleBinding grants more than read (a
//     RoleBinding to cluster-admin included).
//   - ELEVATED_CLUSTER_WIDE: a ClusterRoleBinding grants more than read.
//   - CLUSTER_ADMIN: a ClusterRoleBinding to cluster-admin, or to a role
//     with the verb "*" on the resource "*".
//
// The highest level any binding reaches wins. A ClusterRole with an
// aggregationRule has the rules of the ClusterRoles its selectors pick.
// The built-in user-facing ClusterRoles count when the Context lacks them:
// cluster-admin (everything), admin and edit (write), view (read).

// grant is what a set of RBAC rules allows, from nothing to everything.
type grant int

const (
	grantNone grant = iota
	grantRead
	grantWrite
	grantAll
)

const clusterAdminRole = "cluster-admin"

type binding struct {
	key       string
	namespace string // "" for a ClusterRoleBinding
	roleKind  string // "Role" or "ClusterRole"
	roleName  string
	subjects  []string // subject keys
}

func newBinding(namespace, name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject) *binding {
	b := &binding{namespace: namespace, roleKind: ref.Kind, roleName: ref.Name}
	if namespace == "" {
		b.key = "ClusterRoleBinding/" + name
	} else {
		b.key = "RoleBinding/" + namespace + "/" + name
	}
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			ns := s.Namespace
			if ns == "" {
				// Only a RoleBinding may leave it out: it means the
				// binding's namespace. A ClusterRoleBinding without it is
				// invalid and binds nothing.
				if namespace == "" {
					continue
				}
				ns = namespace
			}
			b.subjects = append(b.subjects, saKey(ns, s.Name))
		case rbacv1.GroupKind:
			b.subjects = append(b.subjects, "group:"+s.Name)
		case rbacv1.UserKind:
			b.subjects = append(b.subjects, "user:"+s.Name)
		}
	}
	return b
}

func saKey(namespace, name string) string { return "sa:" + namespace + "/" + name }

func (c *Context) putBinding(b *binding, add bool) {
	if old := c.bindings[b.key]; old != nil {
		for _, s := range old.subjects {
			delete(c.bySubject[s], old.key)
		}
		delete(c.bindings, old.key)
	}
	if !add {
		return
	}
	c.bindings[b.key] = b
	for _, s := range b.subjects {
		set := c.bySubject[s]
		if set == nil {
			set = map[string]struct{}{}
			c.bySubject[s] = set
		}
		set[b.key] = struct{}{}
	}
}

// PermissionLevel is the RBAC level of service account name in namespace,
// by the rule documented above.
func (c *Context) PermissionLevel(namespace, name string) PermissionLevel {
	level := PermissionNone
	for _, subject := range [...]string{
		saKey(namespace, name),
		"user:system:serviceaccount:" + namespace + ":" + name,
		"group:system:serviceaccounts",
		"group:system:serviceaccounts:" + namespace,
		"group:system:authenticated",
	} {
		for key := range c.bySubject[subject] {
			level = max(level, c.bindingLevel(c.bindings[key]))
		}
	}
	return level
}

func (c *Context) bindingLevel(b *binding) PermissionLevel {
	clusterWide := b.namespace == ""
	g := c.roleGrant(b)
	if b.roleKind == "ClusterRole" && b.roleName == clusterAdminRole {
		g = grantAll
	}
	switch {
	case g == grantAll && clusterWide:
		return PermissionClusterAdmin
	case g >= grantWrite && clusterWide:
		return PermissionElevatedClusterWide
	case g >= grantWrite:
		return PermissionElevatedInNamespace
	default:
		return PermissionDefault
	}
}

func (c *Context) roleGrant(b *binding) grant {
	switch b.roleKind {
	case "Role":
		if r := c.roles[b.namespace+"/"+b.roleName]; r != nil {
			return rulesGrant(r.Rules)
		}
	case "ClusterRole":
		if r := c.clusterRoles[b.roleName]; r != nil {
			return c.clusterRoleGrant(r)
		}
		switch b.roleName {
		case clusterAdminRole:
			return grantAll
		case "admin", "edit":
			return grantWrite
		case "view":
			return grantRead
		}
	}
	return grantNone
}

func (c *Context) clusterRoleGrant(r *rbacv1.ClusterRole) grant {
	g := rulesGrant(r.Rules)
	if r.AggregationRule == nil {
		return g
	}
	for _, other := range c.clusterRoles {
		if other == r {
			continue
		}
		for i := range r.AggregationRule.ClusterRoleSelectors {
			if labelSelects(&r.AggregationRule.ClusterRoleSelectors[i], other.Labels) {
				g = max(g, rulesGrant(other.Rules))
				break
			}
		}
	}
	return g
}

func rulesGrant(rules []rbacv1.PolicyRule) grant {
	g := grantNone
	for i := range rules {
		g = max(g, ruleGrant(&rules[i]))
	}
	return g
}

func ruleGrant(r *rbacv1.PolicyRule) grant {
	if len(r.Verbs) == 0 {
		return grantNone
	}
	if contains(r.Verbs, rbacv1.VerbAll) && contains(r.Resources, rbacv1.ResourceAll) {
		return grantAll
	}
	if selfReviewOnly(r) {
		// Asking "what may I do?" (every authenticated user may, through
		// the bootstrap role system:basic-user) changes nothing.
		return grantRead
	}
	for _, v := range r.Verbs {
		switch strings.ToLower(v) {
		case "get", "list", "watch":
		default:
			return grantWrite
		}
	}
	if len(r.Resources) > 0 && (contains(r.APIGroups, "") || contains(r.APIGroups, rbacv1.APIGroupAll)) {
		for _, res := range r.Resources {
			if sensitiveRead(res) {
				return grantWrite
			}
		}
	}
	for _, res := range r.Resources {
		if strings.HasSuffix(res, "/proxy") || res == "*/*" {
			return grantWrite
		}
	}
	return grantRead
}

// selfReviewOnly reports whether r only lets a caller create reviews of its
// own identity and access: selfsubjectaccessreviews, selfsubjectrulesreviews
// (authorization.k8s.io) and selfsubjectreviews (authentication.k8s.io).
func selfReviewOnly(r *rbacv1.PolicyRule) bool {
	if len(r.Resources) == 0 || len(r.NonResourceURLs) > 0 {
		return false
	}
	for _, g := range r.APIGroups {
		if g != "authorization.k8s.io" && g != "authentication.k8s.io" {
			return false
		}
	}
	for _, res := range r.Resources {
		switch res {
		case "selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews":
		default:
			return false
		}
	}
	for _, v := range r.Verbs {
		if !strings.EqualFold(v, "create") {
			return false
		}
	}
	return true
}

// sensitiveRead reports whether reading a core resource hands out more
// than information: secret values, or a shell through exec/attach (which
// websockets reach with GET) or a port-forward.
func sensitiveRead(res string) bool {
	switch res {
	case "*", "secrets", "pods/exec", "pods/attach", "pods/portforward":
		return true
	}
	return false
}
