// Package scanengine is the CLI's local backend (localscan.Backend): it
// pulls and scans images with the scanner and keeps the vulnerability
// database in a local SQLite file. It links the registry client, the
// analyzers and SQLite, so only stockade-scanner links it; the stockade
// binary hands it the commands that need it (see package localscan).
package scanengine

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/stockade-dev/stockade/internal/cli/localscan"
	"github.com/stockade-dev/stockade/internal/scanner"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
	"github.com/stockade-dev/stockade/internal/scanner/vulnfeed"
	"github.com/stockade-dev/stockade/internal/version"
)

// Engine is the local backend. The zero value is ready to use; it keeps no
// state between calls.
type Engine struct{}

// New returns an Engine.
func New() *Engine { return &Engine{} }

var _ localscan.Backend = (*Engine)(nil)

// maxCAFile bounds a registry CA file.
const maxCAFile = 1 << 20

// staleAfter is the age of the newest import past which a local scan warns
// that its database may miss recent vulnerabilities.
const staleAfter = 7 * 24 * time.Hour

// updateTimeout bounds one feed download's wait for response headers; the
// body of a big feed may take longer and is bounded by the context.
const updateTimeout = 2 * time.Minute

func userAgent() string { return "stockade/" + version.Version }

// ScanImage pulls and scans req.Image here.
func (e *Engine) ScanImage(ctx context.Context, req localscan.ScanRequest) (*scan.Image, error) {
	note := req.Note
	if note == nil {
		note = func(string, ...any) {}
	}
	now := req.Now
	if now == nil {
		now = time.Now
	}
	var db *vulndb.DB
	switch _, err := os.Stat(req.DB.Path); {
	case err == nil:
		if db, err = open(ctx, req.DB); err != nil {
			return nil, err
		}
		defer func() { _ = db.Close() }() // read-only use: closing loses nothing
		noteStale(ctx, db, now, note)
	case errors.Is(err, fs.ErrNotExist) && req.RequireDB:
		return nil, fmt.Errorf("no vulnerability database at %s: import feeds with 'stockade vulndb import FILE…' or 'stockade vulndb update --feed NAME=URL', or name a database with --vulndb", req.DB.Path)
	case errors.Is(err, fs.ErrNotExist):
		note("no vulnerability database at %s: the SBOM lists no vulnerabilities", req.DB.Path)
	default:
		return nil, fmt.Errorf("vulnerability database: %w", err)
	}

	opts := scanner.Options{
		CacheDir:  filepath.Join(req.CacheDir, "layers"),
		DB:        db,
		Logger:    req.DB.Logger,
		Parallel:  2,
		UserAgent: userAgent(),
		Now:       now,
	}
	var err error
	if opts.Resolver, err = resolver(req); err != nil {
		return nil, err
	}
	if req.RegistryCA != "" {
		if opts.RootCAs, err = loadCAFile(req.RegistryCA); err != nil {
			return nil, err
		}
	}
	s, err := scanner.New(opts)
	if err != nil {
		return nil, err
	}
	so := scanner.ScanOptions{Force: req.Force, Platform: req.Platform}
	if req.Progress != nil {
		so.Progress = func(p scanner.Progress) { printProgress(req.Progress, p) }
	}
	img, err := s.Scan(ctx, req.Image, so)
	if err != nil {
		return nil, registryHint(err)
	}
	return img, nil
}

// open opens (creating it and its directory when missing) a local
// database file.
func open(ctx context.Context, db localscan.DB) (*vulndb.DB, error) {
	if err := os.MkdirAll(filepath.Dir(db.Path), 0o700); err != nil {
		return nil, fmt.Errorf("vulnerability database: %w", err)
	}
	log := db.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d, err := vulndb.Open(ctx, db.Path, log)
	if err != nil {
		return nil, fmt.Errorf("open vulnerability database: %w", err)
	}
	return d, nil
}

// registryHint adds what to do about a registry failure from the command
// line.
func registryHint(err error) error {
	switch {
	case errors.Is(err, registry.ErrTLS):
		return fmt.Errorf("%w; pass --registry-ca FILE with the registry's CA certificate", err)
	case errors.Is(err, registry.ErrUnauthorized):
		return fmt.Errorf("%w; credentials come from the docker CLI's config.json ($DOCKER_CONFIG, ~/.docker): run 'docker login' for the registry", err)
	}
	return err
}

// printProgress writes one line when a layer starts downloading, and one
// when it is analyzed or taken from the cache. Progress lines are a
// courtesy: a write error is dropped, the scan goes on.
func printProgress(w io.Writer, p scanner.Progress) {
	what := ""
	switch {
	case p.Stage == scanner.StageCached:
		what = "cached"
	case p.Stage == scanner.StageDownloading && p.Bytes == 0:
		what = "downloading " + byteSize(p.Size)
	case p.Stage == scanner.StageAnalyzed:
		what = "analyzed (" + byteSize(p.Bytes) + " unpacked)"
	default:
		return
	}
	_, _ = fmt.Fprintf(w, "layer %d/%d %s %s\n", p.Index+1, p.Layers, shortDigest(p.Digest), what)
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func shortDigest(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return d
}

// resolver picks registry credentials from the docker CLI's config.json in
// req.DockerConfig; InsecureRegistry adds an anonymous plain-HTTP
// integration for the image's registry, which takes precedence.
func resolver(req localscan.ScanRequest) (*registry.Resolver, error) {
	docker := &registry.DockerConfig{}
	if req.DockerConfig != "" {
		cfg, err := registry.ReadDockerConfig(filepath.Join(req.DockerConfig, "config.json"))
		switch {
		case err == nil:
			docker = cfg
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	var integrations []registry.Integration
	if req.InsecureRegistry {
		ref, err := name.ParseReference(req.Image)
		if err != nil {
			return nil, fmt.Errorf("invalid image reference %q: %w", req.Image, err)
		}
		integrations = append(integrations, registry.Integration{
			Name: "--insecure-registry", Type: registry.TypeDocker, Endpoint: ref.Context().RegistryStr(), Insecure: true,
		})
	}
	return registry.NewResolver(integrations, docker)
}

func loadCAFile(path string) (*x509.CertPool, error) {
	pem, err := readFileLimited(path, maxCAFile)
	if err != nil {
		return nil, fmt.Errorf("read registry CA: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("registry CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// readFileLimited reads a file of at most limit bytes.
func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	_ = f.Close() // opened read-only: closing cannot lose data
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: file is larger than %d bytes", path, limit)
	}
	return data, nil
}

// noteStale tells the user when the database is empty or old.
func noteStale(ctx context.Context, db *vulndb.DB, now func() time.Time, note func(string, ...any)) {
	st, err := db.Status(ctx)
	if err != nil {
		return // the scan reports a database that cannot be read
	}
	switch {
	case st.Records == 0:
		note("the vulnerability database %s is empty: import feeds with 'stockade vulndb import FILE…'", st.Path)
	case !st.LastImport.IsZero() && now().Sub(st.LastImport) > staleAfter:
		note("the vulnerability database was last updated %s ago; recent vulnerabilities may be missing",
			now().Sub(st.LastImport).Round(time.Hour))
	}
}

// ImportFeeds imports the feed files at paths into the database at db.Path.
func (e *Engine) ImportFeeds(ctx context.Context, db localscan.DB, paths []string) (vulnfeed.ImportResult, error) {
	d, err := open(ctx, db)
	if err != nil {
		return vulnfeed.ImportResult{}, err
	}
	r, err := d.Import(ctx, paths...)
	if cerr := d.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close vulnerability database: %w", cerr)
	}
	return r, err
}

// Status reports what the database at db.Path holds; it must exist.
func (e *Engine) Status(ctx context.Context, db localscan.DB) (vulnfeed.Status, error) {
	if _, err := os.Stat(db.Path); err != nil {
		return vulnfeed.Status{}, fmt.Errorf("no vulnerability database at %s: import feeds with 'stockade vulndb import FILE…' (%w)", db.Path, err)
	}
	d, err := open(ctx, db)
	if err != nil {
		return vulnfeed.Status{}, err
	}
	st, err := d.Status(ctx)
	_ = d.Close() // read only: closing loses nothing
	if err != nil {
		return vulnfeed.Status{}, fmt.Errorf("vulnerability database %s: %w", db.Path, err)
	}
	return st, nil
}

// UpdateFeeds downloads each feed and imports it into the database at
// db.Path.
func (e *Engine) UpdateFeeds(ctx context.Context, db localscan.DB, feeds []vulnfeed.Feed) (vulnfeed.UpdateResult, error) {
	d, err := open(ctx, db)
	if err != nil {
		return vulnfeed.UpdateResult{}, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = updateTimeout
	transport.DialContext = (&net.Dialer{Timeout: 30 * time.Second}).DialContext
	httpc := &http.Client{Transport: &uaTransport{inner: transport, ua: userAgent()}}
	res, err := d.Update(ctx, feeds, httpc)
	if cerr := d.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close vulnerability database: %w", cerr)
	}
	return res, err
}

// uaTransport sets the User-Agent of feed downloads.
type uaTransport struct {
	inner http.RoundTripper
	ua    string
}

func (u *uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.inner.RoundTrip(r)
}
