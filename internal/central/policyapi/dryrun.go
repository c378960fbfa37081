package policyapi

import (
	"fmt"
	"net/http"

	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
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
	res := DryRunResult{Alerts: []DryRunAlert{}, Evaluable: c.Evaluable()}
	now := a.now()
	// The inventory can be large: evaluate one deployment at a time.
	err = a.seen.Each(r.Context(), func(d *workload.Deployment) error {
		res.DeploymentsEvaluated++
		if !c.AppliesTo(d, now) {
			return nil
		}
		vs := c.MatchDeployment(d)
		if len(vs) == 0 {
			return nil
		}
		msgs := make([]string, len(vs))
		for i, v := range vs {
			msgs[i] = v.Message
		}
		res.Alerts = append(res.Alerts, DryRunAlert{
			Deployment: DryRunDeployment{ID: d.ID, Name: d.Name, Namespace: d.Namespace, ClusterName: d.ClusterName, Type: d.Kind},
			Violations: msgs,
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	return httpapi.WriteJSON(w, http.StatusOK, res)
}
