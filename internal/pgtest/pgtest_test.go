package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func TestMain(m *testing.M) { Main(m) }

func TestNewDatabaseIsFreshAndWritable(t *testing.T) {
	ctx := context.Background()
	var dsns []string
	for range 2 {
		dsn := NewDatabase(t)
		dsns = append(dsns, dsn)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// A fresh database has no user tables, so this succeeds in each.
		if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INT PRIMARY KEY)`); err != nil {
			t.Fatalf("create table in %s: %v", dsn, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		var fsync string
		if err := db.QueryRowContext(ctx, `SHOW fsync`).Scan(&fsync); err != nil {
			t.Fatal(err)
		}
		if fsync != "off" {
			t.Errorf("fsync = %s, want off", fsync)
		}
	}
	if dsns[0] == dsns[1] {
		t.Errorf("two databases share the DSN %s", dsns[0])
	}
}

func TestDatabaseDroppedAfterTest(t *testing.T) {
	var dsn string
	t.Run("inner", func(t *testing.T) { dsn = NewDatabase(t) })
	if dsn == "" { // the inner test skipped
		t.Skip(NotInstalled)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(context.Background()); err == nil {
		t.Fatalf("database %s still exists after its test ended", dsn)
	}
}

func TestSharedClusterOnUnixSocket(t *testing.T) {
	NewDatabase(t) // starts the shared cluster or skips
	shared.mu.Lock()
	c := shared.c
	shared.mu.Unlock()
	if _, err := os.Stat(filepath.Join(c.SocketDir(), ".s.PGSQL."+strconv.Itoa(c.Port()))); err != nil {
		t.Errorf("no Unix socket: %v", err)
	}
}

func TestFindBinariesMissing(t *testing.T) {
	_, _, err := findBinaries(filepath.Join(t.TempDir(), "*", "bin"))
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
	if err.Error() != "PostgreSQL not installed: apt-get install -y postgresql" {
		t.Errorf("message = %q", err)
	}
}

func TestFindBinariesPicksNewest(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9", "15", "13"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"initdb", "postgres"} {
			if err := os.WriteFile(filepath.Join(bin, f), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	// 16 lacks postgres: not a candidate.
	if err := os.MkdirAll(filepath.Join(root, "16", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, v, err := findBinaries(filepath.Join(root, "*", "bin"))
	if err != nil {
		t.Fatal(err)
	}
	if v != "15" || dir != filepath.Join(root, "15", "bin") {
		t.Errorf("got %s (%s), want version 15", dir, v)
	}
}

func TestDBNameSafe(t *testing.T) {
	for in, want := range map[string]string{
		"TestStore/postgres/Policies": "teststore_postgres_policies",
		"A--b__c":                     "a_b_c",
		"Test/ÄÖ x":                   "test_x",
	} {
		if got := dbNameSafe(in); got != want {
			t.Errorf("dbNameSafe(%q) = %q, want %q", in, got, want)
		}
	}
	long := dbNameSafe("TestAVeryLongNameThatGoesOnAndOnAndOnForeverAndEver/sub")
	if len(long) > 40 {
		t.Errorf("len = %d, want <= 40", len(long))
	}
}
