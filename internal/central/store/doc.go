// Package store is Central's persistent state: policies, alerts, deployments,
// API tokens, settings, image integrations and scanned images (with when
// each vulnerability was first seen), notifiers and their outbox, init
// bundles and secured clusters, kept in embedded SQLite by default or in
// PostgreSQL at scale.
//
// There is one implementation written against database/sql. The few places where
// the two databases differ (placeholder syntax, the binary column type, LIMIT
// without a bound, how a unique-key violation is reported, how concurrent
// migrations are serialized) live in dialect.go. Queries are written with `?`
// placeholders and rebound for PostgreSQL.
//
// Storage conventions, identical on both backends so a value reads back exactly
// as written:
//   - times are UTC unix nanoseconds in BIGINT columns (NULL for "never");
//   - JSON documents are opaque bytes in BLOB (SQLite) / BYTEA (PostgreSQL)
//     columns, returned byte for byte;
//   - case-insensitive uniqueness and text search use a folded copy of the
//     text computed in Go, so both backends fold the same way;
//   - sorted text is compared by code point, never by the database's locale.
//
// Tables that grow with the clusters (deployments) are read in pages or
// through an iterator (EachDeployment) that holds one bounded page at a
// time, never whole.
//
// Every write runs in a transaction (Store.InTx; BEGIN IMMEDIATE on SQLite, and
// SQLite writers are serialized in-process), so concurrent writers queue instead
// of failing with SQLITE_BUSY. Schema migrations are embedded SQL files applied
// at Open and recorded in schema_migrations.
package store
