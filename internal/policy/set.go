package policy

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"

	"github.com/stockade-dev/stockade/internal/workload"
)

// Alert is a policy a deployment violates, with every violation found.
type Alert struct {
	Policy     *Compiled
	Violations []Violation
}

// Set is a compiled collection of policies, evaluated together.
type Set struct {
	all    []*Compiled
	deploy []*Compiled // enabled, DEPLOY stage, evaluable from a deployment
}

// NewSet compiles every policy. A policy that does not compile is an error
// naming it; nothing is returned then, so that a bad import is never half
// applied.
func NewSet(policies []*Policy) (*Set, error) {
	s := &Set{}
	var errs []error
	for _, p := range policies {
		c, err := Compile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.all = append(s.all, c)
		if !p.Disabled && c.HasStage(StageDeploy) && c.Evaluable() {
			s.deploy = append(s.deploy, c)
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

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtin returns Stockade's own default policies, parsed from the YAML files
// embedded in the binary, sorted by name. Each call returns fresh values that
// the caller may change.
func Builtin() ([]*Policy, error) {
	files, err := fs.Glob(builtinFS, "builtin/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list built-in policies: %w", err)
	}
	var out []*Policy
	for _, f := range files {
		data, err := builtinFS.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read built-in policy %s: %w", f, err)
		}
		ps, err := Parse(path.Base(f), data)
		if err != nil {
			return nil, fmt.Errorf("built-in policy: %w", err)
		}
		out = append(out, ps...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
