-- Written once for SQLite and PostgreSQL: ${BLOB} is BLOB or BYTEA,
-- ${REAL} REAL or DOUBLE PRECISION, ${BYTEORDER} makes PostgreSQL compare
-- and sort keys by code point as SQLite does, ${WITHOUT_ROWID} is SQLite's
-- clustered-table clause.

-- Records in OSV form, one row per vulnerability id. data is the Record as
-- JSON; hash is the SHA-256 of data, so an import of a record whose modified
-- time is unknown can still tell whether it changed, and readers can tell
-- whether their decoded copy is current. A rowid table, not WITHOUT ROWID:
-- rows are often larger than a page, and a clustered b-tree of such rows
-- reads overflow pages on every seek. records_lookup covers the lookups'
-- join, so they never touch the rows themselves.
CREATE TABLE records (
	id        TEXT${BYTEORDER} NOT NULL PRIMARY KEY,
	source    TEXT NOT NULL,
	modified  TEXT NOT NULL DEFAULT '',
	withdrawn TEXT,
	hash      ${BLOB} NOT NULL,
	data      ${BLOB} NOT NULL
);
CREATE INDEX records_lookup ON records (id, withdrawn, hash);

-- One row per package a record affects: ecosystem without the release,
-- the release ('' when the ecosystem has none), the package name.
CREATE TABLE affected (
	ecosystem TEXT${BYTEORDER} NOT NULL,
	name      TEXT${BYTEORDER} NOT NULL,
	release   TEXT${BYTEORDER} NOT NULL,
	id        TEXT${BYTEORDER} NOT NULL,
	PRIMARY KEY (ecosystem, name, release, id)
)${WITHOUT_ROWID};
CREATE INDEX affected_id ON affected (id);

CREATE TABLE aliases (
	alias TEXT${BYTEORDER} NOT NULL,
	id    TEXT${BYTEORDER} NOT NULL,
	PRIMARY KEY (alias, id)
)${WITHOUT_ROWID};
CREATE INDEX aliases_id ON aliases (id);

CREATE TABLE nvd_cvss (
	cve      TEXT${BYTEORDER} PRIMARY KEY,
	vector   TEXT NOT NULL,
	score    ${REAL} NOT NULL,
	version  TEXT NOT NULL,
	modified TEXT NOT NULL DEFAULT ''
)${WITHOUT_ROWID};

-- One row per feed: a format name for file imports ("osv", "debian",
-- "alpine", "nvd") or a configured feed's name for online updates.
CREATE TABLE sources (
	name          TEXT${BYTEORDER} PRIMARY KEY,
	last_import   TEXT NOT NULL DEFAULT '',
	record_count  INTEGER NOT NULL DEFAULT 0,
	feed_url      TEXT NOT NULL DEFAULT '',
	etag          TEXT NOT NULL DEFAULT '',
	last_modified TEXT NOT NULL DEFAULT '',
	last_attempt  TEXT NOT NULL DEFAULT '',
	last_error    TEXT NOT NULL DEFAULT ''
)${WITHOUT_ROWID};
