package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/stockade-dev/stockade/internal/deploycheck"
)

// DetectDeployYAML asks Central to check Kubernetes YAML (documents joined
// with ---) against its DEPLOY policies, limited to the given categories
// when any are given.
func (c *Client) DetectDeployYAML(ctx context.Context, yaml string, categories []string) (*deploycheck.Report, error) {
	body := struct {
		YAML             string   `json:"yaml"`
		PolicyCategories []string `json:"policyCategories,omitempty"`
	}{yaml, categories}
	var r deploycheck.Report
	if err := c.do(ctx, request{method: http.MethodPost, path: "/v1/detect/deploy/yaml", body: body, idempotent: true}, &r); err != nil {
		return nil, err
	}
	if r.Results == nil {
		r.Results = []deploycheck.Result{}
	}
	return &r, nil
}

// PolicySummary is a policy as Central lists it.
type PolicySummary struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Description        string   `json:"description,omitempty"`
	Severity           string   `json:"severity"`
	Disabled           bool     `json:"disabled"`
	LifecycleStages    []string `json:"lifecycleStages"`
	Categories         []string `json:"categories,omitempty"`
	EnforcementActions []string `json:"enforcementActions,omitempty"`
	// Enforcement says whether the policy carries an enforcement action.
	Enforcement bool `json:"enforcement"`
	IsDefault   bool `json:"isDefault,omitempty"`
}

// ListPolicies returns every policy Central holds, in Central's order.
func (c *Client) ListPolicies(ctx context.Context) ([]PolicySummary, error) {
	var out struct {
		Policies []PolicySummary `json:"policies"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/policies", idempotent: true}, &out); err != nil {
		return nil, err
	}
	return out.Policies, nil
}

// GetPolicy returns one policy in ACS policy JSON, as Central wrote it.
func (c *Client) GetPolicy(ctx context.Context, id string) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/policies/" + url.PathEscape(id), idempotent: true}, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// ExportPolicies returns the policies with the given ids (all when none are
// given) in ACS policy JSON, unchanged, so that fields this version does not
// know survive a round trip.
func (c *Client) ExportPolicies(ctx context.Context, ids []string) ([]json.RawMessage, error) {
	if ids == nil {
		ids = []string{}
	}
	body := struct {
		PolicyIDs []string `json:"policyIds"`
	}{ids}
	var out struct {
		Policies []json.RawMessage `json:"policies"`
	}
	if err := c.do(ctx, request{method: http.MethodPost, path: "/v1/policies/export", body: body, idempotent: true}, &out); err != nil {
		return nil, err
	}
	return out.Policies, nil
}

// ImportResponse is Central's answer to an import: one entry per policy.
type ImportResponse struct {
	Responses    []ImportResult `json:"responses"`
	AllSucceeded bool           `json:"allSucceeded"`
}

// ImportResult is the outcome of importing one policy.
type ImportResult struct {
	Policy struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"policy"`
	Succeeded bool          `json:"succeeded"`
	Errors    []ImportError `json:"errors"`
}

// ImportError is one reason a policy was not imported: "invalid_policy",
// "duplicate_id", "duplicate_name" or "not_imported" (an import is all or
// nothing). Central may also send a plain string.
type ImportError struct {
	Type    string   `json:"type,omitempty"`
	Message string   `json:"message"`
	Details []Detail `json:"details,omitempty"`
}

// UnmarshalJSON accepts "message" or {"type": …, "message": …}.
func (e *ImportError) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		*e = ImportError{Message: s}
		return nil
	}
	var obj struct {
		Type    string   `json:"type"`
		Message string   `json:"message"`
		Error   string   `json:"error"`
		Details []Detail `json:"details"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return errors.New("import error is neither a string nor an object")
	}
	*e = ImportError{Type: obj.Type, Message: cmpOr(obj.Message, obj.Error), Details: obj.Details}
	return nil
}

// ImportPolicies sends policies (an ACS export object {"policies": […]}) to
// Central. With overwrite, policies with an existing id or name replace it.
// A policy Central refuses is reported in the response, not as an error.
func (c *Client) ImportPolicies(ctx context.Context, export []byte, overwrite bool) (*ImportResponse, error) {
	var out ImportResponse
	req := request{
		method: http.MethodPost, path: "/v1/policies/import",
		query: url.Values{"overwrite": {strconv.FormatBool(overwrite)}},
		body:  export,
		// Without overwrite a repeated import fails on the first one's
		// policies; with it, it is idempotent.
		idempotent: overwrite,
	}
	if err := c.do(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AuthStatus is who Central takes the caller to be.
type AuthStatus struct {
	UserName string `json:"userName"`
	Role     string `json:"role"`
	// Kind is "user" or "token".
	Kind    string `json:"kind,omitempty"`
	TokenID string `json:"tokenId,omitempty"`
	// Raw is the whole answer, for --output json.
	Raw json.RawMessage `json:"-"`
}

// Whoami returns the identity of the client's credentials.
func (c *Client) Whoami(ctx context.Context) (*AuthStatus, error) {
	var raw json.RawMessage
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/auth/status", idempotent: true}, &raw); err != nil {
		return nil, err
	}
	st := &AuthStatus{Raw: raw}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("central at %s: decode auth status: %w", c.Endpoint(), err)
	}
	return st, nil
}
