// Package policyapi is the /v1/policies API: list, read, create, replace,
// delete, enable and disable, import, export and dry-run of policies in the
// ACS policy JSON schema. Its routes and the permission each one needs are
// declared together in Routes.
package policyapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/policyset"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// Store is what the policy API needs from the store.
type Store interface {
	ListPolicies(ctx context.Context) ([]store.PolicyRecord, error)
	GetPolicy(ctx context.Context, id string) (store.PolicyRecord, error)
	CreatePolicy(ctx context.Context, rec store.PolicyRecord) error
	DeletePolicy(ctx context.Context, id string) error
	SetPolicyDisabled(ctx context.Context, id string, disabled bool) error
	ImportPolicies(ctx context.Context, recs []store.PolicyRecord, overwrite bool) error
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
}

// Deployments hands a dry run the deployments to evaluate, one at a time.
type Deployments interface {
	Each(ctx context.Context, fn func(*workload.Deployment) error) error
}

// API serves the policy routes.
type API struct {
	store Store
	cache *policyset.Cache
	seen  Deployments
	log   *slog.Logger
	now   func() time.Time
	// catalogue is the criteria metadata, computed once: it probes
	// validation for every criterion.
	catalogue func() []policy.Criterion
}

// New returns the policy API. Every write invalidates cache.
func New(st Store, cache *policyset.Cache, seen Deployments, log *slog.Logger) *API {
	return &API{store: st, cache: cache, seen: seen, log: log, now: time.Now, catalogue: sync.OnceValue(policy.Criteria)}
}

// Routes are the policy endpoints with their permissions: reading, exporting
// dry-running, validating and the criteria catalogue need Policy read;
// every change needs Policy write.
func (a *API) Routes() []httpapi.Route {
	read := auth.Need(auth.ResourcePolicy, auth.Read)
	write := auth.Need(auth.ResourcePolicy, auth.Write)
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/policies", Permission: read, Handler: a.list},
		{Method: http.MethodGet, Path: "/v1/policies/{id}", Permission: read, Handler: a.get},
		{Method: http.MethodPost, Path: "/v1/policies", Permission: write, Handler: a.create},
		{Method: http.MethodPut, Path: "/v1/policies/{id}", Permission: write, Handler: a.update},
		{Method: http.MethodPatch, Path: "/v1/policies/{id}", Permission: write, Handler: a.patch},
		{Method: http.MethodDelete, Path: "/v1/policies/{id}", Permission: write, Handler: a.delete},
		{Method: http.MethodPost, Path: "/v1/policies/import", Permission: write, Handler: a.importPolicies},
		{Method: http.MethodPost, Path: "/v1/policies/export", Permission: read, Handler: a.export},
		{Method: http.MethodPost, Path: "/v1/policies/dryrun", Permission: read, Handler: a.dryRun},
		{Method: http.MethodGet, Path: "/v1/policies/criteria", Permission: read, Handler: a.criteria},
		{Method: http.MethodPost, Path: "/v1/policies/validate", Permission: read, Handler: a.validate},
	}
}
