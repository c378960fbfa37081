// Package sessionapi is how the dashboard signs in and out:
// POST /v1/auth/login exchanges the admin password or an API token for a
// session cookie, POST /v1/auth/logout ends the session. Who a caller is,
// whatever its credential, is GET /v1/auth/status (tokenapi).
//
// Sessions are kept in Central's store rather than in memory, so that they
// survive a restart, are shared by every Central on one PostgreSQL
// database, and sign-out ends them everywhere. The cookies and their CSRF
// rules are auth's; this package only sets and clears them.
package sessionapi

import (
	"context"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
)

// maxLoginBody bounds a sign-in request: a password or a token and a name.
const maxLoginBody = 16 << 10

// Sessions opens and ends sessions (auth.Authenticator).
type Sessions interface {
	SignIn(ctx context.Context, r *http.Request, c auth.Credentials) (auth.Session, error)
	SignOut(ctx context.Context, r *http.Request) error
}

// API serves the sign-in routes.
type API struct {
	sessions Sessions
	log      *slog.Logger
}

// New returns the sign-in API.
func New(sessions Sessions, log *slog.Logger) *API { return &API{sessions: sessions, log: log} }

// Routes are the sign-in endpoints: signing in is open to anyone (the
// credentials are in the body, and failures count against the sign-in
// limiter); signing out needs a signed-in caller.
func (a *API) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/auth/login", Permission: auth.Public(), MaxBody: maxLoginBody, Handler: a.login},
		{Method: http.MethodPost, Path: "/v1/auth/logout", Permission: auth.Authenticated(), Handler: a.logout},
	}
}

// LoginRequest signs in with the admin user name and password, or with an
// API token.
type LoginRequest struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
}

// LoginResponse describes the session opened. CSRFToken is also in the
// readable CSRF cookie; it must be sent in the X-Stockade-CSRF header of
// every request that changes something.
type LoginResponse struct {
	Kind      string    `json:"kind"`
	UserName  string    `json:"userName"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expiresAt"`
	CSRFToken string    `json:"csrfToken"`
}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	// A cross-site page can post a form to this endpoint (and sign the
	// victim in as the attacker); it can send neither a JSON content type
	// without a CORS preflight, which Central never grants, nor a
	// same-origin Origin.
	if err := sameOrigin(r); err != nil {
		return err
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &httpapi.Error{Status: http.StatusUnsupportedMediaType, Message: "sign-in needs a JSON body (Content-Type: application/json)"}
	}
	var req LoginRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	var details []httpapi.Detail
	switch {
	case req.Token != "" && (req.Username != "" || req.Password != ""):
		details = append(details, httpapi.Detail{Path: "token", Message: "sign in with a token or with a user name and password, not both"})
	case req.Token == "" && req.Username == "" && req.Password == "":
		details = append(details, httpapi.Detail{Path: "password", Message: "is required (or token)"})
	case req.Token == "":
		if strings.TrimSpace(req.Username) == "" {
			details = append(details, httpapi.Detail{Path: "username", Message: "is required"})
		}
		if req.Password == "" {
			details = append(details, httpapi.Detail{Path: "password", Message: "is required"})
		}
	}
	if len(details) > 0 {
		return httpapi.Invalid("invalid sign-in request", details...)
	}
	s, err := a.sessions.SignIn(r.Context(), r, auth.Credentials{Username: strings.TrimSpace(req.Username), Password: req.Password, Token: strings.TrimSpace(req.Token)})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: s.ID, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	// The CSRF cookie is readable by design: the dashboard's scripts copy it
	// into the X-Stockade-CSRF header, which other origins cannot do.
	http.SetCookie(w, &http.Cookie{Name: auth.CSRFCookie, Value: s.CSRF, Path: "/", Secure: true, SameSite: http.SameSiteStrictMode}) //nolint:gosec // readable on purpose, see above
	w.Header().Set("Cache-Control", "no-store")
	return httpapi.WriteJSON(w, http.StatusOK, LoginResponse{Kind: s.Identity.Kind, UserName: s.Identity.Name,
		Role: string(s.Identity.Role), ExpiresAt: s.ExpiresAt, CSRFToken: s.CSRF})
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	if err := a.sessions.SignOut(r.Context(), r); err != nil {
		return err
	}
	for _, name := range []string{auth.SessionCookie, auth.CSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sameOrigin refuses a request a browser sent from another site: its
// Origin names another host, or its Sec-Fetch-Site says cross-site.
// Clients that send neither (the CLI, curl) are not browsers and pass.
func sameOrigin(r *http.Request) error {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return httpapi.Forbidden("cross-site sign-in refused")
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || !strings.EqualFold(u.Host, r.Host) {
		return httpapi.Forbidden("sign-in from origin " + origin + " refused")
	}
	return nil
}
