package vulndb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/stockade-dev/stockade/internal/pgtest"
	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// TestImportBatches: an import larger than a write batch, holding one
// record three times (in the first batch, twice, and again in the last),
// decides each copy against the one before it, as record-at-a-time
// writing would, and leaves only the last newer copy's index rows.
func TestImportBatches(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		rec := func(id, pkg string, mod time.Time, summary string) string {
			b, err := json.Marshal(Record{ID: id, Modified: mod, Summary: summary, Aliases: []string{"CVE-" + id},
				Affected: []Affected{{Package: Package{Ecosystem: "Go", Name: pkg}}}})
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		var lines []string
		lines = append(lines, rec("DUP-1", "example.com/first", base, "first"))
		lines = append(lines, rec("DUP-1", "example.com/older", base.Add(-time.Hour), "older"))
		lines = append(lines, rec("DUP-1", "example.com/second", base.Add(time.Hour), "second"))
		n := batchRecords + 50
		for i := range n {
			lines = append(lines, rec(fmt.Sprintf("GEN-%d", i), "example.com/gen", base, "generated"))
		}
		lines = append(lines, rec("DUP-1", "example.com/third", base.Add(2*time.Hour), "third"))
		p := filepath.Join(t.TempDir(), "batches.jsonl")
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := db.Import(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if o := res.Source("osv"); o.Added != n+1 || o.Updated != 0 || o.Unchanged != 0 {
			t.Errorf("first import: %+v", o)
		}
		got, ok, err := db.Get(ctx, "DUP-1")
		if err != nil || !ok || got.Summary != "third" {
			t.Fatalf("DUP-1: %q %v %v", got.Summary, ok, err)
		}
		for pkg, want := range map[string]int{"example.com/first": 0, "example.com/second": 0, "example.com/third": 1, "example.com/gen": n} {
			recs, err := db.Affecting(ctx, catalog.Go, "", pkg)
			if err != nil || len(recs) != want {
				t.Errorf("Affecting %s: %d records (%v), want %d", pkg, len(recs), err, want)
			}
		}
		bulk, err := db.BulkAffecting(ctx, catalog.Go, "", []string{"example.com/third", "example.com/gen", "example.com/none"})
		if err != nil || len(bulk["example.com/third"]) != 1 || len(bulk["example.com/gen"]) != n || len(bulk) != 2 {
			t.Errorf("BulkAffecting: %d, %d, %d keys, %v", len(bulk["example.com/third"]), len(bulk["example.com/gen"]), len(bulk), err)
		}
		if ids, err := db.IDsForAlias(ctx, "CVE-DUP-1"); err != nil || len(ids) != 1 {
			t.Errorf("alias: %v %v", ids, err)
		}

		// Again: everything is as new as what is stored.
		res, err = db.Import(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if o := res.Source("osv"); o.Unchanged != n+1 || o.Added+o.Updated != 0 {
			t.Errorf("second import: %+v", o)
		}
		st, err := db.Status(ctx)
		if err != nil || st.Records != n+1 || st.Ecosystems["Go"] != n+1 || st.RecordSources["osv"] != n+1 {
			t.Errorf("status %+v %v", st, err)
		}
	})
}

// TestLookupsOfUnstorableText: names no import can store (a NUL byte,
// invalid UTF-8, as a hostile image's package database may hold) match
// nothing on either backend, and the good names beside them still match.
func TestLookupsOfUnstorableText(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		if _, err := db.Import(ctx, trackerFixture); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"glibc\x00", "gl\xffibc"} {
			if recs, err := db.Affecting(ctx, catalog.Debian, "12", bad); err != nil || len(recs) != 0 {
				t.Errorf("Affecting(%q): %d, %v", bad, len(recs), err)
			}
			if recs, err := db.Affecting(ctx, catalog.Debian, bad, "glibc"); err != nil || len(recs) != 0 {
				t.Errorf("Affecting(release %q): %d, %v", bad, len(recs), err)
			}
			got, err := db.BulkAffecting(ctx, catalog.Debian, "12", []string{bad, "glibc"})
			if err != nil || len(got) != 1 || len(got["glibc"]) == 0 {
				t.Errorf("BulkAffecting(%q, glibc): %d keys, %v", bad, len(got), err)
			}
			if _, ok, err := db.Get(ctx, bad); ok || err != nil {
				t.Errorf("Get(%q): %v %v", bad, ok, err)
			}
			if ids, err := db.IDsForAlias(ctx, bad); len(ids) != 0 || err != nil {
				t.Errorf("IDsForAlias(%q): %v %v", bad, ids, err)
			}
			if m, err := db.NVD(ctx, []string{bad}); len(m) != 0 || err != nil {
				t.Errorf("NVD(%q): %v %v", bad, m, err)
			}
		}
	})
}

// TestTwoProcesses: two handles on one database, as two processes would
// hold, migrate it together and import into it at the same time; imports
// take turns and both land.
func TestTwoProcesses(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		where := be.fresh(t)
		dbs := make([]*DB, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range dbs {
			wg.Go(func() { dbs[i], errs[i] = be.open(ctx, where, slog.New(slog.DiscardHandler)) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("open %d: %v", i, err)
			}
			t.Cleanup(func() {
				if err := dbs[i].Close(); err != nil {
					t.Error(err)
				}
			})
		}
		inputs := []string{dataPath(t, goVulnDB), trackerFixture}
		for i := range dbs {
			wg.Go(func() { _, errs[i] = dbs[i].Import(ctx, inputs[i]) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("import %d: %v", i, err)
			}
		}
		for i, db := range dbs {
			st, err := db.Status(ctx)
			if err != nil || len(st.Sources) != 2 || st.Ecosystems["Go"] < 100 || st.Ecosystems["Debian"] < 100 {
				t.Errorf("handle %d: status %+v %v", i, st, err)
			}
		}
	})
}

// TestPostgresSchema: the tables live in the vulndb schema, beside tables
// of the same names in public (Central's), the DSN's own search_path does
// not matter, Path shows no credentials, and a role that may not create
// schemas can use one an administrator made for it.
func TestPostgresSchema(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	admin := openAdmin(t, dsn)
	if _, err := admin.ExecContext(ctx, `CREATE TABLE public.records (id TEXT PRIMARY KEY, other INTEGER)`); err != nil {
		t.Fatal(err)
	}

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "public")
	u.RawQuery = q.Encode()
	u.User = url.UserPassword("postgres", "not-a-secret-but-hidden")
	db, err := OpenPostgres(ctx, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(db.Path(), "hidden") || strings.Contains(db.Path(), "postgres@") || !strings.HasPrefix(db.Path(), "postgres://127.0.0.1:") {
		t.Errorf("Path %q", db.Path())
	}
	if _, err := db.Import(ctx, trackerFixture); err != nil {
		t.Fatal(err)
	}
	st, err := db.Status(ctx)
	if err != nil || st.Records == 0 || st.Path != db.Path() {
		t.Fatalf("status %+v %v", st, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	tables := stringsOf(t, admin, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, Schema)
	if got, want := strings.Join(tables, " "), "affected aliases nvd_cvss records schema_migrations sources"; got != want {
		t.Errorf("tables in %s: %s, want %s", Schema, got, want)
	}
	var public int
	if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM public.records`).Scan(&public); err != nil || public != 0 {
		t.Errorf("public.records: %d rows, %v", public, err)
	}

	// A role without CREATE on the database, in a database whose schema an
	// administrator created for it.
	dsn2 := pgtest.NewDatabase(t)
	admin2 := openAdmin(t, dsn2)
	role := "vulndb_" + strings.ReplaceAll(strings.TrimPrefix(mustURL(t, dsn2).Path, "/"), "-", "_")
	for _, stmt := range []string{
		`CREATE ROLE ` + pgx.Identifier{role}.Sanitize() + ` LOGIN`,
		`CREATE SCHEMA ` + Schema + ` AUTHORIZATION ` + pgx.Identifier{role}.Sanitize(),
	} {
		if _, err := admin2.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	// The role stays: roles belong to the cluster, which is the test
	// binary's own and goes when it exits.
	u2 := mustURL(t, dsn2)
	u2.User = url.User(role)
	db2, err := OpenPostgres(ctx, u2.String(), nil)
	if err != nil {
		t.Fatalf("open as %s: %v", role, err)
	}
	if _, err := db2.Import(ctx, dataPath(t, "vulns/ghsa-sample/GHSA-jfh8-c2jp-5v3q.json")); err != nil {
		t.Fatal(err)
	}
	if err := db2.Close(); err != nil {
		t.Fatal(err)
	}
	var canCreate bool
	if err := admin2.QueryRowContext(ctx, `SELECT has_database_privilege($1, current_database(), 'CREATE')`, role).Scan(&canCreate); err != nil || canCreate {
		t.Errorf("role %s may create schemas (%v): the test proves nothing", role, err)
	}
}

func mustURL(t *testing.T, dsn string) *url.URL {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// openAdmin opens a plain connection pool to dsn, closed when the test
// ends.
func openAdmin(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// stringsOf runs a query of one text column.
func stringsOf(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
