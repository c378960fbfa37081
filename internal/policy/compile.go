package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/workload"
)

// fieldID numbers the criteria the engine evaluates, so evaluation switches
// on an integer instead of comparing names.
type fieldID int

const (
	// deployment level
	fAutomountToken fieldID = iota + 1
	fDisallowedAnnotation
	fRequiredAnnotation
	fRequiredLabel
	fHasIngressNP
	fHasEgressNP
	fHostIPC
	fHostNetwork
	fHostPID
	fMinRBAC
	fNamespace
	fReplicas
	fRuntimeClass
	fServiceAccount
	// container level
	fAddCaps
	fAllowPrivEsc
	fAppArmor
	fCPULimit
	fCPURequest
	fMemLimit
	fMemRequest
	fContainerName
	fDropCaps
	fImageRegistry
	fImageRemote
	fImageTag
	fLiveness
	fReadiness
	fPrivileged
	fReadOnlyRootFS
	fSeccomp
	// mount level
	fMountPropagation
	fVolumeDestination
	fVolumeName
	fVolumeSource
	fVolumeType
	fWritableHostMount
	fWritableVolume
	// port level
	fExposedNodePort
	fExposedPort
	fExposedPortProtocol
	fPortExposureMethod
	// env level
	fEnv
	// image level: the scan of a container's image
	fImageAge
	fImageScanAge
	fImageOS
	fImageUser
	fRequiredImageLabel
	fDisallowedImageLabel
	fUnscannedImage
	// layer level: one Dockerfile line of the image's history
	fDockerfileLine
	// component level: one package in the image
	fImageComponent
	// vulnerability level: one vulnerability of a component
	fCVE
	fCVSS
	fNVDCVSS
	fSeverity
	fFixedBy
	fFixable
	fDaysSincePublished
	fDaysSinceFirstInImage
	fDaysSinceFirstInSystem
)

var fieldIDs = map[string]fieldID{
	"Automount Service Account Token": fAutomountToken,
	"Disallowed Annotation":           fDisallowedAnnotation,
	"Required Annotation":             fRequiredAnnotation,
	"Required Label":                  fRequiredLabel,
	"Has Ingress Network Policy":      fHasIngressNP,
	"Has Egress Network Policy":       fHasEgressNP,
	"Host IPC":                        fHostIPC,
	"Host Network":                    fHostNetwork,
	"Host PID":                        fHostPID,
	"Minimum RBAC Permissions":        fMinRBAC,
	"Namespace":                       fNamespace,
	"Replicas":                        fReplicas,
	"Runtime Class":                   fRuntimeClass,
	"Service Account":                 fServiceAccount,
	"Add Capabilities":                fAddCaps,
	"Allow Privilege Escalation":      fAllowPrivEsc,
	"AppArmor Profile":                fAppArmor,
	"Container CPU Limit":             fCPULimit,
	"Container CPU Request":           fCPURequest,
	"Container Memory Limit":          fMemLimit,
	"Container Memory Request":        fMemRequest,
	"Container Name":                  fContainerName,
	"Drop Capabilities":               fDropCaps,
	"Image Registry":                  fImageRegistry,
	"Image Remote":                    fImageRemote,
	"Image Tag":                       fImageTag,
	"Liveness Probe Defined":          fLiveness,
	"Readiness Probe Defined":         fReadiness,
	"Privileged Container":            fPrivileged,
	"Read-Only Root Filesystem":       fReadOnlyRootFS,
	"Seccomp Profile Type":            fSeccomp,
	"Mount Propagation":               fMountPropagation,
	"Volume Destination":              fVolumeDestination,
	"Volume Name":                     fVolumeName,
	"Volume Source":                   fVolumeSource,
	"Volume Type":                     fVolumeType,
	"Writable Host Mount":             fWritableHostMount,
	"Writable Mounted Volume":         fWritableVolume,
	"Exposed Node Port":               fExposedNodePort,
	"Exposed Port":                    fExposedPort,
	"Exposed Port Protocol":           fExposedPortProtocol,
	"Port Exposure Method":            fPortExposureMethod,
	"Environment Variable":            fEnv,
	"Image Age":                       fImageAge,
	"Image Scan Age":                  fImageScanAge,
	"Image OS":                        fImageOS,
	"Image User":                      fImageUser,
	"Required Image Label":            fRequiredImageLabel,
	"Disallowed Image Label":          fDisallowedImageLabel,
	"Unscanned Image":                 fUnscannedImage,
	"Dockerfile Line":                 fDockerfileLine,
	"Image Component":                 fImageComponent,
	"CVE":                             fCVE,
	"CVSS":                            fCVSS,
	"NVD CVSS":                        fNVDCVSS,
	"Severity":                        fSeverity,
	"Fixed By":                        fFixedBy,
	"Fixable":                         fFixable,
	"Days Since CVE Was Published":    fDaysSincePublished,
	"Days Since CVE Was First Discovered In Image":  fDaysSinceFirstInImage,
	"Days Since CVE Was First Discovered In System": fDaysSinceFirstInSystem,
}

type level int

const (
	levelDeployment level = iota
	levelContainer
	levelMount
	levelPort
	levelEnv
	levelImage
	levelLayer
	levelComponent
	levelVuln
)

func (id fieldID) level() level {
	switch {
	case id >= fCVE:
		return levelVuln
	case id >= fImageComponent:
		return levelComponent
	case id >= fDockerfileLine:
		return levelLayer
	case id >= fImageAge:
		return levelImage
	case id >= fEnv:
		return levelEnv
	case id >= fExposedNodePort:
		return levelPort
	case id >= fMountPropagation:
		return levelMount
	case id >= fAddCaps:
		return levelContainer
	}
	return levelDeployment
}

// group is one compiled criterion.
type group struct {
	id     fieldID
	name   string
	negate bool
	and    bool
	raw    string // the values as written, for messages

	strs   []stringMatcher
	nums   []numberMatcher
	b      bool
	enums  []string // upper-cased
	kvs    []keyValueMatcher
	envs   []envMatcher
	rbac   workload.PermissionLevel
	sevs   []severityMatcher
	docker []dockerfileMatcher
}

// section is one compiled policy section; its groups are split by the level
// of object they look at, so that evaluation can require container-level
// groups to hold for the same container, mount-level ones for the same mount.
type section struct {
	deployment []*group
	container  []*group
	mount      []*group
	port       []*group
	env        []*group
	image      []*group
	layer      []*group
	component  []*group
	vuln       []*group
	// needsImage marks a section with image criteria: it is evaluated only
	// when the caller has image scans.
	needsImage bool
}

type compiledScope struct {
	cluster   string
	namespace *regexp.Regexp
	labelKey  *regexp.Regexp
	labelVal  *regexp.Regexp
}

type compiledExclusion struct {
	name    string // deployment name; empty = any
	scope   *compiledScope
	image   string
	expires time.Time // zero = never
}

// Compiled is a policy ready to evaluate. Compile a policy once and evaluate
// it many times; a Compiled is safe for concurrent use.
type Compiled struct {
	Policy *Policy

	sections   []section // the sections Stockade can evaluate (some need image scans)
	skipped    int       // sections that need runtime or audit data, not evaluated yet
	needs      []string  // kinds of data beyond a deployment that sections need
	scopes     []compiledScope
	exclusions []compiledExclusion
	stages     map[LifecycleStage]bool
	enforceAt  map[LifecycleStage]bool
}

// Compile validates a policy and prepares it for evaluation.
func Compile(p *Policy) (*Compiled, error) {
	if err := Validate(p); err != nil {
		return nil, err
	}
	return compileValid(p)
}

// compileValid compiles a policy Validate accepted.
func compileValid(p *Policy) (*Compiled, error) {
	c := &Compiled{Policy: p, stages: map[LifecycleStage]bool{}, enforceAt: map[LifecycleStage]bool{}}
	for _, s := range p.LifecycleStages {
		c.stages[s] = true
	}
	for _, a := range p.EnforcementActions {
		switch {
		case a == EnforceFailBuild:
			c.enforceAt[StageBuild] = true
		case deployStageEnforcement[a]:
			c.enforceAt[StageDeploy] = true
		case a == EnforceKillPod || a == EnforceFailKubeRequest:
			c.enforceAt[StageRuntime] = true
		}
	}
	for si, sec := range p.PolicySections {
		var cs section
		evaluable := true
		for gi, g := range sec.PolicyGroups {
			f, _ := LookupField(g.FieldName)
			if f.Data != DataDeployment {
				need := f.Data.String()
				if f.Data == DataKubeEvent && p.EventSource == EventSourceAuditLog {
					need = DataAuditLog.String()
				}
				if !slices.Contains(c.needs, need) {
					c.needs = append(c.needs, need)
				}
			}
			id, ok := fieldIDs[f.Name]
			if !ok {
				evaluable = false
				continue
			}
			cg, err := compileGroup(f, id, g)
			if err != nil {
				return nil, fmt.Errorf("policy %q: policySections[%d].policyGroups[%d]: %w", p.Name, si, gi, err)
			}
			switch id.level() {
			case levelDeployment:
				cs.deployment = append(cs.deployment, cg)
			case levelContainer:
				cs.container = append(cs.container, cg)
			case levelMount:
				cs.mount = append(cs.mount, cg)
			case levelPort:
				cs.port = append(cs.port, cg)
			case levelEnv:
				cs.env = append(cs.env, cg)
			case levelImage:
				cs.image = append(cs.image, cg)
				cs.needsImage = true
			case levelLayer:
				cs.layer = append(cs.layer, cg)
				cs.needsImage = true
			case levelComponent:
				cs.component = append(cs.component, cg)
				cs.needsImage = true
			case levelVuln:
				cs.vuln = append(cs.vuln, cg)
				cs.needsImage = true
			}
		}
		if evaluable {
			c.sections = append(c.sections, cs)
		} else {
			c.skipped++
		}
	}
	for _, s := range p.Scope {
		cs, err := compileScope(&s)
		if err != nil {
			return nil, fmt.Errorf("policy %q: scope: %w", p.Name, err)
		}
		c.scopes = append(c.scopes, cs)
	}
	for _, e := range p.Exclusions {
		var ce compiledExclusion
		if e.Deployment != nil {
			ce.name = e.Deployment.Name
			if e.Deployment.Scope != nil {
				cs, err := compileScope(e.Deployment.Scope)
				if err != nil {
					return nil, fmt.Errorf("policy %q: exclusion %q: %w", p.Name, e.Name, err)
				}
				ce.scope = &cs
			}
		}
		if e.Image != nil {
			ce.image = e.Image.Name
		}
		if e.Expiration != "" {
			ce.expires, _ = time.Parse(time.RFC3339, e.Expiration)
		}
		c.exclusions = append(c.exclusions, ce)
	}
	return c, nil
}

func compileGroup(f *Field, id fieldID, g PolicyGroup) (*group, error) {
	cg := &group{id: id, name: f.Name, negate: g.Negate, and: strings.EqualFold(g.BooleanOperator, "AND")}
	raws := make([]string, len(g.Values))
	for i, v := range g.Values {
		raws[i] = v.Value
		switch f.kind {
		case kindRegex:
			m, err := compileString(v.Value)
			if err != nil {
				return nil, err
			}
			cg.strs = append(cg.strs, m)
		case kindNumber:
			m, err := compileNumber(v.Value)
			if err != nil {
				return nil, err
			}
			if id.isDays() && m.op == "=" && !strings.HasPrefix(strings.TrimSpace(v.Value), "=") {
				// ACS reads a bare number of days as "older than".
				m.op = ">"
			}
			cg.nums = append(cg.nums, m)
		case kindBool:
			b, err := compileBool(v.Value)
			if err != nil {
				return nil, err
			}
			cg.b = b
		case kindEnum:
			e := strings.ToUpper(strings.TrimSpace(v.Value))
			cg.enums = append(cg.enums, e)
			if id == fMinRBAC {
				cg.rbac, _ = workload.ParsePermissionLevel(e)
			}
		case kindSeverity:
			m, err := compileSeverity(v.Value)
			if err != nil {
				return nil, err
			}
			cg.sevs = append(cg.sevs, m)
		case kindDockerfile:
			m, err := compileDockerfile(v.Value)
			if err != nil {
				return nil, err
			}
			cg.docker = append(cg.docker, m)
		case kindKeyValue:
			m, err := compileKeyValue(v.Value, id != fImageComponent)
			if err != nil {
				return nil, err
			}
			cg.kvs = append(cg.kvs, m)
		case kindEnv:
			m, err := compileEnv(v.Value)
			if err != nil {
				return nil, err
			}
			cg.envs = append(cg.envs, m)
		}
	}
	sep := " or "
	if cg.and {
		sep = " and "
	}
	cg.raw = strings.Join(raws, sep)
	return cg, nil
}

func compileScope(s *Scope) (compiledScope, error) {
	cs := compiledScope{cluster: s.Cluster}
	var err error
	if s.Namespace != "" {
		if cs.namespace, err = regexp.Compile("^(?:" + s.Namespace + ")$"); err != nil {
			return cs, fmt.Errorf("namespace: %w", err)
		}
	}
	if s.Label != nil {
		if cs.labelKey, err = regexp.Compile("^(?:" + s.Label.Key + ")$"); err != nil {
			return cs, fmt.Errorf("label key: %w", err)
		}
		if cs.labelVal, err = regexp.Compile("^(?:" + s.Label.Value + ")$"); err != nil {
			return cs, fmt.Errorf("label value: %w", err)
		}
	}
	return cs, nil
}

func (s *compiledScope) matches(d *workload.Deployment) bool {
	if s.cluster != "" && s.cluster != d.ClusterName {
		return false
	}
	if s.namespace != nil && !s.namespace.MatchString(d.Namespace) {
		return false
	}
	if s.labelKey != nil {
		found := false
		for k, v := range d.Labels {
			if s.labelKey.MatchString(k) && s.labelVal.MatchString(v) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// isDays marks the criteria whose values count days.
func (id fieldID) isDays() bool {
	switch id {
	case fImageAge, fImageScanAge, fDaysSincePublished, fDaysSinceFirstInImage, fDaysSinceFirstInSystem:
		return true
	}
	return false
}

// HasStage reports whether the policy applies at the stage.
func (c *Compiled) HasStage(s LifecycleStage) bool { return c.stages[s] }

// EnforcedAt reports whether the policy carries an enforcement action for the stage.
func (c *Compiled) EnforcedAt(s LifecycleStage) bool { return c.enforceAt[s] }

// Evaluable reports whether at least one section can be evaluated from a
// deployment alone.
func (c *Compiled) Evaluable() bool {
	for i := range c.sections {
		if !c.sections[i].needsImage {
			return true
		}
	}
	return false
}

// EvaluableWithImages reports whether at least one section can be evaluated
// from a deployment (or an image) with image scans.
func (c *Compiled) EvaluableWithImages() bool { return len(c.sections) > 0 }

// NeedsData lists the kinds of data ("image", "runtime", "audit log") that
// some sections of the policy read and that a deployment alone does not
// carry; without that data those sections are skipped.
func (c *Compiled) NeedsData() []string { return c.needs }

// excludesImage reports whether a live image exclusion names the image: ACS
// matches image exclusions as a prefix of the full name.
func (c *Compiled) excludesImage(fullName string, now time.Time) bool {
	for i := range c.exclusions {
		e := &c.exclusions[i]
		if e.image == "" || (!e.expires.IsZero() && now.After(e.expires)) {
			continue
		}
		if strings.HasPrefix(fullName, e.image) {
			return true
		}
	}
	return false
}

// AppliesTo reports whether the deployment is inside the policy's scope and
// not excluded at time now.
func (c *Compiled) AppliesTo(d *workload.Deployment, now time.Time) bool {
	if len(c.scopes) > 0 {
		in := false
		for i := range c.scopes {
			if c.scopes[i].matches(d) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	for i := range c.exclusions {
		e := &c.exclusions[i]
		if !e.expires.IsZero() && now.After(e.expires) {
			continue
		}
		if e.name == "" && e.scope == nil {
			continue // an image-only exclusion applies to image checks
		}
		if e.name != "" && e.name != d.Name {
			continue
		}
		if e.scope != nil && !e.scope.matches(d) {
			continue
		}
		return false
	}
	return true
}
