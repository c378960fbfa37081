package uiserve

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

const indexHTML = `<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>`

func builtDist() fstest.MapFS {
	return fstest.MapFS{
		"index.html":             {Data: []byte(indexHTML)},
		"assets/index-abc123.js": {Data: bytes.Repeat([]byte("console.log('stockade');\n"), 200)},
		"assets/logo-def456.svg": {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"favicon.ico":            {Data: []byte{0, 0, 1, 0}},
		".keep":                  {Data: []byte("kept in git")},
	}
}

func newHandler(t *testing.T, dist fstest.MapFS) *Handler {
	t.Helper()
	h, err := New(dist, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSPA(t *testing.T) {
	h := newHandler(t, builtDist())
	if !h.Built() {
		t.Fatal("Built() = false with index.html present")
	}
	for _, target := range []string{"/", "/index.html", "/violations", "/violations/1b4e28ba-2fa1-11d2-883f-0016d3cca427?state=ACTIVE", "/policies/a/b/c", "/../../etc/passwd"} {
		rec := get(h, "GET", target)
		if rec.Code != 200 || rec.Body.String() != indexHTML {
			t.Errorf("GET %s = %d %.60q, want index.html", target, rec.Code, rec.Body.String())
			continue
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", target, cc)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", target, ct)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHandler(t, builtDist())
	for _, target := range []string{"/", "/assets/index-abc123.js", "/deep/link"} {
		hdr := get(h, "GET", target).Header()
		csp := hdr.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self';", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", target, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP allows inline code: %q", target, csp)
		}
		if hdr.Get("X-Frame-Options") != "DENY" || hdr.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: X-Frame-Options %q, X-Content-Type-Options %q", target, hdr.Get("X-Frame-Options"), hdr.Get("X-Content-Type-Options"))
		}
	}
}

func TestAssets(t *testing.T) {
	h := newHandler(t, builtDist())
	dist := builtDist()
	rec := get(h, "GET", "/assets/index-abc123.js")
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), dist["assets/index-abc123.js"].Data) {
		t.Fatalf("asset: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("asset Cache-Control %q", cc)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("asset Content-Type %q", ct)
	}
	// Conditional requests.
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if rec := get(h, "GET", "/assets/index-abc123.js", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", rec.Code)
	}
	// A missing hashed asset is a 404, not index.html.
	if rec := get(h, "GET", "/assets/index-old999.js"); rec.Code != 404 || strings.Contains(rec.Body.String(), "<html") {
		t.Errorf("missing asset: %d %q", rec.Code, rec.Body.String())
	}
	// Dot files (ui/dist/.keep) are not served.
	if rec := get(h, "GET", "/.keep"); rec.Body.String() == "kept in git" {
		t.Error(".keep served")
	}
	// HEAD has headers and no body.
	if rec := get(h, "HEAD", "/favicon.ico"); rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "image/x-icon" {
		t.Errorf("HEAD favicon: %d, %d bytes, %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Type"))
	}
}

func TestGzip(t *testing.T) {
	h := newHandler(t, builtDist())
	want := builtDist()["assets/index-abc123.js"].Data
	rec := get(h, "GET", "/assets/index-abc123.js", "Accept-Encoding", "br, gzip;q=0.8")
	if rec.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
		t.Fatalf("no gzip: %v", rec.Header())
	}
	if rec.Body.Len() >= len(want) {
		t.Errorf("gzipped body %d bytes, original %d", rec.Body.Len(), len(want))
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("gunzipped body differs (%v)", err)
	}
	plain := get(h, "GET", "/assets/index-abc123.js", "Accept-Encoding", "gzip;q=0, identity")
	if plain.Header().Get("Content-Encoding") != "" || !bytes.Equal(plain.Body.Bytes(), want) {
		t.Errorf("gzip;q=0 still got %q", plain.Header().Get("Content-Encoding"))
	}
	if rec.Header().Get("ETag") == plain.Header().Get("ETag") {
		t.Error("the gzipped and plain bodies share an ETag")
	}
	// Small files are sent as they are.
	if rec := get(h, "GET", "/assets/logo-def456.svg", "Accept-Encoding", "gzip"); rec.Header().Get("Content-Encoding") != "" {
		t.Error("a tiny file was gzipped")
	}
}

func TestAPIPathsAndMethods(t *testing.T) {
	h := newHandler(t, builtDist())
	for _, target := range []string{"/v1/no-such-thing", "/v1", "/v1/alerts/x/y/z", "/healthz", "/metrics", "/openapi.json", "/api/graphql"} {
		rec := get(h, "GET", target)
		var body struct {
			Error string `json:"error"`
		}
		if rec.Code != 404 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || !strings.Contains(body.Error, "no API endpoint") {
			t.Errorf("GET %s = %d %q, want a JSON 404", target, rec.Code, rec.Body.String())
		}
	}
	rec := get(h, "POST", "/violations")
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /violations = %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	if rec := get(h, "DELETE", "/v1/unknown"); rec.Code != 404 {
		t.Errorf("DELETE /v1/unknown = %d, want 404", rec.Code)
	}
}

func TestNotBuilt(t *testing.T) {
	h := newHandler(t, fstest.MapFS{".keep": {Data: []byte("placeholder")}})
	if h.Built() {
		t.Fatal("Built() = true without index.html")
	}
	for _, target := range []string{"/", "/violations", "/assets/index-abc123.js"} {
		rec := get(h, "GET", target)
		body := rec.Body.String()
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(body, "make build") || !strings.Contains(body, "make ui") {
			t.Errorf("GET %s = %d %q, want the page saying how to build the dashboard", target, rec.Code, body)
		}
		if strings.Contains(body, "<script") || strings.Contains(body, "style=") {
			t.Errorf("GET %s: the not-built page has inline code the CSP refuses", target)
		}
		if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: headers %v", target, rec.Header())
		}
	}
	if rec := get(h, "GET", "/v1/x"); rec.Code != 404 {
		t.Errorf("API path without the dashboard: %d", rec.Code)
	}
}

func TestRefusesOversizedFiles(t *testing.T) {
	dist := builtDist()
	dist["assets/huge.js"] = &fstest.MapFile{Data: make([]byte, maxFileSize+1)}
	if _, err := New(dist, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "assets/huge.js") {
		t.Errorf("New with an oversized file: %v", err)
	}
}
