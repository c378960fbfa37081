package deploycheck

import (
	"time"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// Check evaluates every deployment against the set's enabled DEPLOY policies.
// Results keep the input order; a workload that violates nothing has no
// Result, as in roxctl.
func Check(deployments []*workload.Deployment, set *policy.Set, now time.Time) *Report {
	r := &Report{Results: []Result{}, Checked: len(deployments)}
	for _, d := range deployments {
		alerts := set.EvaluateDeployment(d, now)
		if len(alerts) == 0 {
			continue
		}
		res := Result{
			Metadata: Metadata{ID: d.ID, AdditionalInfo: AdditionalInfo{Name: d.Name, Namespace: d.Namespace, Type: d.Kind}},
			Source:   d.Source,
		}
		for _, a := range alerts {
			p := a.Policy.Policy
			msgs := make([]string, len(a.Violations))
			for i, v := range a.Violations {
				msgs[i] = v.Message
			}
			res.ViolatedPolicies = append(res.ViolatedPolicies, ViolatedPolicy{
				Name:         p.Name,
				Severity:     p.Severity.Short(),
				Description:  p.Description,
				Violation:    msgs,
				Remediation:  p.Remediation,
				FailingCheck: a.Policy.EnforcedAt(policy.StageDeploy),
				PolicyID:     p.ID,
			})
			res.Summary.add(p.Severity)
		}
		r.Summary.Critical += res.Summary.Critical
		r.Summary.High += res.Summary.High
		r.Summary.Medium += res.Summary.Medium
		r.Summary.Low += res.Summary.Low
		r.Summary.Total += res.Summary.Total
		r.Results = append(r.Results, res)
	}
	return r
}

func (s *Summary) add(sev policy.Severity) {
	switch sev {
	case policy.SeverityCritical:
		s.Critical++
	case policy.SeverityHigh:
		s.High++
	case policy.SeverityMedium:
		s.Medium++
	default:
		s.Low++
	}
	s.Total++
}
