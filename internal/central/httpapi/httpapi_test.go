package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
)

func ok(w http.ResponseWriter, r *http.Request) error { return WriteJSON(w, 200, map[string]string{}) }

func TestMountFailsClosed(t *testing.T) {
	for name, routes := range map[string][]Route{
		"no permission": {{Method: "GET", Path: "/x", Handler: ok}},
		"no handler":    {{Method: "GET", Path: "/x", Permission: auth.Public()}},
		"twice":         {{Method: "GET", Path: "/x", Permission: auth.Public(), Handler: ok}, {Method: "GET", Path: "/x", Permission: auth.Public(), Handler: ok}},
		"clash":         {{Method: "GET", Path: "/x/{a}", Permission: auth.Public(), Handler: ok}, {Method: "GET", Path: "/x/{b}", Permission: auth.Public(), Handler: ok}},
	} {
		if err := Mount(http.NewServeMux(), routes, Edge{Log: slog.New(slog.DiscardHandler)}); err == nil {
			t.Errorf("%s: Mount succeeded", name)
		}
	}
}

// fixedAuth authenticates every request as one role, or fails.
type fixedAuth struct {
	role auth.Role
	err  error
}

func (f fixedAuth) Authenticate(*http.Request) (auth.Identity, error) {
	return auth.Identity{Kind: auth.KindUser, Name: "u", Role: f.role}, f.err
}

type observed struct{ routes []string }

func (o *observed) ObserveRequest(route string, code int, _ time.Duration) {
	o.routes = append(o.routes, fmt.Sprintf("%s %d", route, code))
}

func serve(t *testing.T, a Authenticator, rt Route, req *http.Request) (*httptest.ResponseRecorder, *observed) {
	t.Helper()
	mux := http.NewServeMux()
	obs := &observed{}
	if err := Mount(mux, []Route{rt}, Edge{Auth: a, Observer: obs, Log: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec, obs
}

func TestEdgeAuthAndErrors(t *testing.T) {
	write := Route{Method: "POST", Path: "/p", Permission: auth.Need(auth.ResourcePolicy, auth.Write), Handler: ok}
	rec, obs := serve(t, fixedAuth{err: fmt.Errorf("no: %w", auth.ErrUnauthenticated)}, write, httptest.NewRequest("POST", "/p", nil))
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" || obs.routes[0] != "POST /p 401" {
		t.Errorf("unauthenticated: %d %v %v", rec.Code, rec.Header(), obs.routes)
	}
	rec, _ = serve(t, fixedAuth{role: auth.RoleAnalyst}, write, httptest.NewRequest("POST", "/p", nil))
	if rec.Code != 403 {
		t.Errorf("analyst writing: %d", rec.Code)
	}
	rec, _ = serve(t, fixedAuth{role: auth.RoleAdmin}, write, httptest.NewRequest("POST", "/p", nil))
	if rec.Code != 200 {
		t.Errorf("admin writing: %d", rec.Code)
	}
	limited := write
	limited.MaxBody = 8
	limited.Handler = func(w http.ResponseWriter, r *http.Request) error {
		var v map[string]any
		return Decode(r, &v)
	}
	rec, _ = serve(t, fixedAuth{role: auth.RoleAdmin}, limited, httptest.NewRequest("POST", "/p", strings.NewReader(`{"a": "0123456789"}`)))
	if rec.Code != 413 {
		t.Errorf("oversized body: %d %s", rec.Code, rec.Body)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("policy %q: %w", "x", store.ErrNotFound), 404},
		{fmt.Errorf("policy: %w", store.ErrConflict), 409},
		{fmt.Errorf("bad: %w", store.ErrInvalid), 400},
		{&policy.ValidationError{Policy: "p", Errors: []policy.FieldError{{Path: "severity", Message: "bad"}}}, 400},
		{&policy.ParseError{Source: "body", Line: 3, Err: errors.New("x")}, 400},
		{auth.ErrRateLimited, 429},
		{fmt.Errorf("x: %w", auth.ErrUnauthenticated), 401},
		{Forbidden("no"), 403},
		{&http.MaxBytesError{Limit: 1}, 413},
		{fmt.Errorf("scan x: %w", &registry.Error{Kind: registry.KindNotFound, Msg: "image x not found in registry r"}), 404},
		{&registry.Error{Kind: registry.KindInvalid, Msg: "invalid image reference"}, 400},
		{&registry.Error{Kind: registry.KindUnauthorized, Msg: "registry r rejected the credentials"}, 502},
		{&registry.Error{Kind: registry.KindTimeout, Msg: "registry r did not answer in time"}, 504},
		{errors.New("database on fire"), 500},
	} {
		status, body := Classify(tc.err)
		if status != tc.want {
			t.Errorf("Classify(%v) = %d, want %d", tc.err, status, tc.want)
		}
		if status == 500 && strings.Contains(body.Error, "fire") {
			t.Error("an internal error leaks to the client")
		}
	}
	_, body := Classify(&policy.ValidationError{Policy: "p", Errors: []policy.FieldError{{Path: "severity", Message: "bad"}}})
	if len(body.Details) != 1 || body.Details[0].Path != "severity" {
		t.Errorf("validation details = %+v", body.Details)
	}
}

func TestDecodeBytesNamesFieldsAndLines(t *testing.T) {
	type T struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	for in, want := range map[string]string{
		"{\n\"name\": \"a\",\n\"count\": \"two\"\n}": "count",
		"{\n\"name\": \"a\",\n\"extra\": 1\n}":       `unknown field "extra"`,
		"{\n\"name\": \"a\",\n\"count\": 2,\n}":      "line 4",
		"{\"name\": \"a\"":                           "unexpected end",
		"":                                           "empty",
		"{} []":                                      "after the JSON object",
	} {
		var v T
		err := DecodeBytes([]byte(in), &v)
		status, body := Classify(err)
		if status != 400 || !strings.Contains(body.Error, want) {
			t.Errorf("DecodeBytes(%q) = %d %q, want 400 mentioning %q", in, status, body.Error, want)
		}
	}
}
