package policy

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// fieldIndex is the criteria catalogue, built once; it is never written after.
var fieldIndex = sync.OnceValue(Fields)

// LookupField finds a criterion by name, case-insensitively.
func LookupField(name string) (*Field, bool) {
	f, ok := fieldIndex()[strings.ToLower(strings.TrimSpace(name))]
	return f, ok
}

// FieldError is one problem in a policy, at a JSON path such as
// policySections[0].policyGroups[1].values[0].value.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// ValidationError lists every problem found in one policy.
type ValidationError struct {
	Policy string       `json:"policy"`
	Errors []FieldError `json:"errors"`
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "policy %q is invalid: ", e.Policy)
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Path)
		b.WriteString(": ")
		b.WriteString(fe.Message)
	}
	return b.String()
}

type validator struct{ errs []FieldError }

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// deployStageEnforcement are the actions that act when a workload is deployed.
var deployStageEnforcement = map[EnforcementAction]bool{
	EnforceScaleToZero:          true,
	EnforceUnsatisfiableNode:    true,
	EnforceFailDeploymentCreate: true,
	EnforceFailDeploymentUpdate: true,
}

// imageReferenceFields are evaluated from an image's name alone, so BUILD
// policies may use them although they are not scan data.
var imageReferenceFields = map[string]bool{"Image Registry": true, "Image Remote": true, "Image Tag": true}

// Validate checks a policy and returns a *ValidationError naming every
// problem by its field path, or nil.
func Validate(p *Policy) error {
	v := &validator{}
	if strings.TrimSpace(p.Name) == "" {
		v.add("name", "is required")
	} else if len(p.Name) > 256 {
		v.add("name", "is %d characters long; at most 256 are allowed", len(p.Name))
	}
	if p.Severity == "" {
		v.add("severity", "is required (LOW_SEVERITY, MEDIUM_SEVERITY, HIGH_SEVERITY or CRITICAL_SEVERITY)")
	} else if p.Severity.Rank() == 0 {
		v.add("severity", "unknown severity %q (want LOW_SEVERITY, MEDIUM_SEVERITY, HIGH_SEVERITY or CRITICAL_SEVERITY)", p.Severity)
	}

	stages := map[LifecycleStage]bool{}
	if len(p.LifecycleStages) == 0 {
		v.add("lifecycleStages", "at least one of BUILD, DEPLOY, RUNTIME is required")
	}
	for i, s := range p.LifecycleStages {
		switch s {
		case StageBuild, StageDeploy, StageRuntime:
			if stages[s] {
				v.add(fmt.Sprintf("lifecycleStages[%d]", i), "%s is listed twice", s)
			}
			stages[s] = true
		default:
			v.add(fmt.Sprintf("lifecycleStages[%d]", i), "unknown stage %q (want BUILD, DEPLOY or RUNTIME)", s)
		}
	}
	runtime := stages[StageRuntime]
	switch p.EventSource {
	case "", EventSourceNone:
		if runtime {
			v.add("eventSource", "a RUNTIME policy needs an event source (DEPLOYMENT_EVENT or AUDIT_LOG_EVENT)")
		}
	case EventSourceDeployment, EventSourceAuditLog:
		if !runtime {
			v.add("eventSource", "only RUNTIME policies have an event source; remove %s or add the RUNTIME stage", p.EventSource)
		}
	default:
		v.add("eventSource", "unknown event source %q (want DEPLOYMENT_EVENT or AUDIT_LOG_EVENT)", p.EventSource)
	}
	if runtime && (stages[StageBuild] || stages[StageDeploy]) {
		v.add("lifecycleStages", "RUNTIME cannot be combined with BUILD or DEPLOY")
	}

	for i, a := range p.EnforcementActions {
		path := fmt.Sprintf("enforcementActions[%d]", i)
		switch {
		case a == EnforceUnset:
		case a == EnforceFailBuild:
			if !stages[StageBuild] {
				v.add(path, "%s needs the BUILD stage", a)
			}
		case deployStageEnforcement[a]:
			if !stages[StageDeploy] {
				v.add(path, "%s needs the DEPLOY stage", a)
			}
		case a == EnforceKillPod:
			if !runtime || p.EventSource != EventSourceDeployment {
				v.add(path, "%s needs the RUNTIME stage with DEPLOYMENT_EVENT", a)
			}
		case a == EnforceFailKubeRequest:
			// Admission control refuses exec, attach and port-forward
			// requests as they happen (DEPLOYMENT_EVENT with the Kubernetes
			// Resource criterion, as in ACS); audit-log events arrive after
			// the fact and cannot be refused.
			if !runtime || p.EventSource != EventSourceDeployment || !usesField(p, "Kubernetes Resource") {
				v.add(path, "%s needs the RUNTIME stage with DEPLOYMENT_EVENT and the Kubernetes Resource criterion", a)
			}
		default:
			v.add(path, "unknown enforcement action %q", a)
		}
	}

	if len(p.PolicySections) == 0 {
		v.add("policySections", "at least one section with criteria is required")
	}
	for si, sec := range p.PolicySections {
		v.section(p, stages, si, sec)
	}
	for i, s := range p.Scope {
		v.scope(fmt.Sprintf("scope[%d]", i), &s)
	}
	for i, e := range p.Exclusions {
		path := fmt.Sprintf("exclusions[%d]", i)
		if e.Deployment == nil && e.Image == nil {
			v.add(path, "names neither a deployment nor an image")
		}
		if e.Deployment != nil {
			if e.Deployment.Name == "" && e.Deployment.Scope == nil {
				v.add(path+".deployment", "needs a name or a scope")
			}
			if e.Deployment.Scope != nil {
				v.scope(path+".deployment.scope", e.Deployment.Scope)
			}
		}
		if e.Image != nil && strings.TrimSpace(e.Image.Name) == "" {
			v.add(path+".image.name", "is empty")
		}
		if e.Expiration != "" {
			if _, err := time.Parse(time.RFC3339, e.Expiration); err != nil {
				v.add(path+".expiration", "want an RFC 3339 time such as 2026-12-31T00:00:00Z, got %q", e.Expiration)
			}
		}
	}
	for i, m := range p.MitreAttackVectors {
		if strings.TrimSpace(m.Tactic) == "" {
			v.add(fmt.Sprintf("mitreAttackVectors[%d].tactic", i), "is required")
		}
	}
	if len(v.errs) == 0 {
		return nil
	}
	return &ValidationError{Policy: p.Name, Errors: v.errs}
}

func (v *validator) section(p *Policy, stages map[LifecycleStage]bool, si int, sec PolicySection) {
	spath := fmt.Sprintf("policySections[%d]", si)
	if len(sec.PolicyGroups) == 0 {
		v.add(spath+".policyGroups", "a section needs at least one criterion")
		return
	}
	seen := map[string]int{}
	hasRuntime, hasAudit := false, false
	for gi, g := range sec.PolicyGroups {
		gpath := fmt.Sprintf("%s.policyGroups[%d]", spath, gi)
		f, ok := LookupField(g.FieldName)
		if !ok {
			v.add(gpath+".fieldName", "unknown criterion %q", g.FieldName)
			continue
		}
		if prev, dup := seen[f.Name]; dup {
			v.add(gpath+".fieldName", "%q already appears in this section (policyGroups[%d]); put its values in one group", f.Name, prev)
		}
		seen[f.Name] = gi
		switch f.Data {
		case DataProcess, DataNetworkFlow:
			hasRuntime = true
			if !stages[StageRuntime] || p.EventSource != EventSourceDeployment {
				v.add(gpath+".fieldName", "%q is a runtime criterion; it needs the RUNTIME stage with DEPLOYMENT_EVENT", f.Name)
			}
		case DataAuditLog:
			hasAudit = true
			if !stages[StageRuntime] || p.EventSource != EventSourceAuditLog {
				v.add(gpath+".fieldName", "%q is an audit-log criterion; it needs the RUNTIME stage with AUDIT_LOG_EVENT", f.Name)
			}
		case DataKubeEvent:
			hasRuntime, hasAudit = true, true
			if !stages[StageRuntime] || (p.EventSource != EventSourceDeployment && p.EventSource != EventSourceAuditLog) {
				v.add(gpath+".fieldName", "%q is a Kubernetes event criterion; it needs the RUNTIME stage with an event source", f.Name)
			}
		case DataDeployment:
			if stages[StageBuild] && !imageReferenceFields[f.Name] {
				v.add(gpath+".fieldName", "%q needs a deployment; it cannot be used in a BUILD policy", f.Name)
			}
			if p.EventSource == EventSourceAuditLog {
				v.add(gpath+".fieldName", "%q cannot be used with AUDIT_LOG_EVENT", f.Name)
			}
		case DataImage, DataSignature:
			if p.EventSource == EventSourceAuditLog {
				v.add(gpath+".fieldName", "%q cannot be used with AUDIT_LOG_EVENT", f.Name)
			}
		}
		switch strings.ToUpper(g.BooleanOperator) {
		case "", "OR":
		case "AND":
			if !f.andAllowed && len(g.Values) > 1 {
				v.add(gpath+".booleanOperator", "values of %q cannot be combined with AND", f.Name)
			}
		default:
			v.add(gpath+".booleanOperator", "want OR or AND, got %q", g.BooleanOperator)
		}
		if g.Negate && f.noNegate {
			v.add(gpath+".negate", "%q cannot be negated", f.Name)
		}
		if len(g.Values) == 0 {
			v.add(gpath+".values", "at least one value is required")
		}
		if f.single && len(g.Values) > 1 {
			v.add(gpath+".values", "%q takes exactly one value", f.Name)
		}
		for vi, val := range g.Values {
			if err := checkValue(f, val.Value); err != nil {
				v.add(fmt.Sprintf("%s.values[%d].value", gpath, vi), "%s", err)
			}
		}
	}
	if stages[StageRuntime] && p.EventSource == EventSourceDeployment && !hasRuntime {
		v.add(spath, "a RUNTIME policy needs a process or network criterion in every section")
	}
	if stages[StageRuntime] && p.EventSource == EventSourceAuditLog && !hasAudit {
		v.add(spath, "an AUDIT_LOG_EVENT policy needs a Kubernetes criterion in every section")
	}
}

func (v *validator) scope(path string, s *Scope) {
	if s.Namespace != "" {
		if _, err := regexp.Compile(s.Namespace); err != nil {
			v.add(path+".namespace", "invalid regular expression %q", s.Namespace)
		}
	}
	if s.Label != nil {
		if strings.TrimSpace(s.Label.Key) == "" {
			v.add(path+".label.key", "is required")
		} else if _, err := regexp.Compile(s.Label.Key); err != nil {
			v.add(path+".label.key", "invalid regular expression %q", s.Label.Key)
		}
		if _, err := regexp.Compile(s.Label.Value); err != nil {
			v.add(path+".label.value", "invalid regular expression %q", s.Label.Value)
		}
	}
}

// usesField reports whether any section of p uses the criterion name.
func usesField(p *Policy, name string) bool {
	for _, sec := range p.PolicySections {
		for _, g := range sec.PolicyGroups {
			if strings.EqualFold(g.FieldName, name) {
				return true
			}
		}
	}
	return false
}
