package central

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"sigs.k8s.io/yaml"

	"github.com/stockade-dev/stockade/internal/central/alertapi"
	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/detectapi"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/inventory"
	"github.com/stockade-dev/stockade/internal/central/metrics"
	"github.com/stockade-dev/stockade/internal/central/policyapi"
	"github.com/stockade-dev/stockade/internal/central/policyset"
	"github.com/stockade-dev/stockade/internal/central/tokenapi"
	"github.com/stockade-dev/stockade/internal/version"
)

// wire builds the domains over the store and returns every route Central
// serves: the domains' own and the server's (health, metrics, API docs).
func (s *Server) wire(adminHash string) ([]httpapi.Route, error) {
	log := s.log
	s.metrics = metrics.New(s.store, log)
	s.authn = auth.NewAuthenticator(adminHash, s.store, auth.NewLimiter(loginBurst, cmp.Or(s.cfg.LoginRefill, loginRefill)), log.With("component", "auth"))

	docJSON, err := yaml.YAMLToJSON(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document: %w", err)
	}
	cache := policyset.NewCache(s.store, log.With("component", "policyset"))
	inv := inventory.New(s.store, log.With("component", "inventory"))

	var routes []httpapi.Route
	routes = append(routes, s.serverRoutes(docJSON)...)
	routes = append(routes, tokenapi.New(s.store, log.With("component", "tokenapi")).Routes()...)
	routes = append(routes, policyapi.New(s.store, cache, inv, log.With("component", "policyapi")).Routes()...)
	routes = append(routes, alertapi.New(s.store, log.With("component", "alertapi")).Routes()...)
	routes = append(routes, detectapi.New(cache, s.store, inv, s.metrics.AlertsRecorded, log.With("component", "detectapi")).Routes()...)
	return routes, nil
}

// serverRoutes are the routes of the server itself. Health and metrics are
// public, as probes and scrapers carry no credentials; the API document
// needs a signed-in caller, as in ACS.
func (s *Server) serverRoutes(openAPI []byte) []httpapi.Route {
	metricsHandler := s.metrics.Handler()
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/healthz", Permission: auth.Public(), Handler: func(w http.ResponseWriter, r *http.Request) error {
			return httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": version.Version})
		}},
		{Method: http.MethodGet, Path: "/readyz", Permission: auth.Public(), Handler: func(w http.ResponseWriter, r *http.Request) error {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			if err := s.store.Ping(ctx); err != nil {
				return &httpapi.Error{Status: http.StatusServiceUnavailable, Message: "store unavailable", Err: err}
			}
			return httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready", "store": s.store.Backend()})
		}},
		{Method: http.MethodGet, Path: "/metrics", Permission: auth.Public(), Handler: func(w http.ResponseWriter, r *http.Request) error {
			metricsHandler.ServeHTTP(w, r)
			return nil
		}},
		{Method: http.MethodGet, Path: "/openapi.json", Permission: auth.Authenticated(), Handler: func(w http.ResponseWriter, r *http.Request) error {
			return httpapi.WriteJSON(w, http.StatusOK, json.RawMessage(openAPI))
		}},
	}
}
