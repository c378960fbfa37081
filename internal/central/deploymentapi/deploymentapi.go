// Package deploymentapi is the /v1/deployments API: the deployments Central
// knows of — streamed by each secured cluster's Sensor, or recorded by
// deploy-time detection — listed with filters and read one by one with the
// normalized workload document (containers, exposure, network-policy
// coverage, service account and its RBAC level).
package deploymentapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/store"
)

// Page sizes of GET /v1/deployments.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Store is where deployments are read from.
type Store interface {
	ListDeployments(ctx context.Context, q store.DeploymentQuery) ([]store.DeploymentRecord, int, error)
	GetDeployment(ctx context.Context, id string) (store.DeploymentRecord, error)
}

// API serves the deployment routes.
type API struct {
	store Store
}

// New returns the deployment API.
func New(st Store) *API { return &API{store: st} }

// Routes are the deployment endpoints; both need Deployment read (Admin,
// Analyst).
func (a *API) Routes() []httpapi.Route {
	read := auth.Need(auth.ResourceDeployment, auth.Read)
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/deployments", Permission: read, Handler: a.list},
		{Method: http.MethodGet, Path: "/v1/deployments/{id}", Permission: read, Handler: a.get},
	}
}

// Summary is a deployment in a list.
type Summary struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Cluster   string `json:"cluster"`
	Kind      string `json:"kind"`
	// Source is who reported it: "sensor" or "api" (detection).
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// List is the answer of GET /v1/deployments.
type List struct {
	Deployments []Summary `json:"deployments"`
	Total       int       `json:"total"`
}

// Deployment is the answer of GET /v1/deployments/{id}: the summary and
// the workload document as stored.
type Deployment struct {
	Summary
	Deployment json.RawMessage `json:"deployment"`
}

func summary(r store.DeploymentRecord) Summary {
	return Summary{ID: r.ID, Name: r.Name, Namespace: r.Namespace, Cluster: r.Cluster, Kind: r.Kind, Source: r.Source,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func intParam(q map[string][]string, name string, def int) (int, error) {
	vs := q[name]
	if len(vs) == 0 || vs[0] == "" {
		return def, nil
	}
	n, err := strconv.Atoi(vs[0])
	if err != nil || n < 0 {
		return 0, httpapi.Invalid("bad query parameter", httpapi.Detail{Path: name, Message: "want a non-negative integer, got " + strconv.Quote(vs[0])})
	}
	return n, nil
}

func (a *API) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "cluster", "namespace", "name", "kind", "source", "query", "sort", "offset", "limit":
		default:
			return httpapi.Invalid("unknown query parameter", httpapi.Detail{Path: k,
				Message: "unknown query parameter; want cluster, namespace, name, kind, source, query, sort, offset or limit"})
		}
	}
	switch s := q.Get("sort"); s {
	case "", "name", "-name", "namespace", "-namespace", "cluster", "-cluster", "updated", "-updated":
	default:
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "sort",
			Message: "want name, namespace, cluster or updated, optionally prefixed with -, got " + strconv.Quote(s)})
	}
	offset, err := intParam(q, "offset", 0)
	if err != nil {
		return err
	}
	limit, err := intParam(q, "limit", DefaultLimit)
	if err != nil {
		return err
	}
	if limit == 0 || limit > MaxLimit {
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "limit", Message: "want 1 to " + strconv.Itoa(MaxLimit)})
	}
	recs, total, err := a.store.ListDeployments(r.Context(), store.DeploymentQuery{
		Cluster: q.Get("cluster"), Namespace: q.Get("namespace"), Name: q.Get("name"), Kind: q.Get("kind"), Source: q.Get("source"),
		Text: q.Get("query"), Sort: q.Get("sort"), Offset: offset, Limit: limit,
	})
	if err != nil {
		return err
	}
	out := List{Deployments: make([]Summary, 0, len(recs)), Total: total}
	for _, rec := range recs {
		out.Deployments = append(out.Deployments, summary(rec))
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	rec, err := a.store.GetDeployment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, Deployment{Summary: summary(rec), Deployment: json.RawMessage(rec.JSON)})
}
