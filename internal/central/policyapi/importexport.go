package policyapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/policyset"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/policy"
)

// ImportError is one reason a policy was not imported. Type is
// "invalid_policy", "duplicate_id", "duplicate_name" or "not_imported" (the
// policy was fine, but another one in the request failed and an import is
// all or nothing).
type ImportError struct {
	Type    string           `json:"type"`
	Message string           `json:"message"`
	Details []httpapi.Detail `json:"details,omitempty"`
}

// ImportResponse is the result for one policy, in ACS's shape.
type ImportResponse struct {
	Policy    *policy.Policy `json:"policy"`
	Succeeded bool           `json:"succeeded"`
	Errors    []ImportError  `json:"errors"`
}

// ImportResult is the body of an import response.
type ImportResult struct {
	Responses    []ImportResponse `json:"responses"`
	AllSucceeded bool             `json:"allSucceeded"`
}

// importBody splits ACS's import request {"metadata": {"overwrite": …},
// "policies": […]} into the policies document and the overwrite flag; any
// other body is passed to policy.Parse whole.
func importBody(data []byte) ([]byte, *bool, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return data, nil, nil
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(trimmed, &probe) != nil {
		return data, nil, nil // policy.Parse reports the syntax error with its line
	}
	meta, ok := probe["metadata"]
	if !ok {
		return data, nil, nil
	}
	policies, ok := probe["policies"]
	if !ok || len(probe) != 2 {
		return nil, nil, httpapi.Invalid("an import request with metadata needs exactly the fields metadata and policies")
	}
	var m struct {
		Overwrite *bool `json:"overwrite"`
	}
	dec := json.NewDecoder(bytes.NewReader(meta))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, nil, httpapi.Invalid("malformed import metadata", httpapi.Detail{Path: "metadata", Message: err.Error()})
	}
	return []byte(`{"policies":` + string(policies) + `}`), m.Overwrite, nil
}

func (a *API) importPolicies(w http.ResponseWriter, r *http.Request) error {
	data, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	doc, metaOverwrite, err := importBody(data)
	if err != nil {
		return err
	}
	overwrite := false
	if v := r.URL.Query().Get("overwrite"); v != "" {
		overwrite, err = strconv.ParseBool(v)
		if err != nil {
			return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "overwrite", Message: "want true or false, got " + strconv.Quote(v)})
		}
	} else if metaOverwrite != nil {
		overwrite = *metaOverwrite
	}
	ps, err := policy.Parse("request body", doc)
	if err != nil {
		return err
	}
	existing, err := a.store.ListPolicies(r.Context())
	if err != nil {
		return err
	}
	byID := map[string]string{}   // id → name of stored policies
	byName := map[string]string{} // folded name → id
	for _, rec := range existing {
		byID[rec.ID] = rec.Name
		byName[strings.ToLower(rec.Name)] = rec.ID
	}
	res := ImportResult{Responses: make([]ImportResponse, len(ps)), AllSucceeded: true}
	batchID := map[string]int{}
	batchName := map[string]int{}
	recs := make([]store.PolicyRecord, 0, len(ps))
	for i, p := range ps {
		resp := &res.Responses[i]
		resp.Policy = p
		resp.Errors = []ImportError{}
		if p.ID == "" {
			p.ID = uuid.NewString()
		}
		// Imported policies are the user's, whatever the document says.
		p.IsDefault = false
		var ve *policy.ValidationError
		if err := policy.Validate(p); errors.As(err, &ve) {
			ie := ImportError{Type: "invalid_policy", Message: ve.Error()}
			for _, fe := range ve.Errors {
				ie.Details = append(ie.Details, httpapi.Detail{Path: fe.Path, Message: fe.Message})
			}
			resp.Errors = append(resp.Errors, ie)
		} else if err != nil {
			return err
		}
		fold := strings.ToLower(p.Name)
		if j, dup := batchID[p.ID]; dup {
			resp.Errors = append(resp.Errors, ImportError{Type: "duplicate_id", Message: fmt.Sprintf("policy %d of the request has the same id %s", j+1, p.ID)})
		} else if name, ok := byID[p.ID]; ok && !overwrite {
			resp.Errors = append(resp.Errors, ImportError{Type: "duplicate_id", Message: fmt.Sprintf("a policy with id %s already exists (%q); import with overwrite to replace it", p.ID, name)})
		}
		if j, dup := batchName[fold]; dup {
			resp.Errors = append(resp.Errors, ImportError{Type: "duplicate_name", Message: fmt.Sprintf("policy %d of the request has the same name %q", j+1, p.Name)})
		} else if id, ok := byName[fold]; ok && !overwrite && id != p.ID {
			resp.Errors = append(resp.Errors, ImportError{Type: "duplicate_name", Message: fmt.Sprintf("policy %s already has the name %q; import with overwrite to replace it", id, p.Name)})
		}
		batchID[p.ID], batchName[fold] = i, i
		if len(resp.Errors) > 0 {
			res.AllSucceeded = false
			continue
		}
		rec, err := policyset.Encode(p, false)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	if !res.AllSucceeded {
		for i := range res.Responses {
			if len(res.Responses[i].Errors) == 0 {
				res.Responses[i].Errors = []ImportError{{Type: "not_imported", Message: "not imported: other policies in the request failed, and an import is all or nothing"}}
			}
		}
		return httpapi.WriteJSON(w, http.StatusOK, res)
	}
	if err := a.store.ImportPolicies(r.Context(), recs, overwrite); err != nil {
		return err
	}
	a.cache.Invalidate()
	for i := range res.Responses {
		res.Responses[i].Succeeded = true
	}
	a.log.Info("policies imported", "count", len(recs), "overwrite", overwrite)
	return httpapi.WriteJSON(w, http.StatusOK, res)
}
