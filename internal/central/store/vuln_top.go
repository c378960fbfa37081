package store

import (
	"context"
	"fmt"
)

// FixableImage is a stored image with its distinct fixable CVEs of
// critical and of important severity.
type FixableImage struct {
	Digest    string
	FullName  string
	Critical  int
	Important int
}

// MaxTopFixable bounds TopFixableImages' limit.
const MaxTopFixable = 100

// TopFixableImages returns the limit images with the most fixable critical
// and important CVEs, most first (ties by name, then digest); with cluster or
// namespace set, only images deployments there run. Images without such a
// CVE are left out.
func (s *Store) TopFixableImages(ctx context.Context, cluster, namespace string, limit int) ([]FixableImage, error) {
	if limit < 1 || limit > MaxTopFixable {
		return nil, fmt.Errorf("top fixable images: limit %d: want 1 to %d: %w", limit, MaxTopFixable, ErrInvalid)
	}
	for _, v := range []string{cluster, namespace} {
		if err := checkKey("top fixable images filter", v, false); err != nil {
			return nil, err
		}
	}
	scope, args := scopeDigests(cluster, namespace)
	where := ""
	if scope != "" {
		where = ` AND c.digest IN (` + scope + `)`
	}
	text := `SELECT c.digest, i.full_name,
			COUNT(DISTINCT CASE WHEN c.severity = 4 THEN c.vuln_id END),
			COUNT(DISTINCT CASE WHEN c.severity = 3 THEN c.vuln_id END)
		FROM image_cves c JOIN images i ON i.digest = c.digest
		WHERE c.fixable = 1 AND c.severity >= 3` + where + `
		GROUP BY c.digest, i.full_name
		ORDER BY COUNT(DISTINCT c.vuln_id) DESC, i.full_name` + s.d.byteOrder + `, c.digest` + s.d.byteOrder + s.d.limit(limit, 0)
	var out []FixableImage
	err := s.read(ctx, func(rq querier) error {
		rows, err := rq.query(ctx, text, args...)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			var f FixableImage
			if err := rows.Scan(&f.Digest, &f.FullName, &f.Critical, &f.Important); err != nil {
				return err
			}
			out = append(out, f)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("top fixable images: %w", err)
	}
	return out, nil
}
