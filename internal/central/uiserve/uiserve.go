// Package uiserve serves the dashboard: the single-page application Vite
// built into ui/dist and Central embeds. Every path that is not an API
// path gets index.html (the application routes in the browser), hashed
// assets are cached for a year, index.html never, and every response
// carries a strict Content-Security-Policy: scripts, styles, fonts and
// connections from Central's own origin only, no inline script, no
// framing.
//
// A Central built without the dashboard (ui/dist holds only its .keep
// file) answers with a page saying how to build it.
package uiserve

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/central/httpapi"
)

// ContentSecurityPolicy is sent with every dashboard response.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Cache-Control values: Vite names every file under assets/ by a hash of
// its content, so those never change; everything else (index.html above
// all) is revalidated on each load so that an upgrade shows at once.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// maxFileSize bounds one embedded file read into memory.
const maxFileSize = 64 << 20

// minGzipSize is the size below which compressing is not worth a header.
const minGzipSize = 1024

type file struct {
	body        []byte
	gzipped     []byte // nil: served as is
	contentType string
	etag        string
	immutable   bool
}

// Handler serves the dashboard.
type Handler struct {
	files map[string]*file // by path without the leading slash
	index *file            // nil: the dashboard was not built
	log   *slog.Logger
}

// New reads the built dashboard from dist (ui.Dist) into memory, gzipping
// what compresses. A dist without index.html is not an error: the handler
// then serves the page saying how to build the dashboard.
func New(dist fs.FS, log *slog.Logger) (*Handler, error) {
	h := &Handler{files: map[string]*file{}, log: log}
	err := fs.WalkDir(dist, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(path.Base(name), ".") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxFileSize {
			return fmt.Errorf("%s is %d bytes, more than the %d a dashboard file may have", name, info.Size(), maxFileSize)
		}
		body, err := fs.ReadFile(dist, name)
		if err != nil {
			return err
		}
		f, err := newFile(name, body)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		h.files[name] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load dashboard: %w", err)
	}
	h.index = h.files["index.html"]
	if h.index == nil {
		log.Warn("dashboard not built: serving the page that says how to build it", "hint", "make ui")
	}
	return h, nil
}

func newFile(name string, body []byte) (*file, error) {
	sum := sha256.Sum256(body)
	f := &file{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, immutable: strings.HasPrefix(name, "assets/")}
	f.contentType = contentType(name)
	if compressible(f.contentType) && len(body) >= minGzipSize {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if buf.Len() < len(body)*9/10 {
			f.gzipped = buf.Bytes()
		}
	}
	return f, nil
}

// contentType is the type of a file Vite emits, fixed here rather than
// read from the machine's mime.types, which differ between systems.
func contentType(name string) string {
	switch ext := strings.ToLower(path.Ext(name)); ext {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	case ".woff":
		return "font/woff"
	case ".ttf":
		return "font/ttf"
	case ".txt":
		return "text/plain; charset=utf-8"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
	}
	return "application/octet-stream"
}

func compressible(contentType string) bool {
	for _, p := range []string{"text/", "application/javascript", "application/json", "image/svg+xml", "application/manifest+json"} {
		if strings.HasPrefix(contentType, p) {
			return true
		}
	}
	return false
}

// Built reports whether the dashboard was built into the binary.
func (h *Handler) Built() bool { return h.index != nil }

// isAPIPath reports whether p belongs to Central's API or server
// endpoints: an unknown one is a JSON 404, never the dashboard.
func isAPIPath(p string) bool {
	switch p {
	case "/v1", "/api", "/openapi.json", "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/api/")
}

// ServeHTTP serves the dashboard's files, index.html for the paths of its
// routes, and a JSON 404 for API paths no route claimed.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isAPIPath(r.URL.Path) {
		h.writeJSON(w, http.StatusNotFound, httpapi.ErrorBody{Error: "no API endpoint " + r.Method + " " + r.URL.Path})
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		h.writeJSON(w, http.StatusMethodNotAllowed, httpapi.ErrorBody{Error: "the dashboard is read with GET; " + r.Method + " is not allowed"})
		return
	}
	if h.index == nil {
		h.serveNotBuilt(w, r)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	f, ok := h.files[name]
	switch {
	case ok:
	case strings.HasPrefix(name, "assets/"):
		// A missing hashed asset is an old page asking for a file an
		// upgrade replaced: index.html instead would fail as a script.
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	default:
		f = h.index
	}
	h.serveFile(w, r, f)
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, f *file) {
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	if f.immutable {
		hdr.Set("Cache-Control", cacheImmutable)
	} else {
		hdr.Set("Cache-Control", cacheRevalidate)
	}
	body, etag := f.body, f.etag
	if f.gzipped != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, etag = f.gzipped, strings.TrimSuffix(f.etag, `"`)+`-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether the client takes gzip: listed in
// Accept-Encoding with a quality above zero.
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		qv, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		q, err := strconv.ParseFloat(qv, 64)
		return err == nil && q > 0
	}
	return false
}

func (h *Handler) writeJSON(w http.ResponseWriter, status int, body httpapi.ErrorBody) {
	if err := httpapi.WriteJSON(w, status, body); err != nil {
		h.log.Warn("write response failed", "err", err)
	}
}

// notBuiltPage is served when the binary carries no dashboard. It has no
// script and no inline style, so the CSP holds for it too.
const notBuiltPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Stockade: dashboard not built</title></head>
<body>
<main>
<h1>The Stockade dashboard is not built into this Central</h1>
<p>This binary was compiled without the web dashboard. The API works as usual.</p>
<p>To build Central with its dashboard, run from the source tree (Node.js 20.19 or later and npm are needed):</p>
<pre>make build</pre>
<p>or build the dashboard alone with <code>make ui</code> (that is, <code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code>) and then rebuild Central.</p>
</main>
</body>
</html>
`

func (h *Handler) serveNotBuilt(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method == http.MethodHead {
		return
	}
	// A write error means the client went away; nothing more can be said to it.
	_, _ = w.Write([]byte(notBuiltPage))
}
