package deploycheck

import (
	"runtime"
	"sync"
	"time"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/workload"
)

// Check evaluates every deployment against the set's enabled DEPLOY policies.
// Results keep the input order; a workload that violates nothing has no
// Result, as in roxctl.
func Check(deployments []*workload.Deployment, set *policy.Set, now time.Time) *Report {
	// A compiled set is safe for concurrent use: evaluate on every core,
	// then assemble the report in input order.
	alerts := make([][]policy.Alert, len(deployments))
	workers := min(runtime.GOMAXPROCS(0), len(deployments)/32+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(deployments); i += workers {
				alerts[i] = set.EvaluateDeployment(deployments[i], now)
			}
		}()
	}
	wg.Wait()
	return assemble(deployments, alerts)
}

// CheckFunc is Check with the evaluation supplied by the caller, for callers
// that know more than the manifest (image scans, cluster context).
func CheckFunc(deployments []*workload.Deployment, evaluate func(*workload.Deployment) []policy.Alert) *Report {
	alerts := make([][]policy.Alert, len(deployments))
	for i, d := range deployments {
		alerts[i] = evaluate(d)
	}
	return assemble(deployments, alerts)
}

// assemble builds the report of deployments from their alerts (same index).
func assemble(deployments []*workload.Deployment, all [][]policy.Alert) *Report {
	r := &Report{Results: []Result{}, Checked: len(deployments)}
	for i, d := range deployments {
		alerts := all[i]
		if len(alerts) == 0 {
			continue
		}
		res := NewResult(Metadata{ID: d.ID, AdditionalInfo: AdditionalInfo{Name: d.Name, Namespace: d.Namespace, Type: d.Kind}}, alerts, policy.StageDeploy)
		res.Source = d.Source
		r.Add(res)
	}
	return r
}

// CheckImage evaluates a scanned image against the set's enabled BUILD
// policies: one Result of type "Image" when it violates any, failing the
// check when a violated policy enforces at build time.
func CheckImage(img *scan.Image, set *policy.Set, now time.Time) *Report {
	r := &Report{Results: []Result{}, Checked: 1}
	if alerts := set.EvaluateImage(img, now); len(alerts) > 0 {
		r.Add(NewResult(Metadata{ID: img.Digest, AdditionalInfo: AdditionalInfo{Name: img.FullName, Type: "Image"}}, alerts, policy.StageBuild))
	}
	return r
}

// NewResult is the report entry of one object and the policies it violates;
// a policy fails the check when it enforces at stage.
func NewResult(md Metadata, alerts []policy.Alert, stage policy.LifecycleStage) Result {
	res := Result{Metadata: md, ViolatedPolicies: make([]ViolatedPolicy, 0, len(alerts))}
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
			FailingCheck: a.Policy.EnforcedAt(stage),
			PolicyID:     p.ID,
		})
		res.Summary.add(p.Severity)
	}
	return res
}

// Add appends a result and adds its counts to the report's totals.
func (r *Report) Add(res Result) {
	r.Summary.Critical += res.Summary.Critical
	r.Summary.High += res.Summary.High
	r.Summary.Medium += res.Summary.Medium
	r.Summary.Low += res.Summary.Low
	r.Summary.Total += res.Summary.Total
	r.Results = append(r.Results, res)
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
