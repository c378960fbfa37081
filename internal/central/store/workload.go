package store

import (
	"context"
	"fmt"
)

// The workload views (the deployments and clusters pages) show open
// violations next to each deployment, namespace and cluster. Open means an
// ACTIVE alert; the counts are grouped queries over the partial indexes of
// migration 0008, one query per page rather than one per row.

// sortViolations is the DeploymentQuery sort by open violations.
const sortViolations = "violations"

// ViolationCounts are open violations by severity.
type ViolationCounts struct {
	Critical int
	High     int
	Medium   int
	Low      int
}

// Total is the number of open violations of any severity.
func (v ViolationCounts) Total() int { return v.Critical + v.High + v.Medium + v.Low }

// add counts n violations of the severity of rank (severityRank); other
// ranks are not counted.
func (v *ViolationCounts) add(rank, n int) {
	switch rank {
	case 4:
		v.Critical += n
	case 3:
		v.High += n
	case 2:
		v.Medium += n
	case 1:
		v.Low += n
	}
}

// openAlert is the condition on the alerts table of an open alert; a
// literal, so that SQLite sees the partial indexes apply.
const openAlert = `state = '` + AlertActive + `'`

// openIndex names, on SQLite, the partial index a grouped count over every
// open alert must read: without statistics SQLite's planner prefers
// alerts_state and then reads every open alert's row (30,000 rows for
// 50,000 alerts: 100 ms instead of 5). PostgreSQL's planner has
// statistics and no such syntax.
func (d dialect) openIndex(name string) string {
	if d.name == "sqlite" {
		return " INDEXED BY " + name
	}
	return ""
}

// deploymentIndex names, on SQLite, the index of deployments a sort by
// violations scans when q filters on nothing outside it: without
// statistics SQLite scans deployments_updated and reads every row,
// document and all, for its name.
func (d dialect) deploymentIndex(q DeploymentQuery) string {
	if d.name != "sqlite" || q.Kind != "" || q.Source != "" || q.Text != "" {
		return ""
	}
	if q.Cluster != "" {
		return " INDEXED BY deployments_location"
	}
	return " INDEXED BY deployments_name"
}

// idChunk bounds the ids of one IN list.
const idChunk = 500

// DeploymentViolations returns the open violations of each of ids that
// has any.
func (s *Store) DeploymentViolations(ctx context.Context, ids []string) (map[string]ViolationCounts, error) {
	out := make(map[string]ViolationCounts, len(ids))
	err := s.read(ctx, func(q querier) error {
		for start := 0; start < len(ids); start += idChunk {
			chunk := ids[start:min(start+idChunk, len(ids))]
			if err := q.deploymentViolations(ctx, chunk, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count open violations of %d deployments: %w", len(ids), err)
	}
	return out, nil
}

func (q querier) deploymentViolations(ctx context.Context, ids []string, out map[string]ViolationCounts) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.query(ctx, `SELECT deployment_id, severity_rank, COUNT(*) FROM alerts
		WHERE `+openAlert+` AND deployment_id`+q.d.byteOrder+` IN `+placeholders(1, len(ids))+`
		GROUP BY deployment_id, severity_rank`, args...)
	if err != nil {
		return err
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	for rows.Next() {
		var (
			id      string
			rank, n int
		)
		if err := rows.Scan(&id, &rank, &n); err != nil {
			return err
		}
		v := out[id]
		v.add(rank, n)
		out[id] = v
	}
	return rows.Err()
}

// listDeploymentsByViolations is ListDeployments sorted by open
// violations: the page's ids are picked from the counts of every matching
// deployment (one grouped pass over the open-alert index), then their rows
// are read by id.
func (s *Store) listDeploymentsByViolations(ctx context.Context, q DeploymentQuery) ([]DeploymentRecord, int, error) {
	if q.Offset < 0 {
		return nil, 0, fmt.Errorf("list deployments: negative offset %d: %w", q.Offset, ErrInvalid)
	}
	dir := " DESC"
	switch q.Sort {
	case sortViolations:
	case "-" + sortViolations:
		dir = " ASC"
	default:
		return nil, 0, fmt.Errorf("list deployments: unknown sort %q: %w", q.Sort, ErrInvalid)
	}
	bo := s.d.byteOrder
	where, args, err := q.where(bo)
	if err != nil {
		return nil, 0, fmt.Errorf("list deployments: %w", err)
	}
	// One sort key per deployment, its open violations weighted by
	// severity: 2^45 per critical, 2^30 per high, 2^15 per medium, 1 per
	// low, which orders by critical, then high, medium and low counts as
	// long as each stays under 32,768, and sorts faster than four keys.
	idQuery := `SELECT deployments.id FROM deployments` + s.d.deploymentIndex(q) + ` LEFT JOIN (
			SELECT deployment_id AS vid,
				SUM(CASE severity_rank WHEN 4 THEN 35184372088832 WHEN 3 THEN 1073741824 WHEN 2 THEN 32768 WHEN 1 THEN 1 ELSE 0 END) AS weight
			FROM alerts` + s.d.openIndex("alerts_open_by_deployment") + ` WHERE ` + openAlert + ` GROUP BY deployment_id
		) v ON v.vid` + bo + ` = deployments.id` + where + ` ORDER BY COALESCE(v.weight, 0)` + dir +
		`, deployments.name ASC, deployments.namespace ASC, deployments.cluster ASC, deployments.id ASC` + s.d.limit(q.Limit, q.Offset)
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
		ids, err := rq.strings(ctx, idQuery, args...)
		if err != nil {
			return err
		}
		out, err = rq.deploymentsInOrder(ctx, ids)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list deployments by violations: %w", err)
	}
	return out, total, nil
}

// deploymentsInOrder reads the deployments with ids, in the order of ids,
// leaving out those not stored.
func (q querier) deploymentsInOrder(ctx context.Context, ids []string) ([]DeploymentRecord, error) {
	byID := make(map[string]DeploymentRecord, len(ids))
	for start := 0; start < len(ids); start += idChunk {
		if err := q.deploymentsIn(ctx, ids[start:min(start+idChunk, len(ids))], byID); err != nil {
			return nil, err
		}
	}
	out := make([]DeploymentRecord, 0, len(ids))
	for _, id := range ids {
		if d, ok := byID[id]; ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// deploymentsIn reads the deployments with ids into out by id.
func (q querier) deploymentsIn(ctx context.Context, ids []string, out map[string]DeploymentRecord) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.query(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id IN `+placeholders(1, len(ids))+``, args...)
	if err != nil {
		return err
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return err
		}
		out[d.ID] = d
	}
	return rows.Err()
}

// strings runs a query of one text column and returns its values.
func (q querier) strings(ctx context.Context, text string, args ...any) ([]string, error) {
	rows, err := q.query(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// PlaceStats is what a cluster or a namespace holds: its deployments, the
// namespaces they are in (for a cluster), and its open violations, which
// include those of workloads Central has no deployment for (requests
// admission control denied or could not decide).
type PlaceStats struct {
	Deployments int
	Namespaces  int
	Violations  ViolationCounts
}

// ClusterStats returns the stats of every cluster (by name) that has a
// deployment or an open violation, in one read snapshot.
func (s *Store) ClusterStats(ctx context.Context) (map[string]PlaceStats, error) {
	out := map[string]PlaceStats{}
	err := s.read(ctx, func(q querier) error {
		rows, err := q.query(ctx, `SELECT cluster, COUNT(*), COUNT(DISTINCT namespace) FROM deployments GROUP BY cluster`)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			var (
				name string
				st   PlaceStats
			)
			if err := rows.Scan(&name, &st.Deployments, &st.Namespaces); err != nil {
				return err
			}
			out[name] = st
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return q.openByPlace(ctx, `SELECT cluster_name, severity_rank, COUNT(*) FROM alerts`+q.d.openIndex("alerts_open_by_cluster")+` WHERE `+openAlert+`
			GROUP BY cluster_name, severity_rank`, nil, out)
	})
	if err != nil {
		return nil, fmt.Errorf("cluster stats: %w", err)
	}
	return out, nil
}

// NamespaceStats returns the stats of every namespace of cluster (by
// name) that has a deployment or an open violation.
func (s *Store) NamespaceStats(ctx context.Context, cluster string) (map[string]PlaceStats, error) {
	if err := checkKey("cluster", cluster, true); err != nil {
		return nil, fmt.Errorf("namespace stats: %w", err)
	}
	out := map[string]PlaceStats{}
	err := s.read(ctx, func(q querier) error {
		rows, err := q.query(ctx, `SELECT namespace, COUNT(*) FROM deployments WHERE cluster = ? GROUP BY namespace`, cluster)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			var (
				ns string
				st PlaceStats
			)
			if err := rows.Scan(&ns, &st.Deployments); err != nil {
				return err
			}
			out[ns] = st
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return q.openByPlace(ctx, `SELECT namespace, severity_rank, COUNT(*) FROM alerts`+q.d.openIndex("alerts_open_by_cluster")+` WHERE `+openAlert+` AND cluster_name = ?
			GROUP BY namespace, severity_rank`, []any{cluster}, out)
	})
	if err != nil {
		return nil, fmt.Errorf("namespace stats of cluster %q: %w", cluster, err)
	}
	return out, nil
}

// openByPlace adds the open violations a query of (place, severity rank,
// count) rows returns to out.
func (q querier) openByPlace(ctx context.Context, text string, args []any, out map[string]PlaceStats) error {
	rows, err := q.query(ctx, text, args...)
	if err != nil {
		return err
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	for rows.Next() {
		var (
			place   string
			rank, n int
		)
		if err := rows.Scan(&place, &rank, &n); err != nil {
			return err
		}
		st := out[place]
		st.Violations.add(rank, n)
		out[place] = st
	}
	return rows.Err()
}

// ImagesByName returns the stored images (without their documents) the
// full names last resolved to, by name, and those of the digests, by
// digest. Names and digests not stored are left out.
func (s *Store) ImagesByName(ctx context.Context, names, digests []string) (byName, byDigest map[string]ImageRecord, err error) {
	byName, byDigest = map[string]ImageRecord{}, map[string]ImageRecord{}
	for _, v := range append(append([]string(nil), names...), digests...) {
		if err := checkKey("image name", v, true); err != nil {
			return nil, nil, fmt.Errorf("look up images: %w", err)
		}
	}
	err = s.read(ctx, func(q querier) error {
		for start := 0; start < len(names); start += idChunk {
			chunk := names[start:min(start+idChunk, len(names))]
			if err := q.imagesIn(ctx, `SELECT n.full_name, `+imageColumns("i")+` FROM image_names n JOIN images i ON i.digest = n.digest
				WHERE n.full_name IN `+placeholders(1, len(chunk))+``, chunk, byName); err != nil {
				return err
			}
		}
		for start := 0; start < len(digests); start += idChunk {
			chunk := digests[start:min(start+idChunk, len(digests))]
			if err := q.imagesIn(ctx, `SELECT digest, `+imageSummaryColumns+` FROM images WHERE digest IN `+placeholders(1, len(chunk))+``,
				chunk, byDigest); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("look up images: %w", err)
	}
	return byName, byDigest, nil
}

// imagesIn reads rows of (key, image summary columns) into out by key.
func (q querier) imagesIn(ctx context.Context, text string, keys []string, out map[string]ImageRecord) error {
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := q.query(ctx, text, args...)
	if err != nil {
		return err
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	for rows.Next() {
		var key string
		r, err := scanImage(keyed{&key, rows}, false)
		if err != nil {
			return err
		}
		out[key] = r
	}
	return rows.Err()
}

// keyed scans a leading key column into key, then the rest with scan.
type keyed struct {
	key  *string
	rows interface{ Scan(...any) error }
}

func (k keyed) Scan(dest ...any) error { return k.rows.Scan(append([]any{k.key}, dest...)...) }
