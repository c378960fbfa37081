package vulndb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// An import writes in batches: a round trip per row would make a full feed
// take minutes on PostgreSQL. Each batch reads the stored versions of its
// ids in one query, decides record by record as putRecord always has (in
// order, so a record the batch holds twice is compared with its earlier
// copy), and writes the survivors with multi-row INSERTs.

const (
	// batchRecords and batchBytes bound what an import holds before it
	// writes: a batch of large records is written early.
	batchRecords = 1000
	batchBytes   = 32 << 20
	// batchNVD bounds the queued NVD scorings, which are small.
	batchNVD = 2000
	// maxRowsPerInsert and maxParams bound one multi-row INSERT; both
	// backends allow more parameters (SQLite 32766, PostgreSQL 65535).
	maxRowsPerInsert = 500
	maxParams        = 30000
)

// pendingRecord is a record queued by putRecord, already encoded.
type pendingRecord struct {
	bucket    *SourceResult
	id        string
	source    string
	modified  string
	withdrawn any // nil or the RFC 3339 time
	hash      []byte
	data      []byte
	affected  []affectedKey
	aliases   []string
}

// affectedKey is one affected row without the record id.
type affectedKey struct{ ecosystem, name, release string }

// recordBatch is the records queued since the last flush.
type recordBatch struct {
	recs  []pendingRecord
	bytes int
	ids   map[string]bool
}

// pendingNVD is an NVD scoring queued by putNVD.
type pendingNVD struct {
	bucket   *SourceResult
	cve      string
	cvss     CVSS
	modified string
}

func (im *importer) queueRecord(p pendingRecord) error {
	b := &im.records
	if b.ids == nil {
		b.ids = map[string]bool{}
	}
	b.recs = append(b.recs, p)
	b.ids[p.id] = true
	b.bytes += len(p.data)
	if len(b.recs) >= batchRecords || b.bytes >= batchBytes {
		return im.flushRecords()
	}
	return nil
}

// flushWrites writes everything queued, before a read of the tables the
// import writes or at its end.
func (im *importer) flushWrites() error {
	if err := im.flushRecords(); err != nil {
		return err
	}
	return im.flushNVD()
}

// storedVersion is what putRecord compares a record with.
type storedVersion struct {
	modified string
	hash     []byte
}

// flushRecords writes the queued records that are newer than the stored
// ones, with their affected and aliases rows, and counts every queued
// record in its source's result.
func (im *importer) flushRecords() error {
	batch := im.records.recs
	im.records = recordBatch{}
	if len(batch) == 0 {
		return nil
	}
	where := fmt.Sprintf("store records %s … %s", batch[0].id, batch[len(batch)-1].id)
	ids := make([]string, 0, len(batch))
	seen := map[string]bool{}
	for _, p := range batch {
		if !seen[p.id] {
			seen[p.id] = true
			ids = append(ids, p.id)
		}
	}
	stored := map[string]storedVersion{}
	err := im.queryList(`SELECT id, modified, hash FROM records WHERE id IN (${LIST})`, ids, func(scan func(...any) error) error {
		var id string
		var v storedVersion
		if err := scan(&id, &v.modified, &v.hash); err != nil {
			return err
		}
		stored[id] = v
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	inDB := make(map[string]bool, len(stored))
	for id := range stored {
		inDB[id] = true
	}

	final := map[string]int{} // id → index in writes
	var writes []*pendingRecord
	for i := range batch {
		p := &batch[i]
		old, exists := stored[p.id]
		if exists && !newerRecord(old, p) {
			if !im.touched[p.id] {
				p.bucket.Unchanged++
				im.touched[p.id] = true
			}
			continue
		}
		stored[p.id] = storedVersion{modified: p.modified, hash: p.hash}
		if j, ok := final[p.id]; ok {
			writes[j] = p
		} else {
			final[p.id] = len(writes)
			writes = append(writes, p)
		}
		if im.touched[p.id] {
			continue
		}
		im.touched[p.id] = true
		switch {
		case p.withdrawn != nil:
			p.bucket.Withdrawn++
		case exists:
			p.bucket.Updated++
		default:
			p.bucket.Added++
		}
	}
	if len(writes) == 0 {
		return nil
	}

	args := make([]any, 0, 6*len(writes))
	for _, p := range writes {
		args = append(args, p.id, p.source, p.modified, p.withdrawn, p.hash, p.data)
	}
	if err := im.insertRows(`INSERT INTO records (id, source, modified, withdrawn, hash, data)`,
		`ON CONFLICT (id) DO UPDATE SET source = excluded.source, modified = excluded.modified,
withdrawn = excluded.withdrawn, hash = excluded.hash, data = excluded.data`, 6, args); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	// Replaced records lose their affected and aliases rows first.
	var replaced []string
	for _, p := range writes {
		if inDB[p.id] {
			replaced = append(replaced, p.id)
		}
	}
	if len(replaced) > 0 {
		for _, q := range []string{`DELETE FROM affected WHERE id IN (${LIST})`, `DELETE FROM aliases WHERE id IN (${LIST})`} {
			if err := im.execList(q, replaced); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		}
	}
	args = args[:0]
	for _, p := range writes {
		for _, a := range p.affected {
			args = append(args, a.ecosystem, a.name, a.release, p.id)
		}
	}
	if err := im.insertRows(`INSERT INTO affected (ecosystem, name, release, id)`, `ON CONFLICT DO NOTHING`, 4, args); err != nil {
		return fmt.Errorf("%s: affected: %w", where, err)
	}
	args = args[:0]
	for _, p := range writes {
		for _, a := range p.aliases {
			args = append(args, a, p.id)
		}
	}
	if err := im.insertRows(`INSERT INTO aliases (alias, id)`, `ON CONFLICT DO NOTHING`, 2, args); err != nil {
		return fmt.Errorf("%s: aliases: %w", where, err)
	}
	return nil
}

// newerRecord reports whether p replaces the stored version: a newer
// modified time, or, when either time is unknown, other content.
func newerRecord(old storedVersion, p *pendingRecord) bool {
	o, n := parseTime(old.modified), parseTime(p.modified)
	if !o.IsZero() && !n.IsZero() {
		return n.After(o)
	}
	return !bytes.Equal(old.hash, p.hash)
}

func (im *importer) queueNVD(p pendingNVD) error {
	im.nvd = append(im.nvd, p)
	if len(im.nvd) >= batchNVD {
		return im.flushNVD()
	}
	return nil
}

// storedNVD is what putNVD compares a scoring with.
type storedNVD struct {
	cvss     CVSS
	modified string
}

// flushNVD writes the queued scorings that are newer than the stored ones,
// by the rule of records, and counts each one.
func (im *importer) flushNVD() error {
	batch := im.nvd
	im.nvd = nil
	if len(batch) == 0 {
		return nil
	}
	where := fmt.Sprintf("store NVD scorings %s … %s", batch[0].cve, batch[len(batch)-1].cve)
	cves := make([]string, 0, len(batch))
	for _, p := range batch {
		cves = append(cves, p.cve)
	}
	stored := map[string]storedNVD{}
	err := im.queryList(`SELECT cve, vector, score, version, modified FROM nvd_cvss WHERE cve IN (${LIST})`, cves, func(scan func(...any) error) error {
		var cve string
		var v storedNVD
		if err := scan(&cve, &v.cvss.Vector, &v.cvss.Score, &v.cvss.Version, &v.modified); err != nil {
			return err
		}
		stored[cve] = v
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	final := map[string]int{}
	var writes []*pendingNVD
	for i := range batch {
		p := &batch[i]
		old, exists := stored[p.cve]
		if exists {
			o, n := parseTime(old.modified), parseTime(p.modified)
			var newer bool
			if !o.IsZero() && !n.IsZero() {
				newer = n.After(o)
			} else {
				newer = old.cvss != p.cvss
			}
			if !newer {
				p.bucket.Unchanged++
				continue
			}
		}
		stored[p.cve] = storedNVD{cvss: p.cvss, modified: p.modified}
		if j, ok := final[p.cve]; ok {
			writes[j] = p
		} else {
			final[p.cve] = len(writes)
			writes = append(writes, p)
		}
		if exists {
			p.bucket.Updated++
		} else {
			p.bucket.Added++
		}
	}
	args := make([]any, 0, 5*len(writes))
	for _, p := range writes {
		args = append(args, p.cve, p.cvss.Vector, p.cvss.Score, p.cvss.Version, p.modified)
	}
	if err := im.insertRows(`INSERT INTO nvd_cvss (cve, vector, score, version, modified)`,
		`ON CONFLICT (cve) DO UPDATE SET vector = excluded.vector, score = excluded.score, version = excluded.version,
modified = excluded.modified`, 5, args); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// insertRows writes rows of width columns (args holds them one after the
// other) with INSERTs of many rows each: head is "INSERT INTO t (a, b)",
// tail the ON CONFLICT clause. The statement of a full chunk is prepared
// once per import.
func (im *importer) insertRows(head, tail string, width int, args []any) error {
	per := min(maxRowsPerInsert, maxParams/width)
	for len(args) > 0 {
		n := min(per, len(args)/width)
		q := insertSQL(head, tail, width, n)
		var err error
		if n == per {
			err = im.exec(q, args[:n*width]...)
		} else {
			_, err = im.tx.ExecContext(im.ctx, im.dia.rewrite(q), args[:n*width]...)
		}
		if err != nil {
			return err
		}
		args = args[n*width:]
	}
	return nil
}

// insertSQL is head VALUES (?, …), … tail for rows rows.
func insertSQL(head, tail string, width, rows int) string {
	row := "(" + strings.Repeat("?, ", width-1) + "?)"
	var b strings.Builder
	b.Grow(len(head) + len(tail) + rows*(len(row)+2) + 16)
	b.WriteString(head)
	b.WriteString(" VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" ")
	b.WriteString(tail)
	return b.String()
}

// queryList runs query, whose ${LIST} stands for list, in the import
// transaction and calls fn for each row.
func (im *importer) queryList(query string, list []string, fn func(scan func(...any) error) error) error {
	arg, err := json.Marshal(list)
	if err != nil {
		return err
	}
	rows, err := im.tx.QueryContext(im.ctx, im.dia.rewrite(query), string(arg))
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// execList runs a statement whose ${LIST} stands for list.
func (im *importer) execList(query string, list []string) error {
	arg, err := json.Marshal(list)
	if err != nil {
		return err
	}
	_, err = im.tx.ExecContext(im.ctx, im.dia.rewrite(query), string(arg))
	return err
}
