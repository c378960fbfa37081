package policy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/workload"
)

// The built-in policies are data: one YAML file per policy in builtin/, and
// for each a pair of fixtures in testdata/builtin/<file name>/ — manifests
// for a policy read from a deployment, image scans for a policy read from an
// image. These tests walk the directory itself rather than a list, so a
// policy added without its texts or its fixtures fails here.

const (
	builtinDir         = "builtin"
	builtinFixtureDir  = "testdata/builtin"
	minBuiltinPolicies = 45
	// minImageBuiltins is the floor for policies read from image scans.
	minImageBuiltins = 18
	// maxEnforcingBuiltins keeps deploy-time enforcement for what is truly
	// dangerous: every other built-in policy informs.
	maxEnforcingBuiltins = 6
	// maxBuildEnforcingBuiltins keeps failed CI builds for findings nobody
	// should ship.
	maxBuildEnforcingBuiltins = 2
)

// fixtureNow is the evaluation time of the image fixtures, which carry
// absolute creation, scan and publication times, so that ages are the same
// on every run.
var fixtureNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

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
	files := loadBuiltinFiles(t)
	if n := len(files); n < minBuiltinPolicies {
		t.Errorf("%d built-in policies, want at least %d", n, minBuiltinPolicies)
	}
	images := 0
	for _, f := range files {
		if k, err := fixtureKindOf(f.policy); err == nil && k == imageFixtures {
			images++
		}
	}
	if images < minImageBuiltins {
		t.Errorf("%d built-in image policies, want at least %d", images, minImageBuiltins)
	}
}

func TestBuiltinPolicyMetadata(t *testing.T) {
	files := loadBuiltinFiles(t)
	ids := map[string]string{}
	names := map[string]string{}
	var enforcing, buildEnforcing []string
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
				switch a {
				case policy.EnforceScaleToZero:
					enforcing = append(enforcing, f.stem)
				case policy.EnforceFailBuild:
					// Validate rejects this too; say it in the built-in rules' terms.
					if !slices.Contains(p.LifecycleStages, policy.StageBuild) {
						t.Errorf("%s: %s on a policy without the BUILD stage", f.path, a)
					}
					buildEnforcing = append(buildEnforcing, f.stem)
				default:
					t.Errorf("%s: enforcement action %s; built-in policies enforce only with SCALE_TO_ZERO_ENFORCEMENT at deploy time or FAIL_BUILD_ENFORCEMENT at build time", f.path, a)
				}
			}
			if len(p.EnforcementActions) > 0 {
				if p.Disabled {
					t.Errorf("%s: a disabled policy must not carry enforcement", f.path)
				}
				if p.Severity != policy.SeverityCritical {
					t.Errorf("%s: enforces but its severity is %s, not CRITICAL", f.path, p.Severity)
				}
			}
		})
	}
	if len(enforcing) == 0 || len(enforcing) > maxEnforcingBuiltins {
		t.Errorf("%d built-in policies enforce at deploy time (%s); want between 1 and %d", len(enforcing), strings.Join(enforcing, ", "), maxEnforcingBuiltins)
	}
	if len(buildEnforcing) == 0 || len(buildEnforcing) > maxBuildEnforcingBuiltins {
		t.Errorf("%d built-in policies fail builds (%s); want between 1 and %d", len(buildEnforcing), strings.Join(buildEnforcing, ", "), maxBuildEnforcingBuiltins)
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

// deployOnlyImageField reports the image criteria that mean something only
// for an image that runs in a cluster: at build time the image has just been
// scanned, and only Central remembers when a CVE was first seen.
func deployOnlyImageField(name string) bool {
	switch name {
	case "Image Scan Age", "Unscanned Image",
		"Days Since CVE Was First Discovered In Image", "Days Since CVE Was First Discovered In System":
		return true
	}
	return false
}

// buildable reports whether every criterion of the policy can be decided
// from an image alone: its reference (Image Registry, Remote, Tag) or its
// scan, leaving out the deploy-only image criteria.
func buildable(p *policy.Policy) bool {
	for _, s := range p.PolicySections {
		for _, g := range s.PolicyGroups {
			f, ok := policy.LookupField(g.FieldName)
			if !ok {
				return false
			}
			switch {
			case isImageReference(f.Name):
			case f.Data == policy.DataImage && !deployOnlyImageField(f.Name):
			default:
				return false
			}
		}
	}
	return true
}

func isImageReference(field string) bool {
	return field == "Image Registry" || field == "Image Remote" || field == "Image Tag"
}

// checkStages allows BUILD and DEPLOY only, and BUILD exactly when every
// criterion can be decided from an image (its reference or its scan): the
// stage needs no deployment then, and an image check should report it.
func checkStages(t *testing.T, f builtinFile) {
	t.Helper()
	p := f.policy
	imageOnly := buildable(p)
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
		t.Errorf("%s: BUILD stage is %v but criteria decidable from an image alone: %v; want BUILD exactly for those", f.path, hasBuild, imageOnly)
	}
}

// checkCriteriaFields requires every criterion to be evaluable from a
// manifest or an image scan, so that `stockade deployment check` or
// `stockade image check` can decide the policy.
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
			if field.Data != policy.DataDeployment && field.Data != policy.DataImage {
				t.Errorf("%s: policySections[%d].policyGroups[%d]: %q needs %s data; built-in DEPLOY/BUILD policies use manifest and image-scan criteria only",
					f.path, si, gi, g.FieldName, field.Data)
			}
			if field.Name != g.FieldName {
				t.Errorf("%s: policySections[%d].policyGroups[%d]: write the field name as %q, not %q", f.path, si, gi, field.Name, g.FieldName)
			}
		}
	}
	if _, err := fixtureKindOf(f.policy); err != nil {
		t.Errorf("%s: %v", f.path, err)
	}
}

// fixtureKind is what a built-in policy is tested with, which follows from
// what its criteria read.
type fixtureKind int

const (
	// manifestFixtures: violating.yaml and compliant.yaml, Kubernetes
	// manifests evaluated with MatchDeployment.
	manifestFixtures fixtureKind = iota
	// imageFixtures: violating-image.json and compliant-image.json, image
	// scans (scan.Image) evaluated with MatchImage at BUILD and with
	// MatchDeploymentWithImages at DEPLOY.
	imageFixtures
)

const (
	violatingManifest = "violating.yaml"
	compliantManifest = "compliant.yaml"
	violatingImage    = "violating-image.json"
	compliantImage    = "compliant-image.json"
)

func (k fixtureKind) files() []string {
	if k == imageFixtures {
		return []string{violatingImage, compliantImage}
	}
	return []string{violatingManifest, compliantManifest}
}

// fixtureKindOf decides the fixtures a policy needs: image fixtures when any
// criterion reads an image scan, manifests otherwise. A policy that needs
// both a manifest and a scan has no fixture kind yet and is an error rather
// than a policy tested with half its criteria.
func fixtureKindOf(p *policy.Policy) (fixtureKind, error) {
	if !slices.Contains(policy.DataNeeded(p), policy.DataImage.String()) {
		return manifestFixtures, nil
	}
	for _, s := range p.PolicySections {
		for _, g := range s.PolicyGroups {
			f, ok := policy.LookupField(g.FieldName)
			if ok && f.Data == policy.DataDeployment && !isImageReference(f.Name) {
				return 0, fmt.Errorf("criterion %q reads a manifest and others read an image scan; built-in policies read one or the other (besides the image reference)", f.Name)
			}
		}
	}
	return imageFixtures, nil
}

// checkFixtureFiles requires exactly the fixtures of the policy's kind, so
// that no fixture sits unused and no policy goes untested.
func checkFixtureFiles(t *testing.T, dir string, k fixtureKind) {
	t.Helper()
	for _, kind := range []fixtureKind{manifestFixtures, imageFixtures} {
		for _, name := range kind.files() {
			_, err := os.Stat(filepath.Join(dir, name))
			switch {
			case kind == k && err != nil:
				t.Errorf("%s: missing: %v", filepath.Join(dir, name), err)
			case kind != k && err == nil:
				t.Errorf("%s: the policy's criteria need %s, not this file", filepath.Join(dir, name), strings.Join(k.files(), " and "))
			}
		}
	}
}

// fixtureImage reads an image fixture: a scan.Image in JSON, or null for an
// image that has not been scanned. Unknown fields are errors, so that a
// misspelt field cannot quietly leave the image without the data the test
// relies on.
func fixtureImage(t *testing.T, path string) *scan.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var img *scan.Image
	if err := dec.Decode(&img); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("%s: more than one JSON value", path)
	}
	if img == nil {
		return nil
	}
	// The reference fields are what the registry client would derive from
	// the name; fixtures must agree with it.
	ref, err := workload.ParseImage(img.Name)
	if err != nil {
		t.Fatalf("%s: name: %v", path, err)
	}
	if ref.FullName != img.FullName || ref.Registry != img.Registry || ref.Remote != img.Remote || ref.Tag != img.Tag {
		t.Errorf("%s: fullName/registry/remote/tag %q %q %q %q disagree with the name %q (%q %q %q %q)", path,
			img.FullName, img.Registry, img.Remote, img.Tag, img.Name, ref.FullName, ref.Registry, ref.Remote, ref.Tag)
	}
	if img.ScanTime.IsZero() || img.ScanTime.After(fixtureNow) {
		t.Errorf("%s: scanTime %v must be set and not after %v", path, img.ScanTime, fixtureNow)
	}
	return img
}

// unscannedImageRef names the image of a deployment whose image fixture is
// null (not scanned).
const unscannedImageRef = "registry.shop.example/shop/unscanned:1.0.0"

// imageDeployment is a one-container deployment running img, and the image
// lookup that returns img (nil: unscanned) for that container.
func imageDeployment(t *testing.T, img *scan.Image) (*workload.Deployment, policy.ImageLookup) {
	t.Helper()
	raw := unscannedImageRef
	if img != nil {
		raw = img.Name
	}
	ref, err := workload.ParseImage(raw)
	if err != nil {
		t.Fatalf("image %q: %v", raw, err)
	}
	d := &workload.Deployment{
		Name: "app", Namespace: "shop", Kind: workload.KindDeployment, Replicas: 2,
		Labels: map[string]string{"app": "app"}, PodLabels: map[string]string{"app": "app"},
		ServiceAccount: "app",
		Containers:     []workload.Container{{Name: "app", Image: ref}},
	}
	lookup := func(c *workload.Container) *scan.Image {
		if c.Name != "app" || c.Image.FullName != ref.FullName {
			t.Errorf("image lookup for an unknown container %q (%s)", c.Name, c.Image.FullName)
			return nil
		}
		return img
	}
	return d, lookup
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
	for _, f := range loadBuiltinFiles(t) {
		t.Run(f.stem, func(t *testing.T) {
			c, err := policy.Compile(f.policy)
			if err != nil {
				t.Fatalf("%s: compile: %v", f.path, err)
			}
			kind, err := fixtureKindOf(f.policy)
			if err != nil {
				t.Fatalf("%s: %v", f.path, err)
			}
			dir := filepath.Join(builtinFixtureDir, f.stem)
			checkFixtureFiles(t, dir, kind)
			if kind == imageFixtures {
				checkImageFixtures(t, f, c, dir)
				return
			}
			checkManifestFixtures(t, f, c, dir)
		})
	}
}

func checkManifestFixtures(t *testing.T, f builtinFile, c *policy.Compiled, dir string) {
	t.Helper()
	now := time.Now()
	if !c.Evaluable() {
		t.Fatalf("%s: no section can be evaluated from a deployment", f.path)
	}
	violating := filepath.Join(dir, violatingManifest)
	fired := false
	for _, d := range fixtureDeployments(t, violating) {
		if !c.AppliesTo(d, now) {
			t.Errorf("%s: %s/%s is excluded from the policy; violating fixtures must be in scope", violating, d.Namespace, d.Name)
			continue
		}
		vs := c.MatchDeployment(d)
		checkMessages(t, violating, vs)
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

	compliant := filepath.Join(dir, compliantManifest)
	for _, d := range fixtureDeployments(t, compliant) {
		if vs := c.MatchDeployment(d); len(vs) > 0 {
			t.Errorf("%s: %s/%s violates %q: %s", compliant, d.Namespace, d.Name, f.policy.Name, messages(vs))
		}
	}
}

// checkImageFixtures evaluates a policy that reads image scans: at BUILD
// against the image alone, at DEPLOY against a one-container deployment
// running it.
func checkImageFixtures(t *testing.T, f builtinFile, c *policy.Compiled, dir string) {
	t.Helper()
	if !c.EvaluableWithImages() {
		t.Fatalf("%s: no section can be evaluated with image scans", f.path)
	}
	if c.Evaluable() {
		t.Errorf("%s: a section needs no image data; test it with manifests in its own policy", f.path)
	}
	violating := filepath.Join(dir, violatingImage)
	img := fixtureImage(t, violating)
	if c.HasStage(policy.StageBuild) {
		if img == nil {
			t.Errorf("%s: a BUILD policy needs a scanned image to violate it, not null", violating)
		} else {
			vs := c.MatchImage(img, fixtureNow)
			checkMessages(t, violating, vs)
			if len(vs) == 0 {
				t.Errorf("%s: MatchImage: no violation of %q", violating, f.policy.Name)
			}
		}
	}
	if c.HasStage(policy.StageDeploy) {
		d, lookup := imageDeployment(t, img)
		if !c.AppliesTo(d, fixtureNow) {
			t.Errorf("%s: the fixture deployment %s/%s is excluded from the policy; violating fixtures must be in scope", violating, d.Namespace, d.Name)
		}
		vs := c.MatchDeploymentWithImages(d, lookup, fixtureNow)
		checkMessages(t, violating, vs)
		if len(vs) == 0 {
			t.Errorf("%s: MatchDeploymentWithImages: no violation of %q", violating, f.policy.Name)
		}
		for _, v := range vs {
			if v.Container != "app" {
				t.Errorf("%s: violation %q names container %q, want the image's container", violating, v.Message, v.Container)
			}
		}
		if c.EnforcedAt(policy.StageDeploy) {
			for _, ns := range []string{"kube-system", "stockade"} {
				d.Namespace = ns
				if c.AppliesTo(d, fixtureNow) {
					t.Errorf("%s: enforces on workloads in %s; add the system namespace exclusion", f.path, ns)
				}
			}
		}
	}

	compliant := filepath.Join(dir, compliantImage)
	img = fixtureImage(t, compliant)
	if img == nil {
		t.Fatalf("%s: a compliant image is a scanned one, not null", compliant)
	}
	if c.HasStage(policy.StageBuild) {
		if vs := c.MatchImage(img, fixtureNow); len(vs) > 0 {
			t.Errorf("%s: MatchImage: violates %q: %s", compliant, f.policy.Name, messages(vs))
		}
	}
	d, lookup := imageDeployment(t, img)
	if vs := c.MatchDeploymentWithImages(d, lookup, fixtureNow); len(vs) > 0 {
		t.Errorf("%s: MatchDeploymentWithImages: violates %q: %s", compliant, f.policy.Name, messages(vs))
	}
}

func checkMessages(t *testing.T, path string, vs []policy.Violation) {
	t.Helper()
	for _, v := range vs {
		if strings.TrimSpace(v.Message) == "" {
			t.Errorf("%s: a violation has an empty message", path)
		}
	}
}

// TestBuiltinCompliantFixturesAreHardened checks every compliant fixture
// against every built-in policy, enabled or not: each shows a hardened
// workload or image, so a policy that fires on one of them fires too
// broadly. Compliant manifests meet every policy read from a deployment;
// compliant images meet every BUILD policy (image reference criteria
// included) through MatchImage and every image policy at DEPLOY.
func TestBuiltinCompliantFixturesAreHardened(t *testing.T) {
	files := loadBuiltinFiles(t)
	compiled := make([]*policy.Compiled, 0, len(files))
	kinds := make([]fixtureKind, 0, len(files))
	for _, f := range files {
		c, err := policy.Compile(f.policy)
		if err != nil {
			t.Fatalf("%s: compile: %v", f.path, err)
		}
		k, err := fixtureKindOf(f.policy)
		if err != nil {
			t.Fatalf("%s: %v", f.path, err)
		}
		compiled = append(compiled, c)
		kinds = append(kinds, k)
	}
	// Report each policy once, with its first hit, so that one policy that
	// fires too broadly does not bury the output under every fixture.
	hits := make([][]string, len(compiled))
	images := 0
	for _, f := range files {
		compliant := filepath.Join(builtinFixtureDir, f.stem, compliantManifest)
		if _, err := os.Stat(compliant); err == nil {
			for _, d := range fixtureDeployments(t, compliant) {
				for i, c := range compiled {
					if vs := c.MatchDeployment(d); len(vs) > 0 {
						hits[i] = append(hits[i], fmt.Sprintf("%s: %s/%s: %s", compliant, d.Namespace, d.Name, messages(vs)))
					}
				}
			}
		}
		compliant = filepath.Join(builtinFixtureDir, f.stem, compliantImage)
		if _, err := os.Stat(compliant); err != nil {
			continue // TestBuiltinPolicyFixtures reports a missing fixture
		}
		img := fixtureImage(t, compliant)
		if img == nil {
			continue // TestBuiltinPolicyFixtures reports it
		}
		images++
		d, lookup := imageDeployment(t, img)
		for i, c := range compiled {
			if c.HasStage(policy.StageBuild) {
				if vs := c.MatchImage(img, fixtureNow); len(vs) > 0 {
					hits[i] = append(hits[i], fmt.Sprintf("%s: MatchImage: %s", compliant, messages(vs)))
				}
			}
			if kinds[i] == imageFixtures {
				if vs := c.MatchDeploymentWithImages(d, lookup, fixtureNow); len(vs) > 0 {
					hits[i] = append(hits[i], fmt.Sprintf("%s: MatchDeploymentWithImages: %s", compliant, messages(vs)))
				}
			}
		}
	}
	if images == 0 {
		t.Error("no compliant image fixtures found")
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
			switch ff.Name() {
			case violatingManifest, compliantManifest, violatingImage, compliantImage:
			default:
				t.Errorf("%s: unexpected file; a policy's fixtures are %s and %s, or %s and %s", filepath.Join(dir, ff.Name()),
					violatingManifest, compliantManifest, violatingImage, compliantImage)
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
		t.Errorf("Builtin returned %d policies, builtin/ holds %d: run go generate ./internal/policy", len(embedded), len(files))
	}
	byID := map[string]*policy.Policy{}
	for _, p := range embedded {
		byID[p.ID] = p
	}
	for _, f := range files {
		got, ok := byID[f.policy.ID]
		if !ok {
			t.Errorf("%s: policy %q is not returned by Builtin: run go generate ./internal/policy", f.path, f.policy.Name)
			continue
		}
		if !reflect.DeepEqual(got, f.policy) {
			t.Errorf("%s: Builtin returned a different %q: run go generate ./internal/policy", f.path, f.policy.Name)
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

// TestBuiltinImageCriteriaCases runs the hand-written regexes of the
// built-in image policies over history lines and package versions they must
// and must not match, in the forms registries report: classic builder
// history ("/bin/sh -c …"), BuildKit history ("… # buildkit"), build
// arguments ("|1 ARG=… /bin/sh -c …").
func TestBuiltinImageCriteriaCases(t *testing.T) {
	type line struct {
		instruction, value string
		fires              bool
	}
	type component struct {
		name, version string
		fires         bool
	}
	cases := map[string]struct {
		lines      []line
		components []component
	}{
		"dockerfile-ssh-port": {lines: []line{
			{"EXPOSE", "22/tcp", true},
			{"EXPOSE", "22", true},
			{"EXPOSE", "map[22/tcp:{}]", true},
			{"EXPOSE", "80/tcp 22/tcp", true},
			{"EXPOSE", "2222/tcp", false},
			{"EXPOSE", "8022/tcp", false},
			{"EXPOSE", "22000/tcp", false},
			{"EXPOSE", "22/udp", false},
			{"RUN", "/bin/sh -c echo 22/tcp", false},
		}},
		"dockerfile-add-remote-source": {lines: []line{
			{"ADD", "https://github.com/krallin/tini/releases/download/v0.19.0/tini /tini", true},
			{"ADD", "--chown=10001:0 https://example.com/app.tar.gz /opt/ # buildkit", true},
			{"ADD", "git@github.com:moby/buildkit.git#v0.10.1 /buildkit # buildkit", true},
			{"ADD", "ftp://mirror.example.com/pub/data.zip /data/", true},
			{"ADD", "file:4b03b5f551e3fbdf47ec609712007327828f7530cc3455c43bbcdcaf449a75a9 in / ", false},
			{"ADD", "--checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/app.tar.gz /opt/ # buildkit", false},
			{"ADD", "--chmod=755 --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/tini /tini", false},
			{"ADD", "alpine-minirootfs-3.22.2-x86_64.tar.gz / # buildkit", false},
			{"COPY", "https://example.com/x /x", false},
		}},
		"dockerfile-package-update-alone": {lines: []line{
			{"RUN", "/bin/sh -c apt-get update", true},
			{"RUN", "/bin/sh -c apt-get update # buildkit", true},
			{"RUN", "/bin/sh -c apt-get -qq update", true},
			{"RUN", "|1 HTTP_PROXY=http://proxy.example:3128 /bin/sh -c apt-get update -y", true},
			{"RUN", "/bin/sh -c apk update", true},
			{"RUN", "/bin/sh -c yum -y update", true},
			{"RUN", "/bin/sh -c zypper --non-interactive refresh", true},
			{"RUN", "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends nginx && rm -rf /var/lib/apt/lists/*", false},
			{"RUN", "/bin/sh -c apk add --no-cache tzdata", false},
			{"RUN", "/bin/sh -c apt-get install -y nginx", false},
		}},
		"dockerfile-pipe-to-shell": {lines: []line{
			{"RUN", "/bin/sh -c curl -fsSL https://get.docker.com | sh", true},
			{"RUN", "/bin/sh -c wget -qO- https://example.com/install.sh | sudo -E bash -s -- --yes # buildkit", true},
			{"RUN", "/bin/sh -c curl -sL https://example.com/install.sh | /bin/bash", true},
			{"RUN", "/bin/bash -c bash <(curl -fsSL https://example.com/install.sh)", true},
			{"RUN", `/bin/sh -c sh -c "$(curl -fsSL https://example.com/install.sh)"`, true},
			{"RUN", "/bin/sh -c curl -fsSLo /tmp/x.tgz https://example.com/x.tgz && echo 'abc  /tmp/x.tgz' | sha256sum -c -", false},
			{"RUN", "/bin/sh -c curl -fsSL https://example.com/x.tgz | tar -xz -C /opt", false},
			{"RUN", "/bin/sh -c wget -qO- https://example.com/key.asc | gpg --dearmor -o /usr/share/keyrings/example.gpg", false},
			{"RUN", "/bin/sh -c curl -fsSL https://example.com/x | shasum -a 256", false},
		}},
		"dockerfile-env-credential": {lines: []line{
			{"ENV", "DB_PASSWORD=hunter2", true},
			{"ENV", "DB_HOST=db GITHUB_TOKEN=ghp_0123456789abcdef", true},
			{"ENV", `AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"`, true},
			{"ENV", "SECRET_KEY_BASE=4f0c9d", true},
			{"ENV", "api_key=abc123", true},
			{"ENV", "DB_PASSWORD_FILE=/run/secrets/db-password", false},
			{"ENV", "NPM_TOKEN=", false},
			{"ENV", "GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305", false},
			{"ENV", "TOKENIZERS_PARALLELISM=false", false},
			{"ENV", "PASSWORD=$DB_PASSWORD", false},
			{"LABEL", "DB_PASSWORD=hunter2", false},
		}},
		"image-tls-verification-disabled": {lines: []line{
			{"CMD", `["app" "--insecure"]`, true},
			{"ENTRYPOINT", `["kubectl" "--insecure-skip-tls-verify=true" "get" "pods"]`, true},
			{"ENTRYPOINT", `["skopeo" "sync" "--src-tls-verify=false"]`, true},
			{"CMD", `["/app" "-insecure"]`, true},
			{"ENV", "NODE_TLS_REJECT_UNAUTHORIZED=0", true},
			{"ENV", `NODE_ENV=production NODE_TLS_REJECT_UNAUTHORIZED="0"`, true},
			{"ENV", "GIT_SSL_NO_VERIFY=true", true},
			{"CMD", `["kube-apiserver" "--insecure-port=0"]`, false},
			{"CMD", `["app" "--tls-verify=true"]`, false},
			{"CMD", `["app" "--insecure=false"]`, false},
			{"ENV", "NODE_TLS_REJECT_UNAUTHORIZED=1", false},
			{"RUN", "/bin/sh -c app --insecure", false},
		}},
		"dockerfile-unverified-download": {lines: []line{
			{"RUN", "/bin/sh -c curl -k -o /tmp/agent.tgz https://artifacts.example/agent.tgz", true},
			{"RUN", "/bin/sh -c curl -fsSLk https://artifacts.example/agent.tgz | tar -xz", true},
			{"RUN", "/bin/sh -c curl --insecure -fsSL https://artifacts.example/agent.tgz -o /tmp/a.tgz", true},
			{"RUN", "/bin/sh -c wget --no-check-certificate https://artifacts.example/a.tgz", true},
			{"RUN", "/bin/sh -c apk add --allow-untrusted /tmp/agent.apk", true},
			{"RUN", "/bin/sh -c apt-get install -y --allow-unauthenticated agent", true},
			{"RUN", "/bin/sh -c dnf install -y --nogpgcheck agent", true},
			{"RUN", "/bin/sh -c pip install --trusted-host pypi.internal.example -r requirements.txt", true},
			{"RUN", "/bin/sh -c git config --global http.sslVerify false", true},
			{"RUN", "/bin/sh -c npm config set strict-ssl false", true},
			{"RUN", "/bin/sh -c curl -fsSL -o /tmp/kubectl https://dl.k8s.io/release/v1.31.0/bin/linux/amd64/kubectl", false},
			{"RUN", "/bin/sh -c curl -K /etc/curlrc https://artifacts.example/a.tgz", false},
			{"RUN", "/bin/sh -c apk add --no-cache curl && make -k", false},
			{"RUN", "/bin/sh -c git config --global http.sslVerify true", false},
		}},
		"xz-backdoor": {components: []component{
			{"liblzma5", "5.6.0-0.2", true},
			{"xz-utils", "5.6.1-1", true},
			{"xz", "5.6.1-r0", true},
			{"xz-libs", "5.6.0-1.fc40", true},
			{"liblzma5", "5.6.1+really5.4.5-1", false},
			{"liblzma5", "5.4.1-0.2", false},
			{"xz-utils", "5.6.2-1", false},
			{"xz", "5.6.10-r0", false},
			{"lzma", "5.6.1-1", false},
		}},
		"package-manager-apt": {components: []component{
			{"apt", "2.6.1", true},
			{"dpkg", "1.21.22", true},
			{"libapt-pkg6.0", "2.6.1", false},
			{"apt-transport-https", "2.6.1", false},
		}},
		"curl-in-image": {components: []component{
			{"curl", "7.88.1-10+deb12u14", true},
			{"libcurl4", "7.88.1-10+deb12u14", false},
		}},
	}
	byStem := map[string]*policy.Compiled{}
	for _, f := range loadBuiltinFiles(t) {
		c, err := policy.Compile(f.policy)
		if err != nil {
			t.Fatalf("%s: compile: %v", f.path, err)
		}
		byStem[f.stem] = c
	}
	for stem, tc := range cases {
		c, ok := byStem[stem]
		if !ok {
			t.Errorf("no built-in policy %s", stem)
			continue
		}
		base := scan.Image{
			Name: "registry.shop.example/shop/app:1.0.0", FullName: "registry.shop.example/shop/app:1.0.0",
			Registry: "registry.shop.example", Remote: "shop/app", Tag: "1.0.0",
			Metadata: scan.Metadata{Created: fixtureNow.Add(-24 * time.Hour), User: "10001",
				Labels: map[string]string{"org.opencontainers.image.source": "https://git.shop.example/shop/app"}},
			ScanTime: fixtureNow,
		}
		for _, l := range tc.lines {
			img := base
			img.Metadata.Layers = []scan.Layer{{Instruction: l.instruction, Value: l.value}}
			if got := len(c.MatchImage(&img, fixtureNow)) > 0; got != l.fires {
				t.Errorf("%s: %s %s: fires %v, want %v", stem, l.instruction, l.value, got, l.fires)
			}
		}
		for _, comp := range tc.components {
			img := base
			img.Components = []scan.Component{{}}
			img.Components[0].Name, img.Components[0].Version = comp.name, comp.version
			if got := len(c.MatchImage(&img, fixtureNow)) > 0; got != comp.fires {
				t.Errorf("%s: component %s %s: fires %v, want %v", stem, comp.name, comp.version, got, comp.fires)
			}
		}
	}
}

// BuiltinSet compiles without validating: every built-in must validate, and
// the set must hold what NewSet makes of the same policies.
func TestBuiltinSetSkipsOnlyValidation(t *testing.T) {
	ps, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if err := policy.Validate(p); err != nil {
			t.Errorf("built-in %q: %v", p.Name, err)
		}
	}
	want, err := policy.NewSet(ps)
	if err != nil {
		t.Fatal(err)
	}
	got, err := policy.BuiltinSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	names := func(s *policy.Set) []string {
		var out []string
		for _, c := range s.Policies() {
			out = append(out, fmt.Sprintf("%s %v %v", c.Policy.Name, c.Evaluable(), c.EvaluableWithImages()))
		}
		return out
	}
	if !slices.Equal(names(got), names(want)) || len(got.BuildPolicies()) != len(want.BuildPolicies()) {
		t.Fatalf("BuiltinSet differs from NewSet(Builtin())")
	}
	high, err := policy.BuiltinSet(func(p *policy.Policy) bool { return p.Severity == policy.SeverityCritical })
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range high.Policies() {
		if c.Policy.Severity != policy.SeverityCritical {
			t.Fatalf("filter kept %q", c.Policy.Name)
		}
	}
	if len(high.Policies()) == 0 || len(high.Policies()) == len(want.Policies()) {
		t.Fatalf("filter kept %d of %d", len(high.Policies()), len(want.Policies()))
	}
}
