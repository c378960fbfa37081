package vulndb

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

func TestOpenMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", FileName)
	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Import(ctx, dataPath(t, "vulns/ghsa-sample/GHSA-jfh8-c2jp-5v3q.json")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("database file mode %v, want 0600", st.Mode().Perm())
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}

	// Reopening keeps the data and applies nothing twice.
	db, err = Open(ctx, path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != len(ms) {
		t.Errorf("user_version %d (%v), want %d", v, err, len(ms))
	}
	if _, ok, _ := db.Get(ctx, "GHSA-jfh8-c2jp-5v3q"); !ok {
		t.Error("record lost on reopen")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A file from a newer program is refused, not damaged.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := Open(ctx, path, nil); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("open of a newer schema: %v", err)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	if p, err := DefaultPath(); err != nil || p != "/x/cache/stockade/vulndb.sqlite" {
		t.Errorf("with XDG_CACHE_HOME: %q %v", p, err)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if p, err := DefaultPath(); err != nil || p != "/home/u/.cache/stockade/vulndb.sqlite" {
		t.Errorf("without: %q %v", p, err)
	}
}

// TestLookupsDuringImport: readers see the old data or the new, never a
// half-written import, and are not blocked by it.
func TestLookupsDuringImport(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if _, err := db.Import(ctx, trackerFixture); err != nil {
		t.Fatal(err)
	}
	before, err := db.Affecting(ctx, catalog.Debian, "12", "glibc")
	if err != nil || len(before) == 0 {
		t.Fatal(len(before), err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := db.Affecting(ctx, catalog.Debian, "12", "glibc")
			if err != nil || len(got) != len(before) {
				t.Errorf("lookup during import: %d records, %v", len(got), err)
				return
			}
			if n, err := db.Affecting(ctx, catalog.Go, "", "stdlib"); err != nil || (len(n) != 0 && len(n) < 100) {
				t.Errorf("stdlib during import: %d records, %v", len(n), err)
				return
			}
		}
	}()
	if _, err := db.Import(ctx, dataPath(t, goVulnDB)); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
}
