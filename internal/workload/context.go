package workload

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Context holds the objects that say how a workload is reached and what it
// may do — Services, Ingresses, OpenShift Routes, NetworkPolicies,
// ServiceAccounts, Roles, ClusterRoles and their bindings — and fills in
// those facts with Enrich. A manifest check builds one Context from all of
// its input; Sensor keeps one in step with its informers.
//
// The Context keeps the objects it is given, which must not change
// afterwards (informer objects never do). Add and Remove must not run
// concurrently with anything else; Enrich may run concurrently with itself.
type Context struct {
	services        map[string]map[string]*corev1.Service // namespace → name
	ingresses       map[string]map[string]*networkingv1.Ingress
	routes          map[string]map[string]*Route
	networkPolicies map[string]map[string]*networkingv1.NetworkPolicy
	serviceAccounts map[string]map[string]*corev1.ServiceAccount

	roles        map[string]*rbacv1.Role // "namespace/name"
	clusterRoles map[string]*rbacv1.ClusterRole
	bindings     map[string]*binding            // bindingKey
	bySubject    map[string]map[string]struct{} // subject key → bindingKeys
}

// NewContext returns an empty Context.
func NewContext() *Context {
	return &Context{
		services:        map[string]map[string]*corev1.Service{},
		ingresses:       map[string]map[string]*networkingv1.Ingress{},
		routes:          map[string]map[string]*Route{},
		networkPolicies: map[string]map[string]*networkingv1.NetworkPolicy{},
		serviceAccounts: map[string]map[string]*corev1.ServiceAccount{},
		roles:           map[string]*rbacv1.Role{},
		clusterRoles:    map[string]*rbacv1.ClusterRole{},
		bindings:        map[string]*binding{},
		bySubject:       map[string]map[string]struct{}{},
	}
}

// IsContextObject reports whether obj is of a kind a Context holds.
func IsContextObject(obj runtime.Object) bool {
	switch obj.(type) {
	case *corev1.Service, *networkingv1.Ingress, *Route, *networkingv1.NetworkPolicy, *corev1.ServiceAccount,
		*rbacv1.Role, *rbacv1.ClusterRole, *rbacv1.RoleBinding, *rbacv1.ClusterRoleBinding:
		return true
	}
	return false
}

// Add stores obj, replacing an object of the same kind, namespace and name.
// It reports false, storing nothing, when obj is not of a kind a Context
// holds. An empty namespace means "default", as kubectl reads manifests.
func (c *Context) Add(obj runtime.Object) bool {
	return c.apply(obj, true)
}

// Remove forgets the object of obj's kind, namespace and name. It reports
// false when obj is not of a kind a Context holds.
func (c *Context) Remove(obj runtime.Object) bool {
	return c.apply(obj, false)
}

func (c *Context) apply(obj runtime.Object, add bool) bool {
	switch o := obj.(type) {
	case *corev1.Service:
		if o != nil {
			put(c.services, &o.ObjectMeta, o, add)
		}
	case *networkingv1.Ingress:
		if o != nil {
			put(c.ingresses, &o.ObjectMeta, o, add)
		}
	case *Route:
		if o != nil {
			put(c.routes, &o.ObjectMeta, o, add)
		}
	case *networkingv1.NetworkPolicy:
		if o != nil {
			put(c.networkPolicies, &o.ObjectMeta, o, add)
		}
	case *corev1.ServiceAccount:
		if o != nil {
			put(c.serviceAccounts, &o.ObjectMeta, o, add)
		}
	case *rbacv1.Role:
		if o != nil {
			key := namespaceOf(&o.ObjectMeta) + "/" + o.Name
			if add {
				c.roles[key] = o
			} else {
				delete(c.roles, key)
			}
		}
	case *rbacv1.ClusterRole:
		if o != nil {
			if add {
				c.clusterRoles[o.Name] = o
			} else {
				delete(c.clusterRoles, o.Name)
			}
		}
	case *rbacv1.RoleBinding:
		if o != nil {
			b := newBinding(namespaceOf(&o.ObjectMeta), o.Name, o.RoleRef, o.Subjects)
			c.putBinding(b, add)
		}
	case *rbacv1.ClusterRoleBinding:
		if o != nil {
			b := newBinding("", o.Name, o.RoleRef, o.Subjects)
			c.putBinding(b, add)
		}
	default:
		return false
	}
	return true
}

func put[T any](m map[string]map[string]*T, meta *metav1.ObjectMeta, obj *T, add bool) {
	ns := namespaceOf(meta)
	byName := m[ns]
	if !add {
		delete(byName, meta.Name)
		return
	}
	if byName == nil {
		byName = map[string]*T{}
		m[ns] = byName
	}
	byName[meta.Name] = obj
}

func namespaceOf(meta *metav1.ObjectMeta) string {
	if meta.Namespace == "" {
		return defaultNamespace
	}
	return meta.Namespace
}

// Enrich fills in what d's neighbours in the Context say about it: port
// exposures through hostPorts, Services, Ingresses and Routes; network
// policy coverage; the RBAC level of its service account; and the service
// account's automountServiceAccountToken when the pod spec leaves it unset.
// It recomputes these from scratch, so it may be called again after the
// Context changes.
func (c *Context) Enrich(d *Deployment) {
	c.exposePorts(d)
	d.HasIngressNetworkPolicy, d.HasEgressNetworkPolicy = c.networkPolicyCoverage(d)
	d.RBAC = c.PermissionLevel(d.Namespace, d.ServiceAccount)
	if !d.automountFromPod {
		d.AutomountServiceAccountToken = true
		if sa := c.serviceAccounts[d.Namespace][d.ServiceAccount]; sa != nil && sa.AutomountServiceAccountToken != nil {
			d.AutomountServiceAccountToken = *sa.AutomountServiceAccountToken
		}
	}
}

// networkPolicyCoverage reports whether a NetworkPolicy in d's namespace
// selects its pods for ingress and for egress. A policy without
// policyTypes covers ingress, and egress too when it has egress rules
// (Kubernetes' default).
func (c *Context) networkPolicyCoverage(d *Deployment) (ingress, egress bool) {
	for _, np := range c.networkPolicies[d.Namespace] {
		if !labelSelects(&np.Spec.PodSelector, d.PodLabels) {
			continue
		}
		if len(np.Spec.PolicyTypes) == 0 {
			ingress = true
			egress = egress || len(np.Spec.Egress) > 0
			continue
		}
		for _, t := range np.Spec.PolicyTypes {
			switch t {
			case networkingv1.PolicyTypeIngress:
				ingress = true
			case networkingv1.PolicyTypeEgress:
				egress = true
			}
		}
	}
	return ingress, egress
}
