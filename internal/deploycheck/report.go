// Package deploycheck checks workloads from manifests against a policy set and
// reports the result in the shape `roxctl deployment check` uses, so that CI
// scripts written for ACS carry over, plus table, CSV, JUnit and SARIF forms.
package deploycheck

import "github.com/stockade-dev/stockade/internal/workload"

// Report is the result of one check: one Result per workload that violates at
// least one policy, and totals over all of them.
type Report struct {
	Results []Result `json:"results"`
	Summary Summary  `json:"summary"`
	// Ignored lists the input objects that were neither workloads nor context
	// (Services, NetworkPolicies, RBAC). It is not part of the roxctl shape and
	// is reported on stderr by the CLI, never in the JSON.
	Ignored []Ignored `json:"-"`
	// Checked is the number of workloads evaluated.
	Checked int `json:"-"`
}

// Result is one workload and the policies it violates.
type Result struct {
	Metadata         Metadata         `json:"metadata"`
	Summary          Summary          `json:"summary"`
	ViolatedPolicies []ViolatedPolicy `json:"violatedPolicies"`
	Source           workload.Source  `json:"-"`
}

// Metadata identifies the workload.
type Metadata struct {
	ID             string         `json:"id"`
	AdditionalInfo AdditionalInfo `json:"additionalInfo"`
}

// AdditionalInfo names the workload.
type AdditionalInfo struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Type      string `json:"type"`
}

// Summary counts violated policies by severity.
type Summary struct {
	Critical int `json:"CRITICAL"`
	High     int `json:"HIGH"`
	Medium   int `json:"MEDIUM"`
	Low      int `json:"LOW"`
	Total    int `json:"TOTAL"`
}

// ViolatedPolicy is one policy a workload violates, with every violation
// message (one per offending container and value).
type ViolatedPolicy struct {
	Name         string   `json:"name"`
	Severity     string   `json:"severity"` // LOW, MEDIUM, HIGH, CRITICAL
	Description  string   `json:"description"`
	Violation    []string `json:"violation"`
	Remediation  string   `json:"remediation"`
	FailingCheck bool     `json:"failingCheck"` // the policy enforces at deploy time
	// PolicyID is not part of the roxctl shape; SARIF uses it as the rule id.
	PolicyID string `json:"-"`
}

// Ignored is an input object that was not checked.
type Ignored struct {
	Source workload.Source
	Kind   string
	Name   string
	Reason string
}

// Failed reports whether any violated policy enforces at deploy time, which
// makes `stockade deployment check` exit 1.
func (r *Report) Failed() bool {
	for _, res := range r.Results {
		for _, vp := range res.ViolatedPolicies {
			if vp.FailingCheck {
				return true
			}
		}
	}
	return false
}
