// Package tokenapi is the /v1/apitokens API: generate an API token (its
// secret is shown once and only its hash kept), list and read token
// metadata, and revoke tokens, plus /v1/auth/status, which tells callers who
// they are. Routes and their permissions are declared in Routes.
package tokenapi

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/store"
)

// maxNameLen bounds a token name.
const maxNameLen = 128

// Store is what the token API needs from the store.
type Store interface {
	CreateToken(ctx context.Context, t store.TokenRecord) error
	GetToken(ctx context.Context, id string) (store.TokenRecord, error)
	ListTokens(ctx context.Context) ([]store.TokenRecord, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
}

// API serves the token and auth-status routes.
type API struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// New returns the token API.
func New(st Store, log *slog.Logger) *API { return &API{store: st, log: log, now: time.Now} }

// Routes are the token endpoints: managing tokens needs APIToken access,
// which only Admin has; auth status is open to any authenticated caller.
func (a *API) Routes() []httpapi.Route {
	read := auth.Need(auth.ResourceAPIToken, auth.Read)
	write := auth.Need(auth.ResourceAPIToken, auth.Write)
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/apitokens/generate", Permission: write, Handler: a.generate},
		{Method: http.MethodGet, Path: "/v1/apitokens", Permission: read, Handler: a.list},
		{Method: http.MethodGet, Path: "/v1/apitokens/{id}", Permission: read, Handler: a.get},
		{Method: http.MethodDelete, Path: "/v1/apitokens/{id}", Permission: write, Handler: a.revoke},
		{Method: http.MethodPost, Path: "/v1/apitokens/{id}/revoke", Permission: write, Handler: a.revoke},
		{Method: http.MethodGet, Path: "/v1/auth/status", Permission: auth.Authenticated(), Handler: a.status},
	}
}

// Metadata describes a token without its secret.
type Metadata struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	IssuedAt   time.Time  `json:"issuedAt"`
	Expiration *time.Time `json:"expiration,omitempty"`
	Revoked    bool       `json:"revoked"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
}

func metadata(t store.TokenRecord) Metadata {
	return Metadata{ID: t.ID, Name: t.Name, Role: t.Role, IssuedAt: t.CreatedAt, Expiration: t.ExpiresAt,
		Revoked: t.RevokedAt != nil, RevokedAt: t.RevokedAt, LastUsedAt: t.LastUsedAt}
}

// GenerateRequest asks for a new token.
type GenerateRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// Expiration is an RFC 3339 time; absent means the token never expires.
	Expiration *time.Time `json:"expiration"`
}

// GenerateResponse carries the token, shown this one time only.
type GenerateResponse struct {
	Token    string   `json:"token"`
	Metadata Metadata `json:"metadata"`
}

func (a *API) generate(w http.ResponseWriter, r *http.Request) error {
	var req GenerateRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	var details []httpapi.Detail
	name := strings.TrimSpace(req.Name)
	switch {
	case name == "":
		details = append(details, httpapi.Detail{Path: "name", Message: "is required"})
	case utf8.RuneCountInString(name) > maxNameLen:
		details = append(details, httpapi.Detail{Path: "name", Message: "is longer than " + strconv.Itoa(maxNameLen) + " characters"})
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		details = append(details, httpapi.Detail{Path: "role", Message: err.Error()})
	}
	now := a.now().UTC()
	if req.Expiration != nil && !req.Expiration.After(now) {
		details = append(details, httpapi.Detail{Path: "expiration", Message: "is in the past"})
	}
	if len(details) > 0 {
		return httpapi.Invalid("invalid token request", details...)
	}
	id, token, hash, err := auth.NewToken()
	if err != nil {
		return err
	}
	rec := store.TokenRecord{ID: id, Name: name, Role: string(role), SecretHash: hash, CreatedAt: now.Round(0)}
	if req.Expiration != nil {
		exp := req.Expiration.UTC()
		rec.ExpiresAt = &exp
	}
	if err := a.store.CreateToken(r.Context(), rec); err != nil {
		return err
	}
	a.log.Info("API token generated", "token", id, "name", name, "role", role)
	return httpapi.WriteJSON(w, http.StatusOK, GenerateResponse{Token: token, Metadata: metadata(rec)})
}

// MaxListLimit bounds a page of GET /v1/apitokens.
const MaxListLimit = 1000

// listSorts are the sort keys of the token list; the first is the default.
var listSorts = []string{"issuedAt", "name", "role", "expiration"}

// compareBy orders tokens by a sort key, ties broken by byName. Tokens that
// never expire sort after every expiration.
func compareBy(key string) func(a, b Metadata) int {
	return func(a, b Metadata) int {
		var c int
		switch key {
		case "name":
			c = byName(a, b)
		case "issuedAt":
			c = a.IssuedAt.Compare(b.IssuedAt)
		case "role":
			c = strings.Compare(a.Role, b.Role)
		case "expiration":
			switch {
			case a.Expiration == nil && b.Expiration == nil:
			case a.Expiration == nil:
				c = 1
			case b.Expiration == nil:
				c = -1
			default:
				c = a.Expiration.Compare(*b.Expiration)
			}
		}
		return c
	}
}

// byName orders by name, case-insensitively, then by id.
func byName(a, b Metadata) int {
	return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.ID, b.ID))
}

// List is the answer of GET /v1/apitokens: a page and how many tokens
// match.
type List struct {
	Tokens []Metadata `json:"tokens"`
	Total  int        `json:"total"`
}

// list serves GET /v1/apitokens: the tokens whose name or role hold every
// word of query, only revoked or only valid ones if asked, of one role if
// asked, sorted and paged.
func (a *API) list(w http.ResponseWriter, r *http.Request) error {
	q, err := httpapi.ParseListQuery(r.URL.Query(), listSorts, MaxListLimit)
	if err != nil {
		return err
	}
	var role auth.Role
	if v := r.URL.Query().Get("role"); v != "" {
		if role, err = auth.ParseRole(v); err != nil {
			return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "role", Message: err.Error()})
		}
	}
	var revoked *bool
	if v := r.URL.Query().Get("revoked"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "revoked", Message: "want true or false"})
		}
		revoked = &b
	}
	recs, err := a.store.ListTokens(r.Context())
	if err != nil {
		return err
	}
	all := []Metadata{}
	for _, t := range recs {
		if (revoked == nil || *revoked == (t.RevokedAt != nil)) && (role == "" || t.Role == string(role)) && q.Matches(t.Name, t.Role) {
			all = append(all, metadata(t))
		}
	}
	return httpapi.WriteJSON(w, http.StatusOK, List{Total: len(all), Tokens: httpapi.SortAndPage(all, q, compareBy(q.Sort), byName)})
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	t, err := a.store.GetToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, metadata(t))
}

func (a *API) revoke(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := a.store.RevokeToken(r.Context(), id, a.now().UTC()); err != nil {
		return err
	}
	a.log.Info("API token revoked", "token", id)
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	t, err := a.store.GetToken(r.Context(), id)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, metadata(t))
}

// Status tells a caller who it is.
type Status struct {
	// Kind is "user" or "token".
	Kind string `json:"kind"`
	// UserName is the user's name or the token's name.
	UserName string `json:"userName"`
	Role     string `json:"role"`
	TokenID  string `json:"tokenId,omitempty"`
}

func (a *API) status(w http.ResponseWriter, r *http.Request) error {
	id, ok := auth.FromContext(r.Context())
	if !ok {
		return errors.New("auth status: the request carries no identity")
	}
	return httpapi.WriteJSON(w, http.StatusOK, Status{Kind: id.Kind, UserName: id.Name, Role: string(id.Role), TokenID: id.TokenID})
}
