package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Errors callers classify with errors.Is. The store wraps them with the object
// they concern: fmt.Errorf("policy %q: %w", id, ErrNotFound).
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrInvalid marks a record or query the store refuses before touching
	// the database (empty id, text PostgreSQL cannot hold, unknown sort key…).
	ErrInvalid = errors.New("invalid")
)

// SQLiteFile is the database file name Open uses in the data directory.
const SQLiteFile = "stockade.db"

// sqliteBusyTimeout is how long a SQLite connection waits for a lock held by
// another process before giving up.
const sqliteBusyTimeout = 10 * time.Second

// Store is Central's database. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	d   dialect
	log *slog.Logger
	// writeSlot serializes write transactions on SQLite, where only one
	// writer can hold the database anyway: queueing here is fair and
	// cancellable, whereas SQLite's busy handler polls with sleeps. It is
	// nil on PostgreSQL, which handles concurrent writers itself.
	writeSlot chan struct{}
	// summaries caches alert summaries until alerts change (alert_cache.go).
	summaries summaryCache
	// writes counts committed write transactions other than bookkeeping
	// ones (Tx.bookkeeping: sessions, API tokens, the notifier outbox,
	// init bundles, cluster contact);
	// caches computed from several tables (risk.go) are valid while it is
	// unchanged.
	writes atomic.Uint64
	// risks caches every deployment's risk, ranked (risk.go).
	risks riskCache
}

// Open opens (and migrates) the store. An empty dsn selects SQLite in the file
// stockade.db under dataDir (WAL mode, busy timeout, foreign keys on, file mode
// 0600); a "postgres://" or "postgresql://" URL selects PostgreSQL.
func Open(ctx context.Context, dsn, dataDir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		s   *Store
		err error
	)
	switch {
	case dsn == "":
		s, err = openSQLite(ctx, dataDir, log)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s, err = openPostgres(ctx, dsn, log)
	default:
		// The DSN may carry a password: name only its scheme.
		scheme, _, _ := strings.Cut(dsn, ":")
		return nil, fmt.Errorf("open store: unsupported database %q: want empty (SQLite) or postgres://…: %w", scheme, ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	ms, err := loadMigrations(migrationFiles)
	if err == nil {
		err = s.migrate(ctx, ms)
	}
	if err == nil {
		err = s.reindexVulns(ctx)
	}
	if err != nil {
		_ = s.db.Close() // the migration error is the one to report
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

func openSQLite(ctx context.Context, dataDir string, log *slog.Logger) (*Store, error) {
	if dataDir == "" {
		return nil, fmt.Errorf("open sqlite store: data directory not set: %w", ErrInvalid)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dataDir, SQLiteFile))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	// Create the file ourselves so it is private from the start; SQLite gives
	// the -wal and -shm files the same mode as the database file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}

	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(sqliteBusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "NORMAL") // durable across process crashes in WAL mode
	q.Set("_txlock", "immediate")   // writers take the lock at BEGIN, so they never deadlock on upgrade
	// Each connection keeps up to 64 MiB of pages in its cache and reads the
	// file through a memory map of up to 1 GiB, rather than a read system
	// call per page: counting and sorting tens of thousands of alerts
	// touches thousands of pages.
	q.Add("_pragma", "cache_size(-65536)")
	q.Add("_pragma", "mmap_size(1073741824)")
	u := url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close() // the ping error is the one to report
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	log.Info("store opened", "backend", "sqlite", "path", path)
	return &Store{db: db, d: sqliteDialect(), log: log, writeSlot: make(chan struct{}, 1)}, nil
}

func openPostgres(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx errors never echo the password.
		return nil, fmt.Errorf("open postgres store: parse dsn: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close() // the ping error is the one to report
		return nil, fmt.Errorf("open postgres store %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	log.Info("store opened", "backend", "postgres", "host", cfg.Host, "port", cfg.Port, "database", cfg.Database)
	return &Store{db: db, d: postgresDialect(), log: log}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Backend names the database behind the store: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.name }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s store: %w", s.d.name, err)
	}
	return nil
}

// Tx is one write transaction, handed to the function given to InTx. Its
// methods are the store's single-record operations plus raw SQL for domains
// that keep their own tables; all of them take effect only if fn returns nil.
type Tx struct {
	tx *sql.Tx
	d  dialect
	// alertsChanged records a write to alerts: the cached summaries are
	// dropped on commit (alert_cache.go).
	alertsChanged bool
	// bookkeeping marks a transaction that writes only tables no cached
	// result reads (sessions, API tokens, the notifier outbox, init
	// bundles, clusters' last contact): its commit keeps the caches that
	// Store.writes guards. Signing in must not cost the next dashboard its
	// risk ranking.
	bookkeeping bool
}

// InTx runs fn in one transaction: committed if fn returns nil, rolled back
// otherwise (and if fn panics). Inside fn, use tx and not the Store's write
// methods: on SQLite those would wait for the transaction fn is running in.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return s.inTx(ctx, false, fn)
}

// inBookkeepingTx is InTx for a transaction that writes only bookkeeping
// tables (Tx.bookkeeping).
func (s *Store) inBookkeepingTx(ctx context.Context, fn func(tx *Tx) error) error {
	return s.inTx(ctx, true, fn)
}

func (s *Store) inTx(ctx context.Context, bookkeeping bool, fn func(tx *Tx) error) (err error) {
	if s.writeSlot != nil {
		select {
		case s.writeSlot <- struct{}{}:
			defer func() { <-s.writeSlot }()
		case <-ctx.Done():
			return fmt.Errorf("begin transaction: %w", ctx.Err())
		}
	}
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			// The rollback error adds nothing to fn's error or the panic.
			_ = sqlTx.Rollback()
		}
	}()
	tx := &Tx{tx: sqlTx, d: s.d, bookkeeping: bookkeeping}
	if err := fn(tx); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	if !tx.bookkeeping || tx.alertsChanged {
		s.writes.Add(1)
	}
	if tx.alertsChanged {
		s.summaries.invalidate()
	}
	return nil
}

// read runs fn in a read-only transaction so multi-query reads (a page and its
// total) see one snapshot.
func (s *Store) read(ctx context.Context, fn func(q querier) error) error {
	sqlTx, err := s.db.BeginTx(ctx, s.d.readOnly())
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer sqlTx.Rollback() //nolint:errcheck // read-only: nothing to lose
	return fn(querier{q: sqlTx, d: s.d})
}

// ExecContext runs a statement written with `?` placeholders inside the
// transaction.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, tx.d.rebind(query), args...)
}

// QueryContext runs a query written with `?` placeholders inside the
// transaction.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, tx.d.rebind(query), args...)
}

// QueryRowContext runs a single-row query written with `?` placeholders inside
// the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.d.rebind(query), args...)
}

// Backend names the database the transaction runs on, for domains whose SQL
// must differ.
func (tx *Tx) Backend() string { return tx.d.name }

func (tx *Tx) q() querier { return querier{q: tx.tx, d: tx.d} }

// sqlRunner is what *sql.DB and *sql.Tx share.
type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// querier runs `?`-placeholder queries on a database or transaction. The
// domain operations are written once on it.
type querier struct {
	q sqlRunner
	d dialect
}

func (q querier) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.q.ExecContext(ctx, q.d.rebind(query), args...)
}

func (q querier) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.q.QueryContext(ctx, q.d.rebind(query), args...)
}

func (q querier) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return q.q.QueryRowContext(ctx, q.d.rebind(query), args...)
}

// direct is a querier outside any transaction, for single-statement reads.
func (s *Store) direct() querier { return querier{q: s.db, d: s.d} }

// mustAffect turns "no row changed" into ErrNotFound for what.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: rows affected: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// Times are stored as unix nanoseconds, which cover 1678 to 2262.
var (
	minTime = time.Unix(0, -1<<63).UTC()
	maxTime = time.Unix(0, 1<<63-1).UTC()
)

// nanos converts t for storage; the zero time is refused (callers substitute
// "now" or use a NULL column before getting here).
func nanos(field string, t time.Time) (int64, error) {
	if t.Before(minTime) || t.After(maxTime) {
		return 0, fmt.Errorf("%s %s: outside the storable range %d–%d: %w", field, t.Format(time.RFC3339), minTime.Year(), maxTime.Year(), ErrInvalid)
	}
	return t.UnixNano(), nil
}

// nullNanos stores a nil time as NULL.
func nullNanos(field string, t *time.Time) (sql.NullInt64, error) {
	if t == nil {
		return sql.NullInt64{}, nil
	}
	n, err := nanos(field, *t)
	if err != nil {
		return sql.NullInt64{}, err
	}
	return sql.NullInt64{Int64: n, Valid: true}, nil
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNullNanos(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

// Size bounds protect the database from hostile input reaching it through the
// API. maxKeyLen applies to ids, names and everything indexed or filtered on:
// it keeps entries well inside PostgreSQL's B-tree limit (about 2.7 kB), so a
// value one backend indexes the other does too. maxTextLen bounds other text
// (setting values), maxDocLen the JSON documents.
const (
	maxKeyLen  = 1 << 10
	maxTextLen = 64 << 10
	maxDocLen  = 16 << 20
)

// checkKey is checkText for ids, names and filtered fields.
func checkKey(field, v string, required bool) error {
	if len(v) > maxKeyLen {
		return fmt.Errorf("%s is %d bytes, longer than %d: %w", field, len(v), maxKeyLen, ErrInvalid)
	}
	return checkText(field, v, required)
}

// checkText refuses text PostgreSQL cannot store (invalid UTF-8, NUL) so both
// backends accept the same values. required also refuses "".
func checkText(field, v string, required bool) error {
	switch {
	case required && v == "":
		return fmt.Errorf("%s is empty: %w", field, ErrInvalid)
	case len(v) > maxTextLen:
		return fmt.Errorf("%s is %d bytes, longer than %d: %w", field, len(v), maxTextLen, ErrInvalid)
	case !utf8.ValidString(v):
		return fmt.Errorf("%s is not valid UTF-8: %w", field, ErrInvalid)
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("%s contains a NUL byte: %w", field, ErrInvalid)
	}
	return nil
}

// checkDoc refuses an empty, oversized or malformed JSON document.
func checkDoc(field string, doc []byte) error {
	switch {
	case len(doc) == 0:
		return fmt.Errorf("%s is empty: %w", field, ErrInvalid)
	case len(doc) > maxDocLen:
		return fmt.Errorf("%s is %d bytes, longer than %d: %w", field, len(doc), maxDocLen, ErrInvalid)
	case !json.Valid(doc):
		return fmt.Errorf("%s is not valid JSON: %w", field, ErrInvalid)
	}
	return nil
}

// fold is the case-insensitive key of a name or search text.
func fold(s string) string { return strings.ToLower(s) }

// now is the store's clock: UTC, without the monotonic reading.
func now() time.Time { return time.Now().UTC().Round(0) }
