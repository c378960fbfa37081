package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DeploymentRecord is a workload Central knows of. JSON is the workload
// document, stored and returned byte for byte; the other fields are copies
// the store looks up, filters and sorts on. Source says who reported it
// ("api" for detection requests, "sensor" for a cluster's Sensor).
type DeploymentRecord struct {
	ID        string
	Cluster   string
	Namespace string
	Name      string
	Kind      string
	Source    string
	JSON      []byte
	// CreatedAt is when the id was first stored: upserts of an existing id
	// keep it. UpdatedAt is when the document was last written.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// DeploymentQuery selects a page of deployments. Empty fields do not filter;
// the string filters match exactly except Text, a case-insensitive substring
// of the name, namespace or cluster.
//
// Sort is one of "name" (the default), "namespace", "cluster" (A→Z, by code
// point), "updated" (least recently updated first), or one of them prefixed
// with "-" for the reverse order ("-updated": most recently updated first).
// Ties are broken by the other two of name, namespace and cluster, then by
// id, in the same direction. "violations" puts the deployments with the
// most open violations first, by their counts of critical, then high,
// medium and low ones ("-violations": the fewest first); its ties go by
// name, namespace, cluster and id, A→Z. "risk" puts the lowest risk
// score (see RiskOf) first and "-risk" the highest; their ties go by name,
// namespace, cluster and id, A→Z. Limit <= 0 returns every matching
// deployment after Offset; to read all deployments without holding them in
// memory use EachDeployment.
//
// Violated, when set, keeps the deployments with (true) or without (false)
// an open (ACTIVE) alert; Severity keeps those with an open alert of that
// severity (HIGH_SEVERITY, …).
type DeploymentQuery struct {
	Cluster   string
	Namespace string
	Name      string
	Kind      string
	Source    string
	Text      string
	Violated  *bool
	Severity  string
	Sort      string
	Offset    int
	Limit     int
}

// Column order follows the table: body last.
const deploymentColumns = `id, cluster, namespace, name, kind, source, created_at, updated_at, body`

const deploymentInsertColumns = `id, cluster, namespace, name, kind, source, search_text, created_at, updated_at, body`

func scanDeployment(row interface{ Scan(...any) error }) (DeploymentRecord, error) {
	var (
		d                DeploymentRecord
		created, updated int64
	)
	if err := row.Scan(&d.ID, &d.Cluster, &d.Namespace, &d.Name, &d.Kind, &d.Source, &created, &updated, &d.JSON); err != nil {
		return DeploymentRecord{}, err
	}
	d.CreatedAt, d.UpdatedAt = fromNanos(created), fromNanos(updated)
	return d, nil
}

// deploymentSearchText is what DeploymentQuery.Text matches against, folded.
func deploymentSearchText(d *DeploymentRecord) string {
	return fold(d.Name + "\n" + d.Namespace + "\n" + d.Cluster)
}

// maxDeploymentKeyLen bounds id, cluster, namespace and name together: the
// indexes hold all four in one entry, which must stay inside PostgreSQL's
// B-tree limit (about 2.7 kB) as maxKeyLen keeps single columns. Kubernetes
// names and namespaces are far shorter.
const maxDeploymentKeyLen = 2 << 10

// checkDeployment validates d and fills in missing times: a zero UpdatedAt
// is stamp, a zero CreatedAt is UpdatedAt.
func checkDeployment(d *DeploymentRecord, stamp time.Time) error {
	if err := checkKey("deployment id", d.ID, true); err != nil {
		return err
	}
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"name", d.Name, true}, {"source", d.Source, true},
		{"cluster", d.Cluster, false}, {"namespace", d.Namespace, false}, {"kind", d.Kind, false},
	} {
		if err := checkKey(f.name, f.v, f.required); err != nil {
			return fmt.Errorf("deployment %q: %w", d.ID, err)
		}
	}
	if n := len(d.ID) + len(d.Cluster) + len(d.Namespace) + len(d.Name); n > maxDeploymentKeyLen {
		return fmt.Errorf("deployment %q: id, cluster, namespace and name are %d bytes together, longer than %d: %w", d.ID, n, maxDeploymentKeyLen, ErrInvalid)
	}
	if err := checkDoc(fmt.Sprintf("deployment %q JSON", d.ID), d.JSON); err != nil {
		return err
	}
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = stamp
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = d.UpdatedAt
	}
	return nil
}

// Upserts are written in multi-row statements of at most deploymentChunk
// rows (10 parameters each, far below both backends' limits) and, past the
// first row, at most deploymentChunkBytes of documents, so one statement
// never has to encode more than that on top of what the caller holds.
const (
	deploymentChunk      = 100
	deploymentChunkBytes = 8 << 20
)

// UpsertDeployments stores deployments in one transaction: all of them or, on
// any error, none. A record whose id is stored replaces it but keeps its
// CreatedAt; a later record with the same id as an earlier one in the batch
// replaces it. A zero UpdatedAt is set to now, a zero CreatedAt to UpdatedAt.
func (s *Store) UpsertDeployments(ctx context.Context, deployments []DeploymentRecord) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.UpsertDeployments(ctx, deployments) })
}

// UpsertDeployments is Store.UpsertDeployments inside the transaction.
func (tx *Tx) UpsertDeployments(ctx context.Context, deployments []DeploymentRecord) error {
	if len(deployments) == 0 {
		return nil
	}
	// Validate everything before the first statement.
	stamp := now()
	rows := make([][]any, 0, len(deployments))
	sizes := make([]int, 0, len(deployments)) // of each row's document
	at := make(map[string]int, len(deployments))
	for i := range deployments {
		d := deployments[i]
		if err := checkDeployment(&d, stamp); err != nil {
			return fmt.Errorf("upsert deployment %d of %d: %w", i+1, len(deployments), err)
		}
		created, err := nanos("created", d.CreatedAt)
		if err != nil {
			return fmt.Errorf("upsert deployment %q: %w", d.ID, err)
		}
		updated, err := nanos("updated", d.UpdatedAt)
		if err != nil {
			return fmt.Errorf("upsert deployment %q: %w", d.ID, err)
		}
		row := []any{d.ID, d.Cluster, d.Namespace, d.Name, d.Kind, d.Source, deploymentSearchText(&d), created, updated, d.JSON}
		// One statement may not touch a row twice (PostgreSQL refuses it):
		// the later record takes the earlier one's place.
		if j, ok := at[d.ID]; ok {
			rows[j], sizes[j] = row, len(d.JSON)
			continue
		}
		at[d.ID] = len(rows)
		rows, sizes = append(rows, row), append(sizes, len(d.JSON))
	}
	q := tx.q()
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r[0].(string)
	}
	// The vulnerability counts move once for the whole batch (vulncount.go).
	err := q.recountAround(ctx, ids, func() error {
		for start := 0; start < len(rows); {
			end, size := start, 0
			for end < len(rows) && end-start < deploymentChunk {
				if end > start && size+sizes[end] > deploymentChunkBytes {
					break
				}
				size += sizes[end]
				end++
			}
			if err := q.upsertDeployments(ctx, rows[start:end]); err != nil {
				return err
			}
			if err := q.indexDeploymentImages(ctx, rows[start:end]); err != nil {
				return err
			}
			start = end
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("upsert deployments: %w", err)
	}
	return nil
}

func (q querier) upsertDeployments(ctx context.Context, rows [][]any) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO deployments (` + deploymentInsertColumns + `) VALUES `)
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rows[0])), ", ") + ")"
	args := make([]any, 0, len(rows)*len(rows[0]))
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
		args = append(args, r...)
	}
	// Both SQLite (3.24+) and PostgreSQL (9.5+) spell the upsert this way;
	// created_at is not among the updated columns.
	b.WriteString(` ON CONFLICT (id) DO UPDATE SET cluster = excluded.cluster, namespace = excluded.namespace,
		name = excluded.name, kind = excluded.kind, source = excluded.source, search_text = excluded.search_text,
		updated_at = excluded.updated_at, body = excluded.body`)
	if _, err := q.exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("write %d deployments from %q: %w", len(rows), rows[0][0], err)
	}
	return nil
}

// GetDeployment returns the deployment with id, or an ErrNotFound error.
func (s *Store) GetDeployment(ctx context.Context, id string) (DeploymentRecord, error) {
	return s.direct().getDeployment(ctx, id)
}

// GetDeployment is Store.GetDeployment inside the transaction.
func (tx *Tx) GetDeployment(ctx context.Context, id string) (DeploymentRecord, error) {
	return tx.q().getDeployment(ctx, id)
}

func (q querier) getDeployment(ctx context.Context, id string) (DeploymentRecord, error) {
	d, err := scanDeployment(q.queryRow(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return DeploymentRecord{}, fmt.Errorf("deployment %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return DeploymentRecord{}, fmt.Errorf("get deployment %q: %w", id, err)
	}
	return d, nil
}

// DeleteDeployment removes the deployment with id, or returns an ErrNotFound
// error.
func (s *Store) DeleteDeployment(ctx context.Context, id string) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.DeleteDeployment(ctx, id) })
}

// DeleteDeployment is Store.DeleteDeployment inside the transaction.
func (tx *Tx) DeleteDeployment(ctx context.Context, id string) error {
	res, err := tx.q().exec(ctx, `DELETE FROM deployments WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete deployment %q: %w", id, err)
	}
	if err := tx.q().unindexDeployment(ctx, id); err != nil {
		return fmt.Errorf("delete deployment %q: %w", id, err)
	}
	return mustAffect(res, fmt.Sprintf("deployment %q", id))
}

// CountDeployments returns the number of stored deployments.
func (s *Store) CountDeployments(ctx context.Context) (int, error) {
	var n int
	if err := s.direct().queryRow(ctx, `SELECT COUNT(*) FROM deployments`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count deployments: %w", err)
	}
	return n, nil
}

// deploymentOrder renders DeploymentQuery.Sort as ORDER BY terms on the
// columns of table (a name or alias, "" for none); ok is false for an unknown
// sort. The columns compare by code point on both backends (see the
// migration), so no collation is added here, which keeps the indexes usable
// for the order.
func deploymentOrder(sort, table string) (order string, ok bool) {
	desc := strings.HasPrefix(sort, "-")
	var cols []string
	switch strings.TrimPrefix(sort, "-") {
	case "", "name":
		if sort == "-" {
			return "", false
		}
		cols = []string{"name", "namespace", "cluster", "id"}
	case "namespace":
		cols = []string{"namespace", "name", "cluster", "id"}
	case "cluster":
		cols = []string{"cluster", "namespace", "name", "id"}
	case "updated":
		cols = []string{"updated_at", "id"}
	default:
		return "", false
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	if table != "" {
		for i := range cols {
			cols[i] = table + "." + cols[i]
		}
	}
	return strings.Join(cols, dir+", ") + dir, true
}

// where renders the filters of q as a WHERE clause and its arguments, on
// the unaliased deployments table. byteOrder is the dialect's code-point
// collation, which the open-alert index is built with.
func (q DeploymentQuery) where(byteOrder string) (string, []any, error) {
	var (
		conds []string
		args  []any
	)
	for _, f := range []struct{ col, v string }{
		{"cluster", q.Cluster}, {"namespace", q.Namespace}, {"name", q.Name}, {"kind", q.Kind}, {"source", q.Source},
	} {
		if f.v == "" {
			continue
		}
		if err := checkKey("deployment query "+f.col, f.v, false); err != nil {
			return "", nil, err
		}
		conds = append(conds, f.col+" = ?")
		args = append(args, f.v)
	}
	if q.Text != "" {
		if err := checkKey("deployment query text", q.Text, false); err != nil {
			return "", nil, err
		}
		conds = append(conds, `search_text LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(fold(q.Text))+"%")
	}
	// Each probe is one lookup in alerts_open_by_deployment.
	open := `EXISTS (SELECT 1 FROM alerts a WHERE a.deployment_id` + byteOrder + ` = deployments.id AND a.state = '` + AlertActive + `'`
	if q.Violated != nil {
		if *q.Violated {
			conds = append(conds, open+")")
		} else {
			conds = append(conds, "NOT "+open+")")
		}
	}
	if q.Severity != "" {
		rank := severityRank(q.Severity)
		if rank == 0 {
			return "", nil, fmt.Errorf("deployment query severity %q: want LOW_SEVERITY, MEDIUM_SEVERITY, HIGH_SEVERITY or CRITICAL_SEVERITY: %w", q.Severity, ErrInvalid)
		}
		conds = append(conds, open+" AND a.severity_rank = ?)")
		args = append(args, rank)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// ListDeployments returns the page of deployments q selects and how many
// deployments match q's filters in all.
func (s *Store) ListDeployments(ctx context.Context, q DeploymentQuery) ([]DeploymentRecord, int, error) {
	switch strings.TrimPrefix(q.Sort, "-") {
	case sortViolations:
		return s.listDeploymentsByViolations(ctx, q)
	case sortRisk:
		page, _, total, err := s.listDeploymentsByRisk(ctx, q)
		return page, total, err
	}
	order, ok := deploymentOrder(q.Sort, "")
	if !ok {
		return nil, 0, fmt.Errorf("list deployments: unknown sort %q: want name, namespace, cluster, updated, violations or risk, optionally prefixed with -: %w", q.Sort, ErrInvalid)
	}
	if q.Offset < 0 {
		return nil, 0, fmt.Errorf("list deployments: negative offset %d: %w", q.Offset, ErrInvalid)
	}
	where, args, err := q.where(s.d.byteOrder)
	if err != nil {
		return nil, 0, fmt.Errorf("list deployments: %w", err)
	}
	// A page picks its ids first, from the narrow columns (often from an
	// index alone), and then reads the documents of those rows only: sorting
	// or skipping past whole rows would make SQLite carry every document
	// through its sorter.
	pageQuery := `SELECT ` + deploymentColumns + ` FROM deployments` + where + ` ORDER BY ` + order
	if q.Limit > 0 {
		outer, _ := deploymentOrder(q.Sort, "d")
		pageQuery = `SELECT d.` + strings.ReplaceAll(deploymentColumns, ", ", ", d.") + ` FROM deployments d
			JOIN (SELECT id FROM deployments` + where + ` ORDER BY ` + order + s.d.limit(q.Limit, q.Offset) + `) p ON p.id = d.id
			ORDER BY ` + outer
	} else if q.Offset > 0 {
		pageQuery += s.d.limit(0, q.Offset)
	}
	var (
		out   []DeploymentRecord
		total int
	)
	err = s.read(ctx, func(rq querier) error {
		if err := rq.queryRow(ctx, `SELECT COUNT(*) FROM deployments`+where, args...).Scan(&total); err != nil {
			return err
		}
		if q.Offset >= total {
			return nil
		}
		rows, err := rq.query(ctx, pageQuery, args...)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			d, err := scanDeployment(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list deployments: %w", err)
	}
	return out, total, nil
}

// EachDeployment reads deployments in pages of at most eachPageRows rows
// and, past a page's first row, eachPageBytes of documents.
const (
	eachPageRows  = 256
	eachPageBytes = 8 << 20
)

// EachDeployment calls fn with every stored deployment, in id order, and
// stops at fn's first error, which it returns as is. It reads one bounded
// page at a time and holds no transaction or connection while fn runs, so
// fn may take its time and may write to the store. Each page is its own
// read: a deployment written during the iteration is seen at most once, in
// whichever version its page read, and one deleted may still be seen.
func (s *Store) EachDeployment(ctx context.Context, fn func(DeploymentRecord) error) error {
	return s.eachDeployment(ctx, eachPageRows, eachPageBytes, fn)
}

func (s *Store) eachDeployment(ctx context.Context, pageRows, pageBytes int, fn func(DeploymentRecord) error) error {
	after := "" // every id is longer: ids are never empty
	limit := pageRows
	for {
		page, more, err := s.direct().deploymentPage(ctx, after, limit, pageBytes)
		if err != nil {
			return fmt.Errorf("read deployments after %q: %w", after, err)
		}
		for _, d := range page {
			if err := fn(d); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		after = page[len(page)-1].ID
		// A page cut short by its size asks for as many rows next time, so
		// large documents are not read only to be dropped; a full page
		// doubles the next, up to pageRows.
		if len(page) < limit {
			limit = len(page)
		} else {
			limit = min(2*limit, pageRows)
		}
	}
}

// deploymentPage reads up to limit deployments with ids after after, stopping
// early once their documents reach maxBytes. more reports that deployments
// may follow the page.
func (q querier) deploymentPage(ctx context.Context, after string, limit, maxBytes int) (page []DeploymentRecord, more bool, err error) {
	rows, err := q.query(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id > ? ORDER BY id`+q.d.limit(limit, 0), after)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	size := 0
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, false, err
		}
		page = append(page, d)
		if size += len(d.JSON); size >= maxBytes && len(page) < limit {
			return page, true, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return page, len(page) == limit, nil
}
