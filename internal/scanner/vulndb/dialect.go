package vulndb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dialect is everything that differs between SQLite and PostgreSQL. Queries
// are written once, with `?` placeholders and the ${LIST} token; rewrite
// turns them into the backend's form. Migrations are written once with the
// ${…} type tokens that schema expands.
type dialect struct {
	name string // "sqlite" or "postgres"
	// numbered placeholders ($1, $2, …) instead of `?`.
	numbered bool
	// list is a subquery yielding the strings of the JSON array bound to
	// its one `?`: ${LIST} in queries.
	list string
	// types and clauses of the schema: ${BLOB}, ${REAL}, ${BYTEORDER},
	// ${WITHOUT_ROWID}.
	schemaTokens *strings.Replacer
	// lock, when set, is run first in migration and import transactions so
	// that two processes sharing the database take turns. SQLite needs none:
	// its write transactions begin with BEGIN IMMEDIATE.
	lock string
	// readOnly are the options of transactions that only read.
	readOnly *sql.TxOptions
}

// advisoryLockKey names the vulnerability database's lock among
// PostgreSQL advisory locks ("vulndb"); Central's store uses another key.
const advisoryLockKey = 0x76756c6e6462

// Schema is the PostgreSQL schema holding the vulnerability database's
// tables, so they never meet Central's.
const Schema = "vulndb"

func sqliteDialect() dialect {
	return dialect{
		name: "sqlite",
		list: "SELECT value FROM json_each(?)",
		schemaTokens: strings.NewReplacer(
			"${BLOB}", "BLOB",
			"${REAL}", "REAL",
			"${BYTEORDER}", "",
			"${WITHOUT_ROWID}", " WITHOUT ROWID",
		),
		// A deferred transaction: a consistent snapshot without the write
		// lock.
		readOnly: &sql.TxOptions{ReadOnly: true},
	}
}

func postgresDialect() dialect {
	return dialect{
		name:     "postgres",
		numbered: true,
		list:     "SELECT json_array_elements_text(CAST(? AS text)::json)",
		schemaTokens: strings.NewReplacer(
			"${BLOB}", "BYTEA",
			// REAL is a 4-byte float in PostgreSQL: 9.8 would read back
			// as 9.800000190734863.
			"${REAL}", "DOUBLE PRECISION",
			// Keys compare and sort by code point whatever the database's
			// locale, as on SQLite, and their indexes serve equality with
			// no locale work.
			"${BYTEORDER}", ` COLLATE "C"`,
			"${WITHOUT_ROWID}", "",
		),
		lock:     "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(advisoryLockKey, 10) + ")",
		readOnly: &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
	}
}

// rewrite expands ${LIST} and, for PostgreSQL, numbers the placeholders.
// Queries never hold a literal question mark, so no quoting rules apply.
func (d dialect) rewrite(query string) string {
	query = strings.ReplaceAll(query, "${LIST}", d.list)
	if !d.numbered || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 32)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// schema expands the type tokens of a migration.
func (d dialect) schema(sqlText string) string { return d.schemaTokens.Replace(sqlText) }

// prepareMigration runs first in the migration transaction: on PostgreSQL
// it takes the lock, creates the schema unless it exists (a database
// administrator may have created it for a role that may not create
// schemas) and the table of applied migrations.
func (d dialect) prepareMigration(ctx context.Context, tx *sql.Tx) error {
	if d.name != "postgres" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, d.lock); err != nil {
		return fmt.Errorf("lock schema for migration: %w", err)
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, Schema).Scan(&exists); err != nil {
		return fmt.Errorf("look up schema %s: %w", Schema, err)
	}
	if !exists {
		if _, err := tx.ExecContext(ctx, `CREATE SCHEMA `+Schema); err != nil {
			return fmt.Errorf("create schema %s: %w", Schema, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+Schema+`.schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TEXT NOT NULL
)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	return nil
}

// schemaVersion reads the version of the newest applied migration: SQLite
// keeps it in the file header (PRAGMA user_version), PostgreSQL in
// schema_migrations.
func (d dialect) schemaVersion(ctx context.Context, q querier) (int, error) {
	query := "PRAGMA user_version"
	if d.name == "postgres" {
		query = `SELECT COALESCE(MAX(version), 0) FROM ` + Schema + `.schema_migrations`
	}
	var v int
	if err := q.QueryRowContext(ctx, query).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// setSchemaVersion records that migration m has been applied.
func (d dialect) setSchemaVersion(ctx context.Context, q querier, m migration) error {
	var err error
	if d.name == "postgres" {
		_, err = q.ExecContext(ctx, `INSERT INTO `+Schema+`.schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, formatTime(time.Now()))
	} else {
		// PRAGMA takes no parameters; the version is an int.
		_, err = q.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.version))
	}
	if err != nil {
		return fmt.Errorf("record schema version %d: %w", m.version, err)
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
