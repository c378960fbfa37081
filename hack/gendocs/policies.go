package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/stockade-dev/stockade/internal/policy"
)

const policiesIntro = `# Built-in policies

Stockade ships these policies inside its binaries (` + "`internal/policy/builtin/*.yaml`" + `). Offline,
` + "`stockade deployment check`" + ` evaluates the enabled ones unless ` + "`--policies`" + ` replaces them; Central
starts with them and lets you disable, enable, export or replace each. ` + "`stockade policy list --offline`" + `
lists them, and ` + "`stockade policy export --offline`" + ` writes them as ACS policy JSON.

Built-in policies inform: only those whose violation hands over the node carry an enforcement
action, which makes ` + "`stockade deployment check`" + ` exit 1 and lets admission control refuse the
workload. Policies marked "disabled" encode a convention rather than a risk; enable them where the
convention is yours. Criteria link to their description in [criteria.md](criteria.md).
`

// policiesPage renders docs/reference/policies.md from policy.Builtin().
func policiesPage() ([]byte, error) {
	ps, err := policy.Builtin()
	if err != nil {
		return nil, err
	}
	docs := criterionDocs()
	var b bytes.Buffer
	b.WriteString(generatedNote)
	b.WriteString(policiesIntro)

	fmt.Fprintf(&b, "\n## Summary\n\n%d policies.\n\n", len(ps))
	b.WriteString("| Policy | Severity | Stages | Enabled | Enforcement |\n|---|---|---|---|---|\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s | %s | %s |\n", cell(p.Name), anchor(p.Name), p.Severity.Short(),
			stageList(p.LifecycleStages), yesNo(!p.Disabled), cell(enforcementSummary(p.EnforcementActions)))
	}
	for _, p := range ps {
		if _, err := policy.Compile(p); err != nil {
			return nil, fmt.Errorf("built-in policy %q: %w", p.Name, err)
		}
		fmt.Fprintf(&b, "\n## %s\n\n", p.Name)
		fmt.Fprintf(&b, "%s\n\n", paragraph(p.Description))
		fmt.Fprintf(&b, "- **Severity:** %s\n", p.Severity.Short())
		fmt.Fprintf(&b, "- **Stages:** %s\n", stageList(p.LifecycleStages))
		if len(p.Categories) > 0 {
			fmt.Fprintf(&b, "- **Categories:** %s\n", strings.Join(p.Categories, ", "))
		}
		if p.Disabled {
			b.WriteString("- **Enabled by default:** no\n")
		} else {
			b.WriteString("- **Enabled by default:** yes\n")
		}
		fmt.Fprintf(&b, "- **Enforcement:** %s\n", enforcementSummary(p.EnforcementActions))
		need := "the deployment"
		if extra := policy.DataNeeded(p); len(extra) > 0 {
			need += ", and " + strings.Join(extra, ", ") + " data"
		}
		fmt.Fprintf(&b, "- **Evaluated from:** %s\n", need)
		for _, s := range p.Scope {
			fmt.Fprintf(&b, "- **Applies only to:** %s\n", scopeText(&s))
		}
		for _, e := range p.Exclusions {
			fmt.Fprintf(&b, "- **Excludes:** %s\n", exclusionText(&e))
		}
		if len(p.MitreAttackVectors) > 0 {
			vs := make([]string, len(p.MitreAttackVectors))
			for i, v := range p.MitreAttackVectors {
				vs[i] = v.Tactic
				if len(v.Techniques) > 0 {
					vs[i] += " (" + strings.Join(v.Techniques, ", ") + ")"
				}
			}
			fmt.Fprintf(&b, "- **MITRE ATT&CK:** %s\n", strings.Join(vs, "; "))
		}
		fmt.Fprintf(&b, "- **ID:** %s\n", code(p.ID))

		b.WriteString("\n**Criteria.** ")
		if len(p.PolicySections) == 1 {
			b.WriteString("Violated when every criterion holds:\n\n")
		} else {
			b.WriteString("Violated when any of these sections holds, each when every criterion in it does:\n\n")
		}
		for _, s := range p.PolicySections {
			parts := make([]string, len(s.PolicyGroups))
			for i, g := range s.PolicyGroups {
				parts[i] = groupText(g, docs)
			}
			line := strings.Join(parts, " **and** ")
			if s.SectionName != "" {
				line = "*" + s.SectionName + "*: " + line
			}
			fmt.Fprintf(&b, "- %s\n", line)
		}
		fmt.Fprintf(&b, "\n**Rationale.** %s\n\n", paragraph(p.Rationale))
		fmt.Fprintf(&b, "**Remediation.** %s\n", paragraph(p.Remediation))
	}
	return b.Bytes(), nil
}

func stageList(stages []policy.LifecycleStage) string {
	s := make([]string, len(stages))
	for i, st := range stages {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func enforcementSummary(actions []policy.EnforcementAction) string {
	var s []string
	for _, a := range actions {
		if a != policy.EnforceUnset {
			s = append(s, string(a))
		}
	}
	if len(s) == 0 {
		return "none (informs only)"
	}
	return codeList(s, ", ")
}

// groupText renders a criterion as "Name = `value`": comparators of numeric
// values become the operator (a bare number of days is "> N"), negation turns = into ≠ and prefixes "not"
// to the others, and values are joined by "or" (or "and" under AND).
func groupText(g policy.PolicyGroup, docs map[string]criterionDoc) string {
	name := g.FieldName
	if f, ok := policy.LookupField(g.FieldName); ok {
		name = "[" + f.Name + "](criteria.md#" + anchor(f.Name) + ")"
	}
	d := docs[canonicalName(g.FieldName)]
	comparable := d.syntax == synNumber || d.syntax == synDays || d.syntax == synSeverity
	ops := make([]string, len(g.Values))
	vals := make([]string, len(g.Values))
	same := true
	for i, v := range g.Values {
		op, val := "=", strings.TrimSpace(v.Value)
		if comparable {
			op, val = splitComparator(val)
			if d.syntax == synDays && op == "=" && !strings.HasPrefix(strings.TrimSpace(v.Value), "=") {
				op = ">" // a bare number of days means "older than"
			}
		}
		if g.Negate {
			if op == "=" {
				op = "≠"
			} else {
				op = "not " + op
			}
		}
		ops[i], vals[i] = op, code(val)
		if ops[i] != ops[0] {
			same = false
		}
	}
	join := " or "
	if strings.EqualFold(g.BooleanOperator, "AND") {
		join = " and "
	}
	if len(vals) == 0 {
		return name + " (no value)"
	}
	if same {
		return name + " " + ops[0] + " " + strings.Join(vals, join)
	}
	parts := make([]string, len(vals))
	for i := range vals {
		parts[i] = ops[i] + " " + vals[i]
	}
	return name + " " + strings.Join(parts, join)
}

// canonicalName is a criterion's name as policy.Fields() spells it.
func canonicalName(name string) string {
	if f, ok := policy.LookupField(name); ok {
		return f.Name
	}
	return name
}

// splitComparator splits "<= 2" into "<=" and "2"; a bare value is "=".
func splitComparator(v string) (op, rest string) {
	for _, c := range []string{">=", "<=", "==", ">", "<", "="} {
		if r, ok := strings.CutPrefix(v, c); ok {
			if c == "==" {
				c = "="
			}
			return c, strings.TrimSpace(r)
		}
	}
	return "=", v
}

func scopeText(s *policy.Scope) string {
	var parts []string
	if s.Cluster != "" {
		parts = append(parts, "cluster "+code(s.Cluster))
	}
	if s.Namespace != "" {
		parts = append(parts, "namespaces matching "+code(s.Namespace))
	}
	if s.Label != nil {
		l := s.Label.Key
		if s.Label.Value != "" {
			l += "=" + s.Label.Value
		}
		parts = append(parts, "label "+code(l))
	}
	if len(parts) == 0 {
		return "everything"
	}
	return strings.Join(parts, ", ")
}

func exclusionText(e *policy.Exclusion) string {
	var parts []string
	if d := e.Deployment; d != nil {
		what := "deployments"
		if d.Name != "" {
			what = "deployment " + code(d.Name)
		}
		if d.Scope != nil {
			what += " in " + scopeText(d.Scope)
		}
		parts = append(parts, what)
	}
	if e.Image != nil {
		parts = append(parts, "images whose name starts with "+code(e.Image.Name))
	}
	s := strings.Join(parts, "; ")
	if e.Name != "" {
		s = e.Name + ": " + s
	}
	if e.Expiration != "" {
		s += ", until " + e.Expiration
	}
	return s
}
