package vulndb

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// feedServer serves feed documents over real HTTP with ETag and
// Last-Modified, answering conditional requests as a web server does.
type feedServer struct {
	mu       sync.Mutex
	docs     map[string][]byte
	modTime  map[string]time.Time
	requests map[string][]http.Header
}

func (s *feedServer) set(path string, content []byte, mod time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = content
	s.modTime[path] = mod
}

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path] = append(s.requests[r.URL.Path], r.Header.Clone())
	doc, ok := s.docs[r.URL.Path]
	mod := s.modTime[r.URL.Path]
	s.mu.Unlock()
	switch {
	case r.URL.Path == "/broken":
		http.Error(w, "feed backend down", http.StatusInternalServerError)
		return
	case !ok:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", fmt.Sprintf(`"%x-%d"`, len(doc), mod.Unix()))
	http.ServeContent(w, r, filepath.Base(r.URL.Path), mod, bytes.NewReader(doc))
}

func (s *feedServer) lastRequest(path string) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	reqs := s.requests[path]
	if len(reqs) == 0 {
		return nil
	}
	return reqs[len(reqs)-1]
}

func readData(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(dataPath(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUpdate(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		fs := &feedServer{docs: map[string][]byte{}, modTime: map[string]time.Time{}, requests: map[string][]http.Header{}}
		srv := httptest.NewServer(fs)
		defer srv.Close()

		day := time.Date(2026, 8, 21, 0, 0, 0, 0, time.UTC)
		fs.set("/go/all.jsonl", readData(t, goVulnDB), day)
		tracker, err := os.ReadFile(trackerFixture)
		if err != nil {
			t.Fatal(err)
		}
		fs.set("/debian/json", tracker, day)
		fs.set("/alpine/v3.11/main.yaml", readData(t, "vulns/alpine-secdb/v3.11/main.yaml"), day)
		fs.set("/nvd/cvss.tsv", readData(t, "vulns/nvd-sample/cvss-v3-sample.tsv"), day)
		zipPath := filepath.Join(t.TempDir(), "ghsa.zip")
		entries := map[string][]byte{}
		for _, f := range []string{"GHSA-jfh8-c2jp-5v3q.json", "GHSA-36p3-wjmg-h94x.json"} {
			entries[f] = readData(t, "vulns/ghsa-sample/"+f)
		}
		writeZip(t, zipPath, entries)
		var zipBytes []byte
		zipBytes, err = os.ReadFile(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		fs.set("/ghsa/all.zip", zipBytes, day)

		feeds := []Feed{
			{Name: "go", URL: srv.URL + "/go/all.jsonl", Format: KindOSV},
			{Name: "debian", URL: srv.URL + "/debian/json"},
			{Name: "alpine-v3.11-main", URL: srv.URL + "/alpine/v3.11/main.yaml", Format: KindAlpine},
			{Name: "nvd", URL: srv.URL + "/nvd/cvss.tsv?apiKey=SECRET"},
			{Name: "ghsa", URL: srv.URL + "/ghsa/all.zip"},
			{Name: "broken", URL: srv.URL + "/broken"},
		}
		res, err := db.Update(ctx, feeds, srv.Client())
		if err == nil || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "500") {
			t.Fatalf("first update error %v, want the broken feed's", err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error leaks the query string: %v", err)
		}
		byName := map[string]FeedResult{}
		for _, f := range res.Feeds {
			byName[f.Name] = f
		}
		for name, want := range map[string]int{"go": 4291, "debian": 192, "nvd": 12, "ghsa": 2} {
			if f := byName[name]; f.Import.Read() != want || f.Error != "" || f.NotModified {
				t.Errorf("feed %s: %+v, want %d records", name, f, want)
			}
		}
		if f := byName["alpine-v3.11-main"]; f.Import.Added < 1000 || f.Error != "" {
			t.Errorf("alpine feed: %+v", f)
		}
		if recs, _ := db.Affecting(ctx, catalog.Debian, "12", "glibc"); len(recs) == 0 {
			t.Error("debian feed not imported")
		}
		st, err := db.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sources := map[string]SourceStatus{}
		for _, s := range st.Sources {
			sources[s.Name] = s
		}
		if s := sources["broken"]; !strings.Contains(s.LastError, "500") || !s.LastImport.IsZero() || s.LastAttempt.IsZero() {
			t.Errorf("broken source: %+v", s)
		}
		if s := sources["go"]; s.LastError != "" || s.Records != 4291 || s.FeedURL != feeds[0].URL || s.LastImport.IsZero() {
			t.Errorf("go source: %+v", s)
		}
		firstImport := sources["go"].LastImport
		total := st.Records

		// Nothing changed upstream: every feed answers 304 to the validators.
		res, err = db.Update(ctx, feeds[:5], srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Feeds {
			if !f.NotModified || f.Import.Read() != 0 {
				t.Errorf("feed %s: %+v, want not modified", f.Name, f)
			}
		}
		if h := fs.lastRequest("/go/all.jsonl"); h.Get("If-None-Match") == "" || h.Get("If-Modified-Since") != day.Format(http.TimeFormat) {
			t.Errorf("conditional headers not sent: %v", h)
		}

		// The GHSA feed now serves garbage: the import fails, its data, ETag
		// and last import stay, its error is recorded.
		fs.set("/ghsa/all.zip", append([]byte("PK\x03\x04"), []byte("truncated archive")...), day.Add(time.Hour))
		res, err = db.Update(ctx, feeds[4:5], srv.Client())
		if err == nil || !strings.Contains(err.Error(), "zip") {
			t.Fatalf("garbage feed: %v", err)
		}
		st, _ = db.Status(ctx)
		for _, s := range st.Sources {
			if s.Name == "ghsa" && (!strings.Contains(s.LastError, "zip") || s.Records != 2) {
				t.Errorf("ghsa after failure: %+v", s)
			}
			if s.Name == "go" && !s.LastImport.Equal(firstImport) {
				t.Errorf("go source touched by another feed's update: %+v", s)
			}
		}
		if st.Records != total {
			t.Errorf("records %d, want %d after a failed update", st.Records, total)
		}
		if _, ok, _ := db.Get(ctx, "GHSA-jfh8-c2jp-5v3q"); !ok {
			t.Error("GHSA record lost after failed update")
		}

		// Fixed upstream: the new document is fetched (the old ETag no longer
		// matches) and the error is cleared.
		fs.set("/ghsa/all.zip", zipBytes, day.Add(2*time.Hour))
		if _, err := db.Update(ctx, feeds[4:5], srv.Client()); err != nil {
			t.Fatal(err)
		}
		st, _ = db.Status(ctx)
		for _, s := range st.Sources {
			if s.Name == "ghsa" && s.LastError != "" {
				t.Errorf("ghsa error not cleared: %+v", s)
			}
		}

		// A feed whose content is not what its Format says is refused.
		_, err = db.Update(ctx, []Feed{{Name: "wrong", URL: srv.URL + "/go/all.jsonl", Format: KindNVD}}, srv.Client())
		if err == nil || !strings.Contains(err.Error(), "expected a nvd feed") {
			t.Errorf("format mismatch: %v", err)
		}
		// Missing document, bad URL.
		_, err = db.Update(ctx, []Feed{{Name: "gone", URL: srv.URL + "/nope"}, {Name: "ftp", URL: "ftp://example.com/x"}}, srv.Client())
		if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "not an http(s) URL") {
			t.Errorf("404 and bad URL: %v", err)
		}
	})
}

func TestUpdateUnreachable(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL + "/feed.json"
		srv.Close() // nothing listens there now
		_, err := db.Update(ctx, []Feed{{Name: "offline", URL: url}}, &http.Client{Timeout: 5 * time.Second})
		if err == nil || !strings.Contains(err.Error(), "offline") {
			t.Fatalf("error %v", err)
		}
		st, _ := db.Status(ctx)
		if len(st.Sources) != 1 || st.Sources[0].LastError == "" || st.Records != 0 {
			t.Errorf("status %+v", st)
		}
	})
}

func TestFeedExt(t *testing.T) {
	for in, want := range map[string]string{
		"/osv/Go/all.zip": ".zip", "/tracker/data/json": "", "/x/main.yaml": ".yaml", "/nvd/page.json.gz": ".json.gz",
		"/weird/a.b c": "", "/x.tar.gz": ".tar.gz",
	} {
		if got := feedExt(in); got != want {
			t.Errorf("feedExt(%q) = %q, want %q", in, got, want)
		}
	}
	if got := redactURL("https://user:pw@example.com/a?key=SECRET#frag"); strings.Contains(got, "SECRET") || strings.Contains(got, "pw") {
		t.Errorf("redactURL leaks: %s", got)
	}
}
