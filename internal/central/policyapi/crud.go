package policyapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/policyset"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/policy"
)

// Summary is a policy in a list.
type Summary struct {
	ID                 string                     `json:"id"`
	Name               string                     `json:"name"`
	Description        string                     `json:"description,omitempty"`
	Severity           policy.Severity            `json:"severity"`
	LifecycleStages    []policy.LifecycleStage    `json:"lifecycleStages"`
	Categories         []string                   `json:"categories"`
	Disabled           bool                       `json:"disabled"`
	EnforcementActions []policy.EnforcementAction `json:"enforcementActions"`
	// Enforcement says whether the policy carries an enforcement action.
	Enforcement bool `json:"enforcement"`
	IsDefault   bool `json:"isDefault"`
	// NeedsData lists the data beyond a deployment ("image", "runtime",
	// "audit log") that the policy's criteria read; such criteria are
	// evaluated once that data is available.
	NeedsData []string `json:"needsData"`
}

func summarize(p *policy.Policy) Summary {
	s := Summary{
		ID: p.ID, Name: p.Name, Description: p.Description, Severity: p.Severity,
		LifecycleStages: p.LifecycleStages, Categories: p.Categories, Disabled: p.Disabled, IsDefault: p.IsDefault,
	}
	if s.LifecycleStages == nil {
		s.LifecycleStages = []policy.LifecycleStage{}
	}
	if s.Categories == nil {
		s.Categories = []string{}
	}
	s.NeedsData = policy.DataNeeded(p)
	if s.NeedsData == nil {
		s.NeedsData = []string{}
	}
	s.EnforcementActions = p.EnforcementActions
	if s.EnforcementActions == nil {
		s.EnforcementActions = []policy.EnforcementAction{}
	}
	for _, e := range p.EnforcementActions {
		if e != policy.EnforceUnset {
			s.Enforcement = true
		}
	}
	return s
}

// matches is the ?query= filter: every word must appear, case-insensitively,
// in the name, description, severity or a category.
func matches(p *policy.Policy, query string) bool {
	hay := strings.ToLower(strings.Join(append([]string{p.Name, p.Description, string(p.Severity)}, p.Categories...), "\n"))
	for _, w := range strings.Fields(strings.ToLower(query)) {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

func (a *API) load(r *http.Request, id string) (*policy.Policy, error) {
	rec, err := a.store.GetPolicy(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return policyset.Decode(rec)
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	p, err := a.load(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, p)
}

// decodePolicy reads one policy from a JSON body, strictly, and validates it.
func decodePolicy(r *http.Request) (*policy.Policy, error) {
	p := new(policy.Policy)
	if err := httpapi.Decode(r, p); err != nil {
		return nil, err
	}
	if err := policy.Validate(p); err != nil {
		return nil, err
	}
	return p, nil
}

func (a *API) create(w http.ResponseWriter, r *http.Request) error {
	p, err := decodePolicy(r)
	if err != nil {
		return err
	}
	if p.ID == "" {
		p.ID = uuid.NewString()
	}
	// A policy created through the API is never a built-in one.
	p.IsDefault = false
	rec, err := policyset.Encode(p, false)
	if err != nil {
		return err
	}
	if err := a.store.CreatePolicy(r.Context(), rec); err != nil {
		return err
	}
	a.cache.Invalidate()
	a.log.Info("policy created", "policy", p.ID, "name", p.Name)
	return httpapi.WriteJSON(w, http.StatusOK, p)
}

func (a *API) update(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	p, err := decodePolicy(r)
	if err != nil {
		return err
	}
	if p.ID != "" && p.ID != id {
		return httpapi.Invalid("the policy id in the body differs from the one in the path",
			httpapi.Detail{Path: "id", Message: "want " + id + " or no id, got " + p.ID})
	}
	p.ID = id
	err = a.store.InTx(r.Context(), func(tx *store.Tx) error {
		old, err := tx.GetPolicy(r.Context(), id)
		if err != nil {
			return err
		}
		prev, err := policyset.Decode(old)
		if err != nil {
			return err
		}
		if locked := lockedChanges(prev, p); len(locked) > 0 {
			return httpapi.Invalid("locked parts of the policy cannot change", locked...)
		}
		// Editing a built-in policy is allowed; it stays built-in.
		p.IsDefault = old.Builtin
		rec, err := policyset.Encode(p, old.Builtin)
		if err != nil {
			return err
		}
		return tx.UpdatePolicy(r.Context(), rec)
	})
	if err != nil {
		return err
	}
	a.cache.Invalidate()
	a.log.Info("policy updated", "policy", p.ID, "name", p.Name)
	return httpapi.WriteJSON(w, http.StatusOK, p)
}

// PatchRequest enables or disables a policy.
type PatchRequest struct {
	Disabled *bool `json:"disabled"`
}

func (a *API) patch(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var req PatchRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if req.Disabled == nil {
		return httpapi.Invalid("nothing to change", httpapi.Detail{Path: "disabled", Message: "is required"})
	}
	if err := a.store.SetPolicyDisabled(r.Context(), id, *req.Disabled); err != nil {
		return err
	}
	a.cache.Invalidate()
	a.log.Info("policy toggled", "policy", id, "disabled", *req.Disabled)
	p, err := a.load(r, id)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, p)
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := a.store.DeletePolicy(r.Context(), id); err != nil {
		return err
	}
	a.cache.Invalidate()
	a.log.Info("policy deleted", "policy", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ExportRequest names the policies to export; none means all.
type ExportRequest struct {
	PolicyIDs []string `json:"policyIds"`
}

func (a *API) export(w http.ResponseWriter, r *http.Request) error {
	var req ExportRequest
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := httpapi.DecodeBytes(body, &req); err != nil {
			return err
		}
	}
	var ps []*policy.Policy
	if len(req.PolicyIDs) == 0 {
		recs, err := a.store.ListPolicies(r.Context())
		if err != nil {
			return err
		}
		for _, rec := range recs {
			p, err := policyset.Decode(rec)
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
	} else {
		var missing []httpapi.Detail
		seen := map[string]bool{}
		for i, id := range req.PolicyIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			p, err := a.load(r, id)
			if errors.Is(err, store.ErrNotFound) {
				missing = append(missing, httpapi.Detail{Path: "policyIds[" + strconv.Itoa(i) + "]", Message: "no policy with id " + id})
				continue
			}
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
		if len(missing) > 0 {
			return &httpapi.Error{Status: http.StatusNotFound, Message: "some policies to export do not exist", Details: missing}
		}
	}
	doc, err := policy.Export(ps)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, json.RawMessage(doc))
}
