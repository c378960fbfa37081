package central

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/stockade-dev/stockade/internal/central/alertapi"
	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/deploymentapi"
	"github.com/stockade-dev/stockade/internal/central/detectapi"
	"github.com/stockade-dev/stockade/internal/central/feeds"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/imageapi"
	"github.com/stockade-dev/stockade/internal/central/imagescan"
	"github.com/stockade-dev/stockade/internal/central/integrationapi"
	"github.com/stockade-dev/stockade/internal/central/inventory"
	"github.com/stockade-dev/stockade/internal/central/metrics"
	"github.com/stockade-dev/stockade/internal/central/notifierapi"
	"github.com/stockade-dev/stockade/internal/central/outbox"
	"github.com/stockade-dev/stockade/internal/central/policyapi"
	"github.com/stockade-dev/stockade/internal/central/policyset"
	"github.com/stockade-dev/stockade/internal/central/rescan"
	"github.com/stockade-dev/stockade/internal/central/secret"
	"github.com/stockade-dev/stockade/internal/central/sessionapi"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/central/sysconfig"
	"github.com/stockade-dev/stockade/internal/central/tokenapi"
	"github.com/stockade-dev/stockade/internal/central/vulnapi"
	"github.com/stockade-dev/stockade/internal/central/vulndbapi"
	"github.com/stockade-dev/stockade/internal/notify"
	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
	"github.com/stockade-dev/stockade/internal/version"
)

// wire builds the domains over the store and returns every route Central
// serves: the domains' own and the server's (health, metrics, API docs).
func (s *Server) wire(ctx context.Context, adminHash string) ([]httpapi.Route, error) {
	log := s.log
	s.metrics = metrics.New(s.store, log)
	s.authn = auth.NewAuthenticator(adminHash, s.store, auth.NewLimiter(loginBurst, cmp.Or(s.cfg.LoginRefill, loginRefill)), log.With("component", "auth"))

	docJSON, err := yaml.YAMLToJSON(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document: %w", err)
	}
	cache := policyset.NewCache(s.store, log.With("component", "policyset"))
	inv := inventory.New(s.store, log.With("component", "inventory"))
	box, err := s.secretBox()
	if err != nil {
		return nil, err
	}
	integrations, vulnAPI, err := s.wireScanning(ctx, inv, box)
	if err != nil {
		return nil, err
	}
	notifiers := s.wireNotifiers(ctx, box)
	clusterRoutes, err := s.wireSensors(cache)
	if err != nil {
		return nil, err
	}

	var routes []httpapi.Route
	routes = append(routes, s.serverRoutes(docJSON)...)
	routes = append(routes, tokenapi.New(s.store, log.With("component", "tokenapi")).Routes()...)
	routes = append(routes, sessionapi.New(s.authn, log.With("component", "sessionapi")).Routes()...)
	routes = append(routes, policyapi.New(s.store, cache, inv, log.With("component", "policyapi")).Routes()...)
	routes = append(routes, alertapi.New(s.store, s.outbox, cache.Invalidate, log.With("component", "alertapi")).Routes()...)
	routes = append(routes, detectapi.New(cache, s.store, inv, s.images, s.metrics.AlertsRecorded, s.outbox, log.With("component", "detectapi")).Routes()...)
	routes = append(routes, notifiers.Routes()...)
	routes = append(routes, imageapi.New(s.images, s.store, log.With("component", "imageapi")).Routes()...)
	routes = append(routes, vulnapi.New(s.store, log.With("component", "vulnapi")).Routes()...)
	routes = append(routes, integrations.Routes()...)
	routes = append(routes, vulnAPI.Routes()...)
	routes = append(routes, clusterRoutes...)
	routes = append(routes, deploymentapi.New(s.store).Routes()...)
	s.retention = sysconfig.NewPruner(s.store, 0, log.With("component", "retention"))
	idle := sysconfig.NewSessionIdle(s.store, log.With("component", "sysconfig"))
	s.authn.SetSessionIdle(idle.Get)
	routes = append(routes, sysconfig.New(s.store, s.retention, idle, log.With("component", "sysconfig")).Routes()...)
	return routes, nil
}

// Image scanning's files in the data directory.
const (
	layerCacheDir = "layer-cache"
)

// wireScanning opens what image scanning keeps in the data directory — the
// secret key, the vulnerability database, the layer cache — and builds the
// scanning service with the stored registry credentials, the rescan
// schedule, and the integration and vulnerability database APIs.
func (s *Server) wireScanning(ctx context.Context, inv *inventory.Inventory, box *secret.Box) (*integrationapi.API, *vulndbapi.API, error) {
	log := s.log
	var err error
	// The vulnerability database lives in Central's store: its own schema
	// of the same PostgreSQL database, or a SQLite file beside stockade.db.
	vlog := log.With("component", "vulndb")
	if s.store.Backend() == "postgres" {
		s.vulndb, err = vulndb.OpenPostgres(ctx, s.cfg.DB, vlog)
	} else {
		s.vulndb, err = vulndb.Open(ctx, filepath.Join(s.cfg.DataDir, vulndb.FileName), vlog)
	}
	if err != nil {
		return nil, nil, err
	}
	s.images, err = imagescan.New(ctx, s.store, s.vulndb, imagescan.Config{
		CacheDir: filepath.Join(s.cfg.DataDir, layerCacheDir),
		Observer: s.metrics,
	}, log.With("component", "imagescan"))
	if err != nil {
		return nil, nil, err
	}
	integrations := integrationapi.New(s.store, box, s.images, func(ctx context.Context, in registry.Integration) error {
		return registry.Test(ctx, in, registry.Options{UserAgent: "stockade-central"})
	}, log.With("component", "integrationapi"))
	integrations.Reload(ctx)
	s.rescan = rescan.New(rescan.Config{Interval: s.cfg.RescanInterval}, s.images, s.store, inv, s.metrics, log.With("component", "rescan"))
	vulnAPI := vulndbapi.New(s.vulndb, s.cfg.DataDir, cmp.Or(s.cfg.MaxVulnDBImport, vulndbapi.MaxImport), s.vulnDBChanged, log.With("component", "vulndbapi"))
	s.feeds = feeds.New(feeds.Config{
		Feeds:    s.cfg.VulnDBFeeds,
		Interval: s.cfg.VulnDBUpdateInterval,
		Client:   &http.Client{Timeout: feedTimeout},
	}, s.vulndb, s.metrics, s.vulnDBChanged, log.With("component", "feeds"))
	return integrations, vulnAPI, nil
}

// secretBox loads (or at first start creates) the key that encrypts
// stored secrets: registry credentials and notifier tokens.
func (s *Server) secretBox() (*secret.Box, error) {
	keyPath, create := s.cfg.SecretKeyFile, false
	if keyPath == "" {
		keyPath, create = filepath.Join(s.cfg.DataDir, secret.KeyFile), true
	}
	box, created, err := secret.Load(keyPath, create)
	if err != nil {
		return nil, err
	}
	if created {
		s.log.Info("secret key created", "path", keyPath)
	}
	return box, nil
}

// wireNotifiers builds the delivery outbox over the store with the stored
// notifiers, the notifier API, and the audit hook that forwards API
// changes to notifiers that take audit events.
func (s *Server) wireNotifiers(ctx context.Context, box *secret.Box) *notifierapi.API {
	opts := s.cfg.Outbox
	opts.DeadAfter = cmp.Or(s.cfg.NotifierDeadAfter, opts.DeadAfter)
	s.outbox = outbox.New(s.store, notify.New, opts, s.metrics, s.log.With("component", "outbox"))
	api := notifierapi.New(s.store, box, s.outbox, notify.New, s.policiesUsingNotifier, s.log.With("component", "notifierapi"))
	api.Reload(ctx)
	return api
}

// policiesUsingNotifier names the policies that send to notifier id.
func (s *Server) policiesUsingNotifier(ctx context.Context, id string) ([]string, error) {
	recs, err := s.store.ListPolicies(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, rec := range recs {
		var p struct {
			Notifiers []string `json:"notifiers"`
		}
		if err := json.Unmarshal(rec.JSON, &p); err != nil {
			return nil, fmt.Errorf("policy %q: read document: %w", rec.ID, err)
		}
		if slices.Contains(p.Notifiers, id) {
			names = append(names, rec.Name)
		}
	}
	return names, nil
}

// AuditRequest forwards an API change to the notifiers that take audit
// events, through the outbox. Failing to queue it is logged, never fails
// the request that already happened.
func (s *Server) AuditRequest(ctx context.Context, e httpapi.AuditEntry) {
	if s.outbox == nil || !s.outbox.AuditsWanted() {
		return
	}
	a := &notifier.Audit{Time: e.Time, User: e.Caller, Role: e.Role, Method: e.Method, Path: e.Path,
		Status: e.Status, SourceIP: e.SourceIP, Interaction: interaction(e.Method)}
	err := s.store.InTx(ctx, func(tx *store.Tx) error { return s.outbox.EnqueueAudit(ctx, tx, a) })
	if err != nil {
		s.log.Error("audit event not queued", "method", e.Method, "route", e.Route, "err", err)
		return
	}
	s.outbox.Kick()
}

func interaction(method string) string {
	switch method {
	case http.MethodPost:
		return "CREATE"
	case http.MethodPut, http.MethodPatch:
		return "UPDATE"
	case http.MethodDelete:
		return "DELETE"
	}
	return method
}

// feedTimeout bounds one feed download, which may be hundreds of megabytes.
const feedTimeout = 30 * time.Minute

// vulnDBChanged is told that an import or a feed update changed the
// vulnerability database: the stored images are matched again.
func (s *Server) vulnDBChanged(ctx context.Context) {
	if err := s.images.RefreshVulnDB(ctx); err != nil {
		s.log.Warn("read vulnerability database version failed; stored scans are matched again at the next rescan", "err", err)
	}
	s.rescan.VulnDBChanged()
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
