package feeds

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
	"github.com/stockade-dev/stockade/internal/shareddata"
)

type observed struct {
	mu      sync.Mutex
	results []string
}

func (o *observed) ObserveFeedUpdate(feed, result string, _ time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.results = append(o.results, feed+":"+result)
}

func (o *observed) all() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.results, " ")
}

func openDB(t *testing.T) *vulndb.DB {
	t.Helper()
	db, err := vulndb.Open(context.Background(), filepath.Join(t.TempDir(), vulndb.FileName), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestRunOnce updates a real database from a local server: the first run
// imports and reports a change, the second gets 304 and does not, a failing
// feed is observed as an error and the good one goes on.
func TestRunOnce(t *testing.T) {
	data, err := os.ReadFile(shareddata.Path(t, "vulns", "ghsa-sample", "GHSA-j8r2-6x86-q33q.json"))
	if err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path == "/broken.json" {
			http.Error(w, "gone", http.StatusBadGateway)
			return
		}
		w.Header().Set("ETag", `"ghsa-1"`)
		http.ServeContent(w, r, "ghsa.json", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), bytes.NewReader(data))
	}))
	defer srv.Close()

	db := openDB(t)
	obs := &observed{}
	var changes atomic.Int64
	var logs bytes.Buffer
	s := New(Config{
		Feeds:    []vulndb.Feed{{Name: "ghsa", URL: srv.URL + "/ghsa.json?token=abc"}, {Name: "broken", URL: srv.URL + "/broken.json?token=abc"}},
		Interval: time.Hour,
	}, db, obs, func(context.Context) { changes.Add(1) }, slog.New(slog.NewTextHandler(&logs, nil)))
	if !s.RunOnce(context.Background()) {
		t.Error("first run: no change reported")
	}
	if s.RunOnce(context.Background()) {
		t.Error("second run (304): change reported")
	}
	if n := changes.Load(); n != 1 {
		t.Errorf("changed called %d times, want 1", n)
	}
	if got, want := obs.all(), "ghsa:updated broken:error ghsa:not_modified broken:error"; got != want {
		t.Errorf("observed %q, want %q", got, want)
	}
	st, err := db.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 1 {
		t.Errorf("records = %d, want 1", st.Records)
	}
	for _, src := range st.Sources {
		if src.Name == "broken" && !strings.Contains(src.LastError, "502") {
			t.Errorf("broken feed's error = %q", src.LastError)
		}
	}
	if strings.Contains(logs.String(), "token=abc") || !strings.Contains(logs.String(), "added=1") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

func TestRunDisabledAndStops(t *testing.T) {
	db := openDB(t)
	feed := []vulndb.Feed{{Name: "x", URL: "http://127.0.0.1:1/x.json"}}
	for _, cfg := range []Config{{Interval: time.Hour}, {Feeds: feed}} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			New(cfg, db, nil, nil, slog.New(slog.DiscardHandler)).Run(context.Background())
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%+v: Run did not return though disabled", cfg)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		New(Config{Feeds: feed, Interval: time.Hour}, db, nil, nil, slog.New(slog.DiscardHandler)).Run(ctx)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

func TestJitter(t *testing.T) {
	for range 100 {
		if j := jitter(time.Second); j < time.Second || j > 1100*time.Millisecond {
			t.Fatalf("jitter(1s) = %v", j)
		}
	}
	if j := jitter(0); j != 0 {
		t.Errorf("jitter(0) = %v", j)
	}
}
