package vulndb

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

func TestOpenMigrations(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		where := be.fresh(t)
		if be.name == "sqlite" {
			where = filepath.Join(filepath.Dir(where), "sub", "dir", FileName)
		}
		db, err := be.open(ctx, where, nil)
		if err != nil {
			t.Fatal(err)
		}
		if db.Backend() != be.name {
			t.Errorf("backend %q", db.Backend())
		}
		if _, err := db.Import(ctx, dataPath(t, "vulns/ghsa-sample/GHSA-jfh8-c2jp-5v3q.json")); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if be.name == "sqlite" {
			st, err := os.Stat(where)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("database file mode %v, want 0600", st.Mode().Perm())
			}
		}
		ms, err := migrations()
		if err != nil {
			t.Fatal(err)
		}

		// Reopening keeps the data and applies nothing twice.
		db, err = be.open(ctx, where, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if v, err := db.dia.schemaVersion(ctx, db.db); err != nil || v != len(ms) {
			t.Errorf("schema version %d (%v), want %d", v, err, len(ms))
		}
		if _, ok, _ := db.Get(ctx, "GHSA-jfh8-c2jp-5v3q"); !ok {
			t.Error("record lost on reopen")
		}

		// A database from a newer program is refused, not damaged.
		if err := db.dia.setSchemaVersion(ctx, db.db, migration{version: 99, name: "0099_future.sql"}); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := be.open(ctx, where, nil); err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("open of a newer schema: %v", err)
		}
	})
}

// TestMigrationsExpand: every token of the migrations is known to both
// dialects, and SQLite's expansion keeps the clauses it had.
func TestMigrationsExpand(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, dia := range []dialect{sqliteDialect(), postgresDialect()} {
		for _, m := range ms {
			if got := dia.schema(m.sql); strings.Contains(got, "${") {
				t.Errorf("%s %s: unexpanded token in %s", dia.name, m.name, got)
			}
		}
	}
	sq := sqliteDialect().schema(ms[0].sql)
	for _, want := range []string{"hash      BLOB NOT NULL", ") WITHOUT ROWID;", "score    REAL NOT NULL", "id        TEXT NOT NULL PRIMARY KEY"} {
		if !strings.Contains(sq, want) {
			t.Errorf("sqlite schema lacks %q", want)
		}
	}
	pg := postgresDialect().schema(ms[0].sql)
	for _, want := range []string{"hash      BYTEA NOT NULL", "score    DOUBLE PRECISION NOT NULL", `id        TEXT COLLATE "C" NOT NULL PRIMARY KEY`} {
		if !strings.Contains(pg, want) {
			t.Errorf("postgres schema lacks %q", want)
		}
	}
	if strings.Contains(pg, ") WITHOUT ROWID;") {
		t.Error("postgres schema has WITHOUT ROWID")
	}
}

func TestRewrite(t *testing.T) {
	q := `SELECT a FROM t WHERE b = ? AND c IN (${LIST}) AND d IN (?, '')`
	if got, want := sqliteDialect().rewrite(q), `SELECT a FROM t WHERE b = ? AND c IN (SELECT value FROM json_each(?)) AND d IN (?, '')`; got != want {
		t.Errorf("sqlite: %s", got)
	}
	if got, want := postgresDialect().rewrite(q), `SELECT a FROM t WHERE b = $1 AND c IN (SELECT json_array_elements_text(CAST($2 AS text)::json)) AND d IN ($3, '')`; got != want {
		t.Errorf("postgres: %s", got)
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
	eachBackend(t, func(t *testing.T, be backend) { testLookupsDuringImport(t, be) })
}

func testLookupsDuringImport(t *testing.T, be backend) {
	ctx := context.Background()
	db := be.openDB(t)
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
