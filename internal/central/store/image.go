package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// ImageRecord is a scanned image, one per manifest digest. JSON is the scan
// document (a scan.Image), stored and returned byte for byte; the other
// fields are copies the store lists, searches and sorts on. VulnDBVersion is
// the version of the vulnerability database the document was matched
// against. The counts are of distinct vulnerabilities by severity; Fixable
// counts those with a fixed version.
type ImageRecord struct {
	Digest        string
	FullName      string
	Registry      string
	Remote        string
	Tag           string
	ScanTime      time.Time
	VulnDBVersion string
	Components    int
	Vulns         int
	Critical      int
	Important     int
	Moderate      int
	Low           int
	Fixable       int
	// JSON is nil in the records ListImages returns.
	JSON []byte
	// CreatedAt is when the digest was first stored; upserts keep it.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ImageQuery selects a page of images. Text is a case-insensitive
// substring of the full name or the digest. Severities keeps images with at
// least one vulnerability (at its highest severity) of one of them;
// Fixable, when set, images with (true) or without (false) a fixable one.
// Sort is "name" (the default, A→Z by code point), "scanTime" (oldest
// first), "critical", "vulns" or "fixable" (fewest first), or one of them
// prefixed with "-" for the reverse order; ties are broken by digest in the
// same direction. Limit <= 0 returns every image after Offset.
type ImageQuery struct {
	Text       string
	Severities []scan.Severity
	Fixable    *bool
	Sort       string
	Offset     int
	Limit      int
}

// ImageName is an image name and the digest it last resolved to.
type ImageName struct {
	FullName  string
	Digest    string
	UpdatedAt time.Time
}

// VulnSeen is when a vulnerability was first seen in one image and in any.
type VulnSeen struct {
	InImage  time.Time
	InSystem time.Time
}

// imageSummaryColumns are the columns of an ImageRecord but its document.
const imageSummaryColumns = "digest, full_name, registry, remote, tag, scan_time, vulndb_version, components, vulns, " +
	"critical, important, moderate, low, fixable, created_at, updated_at"

// imageColumns is imageSummaryColumns, each prefixed with alias and a dot.
func imageColumns(alias string) string {
	cols := strings.Split(imageSummaryColumns, ", ")
	for i := range cols {
		cols[i] = alias + "." + cols[i]
	}
	return strings.Join(cols, ", ")
}

func scanImage(row interface{ Scan(...any) error }, withBody bool) (ImageRecord, error) {
	var (
		r                         ImageRecord
		scanned, created, updated int64
	)
	dest := []any{&r.Digest, &r.FullName, &r.Registry, &r.Remote, &r.Tag, &scanned, &r.VulnDBVersion, &r.Components, &r.Vulns,
		&r.Critical, &r.Important, &r.Moderate, &r.Low, &r.Fixable, &created, &updated}
	if withBody {
		dest = append(dest, &r.JSON)
	}
	if err := row.Scan(dest...); err != nil {
		return ImageRecord{}, err
	}
	r.ScanTime, r.CreatedAt, r.UpdatedAt = fromNanos(scanned), fromNanos(created), fromNanos(updated)
	return r, nil
}

// checkImage validates rec and fills in missing times.
func checkImage(rec *ImageRecord, stamp time.Time) error {
	if err := checkKey("image digest", rec.Digest, true); err != nil {
		return err
	}
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"full name", rec.FullName, true}, {"registry", rec.Registry, false}, {"remote", rec.Remote, false},
		{"tag", rec.Tag, false}, {"vulndb version", rec.VulnDBVersion, false},
	} {
		if err := checkKey(f.name, f.v, f.required); err != nil {
			return fmt.Errorf("image %s: %w", rec.Digest, err)
		}
	}
	for _, n := range []int{rec.Components, rec.Vulns, rec.Critical, rec.Important, rec.Moderate, rec.Low, rec.Fixable} {
		if n < 0 {
			return fmt.Errorf("image %s: negative count %d: %w", rec.Digest, n, ErrInvalid)
		}
	}
	if err := checkDoc(fmt.Sprintf("image %s JSON", rec.Digest), rec.JSON); err != nil {
		return err
	}
	if rec.UpdatedAt.IsZero() {
		rec.UpdatedAt = stamp
	}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = rec.UpdatedAt
	}
	if rec.ScanTime.IsZero() {
		rec.ScanTime = rec.UpdatedAt
	}
	for field, t := range map[string]time.Time{"scan time": rec.ScanTime, "created": rec.CreatedAt, "updated": rec.UpdatedAt} {
		if _, err := nanos(field, t); err != nil {
			return fmt.Errorf("image %s: %w", rec.Digest, err)
		}
	}
	return nil
}

// imageSearchText is what ImageQuery.Text matches against, folded.
func imageSearchText(r *ImageRecord) string { return fold(r.FullName + "\n" + r.Digest) }

// UpsertImage stores a scanned image, replacing the stored scan of the same
// digest but keeping its CreatedAt, and records that each of names (image
// full names) now resolves to the digest. A zero UpdatedAt is set to now, a
// zero CreatedAt and ScanTime to UpdatedAt.
func (s *Store) UpsertImage(ctx context.Context, rec ImageRecord, names ...string) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.UpsertImage(ctx, rec, names...) })
}

// UpsertImage is Store.UpsertImage inside the transaction.
func (tx *Tx) UpsertImage(ctx context.Context, rec ImageRecord, names ...string) error {
	if err := checkImage(&rec, now()); err != nil {
		return fmt.Errorf("upsert image: %w", err)
	}
	for _, n := range names {
		if err := checkKey("image name", n, true); err != nil {
			return fmt.Errorf("upsert image %s: %w", rec.Digest, err)
		}
	}
	q := tx.q()
	_, err := q.exec(ctx, `INSERT INTO images (digest, full_name, registry, remote, tag, search_text, scan_time, vulndb_version,
			components, vulns, critical, important, moderate, low, fixable, created_at, updated_at, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (digest) DO UPDATE SET full_name = excluded.full_name, registry = excluded.registry,
			remote = excluded.remote, tag = excluded.tag, search_text = excluded.search_text, scan_time = excluded.scan_time,
			vulndb_version = excluded.vulndb_version, components = excluded.components, vulns = excluded.vulns,
			critical = excluded.critical, important = excluded.important, moderate = excluded.moderate, low = excluded.low,
			fixable = excluded.fixable, updated_at = excluded.updated_at, body = excluded.body`,
		rec.Digest, rec.FullName, rec.Registry, rec.Remote, rec.Tag, imageSearchText(&rec), rec.ScanTime.UnixNano(), rec.VulnDBVersion,
		rec.Components, rec.Vulns, rec.Critical, rec.Important, rec.Moderate, rec.Low, rec.Fixable,
		rec.CreatedAt.UnixNano(), rec.UpdatedAt.UnixNano(), rec.JSON)
	if err != nil {
		return fmt.Errorf("upsert image %s: %w", rec.Digest, err)
	}
	if err := q.indexImage(ctx, rec.Digest, rec.JSON); err != nil {
		return fmt.Errorf("upsert image: %w", err)
	}
	for _, n := range names {
		if err := tx.NameImage(ctx, rec.Digest, n); err != nil {
			return err
		}
	}
	return nil
}

// NameImage records that fullName now resolves to the stored image digest.
func (tx *Tx) NameImage(ctx context.Context, digest, fullName string) error {
	if err := checkKey("image name", fullName, true); err != nil {
		return fmt.Errorf("name image %s: %w", digest, err)
	}
	if err := checkKey("image digest", digest, true); err != nil {
		return fmt.Errorf("name image: %w", err)
	}
	if err := tx.q().pointName(ctx, fullName, digest); err != nil {
		return fmt.Errorf("name image %s %q: %w", digest, fullName, err)
	}
	return nil
}

// vulnChunk bounds the ids of one statement of MarkVulnsSeen.
const vulnChunk = 200

// MarkVulnsSeen records that the vulnerabilities ids were seen in the image
// digest at the time at, unless they were seen there (and anywhere)
// earlier, and returns when each was first seen in the image and in any
// image. Duplicate ids are fine.
func (tx *Tx) MarkVulnsSeen(ctx context.Context, digest string, ids []string, at time.Time) (map[string]VulnSeen, error) {
	if err := checkKey("image digest", digest, true); err != nil {
		return nil, fmt.Errorf("mark vulnerabilities seen: %w", err)
	}
	stamp, err := nanos("first seen", at)
	if err != nil {
		return nil, fmt.Errorf("mark vulnerabilities seen in %s: %w", digest, err)
	}
	uniq := make([]string, 0, len(ids))
	dup := make(map[string]bool, len(ids))
	for _, id := range ids {
		if dup[id] {
			continue
		}
		if err := checkKey("vulnerability id", id, true); err != nil {
			return nil, fmt.Errorf("mark vulnerabilities seen in %s: %w", digest, err)
		}
		dup[id] = true
		uniq = append(uniq, id)
	}
	out := make(map[string]VulnSeen, len(uniq))
	q := tx.q()
	for start := 0; start < len(uniq); start += vulnChunk {
		chunk := uniq[start:min(start+vulnChunk, len(uniq))]
		imageArgs := make([]any, 0, 3*len(chunk))
		systemArgs := make([]any, 0, 2*len(chunk))
		inArgs := make([]any, 0, len(chunk)+1)
		inArgs = append(inArgs, digest)
		for _, id := range chunk {
			imageArgs = append(imageArgs, digest, id, stamp)
			systemArgs = append(systemArgs, id, stamp)
			inArgs = append(inArgs, id)
		}
		if _, err := q.exec(ctx, `INSERT INTO image_vulns_seen (digest, vuln_id, first_seen) VALUES `+
			placeholders(len(chunk), 3)+` ON CONFLICT (digest, vuln_id) DO NOTHING`, imageArgs...); err != nil {
			return nil, fmt.Errorf("mark vulnerabilities seen in %s: %w", digest, err)
		}
		if _, err := q.exec(ctx, `INSERT INTO vulns_seen (vuln_id, first_seen) VALUES `+
			placeholders(len(chunk), 2)+` ON CONFLICT (vuln_id) DO NOTHING`, systemArgs...); err != nil {
			return nil, fmt.Errorf("mark vulnerabilities seen: %w", err)
		}
		in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ") + ")"
		rows, err := q.query(ctx, `SELECT i.vuln_id, i.first_seen, s.first_seen FROM image_vulns_seen i
			JOIN vulns_seen s ON s.vuln_id = i.vuln_id WHERE i.digest = ? AND i.vuln_id IN `+in, inArgs...)
		if err != nil {
			return nil, fmt.Errorf("read first-seen times of %s: %w", digest, err)
		}
		err = func() error {
			defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
			for rows.Next() {
				var (
					id            string
					image, system int64
				)
				if err := rows.Scan(&id, &image, &system); err != nil {
					return err
				}
				out[id] = VulnSeen{InImage: fromNanos(image), InSystem: fromNanos(system)}
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("read first-seen times of %s: %w", digest, err)
		}
	}
	return out, nil
}

// placeholders renders n rows of width `?` placeholders for a VALUES list;
// placeholders(1, n) is the parenthesized list of an IN (…).
func placeholders(n, width int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// GetImage returns the image with digest, or an ErrNotFound error.
func (s *Store) GetImage(ctx context.Context, digest string) (ImageRecord, error) {
	r, err := scanImage(s.direct().queryRow(ctx, `SELECT `+imageSummaryColumns+`, body FROM images WHERE digest = ?`, digest), true)
	if errors.Is(err, sql.ErrNoRows) {
		return ImageRecord{}, fmt.Errorf("image %q: %w", digest, ErrNotFound)
	}
	if err != nil {
		return ImageRecord{}, fmt.Errorf("get image %q: %w", digest, err)
	}
	return r, nil
}

// GetImageByName returns the image the full name last resolved to, or an
// ErrNotFound error.
func (s *Store) GetImageByName(ctx context.Context, fullName string) (ImageRecord, error) {
	r, err := scanImage(s.direct().queryRow(ctx, `SELECT `+imageColumns("i")+`, i.body FROM image_names n JOIN images i ON i.digest = n.digest
		WHERE n.full_name = ?`, fullName), true)
	if errors.Is(err, sql.ErrNoRows) {
		return ImageRecord{}, fmt.Errorf("image %q: %w", fullName, ErrNotFound)
	}
	if err != nil {
		return ImageRecord{}, fmt.Errorf("get image %q: %w", fullName, err)
	}
	return r, nil
}

// CountImages returns the number of stored images.
func (s *Store) CountImages(ctx context.Context) (int, error) {
	var n int
	if err := s.direct().queryRow(ctx, `SELECT COUNT(*) FROM images`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count images: %w", err)
	}
	return n, nil
}

// imageOrder renders ImageQuery.Sort as ORDER BY terms; ok is false for an
// unknown sort.
func imageOrder(sort string) (string, bool) {
	desc := strings.HasPrefix(sort, "-")
	var col string
	switch strings.TrimPrefix(sort, "-") {
	case "", "name":
		if sort == "-" {
			return "", false
		}
		col = "full_name"
	case "scanTime":
		col = "scan_time"
	case "critical", "vulns", "fixable":
		col = strings.TrimPrefix(sort, "-")
	default:
		return "", false
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	return col + dir + ", digest" + dir, true
}

// ListImages returns the page of images q selects, without their scan
// documents, and how many images match q's text in all.
func (s *Store) ListImages(ctx context.Context, q ImageQuery) ([]ImageRecord, int, error) {
	order, ok := imageOrder(q.Sort)
	if !ok {
		return nil, 0, fmt.Errorf("list images: unknown sort %q: want name, scanTime, critical, vulns or fixable, optionally prefixed with -: %w", q.Sort, ErrInvalid)
	}
	if q.Offset < 0 {
		return nil, 0, fmt.Errorf("list images: negative offset %d: %w", q.Offset, ErrInvalid)
	}
	where, args, err := q.where()
	if err != nil {
		return nil, 0, fmt.Errorf("list images: %w", err)
	}
	var (
		out   []ImageRecord
		total int
	)
	err = s.read(ctx, func(rq querier) error {
		if err := rq.queryRow(ctx, `SELECT COUNT(*) FROM images`+where, args...).Scan(&total); err != nil {
			return err
		}
		if q.Offset >= total {
			return nil
		}
		rows, err := rq.query(ctx, `SELECT `+imageSummaryColumns+` FROM images`+where+` ORDER BY `+order+s.d.limit(q.Limit, q.Offset), args...)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			r, err := scanImage(rows, false)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list images: %w", err)
	}
	return out, total, nil
}

// severityColumns are the images columns counting each severity.
var severityColumns = map[scan.Severity]string{
	scan.SeverityCritical: "critical", scan.SeverityImportant: "important", scan.SeverityModerate: "moderate", scan.SeverityLow: "low",
}

// where renders the filters of q as a WHERE clause and its arguments.
func (q ImageQuery) where() (string, []any, error) {
	var (
		conds []string
		args  []any
	)
	if q.Text != "" {
		if err := checkKey("image query text", q.Text, false); err != nil {
			return "", nil, err
		}
		conds = append(conds, `search_text LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(fold(q.Text))+"%")
	}
	if len(q.Severities) > 0 {
		var ors []string
		for _, sev := range q.Severities {
			col, ok := severityColumns[sev]
			if !ok {
				return "", nil, fmt.Errorf("severity %q: want CRITICAL, IMPORTANT, MODERATE or LOW: %w", sev, ErrInvalid)
			}
			ors = append(ors, col+" > 0")
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if q.Fixable != nil {
		if *q.Fixable {
			conds = append(conds, "fixable > 0")
		} else {
			conds = append(conds, "fixable = 0")
		}
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// Image pages of EachImage: at most imagePageRows rows and, past a page's
// first row, imagePageBytes of documents.
const (
	imagePageRows  = 64
	imagePageBytes = 16 << 20
)

// EachImage calls fn with every stored image and its document, in digest
// order, and stops at fn's first error, which it returns as is. Like
// EachDeployment it reads one bounded page at a time and holds nothing
// while fn runs, so fn may write to the store.
func (s *Store) EachImage(ctx context.Context, fn func(ImageRecord) error) error {
	after := ""
	limit := imagePageRows
	for {
		page, more, err := s.imagePage(ctx, after, limit)
		if err != nil {
			return fmt.Errorf("read images after %q: %w", after, err)
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		after = page[len(page)-1].Digest
		if len(page) < limit {
			limit = len(page)
		} else {
			limit = min(2*limit, imagePageRows)
		}
	}
}

func (s *Store) imagePage(ctx context.Context, after string, limit int) (page []ImageRecord, more bool, err error) {
	q := s.direct()
	rows, err := q.query(ctx, `SELECT `+imageSummaryColumns+`, body FROM images WHERE digest > ? ORDER BY digest`+q.d.limit(limit, 0), after)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	size := 0
	for rows.Next() {
		r, err := scanImage(rows, true)
		if err != nil {
			return nil, false, err
		}
		page = append(page, r)
		if size += len(r.JSON); size >= imagePageBytes && len(page) < limit {
			return page, true, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return page, len(page) == limit, nil
}

// ImageNames returns every image name with the digest it last resolved to,
// ordered by name.
func (s *Store) ImageNames(ctx context.Context) ([]ImageName, error) {
	rows, err := s.direct().query(ctx, `SELECT full_name, digest, updated_at FROM image_names ORDER BY full_name`)
	if err != nil {
		return nil, fmt.Errorf("list image names: %w", err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []ImageName
	for rows.Next() {
		var (
			n       ImageName
			updated int64
		)
		if err := rows.Scan(&n.FullName, &n.Digest, &updated); err != nil {
			return nil, fmt.Errorf("list image names: %w", err)
		}
		n.UpdatedAt = fromNanos(updated)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list image names: %w", err)
	}
	return out, nil
}
