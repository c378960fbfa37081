package workload

import (
	"cmp"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// exposureRank orders exposure levels, weakest first.
func exposureRank(level string) int {
	switch level {
	case ExposureInternal:
		return 1
	case ExposureHost:
		return 2
	case ExposureNode:
		return 3
	case ExposureExternal:
		return 4
	case ExposureRoute:
		return 5
	default:
		return 0
	}
}

// exposePorts recomputes every port's exposures: its hostPort, then each
// Service in the namespace that selects the pods and targets the port
// (ClusterIP → INTERNAL, NodePort → NODE, LoadBalancer → EXTERNAL), each
// Ingress backend naming such a Service (EXTERNAL) and each Route to it
// (ROUTE).
func (c *Context) exposePorts(d *Deployment) {
	first := -1 // the first app container, holder of undeclared ports
	for i := range d.Containers {
		ct := &d.Containers[i]
		ports := ct.Ports[:0]
		for _, p := range ct.Ports {
			if p.Undeclared {
				continue
			}
			p.Exposures = p.Exposures[:0]
			if p.HostPort != 0 {
				p.Exposures = append(p.Exposures, hostExposure(p.HostPort))
			}
			ports = append(ports, p)
		}
		ct.Ports = ports
		if first < 0 && !ct.Init {
			first = i
		}
	}
	if len(d.PodLabels) == 0 {
		return
	}
	for _, svc := range c.services[d.Namespace] {
		if svc.Spec.Type == corev1.ServiceTypeExternalName || !mapSelects(svc.Spec.Selector, d.PodLabels) {
			continue
		}
		level := serviceLevel(svc.Spec.Type)
		for _, sp := range svc.Spec.Ports {
			e := Exposure{Level: level, ServiceName: svc.Name, ServicePort: sp.Port}
			if level == ExposureNode || level == ExposureExternal {
				e.NodePort = sp.NodePort
			}
			c.exposeServicePort(d, first, sp, e, nil)
			for _, ing := range c.ingresses[d.Namespace] {
				if ingressReaches(ing, svc.Name, sp) {
					c.exposeServicePort(d, first, sp, Exposure{Level: ExposureExternal, ServiceName: svc.Name, ServicePort: sp.Port}, nil)
					break
				}
			}
			for _, rt := range c.routes[d.Namespace] {
				if routeNames(rt, svc.Name) {
					c.exposeServicePort(d, first, sp, Exposure{Level: ExposureRoute, ServiceName: svc.Name, ServicePort: sp.Port}, rt.Spec.Port)
				}
			}
		}
	}
	for i := range d.Containers {
		for j := range d.Containers[i].Ports {
			p := &d.Containers[i].Ports[j]
			slices.SortFunc(p.Exposures, compareExposures)
			p.Exposures = slices.Compact(p.Exposures)
			if len(p.Exposures) == 0 {
				p.Exposures = nil
			}
		}
	}
}

// exposeServicePort adds e to every container port sp targets. A numeric
// target port that no container declares is added, Undeclared, to the
// first app container. routePort, when set, narrows a Route's reach.
func (c *Context) exposeServicePort(d *Deployment, first int, sp corev1.ServicePort, e Exposure, routePort *RoutePort) {
	proto := string(sp.Protocol)
	if proto == "" {
		proto = string(corev1.ProtocolTCP)
	}
	found := false
	for i := range d.Containers {
		for j := range d.Containers[i].Ports {
			p := &d.Containers[i].Ports[j]
			if p.Protocol != proto || !targets(sp, p) {
				continue
			}
			found = true
			if routeSelects(routePort, sp, p.ContainerPort) {
				p.Exposures = append(p.Exposures, e)
			}
		}
	}
	if found || first < 0 {
		return
	}
	number, ok := targetNumber(sp)
	if !ok || !routeSelects(routePort, sp, number) {
		return
	}
	ct := &d.Containers[first]
	for j := range ct.Ports {
		if p := &ct.Ports[j]; p.Undeclared && p.ContainerPort == number && p.Protocol == proto {
			p.Exposures = append(p.Exposures, e)
			return
		}
	}
	ct.Ports = append(ct.Ports, Port{ContainerPort: number, Protocol: proto, Exposures: []Exposure{e}, Undeclared: true})
}

func serviceLevel(t corev1.ServiceType) string {
	switch t {
	case corev1.ServiceTypeNodePort:
		return ExposureNode
	case corev1.ServiceTypeLoadBalancer:
		return ExposureExternal
	default:
		return ExposureInternal
	}
}

// targets reports whether service port sp forwards to container port p:
// by name, by number, or — without a targetPort — by the service port's
// own number.
func targets(sp corev1.ServicePort, p *Port) bool {
	tp := sp.TargetPort
	if tp.Type == intstr.String && tp.StrVal != "" {
		if n, err := strconv.ParseInt(tp.StrVal, 10, 32); err == nil {
			return p.ContainerPort == int32(n)
		}
		return p.Name == tp.StrVal
	}
	if tp.Type == intstr.Int && tp.IntVal != 0 {
		return p.ContainerPort == tp.IntVal
	}
	return p.ContainerPort == sp.Port
}

// targetNumber is the container port number sp forwards to, when it is a
// number.
func targetNumber(sp corev1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.String && tp.StrVal != "":
		n, err := strconv.ParseInt(tp.StrVal, 10, 32)
		return int32(n), err == nil && n > 0
	case tp.Type == intstr.Int && tp.IntVal != 0:
		return tp.IntVal, tp.IntVal > 0
	default:
		return sp.Port, sp.Port > 0
	}
}

func ingressReaches(ing *networkingv1.Ingress, service string, sp corev1.ServicePort) bool {
	if b := ing.Spec.DefaultBackend; b != nil && backendReaches(b, service, sp) {
		return true
	}
	for i := range ing.Spec.Rules {
		if http := ing.Spec.Rules[i].HTTP; http != nil {
			for j := range http.Paths {
				if backendReaches(&http.Paths[j].Backend, service, sp) {
					return true
				}
			}
		}
	}
	return false
}

func backendReaches(b *networkingv1.IngressBackend, service string, sp corev1.ServicePort) bool {
	if b.Service == nil || b.Service.Name != service {
		return false
	}
	switch port := b.Service.Port; {
	case port.Name != "":
		return port.Name == sp.Name
	case port.Number != 0:
		return port.Number == sp.Port
	default:
		return true
	}
}

func routeNames(rt *Route, service string) bool {
	isService := func(r RouteTargetReference) bool {
		return (r.Kind == "" || r.Kind == "Service") && r.Name == service
	}
	if isService(rt.Spec.To) {
		return true
	}
	for _, b := range rt.Spec.AlternateBackends {
		if isService(b) {
			return true
		}
	}
	return false
}

// routeSelects applies a Route's spec.port: a name picks the Service port
// of that name (or the one targeting a port of that name), a number picks
// the pod port. No port means every port. Always true without a Route.
func routeSelects(rp *RoutePort, sp corev1.ServicePort, containerPort int32) bool {
	if rp == nil {
		return true
	}
	tp := rp.TargetPort
	if tp.Type == intstr.String {
		if tp.StrVal == "" {
			return true
		}
		if n, err := strconv.ParseInt(tp.StrVal, 10, 32); err == nil {
			return containerPort == int32(n)
		}
		return sp.Name == tp.StrVal || (sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal == tp.StrVal)
	}
	return tp.IntVal == 0 || tp.IntVal == containerPort
}

func compareExposures(a, b Exposure) int {
	return cmp.Or(
		cmp.Compare(exposureRank(a.Level), exposureRank(b.Level)),
		cmp.Compare(a.ServiceName, b.ServiceName),
		cmp.Compare(a.ServicePort, b.ServicePort),
		cmp.Compare(a.NodePort, b.NodePort),
	)
}
