package policy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/manifest"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// The built-in policies are data: one YAML file per policy in builtin/, and
// for each a pair of manifests in testdata/builtin/<file name>/. These tests
// walk the directory itself rather than a list, so a policy added without
// its texts or its fixtures fails here.

const (
	builtinDir         = "builtin"
	builtinFixtureDir  = "testdata/builtin"
	minBuiltinPolicies = 45
	// maxEnforcingBuiltins keeps deploy-time enforcement for what is truly
	// dangerous: every other built-in policy informs.
	maxEnforcingBuiltins = 6
)

var (
	uuidForm     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	kebabFile    = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*\.yaml$`)
	mitreTactic  = regexp.MustCompile(`^TA[0-9]{4}$`)
	mitreTechniq = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
)

// builtinFile is one policy file of builtin/ and the policy it holds.
type builtinFile struct {
	path   string // builtin/<stem>.yaml
	stem   string
	policy *policy.Policy
}

// loadBuiltinFiles reads every file of builtin/. Anything but policy YAML and
// the README is an error, so that a misnamed file (.yml, .json) cannot sit
// there unembedded and untested.
func loadBuiltinFiles(t *testing.T) []builtinFile {
	t.Helper()
	entries, err := os.ReadDir(builtinDir)
	if err != nil {
		t.Fatalf("read %s: %v", builtinDir, err)
	}
	var out []builtinFile
	for _, e := range entries {
		name := e.Name()
		if name == "README.md" {
			continue
		}
		path := filepath.Join(builtinDir, name)
		if e.IsDir() || !kebabFile.MatchString(name) {
			t.Errorf("%s: built-in policies are files named <kebab-case-name>.yaml", path)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		ps, err := policy.Parse(path, data)
		if err != nil {
			t.Errorf("parse: %v", err)
			continue
		}
		if len(ps) != 1 {
			t.Errorf("%s: holds %d policies; put each built-in policy in its own file", path, len(ps))
			continue
		}
		out = append(out, builtinFile{path: path, stem: strings.TrimSuffix(name, ".yaml"), policy: ps[0]})
	}
	if len(out) == 0 {
		t.Fatalf("no built-in policies in %s", builtinDir)
	}
	return out
}

func TestBuiltinPolicyCount(t *testing.T) {
	if n := len(loadBuiltinFiles(t)); n < minBuiltinPolicies {
		t.Errorf("%d built-in policies, want at least %d", n, minBuiltinPolicies)
	}
}

func TestBuiltinPolicyMetadata(t *testing.T) {
	files := loadBuiltinFiles(t)
	ids := map[string]string{}
	names := map[string]string{}
	var enforcing []string
	for _, f := range files {
		p := f.policy
		t.Run(f.stem, func(t *testing.T) {
			if err := policy.Validate(p); err != nil {
				t.Errorf("%s: %v", f.path, err)
			}
			if !uuidForm.MatchString(p.ID) {
				t.Errorf("%s: id %q is not a lower-case UUID", f.path, p.ID)
			}
			if other, dup := ids[p.ID]; dup {
				t.Errorf("%s: id %s is also used by %s", f.path, p.ID, other)
			}
			ids[p.ID] = f.path
			key := strings.ToLower(strings.TrimSpace(p.Name))
			if other, dup := names[key]; dup {
				t.Errorf("%s: name %q is also used by %s", f.path, p.Name, other)
			}
			names[key] = f.path
			if p.Name != strings.TrimSpace(p.Name) || strings.HasSuffix(p.Name, ".") {
				t.Errorf("%s: name %q has surrounding space or a final period", f.path, p.Name)
			}

			for field, text := range map[string]string{
				"description": p.Description, "rationale": p.Rationale, "remediation": p.Remediation,
			} {
				if !isSentence(text) {
					t.Errorf("%s: %s %q must be full sentences: start with a capital letter and end with a period", f.path, field, text)
				}
			}
			if len(p.Categories) == 0 {
				t.Errorf("%s: categories are empty", f.path)
			}
			for i, c := range p.Categories {
				if strings.TrimSpace(c) == "" || slices.Contains(p.Categories[:i], c) {
					t.Errorf("%s: category %q is empty or repeated", f.path, c)
				}
			}
			if p.Severity.Rank() == 0 {
				t.Errorf("%s: severity %q is not one of LOW/MEDIUM/HIGH/CRITICAL_SEVERITY", f.path, p.Severity)
			}
			if !p.IsDefault {
				t.Errorf("%s: isDefault must be true", f.path)
			}
			if !p.CriteriaLocked {
				t.Errorf("%s: criteriaLocked must be true", f.path)
			}
			if p.EventSource != "" && p.EventSource != policy.EventSourceNone {
				t.Errorf("%s: eventSource %q; built-in DEPLOY/BUILD policies have none", f.path, p.EventSource)
			}
			checkStages(t, f)
			checkCriteriaFields(t, f)
			for i, m := range p.MitreAttackVectors {
				if !mitreTactic.MatchString(m.Tactic) || len(m.Techniques) == 0 {
					t.Errorf("%s: mitreAttackVectors[%d]: tactic %q must look like TA0004 and name techniques", f.path, i, m.Tactic)
				}
				for _, tech := range m.Techniques {
					if !mitreTechniq.MatchString(tech) {
						t.Errorf("%s: mitreAttackVectors[%d]: technique %q must look like T1611 or T1552.007", f.path, i, tech)
					}
				}
			}
			for _, a := range p.EnforcementActions {
				if a != policy.EnforceScaleToZero {
					t.Errorf("%s: enforcement action %s; built-in policies enforce only with SCALE_TO_ZERO_ENFORCEMENT", f.path, a)
				}
			}
			if len(p.EnforcementActions) > 0 {
				enforcing = append(enforcing, f.stem)
				if p.Disabled {
					t.Errorf("%s: a disabled policy must not carry enforcement", f.path)
				}
				if p.Severity != policy.SeverityCritical {
					t.Errorf("%s: enforces at deploy time but its severity is %s, not CRITICAL", f.path, p.Severity)
				}
			}
		})
	}
	if len(enforcing) == 0 || len(enforcing) > maxEnforcingBuiltins {
		t.Errorf("%d built-in policies enforce (%s); want between 1 and %d", len(enforcing), strings.Join(enforcing, ", "), maxEnforcingBuiltins)
	}
}

// isSentence reports whether text reads as one or more full sentences.
func isSentence(text string) bool {
	text = strings.TrimSpace(text)
	if len(text) < 10 || !strings.HasSuffix(text, ".") {
		return false
	}
	first := text[0]
	return first >= 'A' && first <= 'Z'
}

// checkStages allows BUILD and DEPLOY only, and BUILD exactly when every
// criterion can be read from an image reference (the stage needs no
// deployment then, and an image check should report it).
func checkStages(t *testing.T, f builtinFile) {
	t.Helper()
	p := f.policy
	imageOnly := true
	for _, s := range p.PolicySections {
		for _, g := range s.PolicyGroups {
			switch g.FieldName {
			case "Image Registry", "Image Remote", "Image Tag":
			default:
				imageOnly = false
			}
		}
	}
	hasBuild, hasDeploy := false, false
	for _, s := range p.LifecycleStages {
		switch s {
		case policy.StageBuild:
			hasBuild = true
		case policy.StageDeploy:
			hasDeploy = true
		default:
			t.Errorf("%s: lifecycle stage %s; built-in policies here are BUILD and DEPLOY only", f.path, s)
		}
	}
	if !hasDeploy {
		t.Errorf("%s: lifecycleStages must include DEPLOY", f.path)
	}
	if hasBuild != imageOnly {
		t.Errorf("%s: BUILD stage is %v but criteria are image-reference only: %v; want BUILD exactly for image-reference policies", f.path, hasBuild, imageOnly)
	}
}

// checkCriteriaFields requires every criterion to be evaluable from a
// manifest, so that `stockade deployment check` can decide the policy.
func checkCriteriaFields(t *testing.T, f builtinFile) {
	t.Helper()
	for si, s := range f.policy.PolicySections {
		if strings.TrimSpace(s.SectionName) == "" {
			t.Errorf("%s: policySections[%d] has no sectionName", f.path, si)
		}
		for gi, g := range s.PolicyGroups {
			field, ok := policy.LookupField(g.FieldName)
			if !ok {
				continue // Validate reports it
			}
			if field.Data != policy.DataDeployment {
				t.Errorf("%s: policySections[%d].policyGroups[%d]: %q needs %s data; built-in DEPLOY policies use manifest criteria only",
					f.path, si, gi, g.FieldName, field.Data)
			}
			if field.Name != g.FieldName {
				t.Errorf("%s: policySections[%d].policyGroups[%d]: write the field name as %q, not %q", f.path, si, gi, field.Name, g.FieldName)
			}
		}
	}
}

// fixtureDeployments reads a fixture manifest into workloads.
func fixtureDeployments(t *testing.T, path string) []*workload.Deployment {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	res, err := manifest.Parse(path, data)
	if err != nil {
		t.Fatalf("parse fixture: %v", err)
	}
	if len(res.Deployments) == 0 {
		t.Fatalf("%s: no workloads in the fixture", path)
	}
	// Fixtures are real Kubernetes objects: every one is a workload or
	// context for one, and every field has the type Kubernetes gives it.
	for _, ig := range res.Ignored {
		t.Errorf("%s:%d: %s %s ignored: %s", path, ig.Source.Line, ig.Kind, ig.Name, ig.Reason)
	}
	for _, w := range res.Warnings {
		t.Errorf("%s: %v", path, w)
	}
	return res.Deployments
}

func TestBuiltinPolicyFixtures(t *testing.T) {
	now := time.Now()
	for _, f := range loadBuiltinFiles(t) {
		t.Run(f.stem, func(t *testing.T) {
			c, err := policy.Compile(f.policy)
			if err != nil {
				t.Fatalf("%s: compile: %v", f.path, err)
			}
			if !c.Evaluable() {
				t.Fatalf("%s: no section can be evaluated from a deployment", f.path)
			}
			dir := filepath.Join(builtinFixtureDir, f.stem)

			violating := filepath.Join(dir, "violating.yaml")
			fired := false
			for _, d := range fixtureDeployments(t, violating) {
				if !c.AppliesTo(d, now) {
					t.Errorf("%s: %s/%s is excluded from the policy; violating fixtures must be in scope", violating, d.Namespace, d.Name)
					continue
				}
				vs := c.MatchDeployment(d)
				for _, v := range vs {
					if strings.TrimSpace(v.Message) == "" {
						t.Errorf("%s: %s: a violation has an empty message", violating, d.Name)
					}
				}
				fired = fired || len(vs) > 0
			}
			if !fired {
				t.Errorf("%s: no violation of %q", violating, f.policy.Name)
			}
			if c.EnforcedAt(policy.StageDeploy) {
				// Enforcing policies leave the cluster's own components alone:
				// scaling kube-proxy or Stockade's collector to zero would
				// take the cluster or its protection down.
				for _, ns := range []string{"kube-system", "stockade"} {
					for _, d := range fixtureDeployments(t, violating) {
						d.Namespace = ns
						if c.AppliesTo(d, now) {
							t.Errorf("%s: enforces on workloads in %s; add the system namespace exclusion", f.path, ns)
						}
					}
				}
			}

			compliant := filepath.Join(dir, "compliant.yaml")
			for _, d := range fixtureDeployments(t, compliant) {
				if vs := c.MatchDeployment(d); len(vs) > 0 {
					t.Errorf("%s: %s/%s violates %q: %s", compliant, d.Namespace, d.Name, f.policy.Name, messages(vs))
				}
			}
		})
	}
}

// TestBuiltinCompliantFixturesAreHardened checks every compliant fixture
// against every built-in policy, enabled or not: each shows a hardened
// workload, so a policy that fires on one of them fires too broadly.
func TestBuiltinCompliantFixturesAreHardened(t *testing.T) {
	files := loadBuiltinFiles(t)
	compiled := make([]*policy.Compiled, 0, len(files))
	for _, f := range files {
		c, err := policy.Compile(f.policy)
		if err != nil {
			t.Fatalf("%s: compile: %v", f.path, err)
		}
		compiled = append(compiled, c)
	}
	// Report each policy once, with its first hit, so that one policy that
	// fires too broadly does not bury the output under every fixture.
	hits := make([][]string, len(compiled))
	for _, f := range files {
		compliant := filepath.Join(builtinFixtureDir, f.stem, "compliant.yaml")
		if _, err := os.Stat(compliant); err != nil {
			continue // TestBuiltinPolicyFixtures reports it
		}
		for _, d := range fixtureDeployments(t, compliant) {
			for i, c := range compiled {
				if vs := c.MatchDeployment(d); len(vs) > 0 {
					hits[i] = append(hits[i], fmt.Sprintf("%s: %s/%s: %s", compliant, d.Namespace, d.Name, messages(vs)))
				}
			}
		}
	}
	for i, h := range hits {
		if len(h) > 0 {
			t.Errorf("%q fires on %d compliant fixtures, first %s", compiled[i].Policy.Name, len(h), h[0])
		}
	}
}

func messages(vs []policy.Violation) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Message
	}
	return strings.Join(out, "; ")
}

// TestBuiltinFixtureDirsHavePolicies keeps testdata/builtin free of fixtures
// for policies that were renamed or removed.
func TestBuiltinFixtureDirsHavePolicies(t *testing.T) {
	stems := map[string]bool{}
	for _, f := range loadBuiltinFiles(t) {
		stems[f.stem] = true
	}
	entries, err := os.ReadDir(builtinFixtureDir)
	if err != nil {
		t.Fatalf("read %s: %v", builtinFixtureDir, err)
	}
	for _, e := range entries {
		if !e.IsDir() || !stems[e.Name()] {
			t.Errorf("%s: no built-in policy %s/%s.yaml for this fixture", filepath.Join(builtinFixtureDir, e.Name()), builtinDir, e.Name())
			continue
		}
		dir := filepath.Join(builtinFixtureDir, e.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("read %s: %v", dir, err)
		}
		for _, ff := range files {
			if ff.Name() != "violating.yaml" && ff.Name() != "compliant.yaml" {
				t.Errorf("%s: unexpected file; a policy's fixtures are violating.yaml and compliant.yaml", filepath.Join(dir, ff.Name()))
			}
		}
	}
}

// TestBuiltinEmbedded checks that policy.Builtin, which reads the copies
// embedded in the binary, returns exactly the policies of the files.
func TestBuiltinEmbedded(t *testing.T) {
	files := loadBuiltinFiles(t)
	embedded, err := policy.Builtin()
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	if len(embedded) != len(files) {
		t.Errorf("Builtin returned %d policies, builtin/ holds %d", len(embedded), len(files))
	}
	byID := map[string]*policy.Policy{}
	for _, p := range embedded {
		byID[p.ID] = p
	}
	for _, f := range files {
		got, ok := byID[f.policy.ID]
		if !ok {
			t.Errorf("%s: policy %q is not returned by Builtin", f.path, f.policy.Name)
			continue
		}
		if !reflect.DeepEqual(got, f.policy) {
			t.Errorf("%s: Builtin returned a different %q", f.path, f.policy.Name)
		}
	}
}

// TestBuiltinTextsAreOurOwn compares the built-in policies with StackRox's
// defaults. Their names must differ (case-insensitively), so that an ACS
// export imports beside ours, and no text may repeat a run of eight words
// of theirs: our policies are written in our own words.
func TestBuiltinTextsAreOurOwn(t *testing.T) {
	const run = 8
	acs := loadACS(t)
	if len(acs) == 0 {
		t.Fatal("no StackRox policies found to compare with")
	}
	acsNames := map[string]string{}
	acsRuns := map[string]string{}
	for _, p := range acs {
		acsNames[strings.ToLower(p.Name)] = p.Name
		for _, text := range []string{p.Description, p.Rationale, p.Remediation} {
			for _, r := range wordRuns(text, run) {
				acsRuns[r] = p.Name
			}
		}
	}
	for _, f := range loadBuiltinFiles(t) {
		p := f.policy
		if other, clash := acsNames[strings.ToLower(p.Name)]; clash {
			t.Errorf("%s: name %q clashes with the StackRox policy %q", f.path, p.Name, other)
		}
		for field, text := range map[string]string{"description": p.Description, "rationale": p.Rationale, "remediation": p.Remediation} {
			for _, r := range wordRuns(text, run) {
				if other, ok := acsRuns[r]; ok {
					t.Errorf("%s: %s repeats %q from the StackRox policy %q", f.path, field, r, other)
					break
				}
			}
		}
	}
}

// wordRune reports whether r belongs to a word: a lower-case ASCII letter,
// a digit or an underscore.
func wordRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_'
}

// wordRuns returns every run of n consecutive words of text, lower-cased
// and without punctuation.
func wordRuns(text string, n int) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !wordRune(r) })
	var out []string
	for i := 0; i+n <= len(words); i++ {
		out = append(out, strings.Join(words[i:i+n], " "))
	}
	return out
}

// TestBuiltinExportRoundTrip checks that the built-in policies survive the
// ACS export format unchanged, so that they can be exported to ACS.
func TestBuiltinExportRoundTrip(t *testing.T) {
	files := loadBuiltinFiles(t)
	ps := make([]*policy.Policy, len(files))
	for i, f := range files {
		ps[i] = f.policy
	}
	data, err := policy.Export(ps)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if !json.Valid(data) {
		t.Fatal("Export produced invalid JSON")
	}
	back, err := policy.Parse("export.json", data)
	if err != nil {
		t.Fatalf("parse export: %v", err)
	}
	if !reflect.DeepEqual(back, ps) {
		t.Error("built-in policies changed through Export and Parse")
	}
}
