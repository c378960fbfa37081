package policyapi

import (
	"errors"
	"net/http"
	"reflect"

	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/policy"
)

// CriteriaList is the body of GET /v1/policies/criteria.
type CriteriaList struct {
	Criteria []policy.Criterion `json:"criteria"`
	// Usages are the kinds of policy (stage and event source) the
	// criteria's usableIn refers to.
	Usages []policy.Usage `json:"usages"`
}

// criteria serves the catalogue a policy editor builds its criteria from.
func (a *API) criteria(w http.ResponseWriter, r *http.Request) error {
	return httpapi.WriteJSON(w, http.StatusOK, CriteriaList{Criteria: a.catalogue(), Usages: policy.Usages()})
}

// ValidateResult is the body of POST /v1/policies/validate.
type ValidateResult struct {
	Valid bool `json:"valid"`
	// Errors are the problems POST or PUT would report, by field path.
	Errors []httpapi.Detail `json:"errors"`
}

// validate checks a policy as create and replace do, storing nothing. A
// policy with problems is a 200 listing them; only a body that is not a
// policy at all is an error.
func (a *API) validate(w http.ResponseWriter, r *http.Request) error {
	p := new(policy.Policy)
	if err := httpapi.Decode(r, p); err != nil {
		return err
	}
	res := ValidateResult{Valid: true, Errors: []httpapi.Detail{}}
	var ve *policy.ValidationError
	if err := policy.Validate(p); errors.As(err, &ve) {
		res.Valid = false
		for _, fe := range ve.Errors {
			res.Errors = append(res.Errors, httpapi.Detail{Path: fe.Path, Message: fe.Message})
		}
	} else if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, res)
}

// lockedChanges lists the locked parts of old that p changes: the criteria
// of a policy with criteriaLocked and the MITRE vectors of one with
// mitreVectorsLocked, as in ACS, where the rest of a built-in policy
// (scope, exclusions, enforcement, notifiers) stays editable.
func lockedChanges(old, p *policy.Policy) []httpapi.Detail {
	var out []httpapi.Detail
	if old.CriteriaLocked {
		if !reflect.DeepEqual(old.PolicySections, p.PolicySections) {
			out = append(out, httpapi.Detail{Path: "policySections", Message: "the criteria of this policy are locked; clone the policy to change them"})
		}
		if !p.CriteriaLocked {
			out = append(out, httpapi.Detail{Path: "criteriaLocked", Message: "cannot be cleared"})
		}
	}
	if old.MitreVectorsLocked {
		if !reflect.DeepEqual(old.MitreAttackVectors, p.MitreAttackVectors) {
			out = append(out, httpapi.Detail{Path: "mitreAttackVectors", Message: "the MITRE ATT&CK vectors of this policy are locked; clone the policy to change them"})
		}
		if !p.MitreVectorsLocked {
			out = append(out, httpapi.Detail{Path: "mitreVectorsLocked", Message: "cannot be cleared"})
		}
	}
	return out
}
