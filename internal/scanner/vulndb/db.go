package vulndb

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/stockade-dev/stockade/internal/scanner/vulnfeed"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// FileName is the database's file name in a data or cache directory.
const FileName = vulnfeed.FileName

// DefaultPath is where the CLI keeps its database when --vulndb is not
// given: $XDG_CACHE_HOME/stockade/vulndb.sqlite, else
// ~/.cache/stockade/vulndb.sqlite.
func DefaultPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("default vulndb path: %w", err)
	}
	return filepath.Join(dir, "stockade", FileName), nil
}

// DB is the vulnerability database: one SQLite file (Open) or the vulndb
// schema of a PostgreSQL database (OpenPostgres), with the same tables,
// queries and behaviour. It is safe for concurrent use; imports are
// serialized, and readers see the data before an import or after it,
// never part of one.
type DB struct {
	db  *sql.DB
	dia dialect
	// path is the file's absolute path, or for PostgreSQL the server and
	// database without credentials.
	path string
	log  *slog.Logger

	// importMu serializes imports, so two imports never race on the
	// "is the stored record older?" check.
	importMu sync.Mutex

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt

	cache *recordCache
}

// Open opens (creating it if needed) the database file at path and brings
// its schema up to date.
func Open(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	if path == "" {
		return nil, errors.New("open vulndb: no path given")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open vulndb %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open vulndb %s: %w", abs, err)
	}
	// Create the file ourselves so that it is private from the start; SQLite
	// gives the -wal and -shm files the same mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open vulndb %s: %w", abs, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open vulndb %s: %w", abs, err)
	}

	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// 32 MiB of page cache per connection: imports rewrite records whose
	// pages were just read, lookups touch the same index pages again.
	q.Add("_pragma", "cache_size(-32768)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", OmitHost: true, Path: abs, RawQuery: q.Encode()}
	sdb, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("open vulndb %s: %w", abs, err)
	}
	sdb.SetMaxOpenConns(4)
	sdb.SetMaxIdleConns(4)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	return newDB(ctx, sdb, sqliteDialect(), abs, log)
}

// OpenPostgres opens the vulnerability database in the PostgreSQL database
// at dsn (postgres://user:password@host:port/database?sslmode=…, or the
// key=value form), creating the schema vulndb (see Schema) unless it exists
// and bringing its tables up to date. The role needs CREATE on the database
// unless an administrator created the schema for it. The connections'
// search_path is the vulndb schema, so a DSN Central's store uses works
// unchanged.
func OpenPostgres(ctx context.Context, dsn string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors never echo the password.
		return nil, fmt.Errorf("open vulndb postgres: parse dsn: %w", err)
	}
	cfg.RuntimeParams["search_path"] = Schema
	where := (&url.URL{Scheme: "postgres", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), Path: "/" + cfg.Database}).String()
	sdb := stdlib.OpenDB(*cfg)
	sdb.SetMaxOpenConns(8)
	sdb.SetMaxIdleConns(8)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	if err := sdb.PingContext(ctx); err != nil {
		_ = sdb.Close() // the ping error is the one to report
		return nil, fmt.Errorf("open vulndb %s: %w", where, err)
	}
	return newDB(ctx, sdb, postgresDialect(), where, log)
}

// newDB migrates the opened database; it closes sdb on error.
func newDB(ctx context.Context, sdb *sql.DB, dia dialect, where string, log *slog.Logger) (*DB, error) {
	d := &DB{db: sdb, dia: dia, path: where, log: log, stmts: map[string]*sql.Stmt{}, cache: newRecordCache(8192)}
	if err := d.migrate(ctx); err != nil {
		_ = sdb.Close() // the migration error is the one to report
		return nil, fmt.Errorf("open vulndb %s: %w", where, err)
	}
	log.Debug("vulndb opened", "backend", dia.name, "path", where)
	return d, nil
}

// Path is the absolute path of the database file; for PostgreSQL,
// postgres://host:port/database (no credentials, no options).
func (d *DB) Path() string { return d.path }

// Backend names the database behind d: "sqlite" or "postgres".
func (d *DB) Backend() string { return d.dia.name }

// Close closes the database.
func (d *DB) Close() error {
	d.stmtMu.Lock()
	for _, s := range d.stmts {
		_ = s.Close() // closing the database closes them anyway
	}
	d.stmts = map[string]*sql.Stmt{}
	d.stmtMu.Unlock()
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("close vulndb %s: %w", d.path, err)
	}
	return nil
}

// stmt returns the prepared statement for query, preparing it once.
func (d *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	if s, ok := d.stmts[query]; ok {
		return s, nil
	}
	s, err := d.db.PrepareContext(ctx, d.dia.rewrite(query)) //nolint:sqlclosecheck // cached; Close closes it
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	d.stmts[query] = s
	return s, nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", e.Name())
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		body, err := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return out, nil
}

// migrate applies the embedded migrations newer than the database's
// schema version in one transaction, with the version bumps. Two processes
// opening a new database migrate one after the other: SQLite's transaction
// takes the write lock at BEGIN, PostgreSQL's takes an advisory lock first.
func (d *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit; otherwise the error returned is the one to report
	if err := d.dia.prepareMigration(ctx, tx); err != nil {
		return err
	}
	current, err := d.dia.schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("schema version %d is newer than this program knows (%d)", current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, d.dia.schema(m.sql)); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := d.dia.setSchemaVersion(ctx, tx, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	for _, m := range ms[current:] {
		d.log.Info("vulndb schema migrated", "backend", d.dia.name, "version", m.version, "path", d.path)
	}
	return nil
}

// formatTime stores times as UTC RFC 3339; the zero time as "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
