package store

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything that differs between the two backends. Queries are
// written once with `?` placeholders; rebind turns them into the backend's form.
type dialect struct {
	name string // "sqlite" | "postgres"
	// blobType is the column type for opaque bytes.
	blobType string
	// numbered placeholders ($1, $2, …) instead of `?`.
	numbered bool
	// noLimit is the LIMIT value meaning "all rows" (SQLite needs a LIMIT
	// before OFFSET; PostgreSQL spells it ALL).
	noLimit string
	// byteOrder is appended to ORDER BY on text columns so both backends sort
	// by code point whatever the database's locale.
	byteOrder string
	// migrationLock, when set, is run first in the migration transaction so
	// two processes opening the same database migrate one after the other.
	// SQLite needs none: the transaction itself starts with BEGIN IMMEDIATE.
	migrationLock string
}

// migrationLockKey is an arbitrary constant naming Stockade's migration lock
// among PostgreSQL advisory locks.
const migrationLockKey = 0x53746f636b616465 // "Stockade"

func sqliteDialect() dialect {
	return dialect{name: "sqlite", blobType: "BLOB", noLimit: "-1"}
}

func postgresDialect() dialect {
	return dialect{
		name:          "postgres",
		blobType:      "BYTEA",
		numbered:      true,
		noLimit:       "ALL",
		byteOrder:     ` COLLATE "C"`,
		migrationLock: "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(migrationLockKey, 10) + ")",
	}
}

// rebind rewrites `?` placeholders to `$n` for PostgreSQL. Store queries never
// contain a literal question mark, so no quoting rules are needed.
func (d dialect) rebind(query string) string {
	if !d.numbered || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// schema expands the placeholders of a migration file: ${BLOB} is the type
// for opaque bytes, ${BYTEORDER} the column collation that compares text by
// code point (empty on SQLite, whose default already does).
func (d dialect) schema(sqlText string) string {
	return strings.NewReplacer("${BLOB}", d.blobType, "${BYTEORDER}", d.byteOrder).Replace(sqlText)
}

// limit renders "LIMIT n OFFSET m"; limit <= 0 means no limit.
func (d dialect) limit(limit, offset int) string {
	l := d.noLimit
	if limit > 0 {
		l = strconv.Itoa(limit)
	}
	return " LIMIT " + l + " OFFSET " + strconv.Itoa(offset)
}

// isUniqueViolation reports whether err is a primary-key or unique-index
// violation on either backend.
func (d dialect) isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" // unique_violation
	}
	return false
}

// readOnly are the options of transactions that only read. On SQLite this
// begins a deferred transaction (a consistent snapshot without taking the
// write lock); on PostgreSQL repeatable read gives the same snapshot.
func (d dialect) readOnly() *sql.TxOptions {
	if d.name == "postgres" {
		return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	return &sql.TxOptions{ReadOnly: true}
}
