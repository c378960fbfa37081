package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stockade-dev/stockade/internal/central/store"
)

// The dashboard's session cookies and CSRF header. The __Host- prefix makes
// browsers refuse the cookies unless they are Secure, for the whole origin
// (Path=/) and bound to the exact host (no Domain).
const (
	// SessionCookie carries the session id: HttpOnly, never readable by
	// scripts.
	SessionCookie = "__Host-stockade-session"
	// CSRFCookie carries the session's CSRF token, readable by the
	// dashboard's scripts, which send it back in CSRFHeader.
	CSRFCookie = "__Host-stockade-csrf"
	// CSRFHeader must carry the CSRF token on every request authenticated
	// by the session cookie that changes something.
	CSRFHeader = "X-Stockade-CSRF"
)

// Session lifetimes: a session ends SessionIdle (or the idle time the system
// configuration sets, see SetSessionIdle) after its last request or
// SessionLifetime after sign-in, whichever comes first (and never after
// the API token it was opened with expires).
const (
	SessionIdle     = time.Hour
	SessionLifetime = 12 * time.Hour
	// sessionsPerCredential bounds the live sessions of one credential:
	// signing in once more ends the oldest.
	sessionsPerCredential = 20
)

// ErrCSRF is a state-changing request authenticated by the session cookie
// without the session's CSRF token; the API edge maps it to 403.
var ErrCSRF = errors.New("the request lacks the session's CSRF token (" + CSRFHeader + " header)")

// SessionStore is what sessions need from the store.
type SessionStore interface {
	CreateSession(ctx context.Context, rec store.SessionRecord) error
	GetSession(ctx context.Context, idHash string) (store.SessionRecord, error)
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
	DeleteExpiredSessions(ctx context.Context, at, idleBefore time.Time) (int, error)
	TrimSessions(ctx context.Context, credential string, keep int) error
}

// Store is what the authenticator needs from the store: API tokens and
// sessions.
type Store interface {
	TokenStore
	SessionStore
}

// Credentials are what a person signs in with: the admin user name and
// password, or an API token.
type Credentials struct {
	Username string
	Password string
	Token    string
}

// Session is a session just opened by SignIn. ID goes into SessionCookie
// and is never stored; CSRF goes into CSRFCookie.
type Session struct {
	ID        string
	CSRF      string
	Identity  Identity
	ExpiresAt time.Time
}

// CSRFToken is the CSRF token of the session with id: an HMAC keyed by the
// session id, which only the browser's HttpOnly cookie holds, so a page of
// another origin can neither read nor compute it.
func CSRFToken(sessionID string) string {
	m := hmac.New(sha256.New, []byte(sessionID))
	m.Write([]byte("stockade csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sessionIDHash is the stored form of a session id.
func sessionIDHash(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// sessionIDLen is the length of a session id: 32 random bytes in unpadded
// base64url.
const sessionIDLen = 43

// Credential kinds a session is bound to.
const (
	credentialPassword = "password:"
	credentialToken    = "token:"
)

// passwordCredential fingerprints the admin password hash, so that sessions
// opened with a password end when the password changes.
func passwordCredential(adminHash []byte) string {
	h := sha256.Sum256(adminHash)
	return credentialPassword + hex.EncodeToString(h[:8])
}

// SignIn checks credentials the way Authenticate checks an Authorization
// header (same sign-in limiter, same log lines) and opens a session.
func (a *Authenticator) SignIn(ctx context.Context, r *http.Request, c Credentials) (Session, error) {
	ip := ClientIP(r)
	now := a.now()
	if !a.limiter.Allowed(ip, now) {
		a.log.Warn("sign-in refused: rate limited", "client", ip)
		return Session{}, ErrRateLimited
	}
	var (
		id         Identity
		credential string
		expires    = now.Add(SessionLifetime)
		method     = "password"
		err        error
	)
	if c.Token != "" {
		method = "token"
		var tokenExpiry *time.Time
		id, tokenExpiry, err = a.checkToken(ctx, c.Token, now)
		credential = credentialToken + id.TokenID
		if tokenExpiry != nil && tokenExpiry.Before(expires) {
			expires = *tokenExpiry
		}
	} else {
		err = a.checkPassword(c.Username, c.Password)
		id = Identity{Kind: KindUser, Name: AdminUser, Role: RoleAdmin}
		credential = a.passwordCred
	}
	var lookup *lookupError
	if errors.As(err, &lookup) {
		return Session{}, lookup.err
	}
	if err != nil {
		a.limiter.Fail(ip, now)
		a.log.Warn("sign-in failed", "client", ip, "method", "session "+method, "reason", err.Error())
		return Session{}, fmt.Errorf("%s: %w", err.Error(), ErrUnauthenticated)
	}

	if n, err := a.store.DeleteExpiredSessions(ctx, now, now.Add(-a.idle(ctx))); err != nil {
		a.log.Warn("delete expired sessions failed", "err", err)
	} else if n > 0 {
		a.log.Debug("expired sessions deleted", "count", n)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Session{}, fmt.Errorf("generate session id: %w", err)
	}
	sid := base64.RawURLEncoding.EncodeToString(raw)
	rec := store.SessionRecord{IDHash: sessionIDHash(sid), Kind: id.Kind, UserName: id.Name, Role: string(id.Role),
		Credential: credential, CreatedAt: now.UTC(), ExpiresAt: expires.UTC()}
	if err := a.store.CreateSession(ctx, rec); err != nil {
		return Session{}, fmt.Errorf("open session: %w", err)
	}
	if err := a.store.TrimSessions(ctx, credential, sessionsPerCredential); err != nil {
		a.log.Warn("trim sessions failed", "err", err)
	}
	a.log.Info("signed in", "client", ip, "method", method, "user", id.Name, "role", id.Role)
	return Session{ID: sid, CSRF: CSRFToken(sid), Identity: id, ExpiresAt: rec.ExpiresAt}, nil
}

// SignOut ends the session r's cookie names, if any.
func (a *Authenticator) SignOut(ctx context.Context, r *http.Request) error {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	if err := a.store.DeleteSession(ctx, sessionIDHash(c.Value)); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	a.log.Info("signed out", "client", ClientIP(r))
	return nil
}

// safeMethod reports whether a request with method changes nothing, so a
// session cookie alone authenticates it.
func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// authenticateSession checks the session cookie of r: the session exists,
// is neither expired nor idle, its credential still holds, and a request
// that changes something carries its CSRF token.
func (a *Authenticator) authenticateSession(r *http.Request, sid string, now time.Time) (Identity, error) {
	if len(sid) != sessionIDLen {
		return Identity{}, fmt.Errorf("malformed session cookie: %w", ErrUnauthenticated)
	}
	if _, err := base64.RawURLEncoding.DecodeString(sid); err != nil {
		return Identity{}, fmt.Errorf("malformed session cookie: %w", ErrUnauthenticated)
	}
	ctx := r.Context()
	hash := sessionIDHash(sid)
	rec, err := a.store.GetSession(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return Identity{}, fmt.Errorf("session expired or signed out: %w", ErrUnauthenticated)
	}
	if err != nil {
		return Identity{}, fmt.Errorf("look up session: %w", err)
	}
	if !now.Before(rec.ExpiresAt) || !now.Before(rec.LastSeenAt.Add(a.idle(ctx))) {
		return Identity{}, fmt.Errorf("session expired: %w", ErrUnauthenticated)
	}
	role, err := ParseRole(rec.Role)
	if err != nil {
		return Identity{}, fmt.Errorf("session: %w: %w", err, ErrUnauthenticated)
	}
	id := Identity{Kind: rec.Kind, Name: rec.UserName, Role: role}
	switch {
	case rec.Credential == a.passwordCred:
	case len(rec.Credential) > len(credentialToken) && rec.Credential[:len(credentialToken)] == credentialToken:
		id.TokenID = rec.Credential[len(credentialToken):]
		tok, err := a.store.GetToken(ctx, id.TokenID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return Identity{}, fmt.Errorf("the session's API token was deleted: %w", ErrUnauthenticated)
		case err != nil:
			return Identity{}, fmt.Errorf("look up the session's API token: %w", err)
		case tok.RevokedAt != nil:
			return Identity{}, fmt.Errorf("the session's API token was revoked: %w", ErrUnauthenticated)
		case tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt):
			return Identity{}, fmt.Errorf("the session's API token expired: %w", ErrUnauthenticated)
		}
	default:
		return Identity{}, fmt.Errorf("the admin password changed since sign-in: %w", ErrUnauthenticated)
	}
	if !safeMethod(r.Method) {
		want := CSRFToken(sid)
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(want)) != 1 {
			a.log.Warn("request refused: CSRF token missing or wrong", "client", ClientIP(r), "method", r.Method, "path", r.URL.Path)
			return Identity{}, ErrCSRF
		}
	}
	if err := a.store.TouchSession(ctx, hash, now); err != nil {
		a.log.Warn("record session use failed", "err", err)
	}
	return id, nil
}
