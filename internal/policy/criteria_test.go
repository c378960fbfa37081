package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestEveryCriterionDescribed keeps criterionTexts and Fields in step: every
// criterion has a description ending in a period and a valid example, a
// unit exactly when it takes a number, and is usable in some kind of policy.
func TestEveryCriterionDescribed(t *testing.T) {
	texts := criterionTexts()
	fields := Fields()
	for _, f := range fields {
		txt, ok := texts[f.Name]
		if !ok {
			t.Errorf("criterion %q has no entry in criterionTexts", f.Name)
			continue
		}
		if !strings.HasSuffix(txt.description, ".") || txt.example == "" {
			t.Errorf("criterionTexts[%q]: want a description ending in a period and an example, got %+v", f.Name, txt)
		}
		if err := checkValue(f, txt.example); err != nil {
			t.Errorf("criterionTexts[%q]: example %q is invalid: %v", f.Name, txt.example, err)
		}
		if (f.valueKind() == ValueNumber) != (txt.unit != "") {
			t.Errorf("criterionTexts[%q]: a unit goes with exactly the number kind (kind %s, unit %q)", f.Name, f.valueKind(), txt.unit)
		}
	}
	for name := range texts {
		if _, ok := fields[strings.ToLower(name)]; !ok {
			t.Errorf("criterionTexts describes %q, which Fields() does not have", name)
		}
	}
	if got := len(Criteria()); got != len(fields) {
		t.Errorf("Criteria() has %d entries, Fields() %d", got, len(fields))
	}
}

// probePolicy is a one-section policy of kind u holding g (and the
// companion criterion the kind needs).
func probePolicy(t *testing.T, c Criterion, u Usage, g PolicyGroup) *Policy {
	t.Helper()
	groups := []PolicyGroup{g}
	switch {
	case u.EventSource == EventSourceDeployment && c.Name != "Process Name":
		groups = append(groups, PolicyGroup{FieldName: "Process Name", Values: []PolicyValue{{Value: "sh"}}})
	case u.EventSource == EventSourceAuditLog && c.Name != "Kubernetes API Verb":
		groups = append(groups, PolicyGroup{FieldName: "Kubernetes API Verb", Values: []PolicyValue{{Value: "GET"}}})
	}
	return &Policy{Name: "probe", Severity: SeverityHigh, LifecycleStages: []LifecycleStage{u.Stage}, EventSource: u.EventSource,
		PolicySections: []PolicySection{{PolicyGroups: groups}}}
}

// pathsOf returns the paths of Validate's errors for p.
func pathsOf(p *Policy) []string {
	var out []string
	var ve *ValidationError
	if errors.As(Validate(p), &ve) {
		for _, e := range ve.Errors {
			out = append(out, e.Path)
		}
	}
	return out
}

// TestCriteriaAgreeWithValidation checks what Criteria() tells an editor —
// where a criterion is usable, whether it may be negated, AND'ed or given
// several values, and its value kind — against what Validate accepts.
func TestCriteriaAgreeWithValidation(t *testing.T) {
	kindCases := map[ValueKind]struct{ good, bad string }{
		ValueRegex:       {"a.*b", "a[b"},
		ValueBoolean:     {"FALSE", "yes"},
		ValueNumber:      {">= 2.5", "big"},
		ValueDays:        {"30", "old"},
		ValueKeyValue:    {"k=v", "k=("},
		ValueEnvironment: {"RAW=A=b", "A=("},
		ValueSeverity:    {">= important", "HIGH"},
		ValueDockerfile:  {"run=.*curl.*", "BOGUS=x"},
		ValueText:        {"x", " "},
	}
	for _, c := range Criteria() {
		if len(c.UsableIn) == 0 {
			t.Errorf("%s: usable in no kind of policy", c.Name)
			continue
		}
		for _, u := range Usages() {
			g := PolicyGroup{FieldName: c.Name, Values: []PolicyValue{{Value: c.Example}}}
			valid := len(pathsOf(probePolicy(t, c, u, g))) == 0
			if valid != slices.Contains(c.UsableIn, u) {
				t.Errorf("%s in %v: Validate says valid=%v, UsableIn=%v", c.Name, u, valid, c.UsableIn)
			}
		}
		u := c.UsableIn[0]
		check := func(what string, g PolicyGroup, path string, allowed bool) {
			t.Helper()
			rejected := slices.Contains(pathsOf(probePolicy(t, c, u, g)), "policySections[0].policyGroups[0]."+path)
			if rejected == allowed {
				t.Errorf("%s: %s allowed=%v, but Validate rejected=%v", c.Name, what, allowed, rejected)
			}
		}
		two := []PolicyValue{{Value: c.Example}, {Value: c.Example}}
		check("negate", PolicyGroup{FieldName: c.Name, Negate: true, Values: two[:1]}, "negate", c.Negatable)
		check("AND", PolicyGroup{FieldName: c.Name, BooleanOperator: "AND", Values: two}, "booleanOperator", c.AndAllowed)
		check("two values", PolicyGroup{FieldName: c.Name, Values: two}, "values", c.MultipleValues)

		if c.ValueKind == ValueEnum {
			for _, o := range c.Options {
				check("option "+o, PolicyGroup{FieldName: c.Name, Values: []PolicyValue{{Value: strings.ToLower(o)}}}, "values[0].value", true)
			}
			check("a value not among the options", PolicyGroup{FieldName: c.Name, Values: []PolicyValue{{Value: "NOT_AN_OPTION"}}}, "values[0].value", false)
			continue
		}
		kc, ok := kindCases[c.ValueKind]
		if !ok {
			t.Errorf("%s: value kind %q has no test case", c.Name, c.ValueKind)
			continue
		}
		check("value "+kc.good, PolicyGroup{FieldName: c.Name, Values: []PolicyValue{{Value: kc.good}}}, "values[0].value", true)
		check("value "+kc.bad, PolicyGroup{FieldName: c.Name, Values: []PolicyValue{{Value: kc.bad}}}, "values[0].value", false)
	}
}

func TestCriteriaStagesOfWellKnownCriteria(t *testing.T) {
	byName := map[string]Criterion{}
	for _, c := range Criteria() {
		byName[c.Name] = c
	}
	for name, want := range map[string][]Usage{
		"Image Tag":            {{Stage: StageBuild}, {Stage: StageDeploy}, {Stage: StageRuntime, EventSource: EventSourceDeployment}},
		"Privileged Container": {{Stage: StageDeploy}, {Stage: StageRuntime, EventSource: EventSourceDeployment}},
		"CVSS":                 {{Stage: StageBuild}, {Stage: StageDeploy}, {Stage: StageRuntime, EventSource: EventSourceDeployment}},
		"Process Name":         {{Stage: StageRuntime, EventSource: EventSourceDeployment}},
		"Kubernetes API Verb":  {{Stage: StageRuntime, EventSource: EventSourceAuditLog}},
	} {
		if got := byName[name].UsableIn; !slices.Equal(got, want) {
			t.Errorf("%s usable in %v, want %v", name, got, want)
		}
	}
	if c := byName["Image Age"]; c.ValueKind != ValueDays || c.Unit != "" {
		t.Errorf("Image Age = %+v, want days without a unit", c)
	}
	if c := byName["Container Memory Limit"]; c.ValueKind != ValueNumber || !strings.Contains(c.Unit, "MB") || !c.AndAllowed {
		t.Errorf("Container Memory Limit = %+v", c)
	}
	if c := byName["Seccomp Profile Type"]; c.ValueKind != ValueEnum || !slices.Contains(c.Options, "RUNTIME_DEFAULT") {
		t.Errorf("Seccomp Profile Type = %+v", c)
	}
}
