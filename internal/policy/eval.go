package policy

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/workload"
)

// Violation is one reason a workload violates a policy, in words a person can
// act on.
type Violation struct {
	Message   string `json:"message"`
	Container string `json:"container,omitempty"`
}

// ImageLookup returns the scan of a container's image, or nil when the
// image has not been scanned.
type ImageLookup func(c *workload.Container) *scan.Image

// evalEnv is what an evaluation knows beyond the deployment.
type evalEnv struct {
	images ImageLookup // nil: no image data at all; image sections are skipped
	now    time.Time
}

// MatchDeployment evaluates the policy's criteria against a deployment and
// returns what violates them, or nil. Scope and exclusions are not checked
// here (see AppliesTo). Sections that need image scans, runtime or audit
// data are skipped.
func (c *Compiled) MatchDeployment(d *workload.Deployment) []Violation {
	return c.match(d, evalEnv{})
}

// MatchDeploymentWithImages evaluates the policy against a deployment whose
// images have been scanned: sections with image criteria are evaluated too,
// each against the image of the same container. An image lookup that returns
// nil means that container's image is unscanned.
func (c *Compiled) MatchDeploymentWithImages(d *workload.Deployment, images ImageLookup, now time.Time) []Violation {
	return c.match(d, evalEnv{images: images, now: now})
}

// MatchImage evaluates the policy against a scanned image on its own, as at
// the BUILD stage: image criteria and the image reference criteria (Image
// Registry, Remote, Tag).
func (c *Compiled) MatchImage(img *scan.Image, now time.Time) []Violation {
	d := &workload.Deployment{Containers: []workload.Container{{
		Image: workload.Image{FullName: img.FullName, Raw: img.Name, Registry: img.Registry, Remote: img.Remote, Tag: img.Tag, Digest: img.Digest},
	}}}
	return c.match(d, evalEnv{images: func(*workload.Container) *scan.Image { return img }, now: now})
}

func (c *Compiled) match(d *workload.Deployment, env evalEnv) []Violation {
	var out []Violation
	for i := range c.sections {
		if c.sections[i].needsImage && env.images == nil {
			continue
		}
		out = c.sections[i].match(d, &env, out)
	}
	return out
}

func (s *section) match(d *workload.Deployment, env *evalEnv, out []Violation) []Violation {
	for _, g := range s.deployment {
		if !g.matchDeployment(d) {
			return out
		}
	}
	start := len(out)
	if len(s.container) == 0 && len(s.mount) == 0 && len(s.port) == 0 && len(s.env) == 0 && !s.needsImage {
		for _, g := range s.deployment {
			out = addViolation(out, start, Violation{Message: g.deploymentMessage(d)})
		}
		return out
	}
	matchedAny := false
	for ci := range d.Containers {
		c := &d.Containers[ci]
		ok := true
		for _, g := range s.container {
			if !g.matchContainer(c) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		// Each sub-object list, when constrained, needs at least one element
		// that satisfies all of its groups; find them without allocating
		// unless the container matches as a whole.
		if len(s.mount) > 0 && !slices.ContainsFunc(c.Mounts, s.mountMatches) {
			continue
		}
		if len(s.port) > 0 && !s.anyPortMatches(c) {
			continue
		}
		if len(s.env) > 0 && !slices.ContainsFunc(c.Env, s.envMatches) {
			continue
		}
		var img *scan.Image
		if s.needsImage {
			img = env.images(c)
			if !s.imageMatches(img, env.now) {
				continue
			}
		}
		if !matchedAny {
			matchedAny = true
			for _, g := range s.deployment {
				out = addViolation(out, start, Violation{Message: g.deploymentMessage(d)})
			}
		}
		for _, g := range s.container {
			out = addViolation(out, start, Violation{Message: g.containerMessage(c), Container: c.Name})
		}
		for mi := range c.Mounts {
			if len(s.mount) > 0 && s.mountMatches(c.Mounts[mi]) {
				out = addViolation(out, start, Violation{Message: mountMessage(c, &c.Mounts[mi]), Container: c.Name})
			}
		}
		if len(s.port) > 0 {
			for pi := range c.Ports {
				p := &c.Ports[pi]
				forEachExposure(p, func(e *workload.Exposure) {
					if s.portMatches(p, e) {
						out = addViolation(out, start, Violation{Message: portMessage(c, p, e), Container: c.Name})
					}
				})
			}
		}
		for ei := range c.Env {
			if len(s.env) > 0 && s.envMatches(c.Env[ei]) {
				out = addViolation(out, start, Violation{Message: envMessage(c, &c.Env[ei]), Container: c.Name})
			}
		}
		if s.needsImage {
			out = s.imageMessages(c, img, env.now, out, start)
		}
	}
	return out
}

// addViolation appends v unless the same message was already produced by
// this section (from index start on).
func addViolation(out []Violation, start int, v Violation) []Violation {
	for _, o := range out[start:] {
		if o.Message == v.Message {
			return out
		}
	}
	return append(out, v)
}

var unsetExposure = workload.Exposure{Level: workload.ExposureUnset}

func forEachExposure(p *workload.Port, fn func(*workload.Exposure)) {
	if len(p.Exposures) == 0 {
		e := unsetExposure
		fn(&e)
		return
	}
	for i := range p.Exposures {
		fn(&p.Exposures[i])
	}
}

func (s *section) mountMatches(m workload.Mount) bool {
	for _, g := range s.mount {
		if !g.matchMount(&m) {
			return false
		}
	}
	return true
}

func (s *section) anyPortMatches(c *workload.Container) bool {
	for pi := range c.Ports {
		p := &c.Ports[pi]
		if len(p.Exposures) == 0 {
			if s.portMatches(p, &unsetExposure) {
				return true
			}
			continue
		}
		for ei := range p.Exposures {
			if s.portMatches(p, &p.Exposures[ei]) {
				return true
			}
		}
	}
	return false
}

func (s *section) portMatches(p *workload.Port, e *workload.Exposure) bool {
	for _, g := range s.port {
		if !g.matchPort(p, e) {
			return false
		}
	}
	return true
}

func (s *section) envMatches(e workload.EnvVar) bool {
	for _, g := range s.env {
		if !g.matchEnv(&e) {
			return false
		}
	}
	return true
}

// --- value combinators --------------------------------------------------------

func (g *group) str(s string) bool { return g.strPlain(s) != g.negate }

// strAny matches when any of the strings matches (before negation).
func (g *group) strAny(ss ...string) bool {
	for _, s := range ss {
		if g.strPlain(s) {
			return !g.negate
		}
	}
	return g.negate
}

// strPlain combines the group's values with OR or AND, without negation.
func (g *group) strPlain(s string) bool {
	r := g.and
	for i := range g.strs {
		m := g.strs[i].match(s)
		if g.and && !m {
			return false
		}
		if !g.and && m {
			return true
		}
	}
	return r
}

func (g *group) num(x float64) bool {
	r := g.and
	for i := range g.nums {
		m := g.nums[i].match(x)
		if g.and && !m {
			r = false
			break
		}
		if !g.and && m {
			r = true
			break
		}
	}
	return r != g.negate
}

func (g *group) boolean(b bool) bool { return (b == g.b) != g.negate }

func (g *group) enum(s string) bool {
	r := false
	for _, e := range g.enums {
		if strings.EqualFold(e, s) {
			r = true
			break
		}
	}
	return r != g.negate
}

// strList matches a list of strings (capabilities): with OR, some element
// matches some value; with AND, every value is matched by some element.
func (g *group) strList(list []string) bool {
	r := g.and
	for i := range g.strs {
		m := false
		for _, s := range list {
			if g.strs[i].match(s) {
				m = true
				break
			}
		}
		if g.and && !m {
			r = false
			break
		}
		if !g.and && m {
			r = true
			break
		}
	}
	return r != g.negate
}

// --- matchers per level -----------------------------------------------------------

func (g *group) matchDeployment(d *workload.Deployment) bool {
	switch g.id {
	case fAutomountToken:
		return g.boolean(d.AutomountServiceAccountToken)
	case fDisallowedAnnotation:
		for i := range g.kvs {
			if _, ok := g.kvs[i].matchMap(d.Annotations); ok {
				return true
			}
		}
		return false
	case fRequiredAnnotation:
		return g.missingKeyValue(d.Annotations)
	case fRequiredLabel:
		return g.missingKeyValue(d.Labels)
	case fHasIngressNP:
		return g.boolean(d.HasIngressNetworkPolicy)
	case fHasEgressNP:
		return g.boolean(d.HasEgressNetworkPolicy)
	case fHostIPC:
		return g.boolean(d.HostIPC)
	case fHostNetwork:
		return g.boolean(d.HostNetwork)
	case fHostPID:
		return g.boolean(d.HostPID)
	case fMinRBAC:
		return (d.RBAC >= g.rbac) != g.negate
	case fNamespace:
		return g.str(d.Namespace)
	case fReplicas:
		return g.num(float64(d.Replicas))
	case fRuntimeClass:
		return g.str(d.RuntimeClass)
	case fServiceAccount:
		return g.str(d.ServiceAccount)
	}
	return false
}

// missingKeyValue is true when no key=value pair of the group is present:
// with OR values, a required pair is missing when none matches; with AND,
// when any one does not.
func (g *group) missingKeyValue(kv map[string]string) bool {
	if g.and {
		for i := range g.kvs {
			if _, ok := g.kvs[i].matchMap(kv); !ok {
				return true
			}
		}
		return false
	}
	for i := range g.kvs {
		if _, ok := g.kvs[i].matchMap(kv); ok {
			return false
		}
	}
	return true
}

func (g *group) matchContainer(c *workload.Container) bool {
	switch g.id {
	case fAddCaps:
		return g.strList(c.AddCapabilities)
	case fAllowPrivEsc:
		return g.boolean(c.AllowPrivilegeEscalation)
	case fAppArmor:
		return g.str(c.AppArmorProfile)
	case fCPULimit:
		return g.num(c.CPULimit)
	case fCPURequest:
		return g.num(c.CPURequest)
	case fMemLimit:
		return g.num(c.MemoryLimit)
	case fMemRequest:
		return g.num(c.MemoryRequest)
	case fContainerName:
		return g.str(c.Name)
	case fDropCaps:
		return len(g.notDropped(c)) > 0
	case fImageRegistry:
		return g.str(c.Image.Registry)
	case fImageRemote:
		return g.str(c.Image.Remote)
	case fImageTag:
		return g.str(c.Image.Tag)
	case fLiveness:
		// Init containers run to completion before the pod is ready and
		// cannot have probes, so probe criteria do not apply to them.
		return !c.Init && g.boolean(c.LivenessProbe)
	case fReadiness:
		return !c.Init && g.boolean(c.ReadinessProbe)
	case fPrivileged:
		return g.boolean(c.Privileged)
	case fReadOnlyRootFS:
		return g.boolean(c.ReadOnlyRootFilesystem)
	case fSeccomp:
		return g.enum(c.SeccompProfileType)
	}
	return false
}

// notDropped returns the required capabilities the container does not drop.
// Dropping ALL drops every capability.
func (g *group) notDropped(c *workload.Container) []string {
	var missing []string
	for _, d := range c.DropCapabilities {
		if strings.EqualFold(d, "ALL") {
			return nil
		}
	}
	for i := range g.strs {
		dropped := false
		for _, d := range c.DropCapabilities {
			if g.strs[i].match(d) {
				dropped = true
				break
			}
		}
		if !dropped {
			missing = append(missing, g.dropName(i))
		}
	}
	return missing
}

func (g *group) dropName(i int) string {
	m := &g.strs[i]
	if m.literal != "" {
		return strings.ToUpper(m.literal)
	}
	if m.re != nil {
		s := m.re.expr
		s = strings.TrimPrefix(s, "(?i)^(?:")
		return strings.TrimSuffix(s, ")$")
	}
	return "ALL"
}

func (g *group) matchMount(m *workload.Mount) bool {
	switch g.id {
	case fMountPropagation:
		return g.enum(m.MountPropagation)
	case fVolumeDestination:
		return g.str(m.Destination)
	case fVolumeName:
		return g.str(m.Name)
	case fVolumeSource:
		return g.str(m.Source)
	case fVolumeType:
		return g.str(m.Type)
	case fWritableHostMount:
		return g.boolean(m.Type == "HostPath" && !m.ReadOnly)
	case fWritableVolume:
		return g.boolean(!m.ReadOnly)
	}
	return false
}

func (g *group) matchPort(p *workload.Port, e *workload.Exposure) bool {
	switch g.id {
	case fExposedNodePort:
		return g.num(float64(e.NodePort))
	case fExposedPort:
		return g.num(float64(p.ContainerPort))
	case fExposedPortProtocol:
		return g.str(p.Protocol)
	case fPortExposureMethod:
		return g.enum(e.Level)
	}
	return false
}

func (g *group) matchEnv(e *workload.EnvVar) bool {
	r := false
	for i := range g.envs {
		m := &g.envs[i]
		if m.source != "" && !strings.EqualFold(m.source, string(e.Source)) {
			continue
		}
		if !m.name.match(e.Name) {
			continue
		}
		if !m.value.any && (e.Source != workload.EnvRaw || !m.value.match(e.Value)) {
			continue
		}
		r = true
		break
	}
	return r != g.negate
}

// --- messages ---------------------------------------------------------------------

func quote(s string) string { return "'" + s + "'" }

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (g *group) deploymentMessage(d *workload.Deployment) string {
	switch g.id {
	case fAutomountToken:
		return yesNo(d.AutomountServiceAccountToken,
			"Deployment mounts the service account token of "+quote(d.ServiceAccount),
			"Deployment does not mount a service account token")
	case fDisallowedAnnotation:
		for i := range g.kvs {
			if k, ok := g.kvs[i].matchMap(d.Annotations); ok {
				return "Disallowed annotation found: " + k + "=" + d.Annotations[k]
			}
		}
	case fRequiredAnnotation:
		return "Required annotation not found (policy: " + g.raw + ")"
	case fRequiredLabel:
		return "Required label not found (policy: " + g.raw + ")"
	case fHasIngressNP:
		return yesNo(d.HasIngressNetworkPolicy, "An ingress network policy applies to the deployment",
			"No ingress network policy applies to the deployment, so all incoming traffic is allowed")
	case fHasEgressNP:
		return yesNo(d.HasEgressNetworkPolicy, "An egress network policy applies to the deployment",
			"No egress network policy applies to the deployment, so all outgoing traffic is allowed")
	case fHostIPC:
		return yesNo(d.HostIPC, "Deployment uses the host's IPC namespace", "Deployment does not use the host's IPC namespace")
	case fHostNetwork:
		return yesNo(d.HostNetwork, "Deployment uses the host's network namespace", "Deployment does not use the host's network namespace")
	case fHostPID:
		return yesNo(d.HostPID, "Deployment uses the host's process ID namespace", "Deployment does not use the host's process ID namespace")
	case fMinRBAC:
		return "Service account " + quote(d.ServiceAccount) + " has " + d.RBAC.String() + " permissions (policy: " + yesNo(g.negate, "below ", "at least ") + g.rbac.String() + ")"
	case fNamespace:
		return "Deployment is in namespace " + quote(d.Namespace)
	case fReplicas:
		return "Deployment has " + strconv.FormatInt(d.Replicas, 10) + " replicas (policy: " + g.raw + ")"
	case fRuntimeClass:
		if d.RuntimeClass == "" {
			return "Deployment sets no runtime class"
		}
		return "Deployment uses runtime class " + quote(d.RuntimeClass)
	case fServiceAccount:
		return "Deployment uses service account " + quote(d.ServiceAccount)
	}
	return g.name + " matched (policy: " + g.raw + ")"
}

func (g *group) containerMessage(c *workload.Container) string {
	cn := quote(c.Name)
	switch g.id {
	case fAddCaps:
		var added []string
		for _, a := range c.AddCapabilities {
			for i := range g.strs {
				if g.strs[i].match(a) {
					added = append(added, a)
					break
				}
			}
		}
		if len(added) == 0 {
			return "Container " + cn + " does not add capabilities " + g.raw
		}
		return "Container " + cn + " adds " + plural(len(added), "capability", "capabilities") + " " + strings.Join(added, ", ")
	case fAllowPrivEsc:
		return "Container " + cn + yesNo(c.AllowPrivilegeEscalation, " allows privilege escalation", " does not allow privilege escalation")
	case fAppArmor:
		return "Container " + cn + " has AppArmor profile " + quote(c.AppArmorProfile)
	case fCPULimit:
		return "CPU limit " + formatFloat(c.CPULimit) + " for container " + cn + " (policy: " + g.raw + ")"
	case fCPURequest:
		return "CPU request " + formatFloat(c.CPURequest) + " for container " + cn + " (policy: " + g.raw + ")"
	case fMemLimit:
		return "Memory limit " + formatFloat(c.MemoryLimit) + " MB for container " + cn + " (policy: " + g.raw + ")"
	case fMemRequest:
		return "Memory request " + formatFloat(c.MemoryRequest) + " MB for container " + cn + " (policy: " + g.raw + ")"
	case fContainerName:
		return "Container is named " + cn
	case fDropCaps:
		missing := g.notDropped(c)
		return "Container " + cn + " does not drop " + plural(len(missing), "capability", "capabilities") + " " + strings.Join(missing, ", ")
	case fImageRegistry:
		return "Container " + cn + " uses image " + quote(c.Image.FullName) + " from registry " + quote(c.Image.Registry)
	case fImageRemote:
		return "Container " + cn + " uses image " + quote(c.Image.FullName) + " (repository " + quote(c.Image.Remote) + ")"
	case fImageTag:
		return "Container " + cn + " uses image " + quote(c.Image.FullName) + " with tag " + quote(c.Image.Tag)
	case fLiveness:
		return "Container " + cn + yesNo(c.LivenessProbe, " has a liveness probe", " has no liveness probe")
	case fReadiness:
		return "Container " + cn + yesNo(c.ReadinessProbe, " has a readiness probe", " has no readiness probe")
	case fPrivileged:
		return "Container " + cn + yesNo(c.Privileged, " is privileged", " is not privileged")
	case fReadOnlyRootFS:
		return "Container " + cn + yesNo(c.ReadOnlyRootFilesystem, " uses a read-only root filesystem", " uses a read-write root filesystem")
	case fSeccomp:
		return "Container " + cn + " has seccomp profile type " + c.SeccompProfileType
	}
	return g.name + " matched in container " + cn + " (policy: " + g.raw + ")"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func mountMessage(c *workload.Container, m *workload.Mount) string {
	var b strings.Builder
	b.WriteString("Container ")
	b.WriteString(quote(c.Name))
	b.WriteString(" mounts ")
	switch {
	case m.Type == "HostPath":
		b.WriteString("host path ")
		b.WriteString(quote(m.Source))
	case m.Source != "":
		b.WriteString(m.Type)
		b.WriteString(" volume ")
		b.WriteString(quote(m.Name))
		b.WriteString(" (")
		b.WriteString(m.Source)
		b.WriteString(")")
	default:
		b.WriteString(m.Type)
		b.WriteString(" volume ")
		b.WriteString(quote(m.Name))
	}
	b.WriteString(yesNo(m.ReadOnly, " read-only", " read-write"))
	b.WriteString(" at ")
	b.WriteString(quote(m.Destination))
	if m.MountPropagation != "" && m.MountPropagation != "NONE" {
		b.WriteString(" with mount propagation ")
		b.WriteString(m.MountPropagation)
	}
	return b.String()
}

func portMessage(c *workload.Container, p *workload.Port, e *workload.Exposure) string {
	var b strings.Builder
	b.WriteString("Container ")
	b.WriteString(quote(c.Name))
	b.WriteString(" port ")
	b.WriteString(strconv.Itoa(int(p.ContainerPort)))
	b.WriteString("/")
	b.WriteString(p.Protocol)
	switch e.Level {
	case workload.ExposureUnset:
		b.WriteString(" is declared and not exposed by any service")
	case workload.ExposureHost:
		b.WriteString(" is exposed on the node as host port ")
		b.WriteString(strconv.Itoa(int(e.NodePort)))
	case workload.ExposureInternal:
		b.WriteString(" is exposed inside the cluster by service ")
		b.WriteString(quote(e.ServiceName))
	case workload.ExposureNode:
		b.WriteString(" is exposed on every node by service ")
		b.WriteString(quote(e.ServiceName))
		b.WriteString(" as node port ")
		b.WriteString(strconv.Itoa(int(e.NodePort)))
	case workload.ExposureExternal:
		b.WriteString(" is exposed outside the cluster by ")
		b.WriteString(quote(e.ServiceName))
		if e.NodePort > 0 {
			b.WriteString(" (node port ")
			b.WriteString(strconv.Itoa(int(e.NodePort)))
			b.WriteString(")")
		}
	case workload.ExposureRoute:
		b.WriteString(" is exposed outside the cluster by route ")
		b.WriteString(quote(e.ServiceName))
	default:
		b.WriteString(" is exposed (")
		b.WriteString(e.Level)
		b.WriteString(")")
	}
	return b.String()
}

func envMessage(c *workload.Container, e *workload.EnvVar) string {
	var from string
	switch e.Source {
	case workload.EnvRaw:
		from = "is set to a literal value"
	case workload.EnvSecretKey:
		from = "is set from a secret"
	case workload.EnvConfigMapKey:
		from = "is set from a config map"
	case workload.EnvField:
		from = "is set from a pod field"
	case workload.EnvResourceField:
		from = "is set from a resource field"
	default:
		from = "is set"
	}
	name := e.Name
	if name == "" {
		name = "(all keys)"
	}
	return "Environment variable " + quote(name) + " " + from + " in container " + quote(c.Name)
}
