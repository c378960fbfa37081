// Package vulndbapi is the /v1/vulndb API: importing a feed file into
// Central's vulnerability database (the offline bundle path, first-class
// because many clusters have no internet) and reading the database's status.
//
// An upload is streamed to a private temporary directory in Central's data
// directory (never held in memory), imported in one transaction — all of it
// or, on any error, none — and removed. A successful import tells Central
// the database changed, which matches the stored images again.
package vulndbapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

// MaxImport bounds an uploaded feed file: a full OSV export of one
// ecosystem as a zip is tens of megabytes; the largest feeds are a few
// hundred.
const MaxImport = 512 << 20

// maxNameLen bounds the ?name= of an upload.
const maxNameLen = 128

// DB is the vulnerability database.
type DB interface {
	Import(ctx context.Context, paths ...string) (vulndb.ImportResult, error)
	Status(ctx context.Context) (vulndb.Status, error)
}

// Changed is told, after an import committed, that the database changed.
type Changed func(ctx context.Context)

// API serves the vulnerability database routes.
type API struct {
	db      DB
	tmpDir  string
	limit   int64
	changed Changed
	log     *slog.Logger
}

// New returns the API over db; uploads of up to limit bytes (MaxImport in
// Central) are spooled under tmpDir, Central's data directory, which is
// private to it.
func New(db DB, tmpDir string, limit int64, changed Changed, log *slog.Logger) *API {
	return &API{db: db, tmpDir: tmpDir, limit: limit, changed: changed, log: log}
}

// Routes are the vulnerability database endpoints: importing needs VulnDB
// write (Admin); the status needs VulnDB read (every role).
func (a *API) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/vulndb/import", Permission: auth.Need(auth.ResourceVulnDB, auth.Write),
			MaxBody: a.limit, Handler: a.importFeed},
		{Method: http.MethodGet, Path: "/v1/vulndb/status", Permission: auth.Need(auth.ResourceVulnDB, auth.Read), Handler: a.status},
	}
}

func (a *API) status(w http.ResponseWriter, r *http.Request) error {
	st, err := a.db.Status(r.Context())
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, st)
}

// uploadName is the file name an upload is imported under, from ?name=: its
// extension helps recognize the format and errors name it. Only the base
// name's safe characters are kept.
func uploadName(q string) (string, error) {
	if len(q) > maxNameLen {
		return "", httpapi.Invalid(fmt.Sprintf("name is %d bytes long, more than %d", len(q), maxNameLen), httpapi.Detail{Path: "name", Message: "too long"})
	}
	base := q[strings.LastIndexAny(q, `/\`)+1:]
	var b strings.Builder
	for _, c := range base {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.TrimLeft(b.String(), ".")
	if name == "" {
		name = "upload"
	}
	return name, nil
}

func (a *API) importFeed(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength > a.limit {
		// Refused before reading: the edge would stop at the limit anyway.
		return &http.MaxBytesError{Limit: a.limit}
	}
	name, err := uploadName(r.URL.Query().Get("name"))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(a.tmpDir, ".vulndb-import-")
	if err != nil {
		return fmt.Errorf("spool vulndb upload: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			a.log.Warn("remove vulndb upload failed", "dir", dir, "err", err)
		}
	}()
	path := filepath.Join(dir, name)
	n, err := spool(path, r.Body)
	if err != nil {
		return err
	}
	if n == 0 {
		return httpapi.Invalid("request body is empty; send the feed file as the body")
	}
	res, err := a.db.Import(r.Context(), path)
	if err != nil {
		if ctxErr := r.Context().Err(); ctxErr != nil {
			return fmt.Errorf("import %s: %w", name, ctxErr)
		}
		// The importer names the spooled file; the caller knows it by name.
		msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
		a.log.Info("vulndb import refused", "name", name, "bytes", n, "err", msg)
		return httpapi.Invalid("vulnerability feed not imported (nothing was changed): " + msg)
	}
	a.log.Info("vulndb imported", "name", name, "bytes", n, "sources", len(res.Sources))
	if a.changed != nil {
		// Committed: the change must be taken into account even if the
		// client is gone.
		a.changed(context.WithoutCancel(r.Context()))
	}
	if res.Sources == nil {
		res.Sources = []vulndb.SourceResult{}
	}
	return httpapi.WriteJSON(w, http.StatusOK, res)
}

// spool copies the body to a new private file at path.
func spool(path string, body io.Reader) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("spool vulndb upload: %w", err)
	}
	n, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil && cerr != nil {
		return n, fmt.Errorf("spool vulndb upload: %w", cerr)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return n, err
		}
		return n, httpapi.Invalidf("read request body: %v", err)
	}
	return n, nil
}
