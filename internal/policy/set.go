package policy

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/workload"
)

// Alert is a policy a deployment violates, with every violation found.
type Alert struct {
	Policy     *Compiled
	Violations []Violation
}

// Set is a compiled collection of policies, evaluated together.
type Set struct {
	all          []*Compiled
	deploy       []*Compiled // enabled, DEPLOY stage, evaluable from a deployment alone
	deployImages []*Compiled // enabled, DEPLOY stage, evaluable with image scans
	build        []*Compiled // enabled, BUILD stage
}

// NewSet compiles every policy. A policy that does not compile is an error
// naming it; nothing is returned then, so that a bad import is never half
// applied.
func NewSet(policies []*Policy) (*Set, error) { return newSet(policies, Compile) }

// BuiltinSet compiles the built-in policies that keep accepts (all when keep
// is nil). They are not validated again — TestBuiltinSetSkipsOnlyValidation
// validates every one — since a CLI check compiles them at every start.
func BuiltinSet(keep func(*Policy) bool) (*Set, error) {
	ps, err := Builtin()
	if err != nil {
		return nil, err
	}
	if keep != nil {
		ps = slices.DeleteFunc(ps, func(p *Policy) bool { return !keep(p) })
	}
	return newSet(ps, compileValid)
}

func newSet(policies []*Policy, compile func(*Policy) (*Compiled, error)) (*Set, error) {
	s := &Set{}
	var errs []error
	for _, p := range policies {
		c, err := compile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.all = append(s.all, c)
		if p.Disabled {
			continue
		}
		if c.HasStage(StageDeploy) && c.Evaluable() {
			s.deploy = append(s.deploy, c)
		}
		if c.HasStage(StageDeploy) && c.EvaluableWithImages() {
			s.deployImages = append(s.deployImages, c)
		}
		if c.HasStage(StageBuild) && c.EvaluableWithImages() {
			s.build = append(s.build, c)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Policies returns every compiled policy of the set, enabled or not.
func (s *Set) Policies() []*Compiled { return s.all }

// DeployPolicies returns the enabled DEPLOY-stage policies that a deployment
// alone can be evaluated against.
func (s *Set) DeployPolicies() []*Compiled { return s.deploy }

// EvaluateDeployment runs every enabled DEPLOY policy whose scope includes
// the deployment and returns the violated ones, in the set's order.
func (s *Set) EvaluateDeployment(d *workload.Deployment, now time.Time) []Alert {
	var out []Alert
	for _, c := range s.deploy {
		if !c.AppliesTo(d, now) {
			continue
		}
		if v := c.MatchDeployment(d); len(v) > 0 {
			out = append(out, Alert{Policy: c, Violations: v})
		}
	}
	return out
}

// EvaluateDeploymentWithImages is EvaluateDeployment with the containers'
// image scans, so that image criteria (components, vulnerabilities, image
// age, Dockerfile lines, …) are evaluated too.
func (s *Set) EvaluateDeploymentWithImages(d *workload.Deployment, images ImageLookup, now time.Time) []Alert {
	var out []Alert
	for _, c := range s.deployImages {
		if !c.AppliesTo(d, now) {
			continue
		}
		if v := c.MatchDeploymentWithImages(d, images, now); len(v) > 0 {
			out = append(out, Alert{Policy: c, Violations: v})
		}
	}
	return out
}

// EvaluateImage runs every enabled BUILD policy against a scanned image,
// skipping policies with an exclusion for the image's name.
func (s *Set) EvaluateImage(img *scan.Image, now time.Time) []Alert {
	var out []Alert
	for _, c := range s.build {
		if c.excludesImage(img.FullName, now) {
			continue
		}
		if v := c.MatchImage(img, now); len(v) > 0 {
			out = append(out, Alert{Policy: c, Violations: v})
		}
	}
	return out
}

// BuildPolicies returns the enabled BUILD-stage policies.
func (s *Set) BuildPolicies() []*Compiled { return s.build }

//go:generate go run gen_builtin.go

// builtinJSON is builtin/*.yaml in export form, made by gen_builtin.go.
//
//go:embed builtin.json
var builtinJSON []byte

// Builtin returns Stockade's own default policies, embedded in the binary,
// sorted by name. Each call returns fresh values that the caller may change.
//
// The bundle is generated and checked by TestBuiltinEmbedded, so it is
// decoded in one pass without Parse's strictness (which reads a document
// three times to name the policy and line of an error).
func Builtin() ([]*Policy, error) {
	var doc struct {
		Policies []*Policy `json:"policies"`
	}
	if err := json.Unmarshal(builtinJSON, &doc); err != nil {
		return nil, fmt.Errorf("built-in policies: %w", err)
	}
	return doc.Policies, nil
}
