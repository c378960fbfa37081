package admission

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/stockade-dev/stockade/internal/policy"
)

// The policy engine evaluates deployments and images; it has no evaluator
// for the Kubernetes event criteria, so the webhook matches them here, with
// the engine's semantics: values of a group are OR'ed (AND'ed with
// booleanOperator AND), groups of a section AND'ed, sections OR'ed; text
// values are case-insensitive regular expressions anchored to the whole
// value ("r/" prefix allowed).

// kubeRequest is what a CONNECT request tells the criteria.
type kubeRequest struct {
	resource KubeResource
	user     string
	groups   []string
	pod      string
}

// kubePolicy is a RUNTIME policy compiled for Kubernetes events.
type kubePolicy struct {
	c        *policy.Compiled
	enforce  bool // carries FAIL_KUBE_REQUEST_ENFORCEMENT
	sections []kubeSection
}

// kubeSection is one policy section: every criterion set must hold.
type kubeSection struct {
	resources []string   // upper-cased "Kubernetes Resource" values
	user      *textGroup // "Kubernetes User Name"
	groups    *textGroup // "Kubernetes User Groups"
	pod       *textGroup // "Kubernetes Resource Name"
}

type textGroup struct {
	and, negate bool
	values      []*regexp.Regexp
}

// compileKubePolicy prepares an enabled RUNTIME policy with an event source
// for matching CONNECT requests. It returns nil when no section of the
// policy can be decided from one: a section must name a pods/* resource in
// "Kubernetes Resource" and use no criterion beyond the four above.
func compileKubePolicy(c *policy.Compiled) (*kubePolicy, error) {
	p := c.Policy
	if p.Disabled || !c.HasStage(policy.StageRuntime) ||
		(p.EventSource != policy.EventSourceDeployment && p.EventSource != policy.EventSourceAuditLog) {
		return nil, nil
	}
	kp := &kubePolicy{c: c, enforce: slices.Contains(p.EnforcementActions, policy.EnforceFailKubeRequest)}
	for si, sec := range p.PolicySections {
		ks, ok, err := compileKubeSection(sec)
		if err != nil {
			return nil, fmt.Errorf("policySections[%d]: %w", si, err)
		}
		if ok {
			kp.sections = append(kp.sections, ks)
		}
	}
	if len(kp.sections) == 0 {
		return nil, nil
	}
	return kp, nil
}

func compileKubeSection(sec policy.PolicySection) (kubeSection, bool, error) {
	var ks kubeSection
	for gi, g := range sec.PolicyGroups {
		f, ok := policy.LookupField(g.FieldName)
		if !ok {
			return ks, false, nil
		}
		var err error
		switch f.Name {
		case "Kubernetes Resource":
			for _, v := range g.Values {
				ks.resources = append(ks.resources, strings.ToUpper(strings.TrimSpace(v.Value)))
			}
		case "Kubernetes User Name":
			ks.user, err = compileTextGroup(g)
		case "Kubernetes User Groups":
			ks.groups, err = compileTextGroup(g)
		case "Kubernetes Resource Name":
			ks.pod, err = compileTextGroup(g)
		default:
			return ks, false, nil
		}
		if err != nil {
			return ks, false, fmt.Errorf("policyGroups[%d]: %w", gi, err)
		}
	}
	podResource := slices.ContainsFunc(ks.resources, func(r string) bool {
		return r == string(PodsExec) || r == string(PodsAttach) || r == string(PodsPortForward)
	})
	return ks, podResource, nil
}

func compileTextGroup(g policy.PolicyGroup) (*textGroup, error) {
	tg := &textGroup{and: strings.EqualFold(g.BooleanOperator, "AND"), negate: g.Negate}
	for _, v := range g.Values {
		expr := strings.TrimPrefix(v.Value, "r/")
		if expr == "" {
			expr = ".*"
		}
		re, err := regexp.Compile("(?i)^(?:" + expr + ")$")
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression %q: %w", v.Value, err)
		}
		tg.values = append(tg.values, re)
	}
	return tg, nil
}

// matchAny reports whether the group holds for a list (a user's groups):
// with OR, some element matches some value; with AND, every value is
// matched by some element; negation inverts. A nil group always holds.
func (g *textGroup) matchAny(list ...string) bool {
	if g == nil {
		return true
	}
	r := g.and
	for _, re := range g.values {
		m := slices.ContainsFunc(list, re.MatchString)
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

func (s *kubeSection) match(r *kubeRequest) bool {
	return slices.Contains(s.resources, string(r.resource)) &&
		s.user.matchAny(r.user) && s.groups.matchAny(r.groups...) && s.pod.matchAny(r.pod)
}

// match reports whether any section of the policy matches the request.
func (kp *kubePolicy) match(r *kubeRequest) bool {
	for i := range kp.sections {
		if kp.sections[i].match(r) {
			return true
		}
	}
	return false
}

// kubeViolation describes a matched request in words.
func kubeViolation(r *kubeRequest, container string, command []string, ports []int32) string {
	var b strings.Builder
	b.WriteString("Kubernetes API request to ")
	switch r.resource {
	case PodsExec:
		b.WriteString("exec into")
	case PodsAttach:
		b.WriteString("attach to")
	case PodsPortForward:
		b.WriteString("port-forward to")
	}
	b.WriteString(" pod '")
	b.WriteString(r.pod)
	b.WriteString("'")
	if container != "" {
		b.WriteString(" container '")
		b.WriteString(container)
		b.WriteString("'")
	}
	if len(command) > 0 {
		b.WriteString(" running '")
		b.WriteString(strings.Join(command, " "))
		b.WriteString("'")
	}
	if len(ports) > 0 {
		b.WriteString(" on port")
		if len(ports) > 1 {
			b.WriteString("s")
		}
		for i, p := range ports {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, " %d", p)
		}
	}
	b.WriteString(" by user '")
	b.WriteString(r.user)
	b.WriteString("'")
	if len(r.groups) > 0 {
		b.WriteString(" (groups ")
		b.WriteString(strings.Join(r.groups, ", "))
		b.WriteString(")")
	}
	return sanitize(b.String())
}
