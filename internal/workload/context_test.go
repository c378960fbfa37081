package workload

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// web is a Deployment in namespace shop with pods labelled app=web, tier=front
// and two declared ports.
const web = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      containers:
      - name: c
        image: x
        ports:
        - {name: http, containerPort: 8080}
        - {name: metrics, containerPort: 9090}
        - {name: dns, containerPort: 53, protocol: UDP}
`

// enriched normalizes the workload doc and enriches it with the context docs.
func enriched(t *testing.T, doc string, context ...string) (*Deployment, *Context) {
	t.Helper()
	c := NewContext()
	for _, ctxDoc := range context {
		if !c.Add(object(t, ctxDoc)) {
			t.Fatalf("Context.Add refused %q", ctxDoc)
		}
	}
	d := normalize(t, doc)
	c.Enrich(d)
	return d, c
}

// exposures lists "port:LEVEL/service/servicePort/nodePort" for every exposure.
func exposures(d *Deployment) []string {
	var out []string
	for _, c := range d.Containers {
		for _, p := range c.Ports {
			for _, e := range p.Exposures {
				s := strings.Join([]string{itoa(p.ContainerPort) + ":" + e.Level, e.ServiceName, itoa(e.ServicePort), itoa(e.NodePort)}, "/")
				if p.Undeclared {
					s += " (undeclared)"
				}
				out = append(out, s)
			}
		}
	}
	return out
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func service(name, ns, typ, selector, ports string) string {
	return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n  type: " + typ +
		"\n  selector: " + selector + "\n  ports: " + ports + "\n"
}

func TestServiceExposure(t *testing.T) {
	tests := []struct {
		name     string
		services []string
		want     []string
	}{
		{"cluster ip by number", []string{service("s", "shop", "ClusterIP", "{app: web}", "[{port: 80, targetPort: 8080}]")},
			[]string{"8080:INTERNAL/s/80/0"}},
		{"target port by name", []string{service("s", "shop", "ClusterIP", "{app: web}", "[{port: 80, targetPort: metrics}]")},
			[]string{"9090:INTERNAL/s/80/0"}},
		{"default target port", []string{service("s", "shop", "ClusterIP", "{app: web}", "[{port: 8080}]")},
			[]string{"8080:INTERNAL/s/8080/0"}},
		{"node port", []string{service("s", "shop", "NodePort", "{app: web}", "[{port: 80, targetPort: http, nodePort: 30080}]")},
			[]string{"8080:NODE/s/80/30080"}},
		{"load balancer", []string{service("s", "shop", "LoadBalancer", "{tier: front}", "[{port: 443, targetPort: 8080, nodePort: 31443}]")},
			[]string{"8080:EXTERNAL/s/443/31443"}},
		{"udp", []string{service("s", "shop", "ClusterIP", "{app: web}", "[{port: 53, protocol: UDP}, {name: tcp, port: 53}]")},
			// TCP 53 is not declared: it is added, undeclared, beside UDP 53.
			[]string{"53:INTERNAL/s/53/0", "53:INTERNAL/s/53/0 (undeclared)"}},
		{"selector mismatch", []string{service("s", "shop", "LoadBalancer", "{app: api}", "[{port: 8080}]")}, nil},
		{"selector needs every label", []string{service("s", "shop", "LoadBalancer", "{app: web, tier: back}", "[{port: 8080}]")}, nil},
		{"other namespace", []string{service("s", "other", "LoadBalancer", "{app: web}", "[{port: 8080}]")}, nil},
		{"no selector", []string{"apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop}\nspec:\n  type: LoadBalancer\n  ports: [{port: 8080}]\n"}, nil},
		{"external name", []string{service("s", "shop", "ExternalName", "{app: web}", "[{port: 8080}]")}, nil},
		{"two services, sorted weakest first", []string{
			service("lb", "shop", "LoadBalancer", "{app: web}", "[{port: 80, targetPort: 8080}]"),
			service("in", "shop", "ClusterIP", "{app: web}", "[{port: 80, targetPort: 8080}]"),
		}, []string{"8080:INTERNAL/in/80/0", "8080:EXTERNAL/lb/80/0"}},
		{"undeclared numeric target port", []string{service("s", "shop", "NodePort", "{app: web}", "[{port: 80, targetPort: 3000, nodePort: 30000}]")},
			[]string{"3000:NODE/s/80/30000 (undeclared)"}},
		{"undeclared named target port exposes nothing", []string{service("s", "shop", "NodePort", "{app: web}", "[{port: 80, targetPort: nope}]")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := enriched(t, web, tt.services...)
			if got := exposures(d); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("exposures %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIngressAndRouteExposure(t *testing.T) {
	svc := service("web-svc", "shop", "ClusterIP", "{app: web}", "[{name: http, port: 80, targetPort: 8080}, {name: metrics, port: 9090}]")
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"ingress by port number", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing, namespace: shop}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web-svc, port: {number: 80}}}}
`, []string{"8080:INTERNAL/web-svc/80/0", "8080:EXTERNAL/web-svc/80/0", "9090:INTERNAL/web-svc/9090/0"}},
		{"ingress default backend by port name", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing, namespace: shop}
spec:
  defaultBackend: {service: {name: web-svc, port: {name: metrics}}}
`, []string{"8080:INTERNAL/web-svc/80/0", "9090:INTERNAL/web-svc/9090/0", "9090:EXTERNAL/web-svc/9090/0"}},
		{"ingress to another service", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing, namespace: shop}
spec:
  defaultBackend: {service: {name: api, port: {number: 80}}}
`, []string{"8080:INTERNAL/web-svc/80/0", "9090:INTERNAL/web-svc/9090/0"}},
		{"ingress in another namespace", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing, namespace: other}
spec:
  defaultBackend: {service: {name: web-svc, port: {number: 80}}}
`, []string{"8080:INTERNAL/web-svc/80/0", "9090:INTERNAL/web-svc/9090/0"}},
		{"route to every port", `apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: r, namespace: shop}
spec:
  to: {kind: Service, name: web-svc}
`, []string{"8080:INTERNAL/web-svc/80/0", "8080:ROUTE/web-svc/80/0", "9090:INTERNAL/web-svc/9090/0", "9090:ROUTE/web-svc/9090/0"}},
		{"route target port by name", `apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: r, namespace: shop}
spec:
  to: {name: web-svc}
  port: {targetPort: http}
`, []string{"8080:INTERNAL/web-svc/80/0", "8080:ROUTE/web-svc/80/0", "9090:INTERNAL/web-svc/9090/0"}},
		{"route target port by pod port number", `apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: r, namespace: shop}
spec:
  to: {name: web-svc}
  port: {targetPort: 9090}
`, []string{"8080:INTERNAL/web-svc/80/0", "9090:INTERNAL/web-svc/9090/0", "9090:ROUTE/web-svc/9090/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := enriched(t, web, svc, tt.doc)
			if got := exposures(d); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("exposures %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnrichIsRepeatable(t *testing.T) {
	hostPorted := strings.Replace(web, "{name: http, containerPort: 8080}", "{name: http, containerPort: 8080, hostPort: 80}", 1)
	d, c := enriched(t, hostPorted,
		service("s", "shop", "NodePort", "{app: web}", "[{port: 80, targetPort: 8080, nodePort: 30080}, {port: 81, targetPort: 7000}]"))
	first := exposures(d)
	want := []string{"8080:HOST//0/80", "8080:NODE/s/80/30080", "7000:NODE/s/81/0 (undeclared)"}
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("exposures %q, want %q", first, want)
	}
	c.Enrich(d)
	if again := exposures(d); !reflect.DeepEqual(again, first) {
		t.Errorf("second Enrich changed exposures: %q", again)
	}
	c.Remove(object(t, service("s", "shop", "NodePort", "{}", "[]")))
	c.Enrich(d)
	if got := exposures(d); !reflect.DeepEqual(got, []string{"8080:HOST//0/80"}) {
		t.Errorf("after removing the Service: %q", got)
	}
	if n := len(d.Containers[0].Ports); n != 3 {
		t.Errorf("undeclared port not dropped: %d ports", n)
	}
}

func netpol(ns, selector, rest string) string {
	return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: " + ns + "}\nspec:\n  podSelector: " + selector + "\n" + rest
}

func TestNetworkPolicyCoverage(t *testing.T) {
	tests := []struct {
		name            string
		policies        []string
		ingress, egress bool
	}{
		{"none", nil, false, false},
		{"empty selector, default types", []string{netpol("shop", "{}", "")}, true, false},
		{"default types with egress rules", []string{netpol("shop", "{}", "  egress: [{}]\n")}, true, true},
		{"egress only", []string{netpol("shop", "{matchLabels: {app: web}}", "  policyTypes: [Egress]\n")}, false, true},
		{"both", []string{netpol("shop", "{matchLabels: {app: web}}", "  policyTypes: [Ingress, Egress]\n")}, true, true},
		{"label mismatch", []string{netpol("shop", "{matchLabels: {app: api}}", "  policyTypes: [Ingress, Egress]\n")}, false, false},
		{"other namespace", []string{netpol("other", "{}", "  policyTypes: [Ingress, Egress]\n")}, false, false},
		{"expression In", []string{netpol("shop", "{matchExpressions: [{key: tier, operator: In, values: [front, back]}]}", "")}, true, false},
		{"expression NotIn", []string{netpol("shop", "{matchExpressions: [{key: tier, operator: NotIn, values: [front]}]}", "")}, false, false},
		{"expression Exists", []string{netpol("shop", "{matchExpressions: [{key: app, operator: Exists}]}", "")}, true, false},
		{"expression DoesNotExist", []string{netpol("shop", "{matchExpressions: [{key: app, operator: DoesNotExist}]}", "")}, false, false},
		{"two policies add up", []string{
			netpol("shop", "{}", "  policyTypes: [Ingress]\n"),
			strings.Replace(netpol("shop", "{matchLabels: {tier: front}}", "  policyTypes: [Egress]\n"), "name: np", "name: np2", 1),
		}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := enriched(t, web, tt.policies...)
			if d.HasIngressNetworkPolicy != tt.ingress || d.HasEgressNetworkPolicy != tt.egress {
				t.Errorf("ingress %v egress %v, want %v %v", d.HasIngressNetworkPolicy, d.HasEgressNetworkPolicy, tt.ingress, tt.egress)
			}
		})
	}
}

const worker = `apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: jobs}
spec:
  template:
    spec:
      serviceAccountName: robot
      containers: [{name: c, image: x}]
`

func bindingDoc(kind, ns, roleKind, role, subjects string) string {
	meta := "{name: b}"
	if ns != "" {
		meta = "{name: b, namespace: " + ns + "}"
	}
	return "apiVersion: rbac.authorization.k8s.io/v1\nkind: " + kind + "\nmetadata: " + meta +
		"\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: " + roleKind + ", name: " + role + "}\nsubjects: " + subjects + "\n"
}

func roleDoc(kind, ns, name, rules string) string {
	meta := "{name: " + name + "}"
	if ns != "" {
		meta = "{name: " + name + ", namespace: " + ns + "}"
	}
	return "apiVersion: rbac.authorization.k8s.io/v1\nkind: " + kind + "\nmetadata: " + meta + "\nrules: " + rules + "\n"
}

func TestRBACLevels(t *testing.T) {
	robot := "[{kind: ServiceAccount, name: robot, namespace: jobs}]"
	tests := []struct {
		name    string
		objects []string
		want    PermissionLevel
	}{
		{"no bindings", nil, PermissionNone},
		{"binding for another account", []string{
			bindingDoc("ClusterRoleBinding", "", "ClusterRole", "cluster-admin", "[{kind: ServiceAccount, name: other, namespace: jobs}]")}, PermissionNone},
		{"read-only role", []string{
			roleDoc("Role", "jobs", "reader", "[{apiGroups: [''], resources: [pods, configmaps], verbs: [get, list, watch]}]"),
			bindingDoc("RoleBinding", "jobs", "Role", "reader", robot)}, PermissionDefault},
		{"namespace write", []string{
			roleDoc("Role", "jobs", "writer", "[{apiGroups: [apps], resources: [deployments], verbs: [get, update]}]"),
			bindingDoc("RoleBinding", "jobs", "Role", "writer", robot)}, PermissionElevatedInNamespace},
		{"reading secrets in namespace", []string{
			roleDoc("Role", "jobs", "secrets", "[{apiGroups: [''], resources: [secrets], verbs: [get]}]"),
			bindingDoc("RoleBinding", "jobs", "Role", "secrets", robot)}, PermissionElevatedInNamespace},
		{"exec through get", []string{
			roleDoc("Role", "jobs", "exec", "[{apiGroups: [''], resources: [pods/exec], verbs: [get]}]"),
			bindingDoc("RoleBinding", "jobs", "Role", "exec", robot)}, PermissionElevatedInNamespace},
		{"self reviews for every authenticated user (system:basic-user)", []string{
			roleDoc("ClusterRole", "", "system:basic-user", "[{apiGroups: [authorization.k8s.io], resources: [selfsubjectaccessreviews, selfsubjectrulesreviews], verbs: [create]}, {apiGroups: [authentication.k8s.io], resources: [selfsubjectreviews], verbs: [create]}]"),
			bindingDoc("ClusterRoleBinding", "", "ClusterRole", "system:basic-user", "[{kind: Group, name: 'system:authenticated', apiGroup: rbac.authorization.k8s.io}]")}, PermissionDefault},
		{"reviewing others' access is more", []string{
			roleDoc("ClusterRole", "", "reviewer", "[{apiGroups: [authorization.k8s.io], resources: [subjectaccessreviews], verbs: [create]}]"),
			bindingDoc("ClusterRoleBinding", "", "ClusterRole", "reviewer", robot)}, PermissionElevatedClusterWide},
		{"cluster-wide read", []string{
			roleDoc("ClusterRole", "", "nodes-reader", "[{apiGroups: [''], resources: [nodes], verbs: [list]}]"),
			bindingDoc("ClusterRoleBinding", "", "ClusterRole", "nodes-reader", robot)}, PermissionDefault},
		{"cluster-wide secrets", []string{
			roleDoc("ClusterRole", "", "secrets", "[{apiGroups: ['*'], resources: [secrets], verbs: [list]}]"),
			bindingDoc("ClusterRoleBinding", "", "ClusterRole", "secrets", robot)}, PermissionElevatedClusterWide},
		{"cluster-admin by name", []string{
			bindingDoc("ClusterRoleBinding", "", "ClusterRole", "cluster-admin", robot)}, PermissionClusterAdmin},
		{"everything on everything", []string{
			roleDoc("ClusterRole", "", "god", "[{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]"),
			bindingDoc("ClusterRoleBinding", "", "ClusterRole", "god", robot)}, PermissionClusterAdmin},
		{"cluster-admin in one namespace", []string{
			bindingDoc("RoleBinding", "jobs", "ClusterRole", "cluster-admin", robot)}, PermissionElevatedInNamespace},
		{"built-in view", []string{bindingDoc("RoleBinding", "jobs", "ClusterRole", "view", robot)}, PermissionDefault},
		{"built-in edit", []string{bindingDoc("RoleBinding", "jobs", "ClusterRole", "edit", robot)}, PermissionElevatedInNamespace},
		{"unknown role", []string{bindingDoc("RoleBinding", "jobs", "Role", "ghost", robot)}, PermissionDefault},
		{"subject namespace defaults to the binding's", []string{
			bindingDoc("RoleBinding", "jobs", "ClusterRole", "edit", "[{kind: ServiceAccount, name: robot}]")}, PermissionElevatedInNamespace},
		{"group of all service accounts of the namespace", []string{
			bindingDoc("ClusterRoleBinding", "", "ClusterRole", "edit", "[{kind: Group, name: 'system:serviceaccounts:jobs', apiGroup: rbac.authorization.k8s.io}]")},
			PermissionElevatedClusterWide},
		{"service account as a user", []string{
			bindingDoc("ClusterRoleBinding", "", "ClusterRole", "cluster-admin", "[{kind: User, name: 'system:serviceaccount:jobs:robot', apiGroup: rbac.authorization.k8s.io}]")},
			PermissionClusterAdmin},
		{"highest binding wins", []string{
			bindingDoc("RoleBinding", "jobs", "ClusterRole", "view", robot),
			strings.Replace(bindingDoc("ClusterRoleBinding", "", "ClusterRole", "edit", robot), "name: b", "name: b2", 1)},
			PermissionElevatedClusterWide},
		{"aggregated cluster role", []string{
			roleDoc("ClusterRole", "", "agg", "[]\naggregationRule: {clusterRoleSelectors: [{matchLabels: {agg: 'true'}}]}"),
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: part, labels: {agg: 'true'}}\nrules: [{apiGroups: [''], resources: [pods], verbs: [delete]}]\n",
			bindingDoc("ClusterRoleBinding", "", "ClusterRole", "agg", robot)}, PermissionElevatedClusterWide},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := enriched(t, worker, tt.objects...)
			if d.RBAC != tt.want {
				t.Errorf("RBAC %v, want %v", d.RBAC, tt.want)
			}
		})
	}
}

func TestBindingReplacedAndRemoved(t *testing.T) {
	robot := "[{kind: ServiceAccount, name: robot, namespace: jobs}]"
	c := NewContext()
	c.Add(object(t, bindingDoc("ClusterRoleBinding", "", "ClusterRole", "cluster-admin", robot)))
	if got := c.PermissionLevel("jobs", "robot"); got != PermissionClusterAdmin {
		t.Fatalf("level %v", got)
	}
	c.Add(object(t, bindingDoc("ClusterRoleBinding", "", "ClusterRole", "view", robot)))
	if got := c.PermissionLevel("jobs", "robot"); got != PermissionDefault {
		t.Errorf("after replacing the binding: %v", got)
	}
	c.Remove(object(t, bindingDoc("ClusterRoleBinding", "", "ClusterRole", "view", "[]")))
	if got := c.PermissionLevel("jobs", "robot"); got != PermissionNone {
		t.Errorf("after removing the binding: %v", got)
	}
}

func TestAutomountFromServiceAccount(t *testing.T) {
	sa := "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: robot, namespace: jobs}\nautomountServiceAccountToken: false\n"
	d, _ := enriched(t, worker, sa)
	if d.AutomountServiceAccountToken {
		t.Error("the ServiceAccount's false should apply when the pod spec is silent")
	}
	explicit := strings.Replace(worker, "serviceAccountName: robot", "serviceAccountName: robot\n      automountServiceAccountToken: true", 1)
	if d, _ := enriched(t, explicit, sa); !d.AutomountServiceAccountToken {
		t.Error("the pod spec's true should beat the ServiceAccount's false")
	}
	other := strings.Replace(sa, "name: robot", "name: other", 1)
	if d, _ := enriched(t, worker, other); !d.AutomountServiceAccountToken {
		t.Error("another ServiceAccount should not apply")
	}
}

func TestContextRefusesOtherKinds(t *testing.T) {
	c := NewContext()
	if c.Add(object(t, web)) || IsContextObject(object(t, web)) {
		t.Error("a Deployment is not a context object")
	}
	if !IsContextObject(object(t, sa())) {
		t.Error("a ServiceAccount is a context object")
	}
}

func sa() string { return "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x}\n" }
