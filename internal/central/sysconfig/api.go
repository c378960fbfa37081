package sysconfig

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
)

// maxBody bounds a PUT: the notice is the longest field.
const maxBody = 64 << 10

// Kicker is told that the configuration changed (the Pruner, which applies
// a shorter retention at once).
type Kicker interface{ Kick() }

// API serves /v1/config.
type API struct {
	settings Settings
	changed  Kicker
	idle     *SessionIdle
	log      *slog.Logger
}

// New returns the configuration API; changed and idle may be nil.
func New(st Settings, changed Kicker, idle *SessionIdle, log *slog.Logger) *API {
	return &API{settings: st, changed: changed, idle: idle, log: log}
}

// Routes are the configuration endpoints: the login notice is public (the
// sign-in page shows it before anyone signs in); the public part is read
// by any signed-in caller (the banner is on every page) and the private
// part only with Config read (Admin, Analyst); changing needs Config write
// (Admin).
func (a *API) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/config/public/loginnotice", Permission: auth.Public(), Handler: a.loginNotice},
		{Method: http.MethodGet, Path: "/v1/config", Permission: auth.Authenticated(), Handler: a.get},
		{Method: http.MethodPut, Path: "/v1/config", Permission: auth.Need(auth.ResourceConfig, auth.Write), MaxBody: maxBody, Handler: a.put},
	}
}

func (a *API) loginNotice(w http.ResponseWriter, r *http.Request) error {
	cfg, err := Load(r.Context(), a.settings)
	if err != nil {
		return err
	}
	n := cfg.PublicConfig.LoginNotice
	if !n.Enabled {
		n.Text = ""
	}
	return httpapi.WriteJSON(w, http.StatusOK, n)
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	cfg, err := Load(r.Context(), a.settings)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, forCaller(r.Context(), cfg))
}

// forCaller leaves out what the caller may not read.
func forCaller(ctx context.Context, cfg Config) Config {
	id, ok := auth.FromContext(ctx)
	if !ok || !id.Role.Allows(auth.Need(auth.ResourceConfig, auth.Read)) {
		cfg.PrivateConfig = nil
	}
	return cfg
}

func (a *API) put(w http.ResponseWriter, r *http.Request) error {
	var cfg Config
	if err := httpapi.Decode(r, &cfg); err != nil {
		return err
	}
	cfg.normalize()
	if ds := cfg.Validate(); len(ds) > 0 {
		return httpapi.Invalid("invalid system configuration: "+ds[0].Path+" "+ds[0].Message, ds...)
	}
	if err := Save(r.Context(), a.settings, cfg); err != nil {
		return err
	}
	ret := cfg.PrivateConfig.AlertRetention
	a.log.Info("system configuration updated", "login_notice", cfg.PublicConfig.LoginNotice.Enabled,
		"header", cfg.PublicConfig.Header.Enabled, "resolved_days", ret.ResolvedDays, "deleted_deployment_days", ret.DeletedDeploymentDays, "session_idle_minutes", cfg.PrivateConfig.SessionIdleMinutes)
	if a.changed != nil {
		a.changed.Kick()
	}
	if a.idle != nil {
		a.idle.set(cfg.PrivateConfig.SessionIdleMinutes)
	}
	return httpapi.WriteJSON(w, http.StatusOK, forCaller(r.Context(), cfg))
}
