package alertapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/outbox"
	"github.com/stockade-dev/stockade/internal/central/policyset"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/policy"
)

// ExcludeRequest is the optional body of POST /v1/alerts/{id}/exclude.
type ExcludeRequest struct {
	// Expiration ends the exclusion at an RFC 3339 time; empty is never.
	Expiration string `json:"expiration,omitempty"`
}

// ExcludeResult is the answer of POST /v1/alerts/{id}/exclude.
type ExcludeResult struct {
	// Policy is the alert's policy with the exclusion.
	Policy *policy.Policy `json:"policy"`
	// Exclusion is the one added, or the one that already excluded the
	// deployment.
	Exclusion policy.Exclusion `json:"exclusion"`
	// Added is false when the policy already had that exclusion.
	Added bool `json:"added"`
	// Resolved are the ids of the alerts of this policy on this deployment
	// that the exclusion resolved, this one included when it was open.
	Resolved []string `json:"resolved"`
}

// deploymentExclusion is the exclusion of one deployment by name, in its
// cluster and namespace (a regular expression matching only that one).
func deploymentExclusion(rec store.AlertRecord, expiration string) policy.Exclusion {
	scope := &policy.Scope{Cluster: rec.ClusterName}
	if rec.Namespace != "" {
		scope.Namespace = regexp.QuoteMeta(rec.Namespace)
	}
	where := rec.Namespace
	if rec.ClusterName != "" {
		where = rec.ClusterName + "/" + rec.Namespace
	}
	return policy.Exclusion{
		Name:       "Deployment " + rec.DeploymentName + " in " + where,
		Deployment: &policy.ExclusionDeployment{Name: rec.DeploymentName, Scope: scope},
		Expiration: expiration,
	}
}

// sameTarget reports whether two exclusions exempt the same deployment.
func sameTarget(a, b policy.Exclusion) bool {
	if a.Deployment == nil || b.Deployment == nil || a.Image != nil || a.Deployment.Name != b.Deployment.Name {
		return false
	}
	sa, sb := a.Deployment.Scope, b.Deployment.Scope
	if sa == nil || sb == nil {
		return sa == sb
	}
	return sa.Cluster == sb.Cluster && sa.Namespace == sb.Namespace && sa.Label == nil && sb.Label == nil
}

// exclude adds the alert's deployment to the exclusions of the alert's
// policy and resolves the open alerts of that policy on that deployment,
// as ACS does when a deployment is excluded: the policy no longer applies
// to it.
func (a *API) exclude(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var req ExcludeRequest
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(body)) != "" {
		if err := httpapi.DecodeBytes(body, &req); err != nil {
			return err
		}
	}
	if req.Expiration != "" {
		if _, err := time.Parse(time.RFC3339, req.Expiration); err != nil {
			return httpapi.Invalid("bad expiration", httpapi.Detail{Path: "expiration",
				Message: fmt.Sprintf("want an RFC 3339 time such as 2026-12-31T00:00:00Z, got %q", req.Expiration)})
		}
	}
	var res ExcludeResult
	kick := false
	err = a.store.InTx(r.Context(), func(tx *store.Tx) error {
		res, kick = ExcludeResult{Resolved: []string{}}, false
		alert, err := tx.GetAlert(r.Context(), id)
		if err != nil {
			return err
		}
		if alert.DeploymentName == "" {
			return httpapi.Invalid("this alert is not about a deployment; only deployments can be excluded", httpapi.Detail{Path: "id", Message: "alert " + id + " names no deployment"})
		}
		rec, err := tx.GetPolicy(r.Context(), alert.PolicyID)
		if errors.Is(err, store.ErrNotFound) {
			return &httpapi.Error{Status: http.StatusNotFound, Message: "the policy of this alert no longer exists", Err: err}
		}
		if err != nil {
			return err
		}
		p, err := policyset.Decode(rec)
		if err != nil {
			return err
		}
		res.Exclusion = deploymentExclusion(alert, req.Expiration)
		res.Added = true
		for i, e := range p.Exclusions {
			if sameTarget(e, res.Exclusion) {
				if e.Expiration != req.Expiration {
					p.Exclusions[i].Expiration = req.Expiration
				}
				res.Exclusion, res.Added = p.Exclusions[i], false
				break
			}
		}
		if res.Added {
			p.Exclusions = append(p.Exclusions, res.Exclusion)
		}
		if err := policy.Validate(p); err != nil {
			return fmt.Errorf("policy %q with the exclusion: %w", p.ID, err)
		}
		updated, err := policyset.Encode(p, rec.Builtin)
		if err != nil {
			return err
		}
		if err := tx.UpdatePolicy(r.Context(), updated); err != nil {
			return err
		}
		res.Policy = p

		open := []store.AlertRecord{}
		if alert.State != store.AlertResolved {
			open = append(open, alert)
		}
		if alert.DeploymentID != "" {
			others, err := tx.OpenDeploymentAlerts(r.Context(), alert.DeploymentID)
			if err != nil {
				return err
			}
			for _, o := range others {
				if o.PolicyID == alert.PolicyID && o.ID != alert.ID {
					open = append(open, o)
				}
			}
		}
		for _, o := range open {
			queued, err := a.setState(r.Context(), tx, o, store.AlertResolved, p.Notifiers)
			if err != nil {
				return err
			}
			res.Resolved = append(res.Resolved, o.ID)
			kick = kick || queued
		}
		return nil
	})
	if err != nil {
		return err
	}
	if a.policyChanged != nil {
		a.policyChanged()
	}
	if kick {
		a.notify.Kick()
	}
	a.log.Info("deployment excluded from policy", "alert", id, "policy", res.Policy.ID, "added", res.Added, "resolved", len(res.Resolved))
	return httpapi.WriteJSON(w, http.StatusOK, res)
}

// setState moves the alert before to state inside tx and queues the
// notification of the change to the policy's notifiers. It reports
// whether a notification was queued.
func (a *API) setState(ctx context.Context, tx *store.Tx, before store.AlertRecord, state string, notifiers []string) (bool, error) {
	if err := tx.SetAlertState(ctx, before.ID, state); err != nil {
		return false, err
	}
	if a.notify == nil || len(notifiers) == 0 {
		return false, nil
	}
	return a.queue(ctx, tx, before, state, notifiers)
}

// policyNotifiers returns the notifiers of the policy with id, none when
// the policy is gone.
func policyNotifiers(ctx context.Context, tx *store.Tx, id string) ([]string, error) {
	pol, err := tx.GetPolicy(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // the policy is gone, and with it its notifiers
	}
	if err != nil {
		return nil, err
	}
	var p policy.Policy
	if err := json.Unmarshal(pol.JSON, &p); err != nil {
		return nil, fmt.Errorf("policy %q: read document: %w", pol.ID, err)
	}
	return p.Notifiers, nil
}

// queue queues the notification of the alert's move from before's state to
// state, when the move is one notifiers hear about. It reports whether a
// notification was queued.
func (a *API) queue(ctx context.Context, tx *store.Tx, before store.AlertRecord, state string, notifiers []string) (bool, error) {
	event := outbox.StateEvent(before.State, state)
	if event == "" {
		return false, nil
	}
	after, err := tx.GetAlert(ctx, before.ID)
	if err != nil {
		return false, err
	}
	na, err := outbox.AlertFromRecord(after)
	if err != nil {
		return false, err
	}
	return true, a.notify.EnqueueAlerts(ctx, tx, []outbox.AlertChange{{Notifiers: notifiers, Event: event, Alert: na}})
}
