package vulndb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/vulnfeed"
)

// CVSS is NVD's CVSS v3 scoring of one CVE.
type CVSS struct {
	Vector  string  `json:"vector"`
	Score   float64 `json:"score"`
	Version string  `json:"version"` // "3.1" or "3.0"
}

// Status is what the database holds and how fresh it is.
type Status = vulnfeed.Status

// SourceStatus is one row of the sources table.
type SourceStatus = vulnfeed.SourceStatus

// The lookups return ids and content hashes only; records come from the
// decoded-record cache, and only misses read the JSON. Reading blobs on
// every lookup would cost most of the time: records longer than a page are
// read from overflow pages past SQLite's page cache.
const affectingQuery = `SELECT DISTINCT a.id, r.hash FROM affected a JOIN records r ON r.id = a.id
WHERE a.ecosystem = ? AND a.name = ? AND a.release IN (?, '') AND r.withdrawn IS NULL
ORDER BY a.id`

// Affecting returns the records (not withdrawn) with an affected entry
// naming pkg in ecosystem, for release when the ecosystem has releases
// ("Debian:12" matches release "12" and "bookworm") and for the release-less
// form of the ecosystem. Versions are not compared: that is the matcher's
// job. The records are shared with the database's cache: treat them as
// read-only.
func (d *DB) Affecting(ctx context.Context, eco catalog.Ecosystem, release, pkg string) ([]Record, error) {
	release = NormalizeRelease(eco, release)
	name := NormalizeName(eco, pkg)
	if !storable(string(eco)) || !storable(release) || !storable(name) {
		// Text no import stores (a NUL byte, invalid UTF-8: a hostile
		// image's package names) matches nothing, and PostgreSQL would
		// refuse the query.
		return []Record{}, nil
	}
	var out []Record
	err := retryChanged(func() error {
		s, err := d.stmt(ctx, affectingQuery) //nolint:sqlclosecheck // cached; Close closes it
		if err != nil {
			return err
		}
		rows, err := s.QueryContext(ctx, string(eco), name, release)
		if err != nil {
			return err
		}
		hits, err := scanHits(rows, false)
		if err != nil {
			return err
		}
		out = make([]Record, 0, len(hits))
		for _, h := range hits {
			r, err := d.record(ctx, h.id, h.hash)
			if err != nil {
				return err
			}
			out = append(out, *r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("affecting %s/%s: %w", eco, pkg, err)
	}
	return out, nil
}

// errChanged is a record replaced between a lookup's query and the read of
// its data.
var errChanged = errors.New("record changed during the lookup")

// maxLookupAttempts bounds the retries of a lookup that raced imports;
// each retry means an import committed in between, which takes seconds.
const maxLookupAttempts = 5

// retryChanged runs a lookup again while an import replaced one of its
// records before the lookup read it, so that a lookup returns the records
// of one state of the database: the one its query saw.
func retryChanged(lookup func() error) error {
	for attempt := 1; ; attempt++ {
		err := lookup()
		if !errors.Is(err, errChanged) || attempt == maxLookupAttempts {
			return err
		}
	}
}

// hit is one row of a lookup.
type hit struct {
	name, id string
	hash     []byte
}

// scanHits reads (name,) id, hash rows and closes them.
func scanHits(rows *sql.Rows, withName bool) ([]hit, error) {
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	var out []hit
	for rows.Next() {
		var h hit
		var err error
		if withName {
			err = rows.Scan(&h.name, &h.id, &h.hash)
		} else {
			err = rows.Scan(&h.id, &h.hash)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// record returns the decoded record from the cache, reading and decoding
// it when the cache has no copy with this hash; errChanged when the stored
// record no longer has this hash.
func (d *DB) record(ctx context.Context, id string, hash []byte) (*Record, error) {
	if r := d.cache.get(id, hash); r != nil {
		return r, nil
	}
	s, err := d.stmt(ctx, `SELECT data FROM records WHERE id = ? AND hash = ?`) //nolint:sqlclosecheck // cached; Close closes it
	if err != nil {
		return nil, err
	}
	var data []byte
	if err := s.QueryRowContext(ctx, id, hash).Scan(&data); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("read record %s: %w", id, errChanged)
		}
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	return d.cache.decode(id, hash, data)
}

const bulkAffectingQuery = `SELECT DISTINCT a.name, a.id, r.hash FROM affected a JOIN records r ON r.id = a.id
WHERE a.ecosystem = ? AND a.release IN (?, '') AND r.withdrawn IS NULL
AND a.name IN (${LIST})
ORDER BY a.name, a.id`

// BulkAffecting is Affecting for many packages of one ecosystem and release
// in one query. The result maps each package name as given (not normalized)
// to its records; packages with none are absent.
func (d *DB) BulkAffecting(ctx context.Context, eco catalog.Ecosystem, release string, pkgs []string) (map[string][]Record, error) {
	release = NormalizeRelease(eco, release)
	out := map[string][]Record{}
	if !storable(string(eco)) || !storable(release) {
		return out, nil // as in Affecting
	}
	byNorm := make(map[string][]string, len(pkgs))
	names := make([]string, 0, len(pkgs))
	for _, p := range pkgs {
		n := NormalizeName(eco, p)
		if !storable(n) {
			continue // as in Affecting
		}
		if _, ok := byNorm[n]; !ok {
			names = append(names, n)
		}
		byNorm[n] = append(byNorm[n], p)
	}
	if len(names) == 0 {
		return out, nil
	}
	list, err := json.Marshal(names)
	if err != nil {
		return nil, fmt.Errorf("bulk affecting %s: %w", eco, err)
	}
	err = retryChanged(func() error {
		clear(out)
		s, err := d.stmt(ctx, bulkAffectingQuery) //nolint:sqlclosecheck // cached; Close closes it
		if err != nil {
			return err
		}
		rows, err := s.QueryContext(ctx, string(eco), release, string(list))
		if err != nil {
			return err
		}
		hits, err := scanHits(rows, true)
		if err != nil {
			return err
		}
		for _, h := range hits {
			r, err := d.record(ctx, h.id, h.hash)
			if err != nil {
				return fmt.Errorf("%s: %w", h.name, err)
			}
			for _, p := range byNorm[h.name] {
				out[p] = append(out[p], *r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bulk affecting %s: %w", eco, err)
	}
	return out, nil
}

// Get returns the record with the given id, withdrawn or not; false when
// there is none.
func (d *DB) Get(ctx context.Context, id string) (Record, bool, error) {
	if !storable(id) {
		return Record{}, false, nil // as in Affecting
	}
	s, err := d.stmt(ctx, `SELECT hash, data FROM records WHERE id = ?`) //nolint:sqlclosecheck // cached; Close closes it
	if err != nil {
		return Record{}, false, fmt.Errorf("get %s: %w", id, err)
	}
	var hash, data []byte
	if err := s.QueryRowContext(ctx, id).Scan(&hash, &data); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Record{}, false, nil
		}
		return Record{}, false, fmt.Errorf("get %s: %w", id, err)
	}
	r, err := d.cache.decode(id, hash, data)
	if err != nil {
		return Record{}, false, fmt.Errorf("get %s: %w", id, err)
	}
	return *r, true, nil
}

// IDsForAlias returns the ids of the records that carry alias (a CVE id, a
// GHSA id) as an alias, sorted.
func (d *DB) IDsForAlias(ctx context.Context, alias string) ([]string, error) {
	if !storable(alias) {
		return nil, nil // as in Affecting
	}
	s, err := d.stmt(ctx, `SELECT id FROM aliases WHERE alias = ? ORDER BY id`) //nolint:sqlclosecheck // cached; Close closes it
	if err != nil {
		return nil, fmt.Errorf("alias %s: %w", alias, err)
	}
	rows, err := s.QueryContext(ctx, alias)
	if err != nil {
		return nil, fmt.Errorf("alias %s: %w", alias, err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("alias %s: %w", alias, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alias %s: %w", alias, err)
	}
	return ids, nil
}

// NVD returns NVD's CVSS v3 scoring for those of cveIDs it has.
func (d *DB) NVD(ctx context.Context, cveIDs []string) (map[string]CVSS, error) {
	out := make(map[string]CVSS, len(cveIDs))
	ids := make([]string, 0, len(cveIDs))
	for _, id := range cveIDs {
		if storable(id) { // as in Affecting
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("nvd lookup: %w", err)
	}
	s, err := d.stmt(ctx, `SELECT cve, vector, score, version FROM nvd_cvss WHERE cve IN (${LIST})`) //nolint:sqlclosecheck // cached; Close closes it
	if err != nil {
		return nil, fmt.Errorf("nvd lookup: %w", err)
	}
	rows, err := s.QueryContext(ctx, string(list))
	if err != nil {
		return nil, fmt.Errorf("nvd lookup: %w", err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	for rows.Next() {
		var cve string
		var c CVSS
		if err := rows.Scan(&cve, &c.Vector, &c.Score, &c.Version); err != nil {
			return nil, fmt.Errorf("nvd lookup: %w", err)
		}
		out[cve] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("nvd lookup: %w", err)
	}
	return out, nil
}

// Status reports the sources, the counts and the freshness of the database.
func (d *DB) Status(ctx context.Context) (Status, error) {
	st := Status{Path: d.path, Ecosystems: map[string]int{}, RecordSources: map[string]int{}, Sources: []SourceStatus{}}
	wrap := func(err error) error { return fmt.Errorf("vulndb status: %w", err) }

	// One snapshot, so that the counts belong together even while an
	// import commits.
	tx, err := d.db.BeginTx(ctx, d.dia.readOnly)
	if err != nil {
		return st, wrap(err)
	}
	defer func() { _ = tx.Rollback() }() // read-only: nothing to keep
	if err := tx.QueryRowContext(ctx,
		`SELECT count(*), count(withdrawn) FROM records`).Scan(&st.Records, &st.Withdrawn); err != nil {
		return st, wrap(err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM nvd_cvss`).Scan(&st.NVD); err != nil {
		return st, wrap(err)
	}
	// RFC 3339 strings in UTC of different precision do not sort as text,
	// so the newest is found in Go.
	if err := eachString(ctx, tx, `SELECT DISTINCT modified FROM records WHERE modified != ''`, func(s string) {
		if t := parseTime(s); t.After(st.NewestModified) {
			st.NewestModified = t
		}
	}); err != nil {
		return st, wrap(err)
	}
	if err := countInto(ctx, tx, `SELECT ecosystem, count(DISTINCT id) FROM affected GROUP BY ecosystem`, st.Ecosystems); err != nil {
		return st, wrap(err)
	}
	if err := countInto(ctx, tx, `SELECT source, count(*) FROM records GROUP BY source`, st.RecordSources); err != nil {
		return st, wrap(err)
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT name, last_import, record_count, feed_url, last_attempt, last_error FROM sources ORDER BY name`)
	if err != nil {
		return st, wrap(err)
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	for rows.Next() {
		var s SourceStatus
		var last, attempt string
		if err := rows.Scan(&s.Name, &last, &s.Records, &s.FeedURL, &attempt, &s.LastError); err != nil {
			return st, wrap(err)
		}
		s.LastImport, s.LastAttempt = parseTime(last), parseTime(attempt)
		if s.LastImport.After(st.LastImport) {
			st.LastImport = s.LastImport
		}
		st.Sources = append(st.Sources, s)
	}
	if err := rows.Err(); err != nil {
		return st, wrap(err)
	}
	return st, nil
}

func eachString(ctx context.Context, q querier, query string, fn func(string)) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		fn(s)
	}
	return rows.Err()
}

func countInto(ctx context.Context, q querier, query string, into map[string]int) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		into[k] = n
	}
	return rows.Err()
}

// recordCache keeps decoded records keyed by id and content hash, so that a
// scan of the same packages decodes each record once; a record changed by
// an import has a new hash and misses.
type recordCache struct {
	mu    sync.Mutex
	max   int
	items map[string]cachedRecord
}

type cachedRecord struct {
	hash []byte
	rec  *Record
}

func newRecordCache(max int) *recordCache {
	return &recordCache{max: max, items: make(map[string]cachedRecord)}
}

// get returns the cached record with this hash, or nil.
func (c *recordCache) get(id string, hash []byte) *Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.items[id]; ok && bytes.Equal(it.hash, hash) {
		return it.rec
	}
	return nil
}

func (c *recordCache) decode(id string, hash, data []byte) (*Record, error) {
	if r := c.get(id, hash); r != nil {
		return r, nil
	}
	r := new(Record)
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("decode stored record %s: %w", id, err)
	}
	c.mu.Lock()
	if len(c.items) >= c.max {
		// Dropping everything is crude but keeps memory bounded without
		// bookkeeping on the read path; a full database rarely needs more
		// than a scan's worth of records at a time.
		c.items = make(map[string]cachedRecord, c.max)
	}
	c.items[id] = cachedRecord{hash: bytes.Clone(hash), rec: r}
	c.mu.Unlock()
	return r, nil
}

// sortedKeys is used where output order must be stable.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// hasPrefixFold reports whether s begins with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
