package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stockade-dev/stockade/internal/policy"
)

// syntax is the value syntax of a criterion as the page explains it. The
// policy package keeps its own value kinds unexported; gendocs_test.go checks
// every entry here against policy.Validate, so the page cannot drift from
// what validation accepts.
type syntax int

const (
	synRegex syntax = iota
	synBool
	synNumber
	synDays // a number of days, where a bare number means "more than"
	synEnum
	synKeyValue
	synEnv
	synSeverity
	synDockerfile
	synText
)

// criterionDoc is what the page says about one criterion beyond what
// policy.Fields() exports.
type criterionDoc struct {
	what    string   // what the criterion matches, one or two sentences
	syntax  syntax   // its value syntax
	unit    string   // synNumber: what the number counts
	enum    []string // synEnum: the accepted values
	example string   // a valid value, also used to probe validation
}

// Values of the syntaxes that list choices; the test compares them with the
// lists in policy.Validate's messages.
func envSources() []string {
	return []string{"RAW", "SECRET_KEY", "CONFIG_MAP_KEY", "FIELD", "RESOURCE_FIELD", "UNKNOWN"}
}

func vulnSeverities() []string { return []string{"LOW", "MODERATE", "IMPORTANT", "CRITICAL"} }

func dockerfileInstructions() []string {
	return []string{"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
}

// criterionDocs describes every criterion, keyed by its name as in
// policy.Fields(), from what policy.Criteria() says about it (the same
// metadata Central serves to the dashboard's criteria builder).
func criterionDocs() map[string]criterionDoc {
	out := map[string]criterionDoc{}
	for _, c := range policy.Criteria() {
		d := criterionDoc{what: c.Description, unit: c.Unit, example: c.Example}
		switch c.ValueKind {
		case policy.ValueBoolean:
			d.syntax = synBool
		case policy.ValueNumber:
			d.syntax = synNumber
		case policy.ValueDays:
			d.syntax = synDays
		case policy.ValueEnum:
			d.syntax, d.enum = synEnum, c.Options
		case policy.ValueKeyValue:
			d.syntax = synKeyValue
		case policy.ValueEnvironment:
			d.syntax = synEnv
		case policy.ValueSeverity:
			d.syntax = synSeverity
		case policy.ValueDockerfile:
			d.syntax = synDockerfile
		case policy.ValueText:
			d.syntax = synText
		default:
			d.syntax = synRegex
		}
		out[c.Name] = d
	}
	return out
}

// describe renders the value syntax of a criterion.
func (d criterionDoc) describe() string {
	switch d.syntax {
	case synBool:
		return "`true` or `false`."
	case synNumber:
		return "a number in " + d.unit + ", with an optional comparator `>`, `>=`, `<`, `<=` or `=` (the default)."
	case synDays:
		return "a number of days with an optional comparator `>`, `>=`, `<`, `<=` or `=`. As in ACS, a bare number means more than that many days: `90` is `> 90`; write `= 90` for exactly 90."
	case synEnum:
		return "one of " + codeList(d.enum, ", ") + " (any case)."
	case synKeyValue:
		return "`key=value`, both regular expressions; an empty value (`key=`) matches any value."
	case synEnv:
		return "`SOURCE=NAME=VALUE` or `NAME=VALUE`. SOURCE is one of " + codeList(envSources(), ", ") +
			" (`UNSET` or no SOURCE: any source); NAME and VALUE are regular expressions, an empty VALUE matches any value."
	case synSeverity:
		return "a vulnerability severity, " + codeList(vulnSeverities(), ", ") + " (lowest first), with an optional comparator `>`, `>=`, `<`, `<=` or `=` (the default)."
	case synDockerfile:
		return "`INSTRUCTION=regex`: INSTRUCTION is one of " + codeList(dockerfileInstructions(), ", ") + "; the regular expression matches its arguments."
	case synText:
		return "any non-empty text."
	}
	return "a regular expression."
}

// stageProbe is one kind of policy a criterion may be used in.
type stageProbe struct {
	label  string
	stages []policy.LifecycleStage
	source policy.EventSource
	// companion is added to the section when the criterion alone does not
	// make the section valid (a RUNTIME section needs an event criterion).
	companion policy.PolicyGroup
}

func stageProbes() []stageProbe {
	return []stageProbe{
		{label: "BUILD", stages: []policy.LifecycleStage{policy.StageBuild}, source: policy.EventSourceNone},
		{label: "DEPLOY", stages: []policy.LifecycleStage{policy.StageDeploy}, source: policy.EventSourceNone},
		{label: "RUNTIME with `DEPLOYMENT_EVENT`", stages: []policy.LifecycleStage{policy.StageRuntime}, source: policy.EventSourceDeployment,
			companion: policy.PolicyGroup{FieldName: "Process Name", Values: []policy.PolicyValue{{Value: "sh"}}}},
		{label: "RUNTIME with `AUDIT_LOG_EVENT`", stages: []policy.LifecycleStage{policy.StageRuntime}, source: policy.EventSourceAuditLog,
			companion: policy.PolicyGroup{FieldName: "Kubernetes API Verb", Values: []policy.PolicyValue{{Value: "GET"}}}},
	}
}

// probePolicy is a minimal policy whose only section holds groups.
func probePolicy(sp stageProbe, groups ...policy.PolicyGroup) *policy.Policy {
	return &policy.Policy{
		Name:            "gendocs probe",
		Severity:        policy.SeverityLow,
		LifecycleStages: sp.stages,
		EventSource:     sp.source,
		PolicySections:  []policy.PolicySection{{PolicyGroups: groups}},
	}
}

// fieldErrors validates p and returns the problems found, nil when valid.
// An error that is not a *policy.ValidationError is returned as err.
func fieldErrors(p *policy.Policy) ([]policy.FieldError, error) {
	_, err := policy.Compile(p)
	if err == nil {
		return nil, nil
	}
	var ve *policy.ValidationError
	if errors.As(err, &ve) {
		return ve.Errors, nil
	}
	return nil, err
}

// usable reports whether g is valid in a policy of the probed kind, and the
// groups of the section that made it so.
func usable(sp stageProbe, g policy.PolicyGroup) ([]policy.PolicyGroup, bool, error) {
	for _, groups := range [][]policy.PolicyGroup{{g}, {g, sp.companion}} {
		if len(groups) == 2 && (sp.companion.FieldName == "" || strings.EqualFold(sp.companion.FieldName, g.FieldName)) {
			continue
		}
		errs, err := fieldErrors(probePolicy(sp, groups...))
		if err != nil {
			return nil, false, err
		}
		if len(errs) == 0 {
			return groups, true, nil
		}
	}
	return nil, false, nil
}

// criterionFacts is what probing policy validation tells about a criterion.
type criterionFacts struct {
	stages    []string
	negatable bool
	andable   bool
	single    bool
}

// probe asks policy.Compile what a criterion allows: the kinds of policy
// it may appear in, negation, AND, and more than one value. The example
// value must be valid in at least one kind of policy.
func probe(f *policy.Field, example string) (criterionFacts, error) {
	var facts criterionFacts
	var base stageProbe
	var baseGroups []policy.PolicyGroup
	g := policy.PolicyGroup{FieldName: f.Name, Values: []policy.PolicyValue{{Value: example}}}
	for _, sp := range stageProbes() {
		groups, ok, err := usable(sp, g)
		if err != nil {
			return facts, fmt.Errorf("probe %q in %s: %w", f.Name, sp.label, err)
		}
		if ok {
			facts.stages = append(facts.stages, sp.label)
			if baseGroups == nil {
				base, baseGroups = sp, groups
			}
		}
	}
	if baseGroups == nil {
		errs, err := fieldErrors(probePolicy(stageProbes()[1], g))
		if err != nil {
			return facts, fmt.Errorf("probe %q: %w", f.Name, err)
		}
		return facts, fmt.Errorf("criterion %q: example value %q is valid in no kind of policy (as DEPLOY: %v)", f.Name, example, errs)
	}
	// rejects reports whether a variant of the group, in the section that
	// made the example valid, fails with a problem at the given field.
	rejects := func(variant policy.PolicyGroup, at string) (bool, error) {
		groups := slices.Clone(baseGroups)
		groups[0] = variant
		errs, err := fieldErrors(probePolicy(base, groups...))
		if err != nil {
			return false, err
		}
		want := "policySections[0].policyGroups[0]." + at
		return slices.ContainsFunc(errs, func(e policy.FieldError) bool { return e.Path == want }), nil
	}
	two := []policy.PolicyValue{{Value: example}, {Value: example}}
	neg := g
	neg.Negate = true
	var err error
	var noNeg, noAnd bool
	if noNeg, err = rejects(neg, "negate"); err != nil {
		return facts, fmt.Errorf("probe negation of %q: %w", f.Name, err)
	}
	if noAnd, err = rejects(policy.PolicyGroup{FieldName: f.Name, BooleanOperator: "AND", Values: two}, "booleanOperator"); err != nil {
		return facts, fmt.Errorf("probe AND of %q: %w", f.Name, err)
	}
	if facts.single, err = rejects(policy.PolicyGroup{FieldName: f.Name, Values: two}, "values"); err != nil {
		return facts, fmt.Errorf("probe values of %q: %w", f.Name, err)
	}
	facts.negatable, facts.andable = !noNeg, !noAnd
	return facts, nil
}

// dataGroup is one section of the page: the criteria whose
// policy.DataKind.String() is data.
type dataGroup struct{ data, title, intro string }

// dataGroups are the page's sections in order. A data kind not listed here
// still gets a section, after these, with a generic introduction.
func dataGroups() []dataGroup {
	return []dataGroup{
		{"deployment", "Deployment criteria",
			"Evaluated from a workload's manifest, with the Services, Ingresses, NetworkPolicies, ServiceAccounts and RBAC objects that come with it. `stockade deployment check` and Central's deploy-time detection evaluate them."},
		{"image", "Image criteria",
			"Need a scan of the image: its packages, vulnerabilities, labels, configuration and build history. A section that uses one is evaluated only where the image's scan is available; otherwise the report says that the policy needs image data. Within a section, `Dockerfile Line` groups must hold for the same history step, `Image Component` groups for the same package, and vulnerability groups (`CVE`, `CVSS`, `Severity`, `Fixable`, …) for the same vulnerability of a package that matches the component groups."},
		{"image signature", "Image signature criteria",
			"Need the image's signatures verified against the signature integrations configured in Central."},
		{"runtime", "Runtime criteria",
			"Need events from running workloads: processes and network connections seen on the node, or exec, attach and port-forward requests seen by admission control. They go in RUNTIME policies; a section that uses one is not evaluated against a manifest."},
		{"audit log", "Audit-log criteria",
			"Need Kubernetes API audit-log events. They go in RUNTIME policies with `eventSource: AUDIT_LOG_EVENT`, which may not use deployment or image criteria."},
	}
}

// pageGroups returns the groups that have criteria, known ones first.
func pageGroups(byData map[string][]*policy.Field) []dataGroup {
	var out []dataGroup
	known := map[string]bool{}
	for _, g := range dataGroups() {
		known[g.data] = true
		if len(byData[g.data]) > 0 {
			out = append(out, g)
		}
	}
	var extra []string
	for data := range byData {
		if !known[data] {
			extra = append(extra, data)
		}
	}
	slices.Sort(extra)
	for _, data := range extra {
		title := strings.ToUpper(data[:1]) + data[1:] + " criteria"
		out = append(out, dataGroup{data, title, "Need " + data + " data."})
	}
	return out
}

const criteriaIntro = `# Policy criteria

A policy's criteria are in ` + "`policySections[].policyGroups[]`" + `. Each group names one criterion in
` + "`fieldName`" + ` (any case) and gives one or more ` + "`values`" + ` in that criterion's syntax:

` + "```yaml" + `
policySections:
  - sectionName: Privileged and on the host network
    policyGroups:
      - fieldName: Privileged Container
        values:
          - value: 'true'
      - fieldName: Host Network
        values:
          - value: 'true'
` + "```" + `

## How criteria match

- **Values in a group are OR'ed**: the group matches when any value does. With
  ` + "`booleanOperator: AND`" + ` every value must match; only criteria marked "AND: allowed" take it.
- **` + "`negate: true`" + `** inverts the group; criteria marked "Negate: not allowed" reject it.
- **Groups in a section are AND'ed**, and a criterion appears at most once per section. Container
  criteria (capabilities, resources, probes, image, security context) must all hold for the **same
  container**; volume criteria for the same mount of that container, port criteria for the same port,
  and environment-variable criteria for the same variable.
- **Sections are OR'ed**: a policy is violated when any of its sections matches, and the violation
  lists what matched.
- **Text values are regular expressions** (Go RE2 syntax), case-insensitive and anchored to the whole
  value: ` + "`nginx`" + ` matches ` + "`NGINX`" + ` but not ` + "`nginx-proxy`" + ` (write ` + "`nginx.*`" + `). The ` + "`r/`" + ` prefix that ACS
  writes before some regular expressions is accepted and ignored. An empty value or ` + "`.*`" + ` matches
  anything, including an empty or unset value.
- **Numbers** take an optional comparator, ` + "`>`, `>=`, `<`, `<=`" + ` or ` + "`=`" + ` (the default), with or
  without a space: ` + "`> 0.5`, `<=1024`, `0`" + `. CPU is in cores and memory in MB (10^6 bytes), as ACS
  reports them; unset requests and limits are ` + "`0`" + `.
- **Booleans** are ` + "`true`" + ` or ` + "`false`" + `, and a boolean criterion takes exactly one value.
- **Stages.** "Usable in" lists the kinds of policy that accept a criterion. BUILD policies see only
  an image, so they take image criteria and ` + "`Image Registry`, `Image Remote`, `Image Tag`" + `. A RUNTIME
  policy with ` + "`DEPLOYMENT_EVENT`" + ` needs a process, network or Kubernetes event criterion in every
  section; deployment and image criteria narrow it down. A RUNTIME policy with ` + "`AUDIT_LOG_EVENT`" + `
  needs a Kubernetes criterion in every section and takes no deployment or image criteria.

` + "`stockade policy validate FILE`" + ` checks all of this without Central, naming each problem by its path,
such as ` + "`policySections[0].policyGroups[1].values[0].value`" + `.
`

// criteriaPage renders docs/reference/criteria.md.
func criteriaPage() ([]byte, error) {
	fields := policy.Fields()
	docs := criterionDocs()
	byData := map[string][]*policy.Field{}
	for _, f := range fields {
		if _, ok := docs[f.Name]; !ok {
			return nil, fmt.Errorf("criterion %q has no entry in criterionDocs (hack/gendocs/criteria.go): describe it in criterionTexts (internal/policy/criteria.go)", f.Name)
		}
		byData[f.Data.String()] = append(byData[f.Data.String()], f)
	}
	for name := range docs {
		if _, ok := fields[strings.ToLower(name)]; !ok {
			return nil, fmt.Errorf("criterionDocs describes %q, which policy.Fields() does not have", name)
		}
	}

	var b bytes.Buffer
	b.WriteString(generatedNote)
	b.WriteString(criteriaIntro)

	groups := pageGroups(byData)
	b.WriteString("\n## Index\n\n")
	for _, g := range groups {
		list := byData[g.data]
		slices.SortFunc(list, func(x, y *policy.Field) int { return strings.Compare(x.Name, y.Name) })
		links := make([]string, len(list))
		for i, f := range list {
			links[i] = "[" + f.Name + "](#" + anchor(f.Name) + ")"
		}
		fmt.Fprintf(&b, "- **[%s](#%s)** (%d): %s\n", g.title, anchor(g.title), len(list), strings.Join(links, ", "))
	}
	documented := 0
	for _, g := range groups {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", g.title, g.intro)
		for _, f := range byData[g.data] {
			d := docs[f.Name]
			facts, err := probe(f, d.example)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&b, "\n### %s\n\n%s\n\n", f.Name, d.what)
			fmt.Fprintf(&b, "- **Values:** %s\n", d.describe())
			fmt.Fprintf(&b, "- **Example:** %s\n", code(d.example))
			switch {
			case facts.single:
				b.WriteString("- **Values per group:** exactly one\n")
			case facts.andable:
				b.WriteString("- **Values per group:** one or more, OR'ed; AND: allowed\n")
			default:
				b.WriteString("- **Values per group:** one or more, OR'ed; AND: not allowed\n")
			}
			fmt.Fprintf(&b, "- **Negate:** %s\n", allowed(facts.negatable))
			fmt.Fprintf(&b, "- **Usable in:** %s\n", strings.Join(facts.stages, ", "))
			documented++
		}
	}
	if documented != len(fields) {
		return nil, fmt.Errorf("documented %d criteria of %d", documented, len(fields))
	}
	return b.Bytes(), nil
}

func allowed(ok bool) string {
	if ok {
		return "allowed"
	}
	return "not allowed"
}
