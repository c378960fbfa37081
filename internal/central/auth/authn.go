package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/stockade-dev/stockade/internal/central/store"
)

// Errors Authenticate returns; the API edge maps them to 401 and 429.
var (
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrRateLimited     = errors.New("too many failed sign-in attempts")
)

// TokenStore is what checking API tokens needs from the store.
type TokenStore interface {
	GetToken(ctx context.Context, id string) (store.TokenRecord, error)
	TouchToken(ctx context.Context, id string, at time.Time) error
}

// Authenticator checks the credentials of requests: an Authorization
// header (Basic for the admin user, Bearer for API tokens) or, without
// one, the dashboard's session cookie.
type Authenticator struct {
	adminHash []byte
	// passwordCred is the credential sessions opened with the admin
	// password are bound to.
	passwordCred string
	store        Store
	limiter      *Limiter
	log          *slog.Logger
	now          func() time.Time
	// idle is how long a session lives without a request (SessionIdle
	// unless the system configuration says otherwise).
	idle func(ctx context.Context) time.Duration

	// verified is the SHA-256 of the last admin password bcrypt accepted, so
	// that a client sending Basic credentials on every request pays bcrypt's
	// cost once rather than per request.
	mu       sync.Mutex
	verified []byte
}

// NewAuthenticator checks the admin password against adminHash (bcrypt),
// tokens and sessions against st; failed sign-ins are rate limited by lim.
func NewAuthenticator(adminHash string, st Store, lim *Limiter, log *slog.Logger) *Authenticator {
	return &Authenticator{adminHash: []byte(adminHash), passwordCred: passwordCredential([]byte(adminHash)),
		store: st, limiter: lim, log: log, now: time.Now,
		idle: func(context.Context) time.Duration { return SessionIdle }}
}

// SetSessionIdle makes idle decide how long a session lives without a
// request, in place of SessionIdle. Call it while wiring, before serving.
func (a *Authenticator) SetSessionIdle(idle func(ctx context.Context) time.Duration) { a.idle = idle }

// ClientIP is the address failed attempts are counted against.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Authenticate returns the caller of r. Requests without credentials,
// with wrong ones, or from a client over its failure budget get an error
// wrapping ErrUnauthenticated or ErrRateLimited.
func (a *Authenticator) Authenticate(r *http.Request) (Identity, error) {
	ip := ClientIP(r)
	now := a.now()
	header := r.Header.Get("Authorization")
	if header == "" {
		// A session cookie is a credential only without an Authorization
		// header: Basic and Bearer callers are never subject to CSRF checks.
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			return a.authenticateSession(r, c.Value, now)
		}
		return Identity{}, fmt.Errorf("no credentials: %w", ErrUnauthenticated)
	}
	if !a.limiter.Allowed(ip, now) {
		a.log.Warn("sign-in refused: rate limited", "client", ip)
		return Identity{}, ErrRateLimited
	}
	id, method, err := a.check(r.Context(), header, now)
	var lookup *lookupError
	if errors.As(err, &lookup) {
		// The store failed, not the caller: no failure is counted.
		return Identity{}, lookup.err
	}
	if err != nil {
		a.limiter.Fail(ip, now)
		// The error names what was wrong, never the secret presented.
		a.log.Warn("sign-in failed", "client", ip, "method", method, "reason", err.Error())
		return Identity{}, fmt.Errorf("%s: %w", err.Error(), ErrUnauthenticated)
	}
	return id, nil
}

func (a *Authenticator) check(ctx context.Context, header string, now time.Time) (Identity, string, error) {
	scheme, cred, _ := strings.Cut(header, " ")
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "basic":
		r := &http.Request{Header: http.Header{"Authorization": {header}}}
		user, pass, ok := r.BasicAuth()
		if !ok {
			return Identity{}, "basic", errors.New("malformed basic credentials")
		}
		if err := a.checkPassword(user, pass); err != nil {
			return Identity{}, "basic", err
		}
		return Identity{Kind: KindUser, Name: AdminUser, Role: RoleAdmin}, "basic", nil
	case "bearer":
		id, _, err := a.checkToken(ctx, cred, now)
		return id, "bearer", err
	}
	return Identity{}, "unknown", errors.New("unsupported authorization scheme")
}

func (a *Authenticator) checkPassword(user, pass string) error {
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(AdminUser)) == 1
	digest := sha256.Sum256([]byte(pass))
	a.mu.Lock()
	cached := a.verified != nil && subtle.ConstantTimeCompare(a.verified, digest[:]) == 1
	a.mu.Unlock()
	if !cached {
		if err := bcrypt.CompareHashAndPassword(a.adminHash, []byte(pass)); err != nil {
			return errors.New("wrong user name or password")
		}
		a.mu.Lock()
		a.verified = digest[:]
		a.mu.Unlock()
	}
	if !userOK {
		return errors.New("wrong user name or password")
	}
	return nil
}

// checkToken returns the caller a token stands for and the token's expiry
// (nil: none).
func (a *Authenticator) checkToken(ctx context.Context, token string, now time.Time) (Identity, *time.Time, error) {
	id, secret, err := ParseToken(token)
	if err != nil {
		return Identity{}, nil, err
	}
	rec, err := a.store.GetToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Identity{}, nil, errors.New("unknown API token")
	}
	if err != nil {
		return Identity{}, nil, &lookupError{fmt.Errorf("look up API token: %w", err)}
	}
	if !secretMatches(secret, rec.SecretHash) {
		return Identity{}, nil, errors.New("wrong API token secret")
	}
	if rec.RevokedAt != nil {
		return Identity{}, nil, errors.New("API token revoked")
	}
	if rec.ExpiresAt != nil && !now.Before(*rec.ExpiresAt) {
		return Identity{}, nil, errors.New("API token expired")
	}
	role, err := ParseRole(rec.Role)
	if err != nil {
		return Identity{}, nil, fmt.Errorf("API token: %w", err)
	}
	if err := a.store.TouchToken(ctx, id, now); err != nil {
		a.log.Warn("record token use failed", "token", id, "err", err)
	}
	return Identity{Kind: KindToken, Name: rec.Name, Role: role, TokenID: id}, rec.ExpiresAt, nil
}

// lookupError is a store failure while checking a token.
type lookupError struct{ err error }

func (e *lookupError) Error() string { return e.err.Error() }
func (e *lookupError) Unwrap() error { return e.err }
