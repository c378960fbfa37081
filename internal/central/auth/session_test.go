package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/central/store"
)

func testStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "", t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// clock is a settable time for the authenticator.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestAuthenticator(t *testing.T, st Store, password string, c *clock) *Authenticator {
	t.Helper()
	hash, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuthenticator(hash, st, NewLimiter(100, time.Second), slog.New(slog.DiscardHandler))
	a.now = c.now
	return a
}

func withSession(method string, s Session, csrf string) *http.Request {
	r := httptest.NewRequest(method, "/v1/x", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: s.ID})
	if csrf != "" {
		r.Header.Set(CSRFHeader, csrf)
	}
	return r
}

func TestSessionLifetimes(t *testing.T) {
	st := testStore(t)
	c := &clock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	a := newTestAuthenticator(t, st, "correct horse battery", c)
	ctx := context.Background()
	login := httptest.NewRequest("POST", "/v1/auth/login", nil)

	if _, err := a.SignIn(ctx, login, Credentials{Username: "admin", Password: "wrong password"}); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := a.SignIn(ctx, login, Credentials{Username: "root", Password: "correct horse battery"}); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("wrong user: %v", err)
	}
	s, err := a.SignIn(ctx, login, Credentials{Username: "admin", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if s.CSRF != CSRFToken(s.ID) || !s.ExpiresAt.Equal(c.t.Add(SessionLifetime)) || s.Identity.Role != RoleAdmin {
		t.Fatalf("session = %+v", s)
	}

	// Used every 50 minutes, the session lives until its absolute expiry.
	for c.t.Before(s.ExpiresAt.Add(-time.Minute)) {
		if _, err := a.Authenticate(withSession("GET", s, "")); err != nil {
			t.Fatalf("at %v: %v", c.t, err)
		}
		c.t = c.t.Add(50 * time.Minute)
	}
	c.t = s.ExpiresAt
	if _, err := a.Authenticate(withSession("GET", s, "")); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("past the absolute expiry: %v", err)
	}

	// Left alone for an hour, a session ends.
	s2, err := a.SignIn(ctx, login, Credentials{Username: "admin", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(SessionIdle - time.Second)
	if _, err := a.Authenticate(withSession("GET", s2, "")); err != nil {
		t.Fatalf("just within the idle time: %v", err)
	}
	c.t = c.t.Add(SessionIdle + time.Minute)
	if _, err := a.Authenticate(withSession("GET", s2, "")); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("idle for an hour: %v", err)
	}

	// A new admin password ends the sessions opened with the old one.
	s3, err := a.SignIn(ctx, login, Credentials{Username: "admin", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	b := newTestAuthenticator(t, st, "a different password", c)
	if _, err := b.Authenticate(withSession("GET", s3, "")); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after a password change: %v", err)
	}
	if _, err := a.Authenticate(withSession("GET", s3, "")); err != nil {
		t.Fatalf("same password: %v", err)
	}
}

func TestSessionCSRFAndPrecedence(t *testing.T) {
	st := testStore(t)
	c := &clock{t: time.Now().UTC()}
	a := newTestAuthenticator(t, st, "correct horse battery", c)
	s, err := a.SignIn(context.Background(), httptest.NewRequest("POST", "/", nil), Credentials{Username: "admin", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"GET", "HEAD", "OPTIONS"} {
		if _, err := a.Authenticate(withSession(m, s, "")); err != nil {
			t.Errorf("%s without CSRF: %v", m, err)
		}
	}
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		if _, err := a.Authenticate(withSession(m, s, "")); !errors.Is(err, ErrCSRF) {
			t.Errorf("%s without CSRF: %v, want ErrCSRF", m, err)
		}
		if _, err := a.Authenticate(withSession(m, s, CSRFToken("another session"))); !errors.Is(err, ErrCSRF) {
			t.Errorf("%s with another session's CSRF: %v, want ErrCSRF", m, err)
		}
		if _, err := a.Authenticate(withSession(m, s, s.CSRF)); err != nil {
			t.Errorf("%s with CSRF: %v", m, err)
		}
	}
	// An Authorization header wins over the cookie: a wrong password is
	// refused although the cookie is valid, and Basic needs no CSRF token.
	r := withSession("POST", s, "")
	r.SetBasicAuth("admin", "wrong")
	if _, err := a.Authenticate(r); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("wrong Basic beside a valid cookie: %v", err)
	}
	r = withSession("POST", s, "")
	r.SetBasicAuth("admin", "correct horse battery")
	if _, err := a.Authenticate(r); err != nil {
		t.Errorf("Basic beside a cookie, without CSRF: %v", err)
	}
	if err := a.SignOut(context.Background(), withSession("POST", s, s.CSRF)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(withSession("GET", s, "")); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("after sign-out: %v", err)
	}
}

func TestSessionsPerCredentialBounded(t *testing.T) {
	st := testStore(t)
	c := &clock{t: time.Now().UTC()}
	a := newTestAuthenticator(t, st, "correct horse battery", c)
	var first Session
	for i := range sessionsPerCredential + 5 {
		c.t = c.t.Add(time.Second)
		s, err := a.SignIn(context.Background(), httptest.NewRequest("POST", "/", nil), Credentials{Username: "admin", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = s
		}
	}
	n, err := st.CountSessions(context.Background())
	if err != nil || n != sessionsPerCredential {
		t.Errorf("%d sessions kept (%v), want %d", n, err, sessionsPerCredential)
	}
	if _, err := a.Authenticate(withSession("GET", first, "")); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("the oldest session survived: %v", err)
	}
}

// TestSessionIdleFromConfiguration: the idle time SetSessionIdle gives
// replaces SessionIdle, read at each request.
func TestSessionIdleFromConfiguration(t *testing.T) {
	st := testStore(t)
	c := &clock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	a := newTestAuthenticator(t, st, "correct horse battery", c)
	idle := 10 * time.Minute
	a.SetSessionIdle(func(context.Context) time.Duration { return idle })
	ctx := context.Background()
	login := httptest.NewRequest("POST", "/v1/auth/login", nil)
	s, err := a.SignIn(ctx, login, Credentials{Username: "admin", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(9 * time.Minute)
	if _, err := a.Authenticate(withSession("GET", s, "")); err != nil {
		t.Fatalf("9 minutes idle of 10: %v", err)
	}
	c.t = c.t.Add(11 * time.Minute)
	if _, err := a.Authenticate(withSession("GET", s, "")); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("11 minutes idle of 10: %v", err)
	}
	// A longer idle time applies to sessions already open.
	s2, err := a.SignIn(ctx, login, Credentials{Username: "admin", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	idle = 3 * time.Hour
	c.t = c.t.Add(2 * time.Hour)
	if _, err := a.Authenticate(withSession("GET", s2, "")); err != nil {
		t.Fatalf("2 hours idle of 3: %v", err)
	}
}
