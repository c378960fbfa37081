package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/stockade-dev/stockade/internal/central/auth"
)

// DefaultMaxBody bounds a request body when a route sets no limit.
const DefaultMaxBody = 10 << 20

// HandlerFunc serves one request. A returned error is written by the edge
// (see Classify); a handler that returns an error must not have written.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route is one endpoint: its method and path (a net/http ServeMux pattern),
// the permission a caller needs, and its handler. Domains declare their
// routes as data next to their handlers.
type Route struct {
	Method     string
	Path       string
	Permission auth.Permission
	// MaxBody bounds the request body; 0 means DefaultMaxBody.
	MaxBody int64
	Handler HandlerFunc
}

// Pattern is the ServeMux pattern of the route, "GET /v1/policies/{id}".
func (rt Route) Pattern() string { return rt.Method + " " + rt.Path }

// Authenticator is what Mount needs to identify callers.
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Identity, error)
}

// Observer records served requests (Prometheus metrics in Central).
type Observer interface {
	ObserveRequest(route string, code int, d time.Duration)
}

// Auditor records calls that change something (every method but GET and
// HEAD), whoever made them and however they ended.
type Auditor interface {
	AuditRequest(ctx context.Context, e AuditEntry)
}

// AuditEntry is one audited call. Caller is empty when the caller could not
// be authenticated.
type AuditEntry struct {
	Time     time.Time
	Caller   string
	Role     string
	Method   string
	Path     string
	Route    string
	Status   int
	SourceIP string
}

// Edge is what every route is wrapped with.
type Edge struct {
	Auth     Authenticator
	Observer Observer
	// Audit, when set, is told about every call that changes something.
	Audit Auditor
	Log   *slog.Logger
}

// Mount registers routes on mux, each wrapped with authentication,
// authorization, a body limit, error mapping, metrics and a debug request log.
// It fails closed: a route without a declared permission or handler, or one
// whose pattern clashes with another, is an error and nothing is served.
func Mount(mux *http.ServeMux, routes []Route, edge Edge) (err error) {
	seen := map[string]bool{}
	for _, rt := range routes {
		switch {
		case !rt.Permission.Valid():
			return fmt.Errorf("route %s declares no permission", rt.Pattern())
		case rt.Handler == nil:
			return fmt.Errorf("route %s has no handler", rt.Pattern())
		case rt.Method == "" || rt.Path == "":
			return fmt.Errorf("route %q needs a method and a path", rt.Pattern())
		case seen[rt.Pattern()]:
			return fmt.Errorf("route %s is declared twice", rt.Pattern())
		}
		seen[rt.Pattern()] = true
	}
	defer func() {
		// ServeMux panics on conflicting patterns; report it as an error.
		if p := recover(); p != nil {
			err = fmt.Errorf("mount routes: %v", p)
		}
	}()
	for _, rt := range routes {
		mux.Handle(rt.Pattern(), edge.wrap(rt))
	}
	return nil
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (e Edge) wrap(rt Route) http.Handler {
	pattern := rt.Pattern()
	limit := rt.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		caller, role := "", ""
		err := func() error {
			if !rt.Permission.IsPublic() {
				id, err := e.Auth.Authenticate(r)
				if err != nil {
					return err
				}
				caller, role = id.Name, string(id.Role)
				if !id.Role.Allows(rt.Permission) {
					return Forbidden(fmt.Sprintf("role %q lacks the %s permission this request needs", id.Role, rt.Permission))
				}
				r = r.WithContext(auth.WithIdentity(r.Context(), id))
			}
			r.Body = http.MaxBytesReader(sw, r.Body, limit)
			return rt.Handler(sw, r)
		}()
		if err != nil {
			e.writeError(sw, r, pattern, err)
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		d := time.Since(start)
		if e.Observer != nil {
			e.Observer.ObserveRequest(pattern, code, d)
		}
		if e.Audit != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
			e.Audit.AuditRequest(context.WithoutCancel(r.Context()), AuditEntry{Time: start.UTC(), Caller: caller, Role: role,
				Method: r.Method, Path: r.URL.Path, Route: pattern, Status: code, SourceIP: auth.ClientIP(r)})
		}
		e.Log.Debug("request served", "method", r.Method, "path", r.URL.Path, "route", pattern,
			"code", code, "duration", d, "client", auth.ClientIP(r), "caller", caller)
	})
}

func (e Edge) writeError(w *statusWriter, r *http.Request, route string, err error) {
	status, body := Classify(err)
	switch status {
	case http.StatusUnauthorized:
		// Scripts (the dashboard) mark their requests as XMLHttpRequest, as
		// is customary; a Basic challenge would make the browser open its
		// own password dialog over the dashboard's sign-in page.
		if r.Header.Get("X-Requested-With") != "XMLHttpRequest" {
			w.Header().Add("WWW-Authenticate", `Basic realm="Stockade Central", charset="UTF-8"`)
		}
		w.Header().Add("WWW-Authenticate", `Bearer realm="Stockade Central"`)
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(30))
	case http.StatusInternalServerError:
		e.Log.Error("request failed", "route", route, "err", err)
	case http.StatusServiceUnavailable:
		e.Log.Warn("request unavailable", "route", route, "err", err)
	}
	if w.code != 0 {
		// The handler already started its response; the status cannot change.
		e.Log.Warn("error after response started", "route", route, "err", err)
		return
	}
	if err := WriteJSON(w, status, body); err != nil {
		e.Log.Warn("write error response failed", "route", route, "err", err)
	}
}
