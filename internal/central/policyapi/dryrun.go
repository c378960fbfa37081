package policyapi

import (
	"net/http"

	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/policy"
)

// DryRunDeployment names a deployment in a dry-run result.
type DryRunDeployment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Namespace   string `json:"namespace"`
	ClusterName string `json:"clusterName,omitempty"`
	Type        string `json:"type"`
}

// DryRunAlert is a deployment the policy would alert on.
type DryRunAlert struct {
	Deployment DryRunDeployment `json:"deployment"`
	Violations []string         `json:"violations"`
}

// DryRunResult is the body of a dry-run response.
type DryRunResult struct {
	Alerts []DryRunAlert `json:"alerts"`
	// DeploymentsEvaluated is how many known deployments were checked.
	DeploymentsEvaluated int `json:"deploymentsEvaluated"`
	// Evaluable is false when no section of the policy can be evaluated
	// from a deployment (it needs image scan or runtime data).
	Evaluable bool `json:"evaluable"`
}

// dryRun evaluates the policy in the body, enabled or not, against the
// deployments Central has recorded, without saving anything.
func (a *API) dryRun(w http.ResponseWriter, r *http.Request) error {
	p, err := decodePolicy(r)
	if err != nil {
		return err
	}
	c, err := policy.Compile(p)
	if err != nil {
		return err
	}
	deployments, err := a.seen.List(r.Context())
	if err != nil {
		return err
	}
	res := DryRunResult{Alerts: []DryRunAlert{}, DeploymentsEvaluated: len(deployments), Evaluable: c.Evaluable()}
	now := a.now()
	for _, d := range deployments {
		if !c.AppliesTo(d, now) {
			continue
		}
		vs := c.MatchDeployment(d)
		if len(vs) == 0 {
			continue
		}
		msgs := make([]string, len(vs))
		for i, v := range vs {
			msgs[i] = v.Message
		}
		res.Alerts = append(res.Alerts, DryRunAlert{
			Deployment: DryRunDeployment{ID: d.ID, Name: d.Name, Namespace: d.Namespace, ClusterName: d.ClusterName, Type: d.Kind},
			Violations: msgs,
		})
	}
	return httpapi.WriteJSON(w, http.StatusOK, res)
}
