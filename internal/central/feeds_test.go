package central

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
	"github.com/stockade-dev/stockade/internal/shareddata"
)

// feedServer serves a real feed file with an ETag and Last-Modified,
// answering conditional GETs with 304, or fails with 500 when told to.
type feedServer struct {
	*httptest.Server
	full, notModified, failed atomic.Int64
	fail                      atomic.Bool
}

func startFeedServer(t *testing.T, path string) *feedServer {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	modTime := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	fs := &feedServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != "s3cret" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		if fs.fail.Load() {
			fs.failed.Add(1)
			http.Error(w, "feed store unavailable", http.StatusInternalServerError)
			return
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			fs.notModified.Add(1)
		} else {
			fs.full.Add(1)
		}
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "main.yaml", modTime, strings.NewReader(string(data)))
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (c *central) vulndbStatus() vulndb.Status {
	c.t.Helper()
	var st vulndb.Status
	c.must(http.StatusOK, c.admin(), "GET", "/v1/vulndb/status", nil).json(c.t, &st)
	return st
}

func feedSource(st vulndb.Status, name string) (vulndb.SourceStatus, bool) {
	for _, s := range st.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return vulndb.SourceStatus{}, false
}

// TestVulnDBFeedSchedule runs Central with a configured feed on a short
// interval: the first run imports it and matches stored images again, the
// next ones get 304 and change nothing, a failing feed records its error
// and keeps its data, and the schedule stops with Central.
func TestVulnDBFeedSchedule(t *testing.T) {
	srv := startFeedServer(t, shareddata.Path(t, "vulns", "alpine-secdb", "v3.4", "main.yaml"))
	c := start(t, t.TempDir(), func(cfg *Config) {
		cfg.VulnDBFeeds = []vulndb.Feed{{Name: "alpine-3.4", URL: srv.URL + "/v3.4/main.yaml?token=s3cret"}}
		cfg.VulnDBUpdateInterval = 200 * time.Millisecond
	})

	var imported vulndb.Status
	waitFor(t, "the feed to be imported", func() bool {
		imported = c.vulndbStatus()
		s, ok := feedSource(imported, "alpine-3.4")
		return ok && !s.LastImport.IsZero() && imported.Records > 0
	})
	if imported.Ecosystems["Alpine"] == 0 {
		t.Errorf("ecosystems after the feed = %v", imported.Ecosystems)
	}
	waitFor(t, "the stored images to be matched again", func() bool {
		return c.metric(`stockade_image_rescan_runs_total{trigger="vulndb"}`) >= 1
	})

	// Later runs send the validators and get 304: nothing changes.
	waitFor(t, "two not-modified runs", func() bool { return srv.notModified.Load() >= 2 })
	st := c.vulndbStatus()
	src, _ := feedSource(st, "alpine-3.4")
	first, _ := feedSource(imported, "alpine-3.4")
	if st.Records != imported.Records || !src.LastImport.Equal(first.LastImport) || src.LastError != "" {
		t.Errorf("after 304: records %d → %d, last import %v → %v, error %q", imported.Records, st.Records, first.LastImport, src.LastImport, src.LastError)
	}
	if n := srv.full.Load(); n != 1 {
		t.Errorf("full downloads = %d, want 1", n)
	}
	if n := c.metric(`stockade_vulndb_feed_updates_total{feed="alpine-3.4",result="not_modified"}`); n < 2 {
		t.Errorf("not-modified updates counted: %v", n)
	}
	if n := c.metric(`stockade_vulndb_feed_updates_total{feed="alpine-3.4",result="updated"}`); n != 1 {
		t.Errorf("updates counted: %v", n)
	}
	if ts := c.metric(`stockade_vulndb_feed_last_success_timestamp_seconds{feed="alpine-3.4"}`); ts < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last success = %v", ts)
	}
	rematches := c.metric(`stockade_image_rescan_runs_total{trigger="vulndb"}`)

	// The feed fails: its error is recorded, its data stays.
	srv.fail.Store(true)
	waitFor(t, "the failure to be recorded", func() bool {
		s, _ := feedSource(c.vulndbStatus(), "alpine-3.4")
		return s.LastError != ""
	})
	st = c.vulndbStatus()
	src, _ = feedSource(st, "alpine-3.4")
	if st.Records != imported.Records || !strings.Contains(src.LastError, "500") {
		t.Errorf("after a failure: records %d → %d, error %q", imported.Records, st.Records, src.LastError)
	}
	if n := c.metric(`stockade_vulndb_feed_updates_total{feed="alpine-3.4",result="error"}`); n < 1 {
		t.Errorf("failed updates counted: %v", n)
	}
	if n := c.metric(`stockade_image_rescan_runs_total{trigger="vulndb"}`); n != rematches {
		t.Errorf("runs that changed nothing matched the images again: %v → %v", rematches, n)
	}

	c.stop()
	requests := func() int64 { return srv.full.Load() + srv.notModified.Load() + srv.failed.Load() }
	before := requests()
	time.Sleep(500 * time.Millisecond)
	if after := requests(); after != before {
		t.Errorf("the feed was fetched after shutdown: %d requests → %d", before, after)
	}
	logs := c.logs.String()
	for _, want := range []string{"vulndb feed updates scheduled", "vulndb feed updated", "vulndb feed not modified", "vulndb feed update failed", "vulndb feed updates stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	if strings.Contains(logs, "s3cret") {
		t.Error("the logs show the feed URL's query string")
	}
}

// TestVulnDBFeedDisabled: with interval 0 a configured feed is never
// fetched.
func TestVulnDBFeedDisabled(t *testing.T) {
	srv := startFeedServer(t, shareddata.Path(t, "vulns", "alpine-secdb", "v3.4", "main.yaml"))
	c := start(t, t.TempDir(), func(cfg *Config) {
		cfg.VulnDBFeeds = []vulndb.Feed{{Name: "alpine-3.4", URL: srv.URL + "/main.yaml?token=s3cret"}}
	})
	time.Sleep(500 * time.Millisecond)
	if n := srv.full.Load() + srv.notModified.Load() + srv.failed.Load(); n != 0 {
		t.Errorf("feed fetched %d times with the interval 0", n)
	}
	if st := c.vulndbStatus(); st.Records != 0 || len(st.Sources) != 0 {
		t.Errorf("status = %+v", st)
	}
	c.stop()
	if !strings.Contains(c.logs.String(), "vulndb feed updates disabled") {
		t.Error("logs do not say feed updates are disabled")
	}
}
