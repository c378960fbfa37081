package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// imagesByDigest reads the summaries of the stored images among digests,
// by name.
func imagesByDigest(ctx context.Context, rq querier, digests []any) ([]ImageRecord, error) {
	var out []ImageRecord
	for start := 0; start < len(digests); start += vulnChunk {
		chunk := digests[start:min(start+vulnChunk, len(digests))]
		rows, err := rq.query(ctx, `SELECT `+imageSummaryColumns+` FROM images WHERE digest IN `+placeholders(1, len(chunk)), chunk...)
		if err != nil {
			return nil, fmt.Errorf("read images: %w", err)
		}
		err = func() error {
			defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
			for rows.Next() {
				r, err := scanImage(rows, false)
				if err != nil {
					return err
				}
				out = append(out, r)
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("read images: %w", err)
		}
	}
	slices.SortFunc(out, func(a, b ImageRecord) int {
		return cmp.Or(strings.Compare(a.FullName, b.FullName), strings.Compare(a.Digest, b.Digest))
	})
	return out, nil
}

// deploymentsRunning returns how many deployments run one of digests and
// the first max of them by cluster, namespace and name, each with the
// digests among digests it runs.
func deploymentsRunning(ctx context.Context, rq querier, digests []any, max int) (int, []DeploymentRef, error) {
	byID := map[string]*DeploymentRef{}
	for start := 0; start < len(digests); start += vulnChunk {
		chunk := digests[start:min(start+vulnChunk, len(digests))]
		rows, err := rq.query(ctx, `SELECT DISTINCT d.id, d.name, d.namespace, d.cluster, n.digest FROM image_names n
			JOIN deployment_images di ON di.image_name = n.full_name JOIN deployments d ON d.id = di.deployment_id
			WHERE n.digest IN `+placeholders(1, len(chunk)), chunk...)
		if err != nil {
			return 0, nil, fmt.Errorf("find deployments running images: %w", err)
		}
		err = func() error {
			defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
			for rows.Next() {
				var r DeploymentRef
				var digest string
				if err := rows.Scan(&r.ID, &r.Name, &r.Namespace, &r.Cluster, &digest); err != nil {
					return err
				}
				p, ok := byID[r.ID]
				if !ok {
					p = &r
					byID[r.ID] = p
				}
				if !slices.Contains(p.Digests, digest) {
					p.Digests = append(p.Digests, digest)
				}
			}
			return rows.Err()
		}()
		if err != nil {
			return 0, nil, fmt.Errorf("find deployments running images: %w", err)
		}
	}
	out := make([]DeploymentRef, 0, len(byID))
	for _, r := range byID {
		slices.Sort(r.Digests)
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b DeploymentRef) int {
		return cmp.Or(strings.Compare(a.Cluster, b.Cluster), strings.Compare(a.Namespace, b.Namespace),
			strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	total := len(out)
	if len(out) > max {
		out = out[:max]
	}
	return total, out, nil
}

// ImageDeployments returns how many deployments run the image digest and
// the first max of them by cluster, namespace and name.
func (s *Store) ImageDeployments(ctx context.Context, digest string, max int) (int, []DeploymentRef, error) {
	var (
		total int
		out   []DeploymentRef
	)
	err := s.read(ctx, func(rq querier) (err error) {
		total, out, err = deploymentsRunning(ctx, rq, []any{digest}, max)
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("deployments of image %s: %w", digest, err)
	}
	return total, out, nil
}

// ImageDeploymentCounts returns how many deployments run each of digests
// (digests no deployment runs are left out).
func (s *Store) ImageDeploymentCounts(ctx context.Context, digests []string) (map[string]int, error) {
	out := make(map[string]int, len(digests))
	for start := 0; start < len(digests); start += vulnChunk {
		chunk := digests[start:min(start+vulnChunk, len(digests))]
		args := make([]any, len(chunk))
		for i, d := range chunk {
			args[i] = d
		}
		rows, err := s.direct().query(ctx, `SELECT n.digest, COUNT(DISTINCT di.deployment_id) FROM image_names n
			JOIN deployment_images di ON di.image_name = n.full_name JOIN deployments d ON d.id = di.deployment_id
			WHERE n.digest IN `+placeholders(1, len(args))+` GROUP BY n.digest`, args...)
		if err != nil {
			return nil, fmt.Errorf("count deployments of images: %w", err)
		}
		err = func() error {
			defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
			for rows.Next() {
				var (
					d string
					n int
				)
				if err := rows.Scan(&d, &n); err != nil {
					return err
				}
				out[d] = n
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("count deployments of images: %w", err)
		}
	}
	return out, nil
}

// DeploymentVulnQuery selects a page of deployments with their CVE counts.
// Cluster and Namespace match exactly, Text is a case-insensitive substring
// of the name, namespace or cluster. Sort is "name" (the default),
// "namespace", "cluster", "cves", "critical", "important", "fixable" or
// "images", lowest first, or prefixed with "-" for the reverse; ties are
// broken by cluster, namespace, name and id in the same direction.
type DeploymentVulnQuery struct {
	Cluster   string
	Namespace string
	Text      string
	Sort      string
	Offset    int
	Limit     int
}

// DeploymentImage is an image a deployment runs: its name and, once
// scanned, its digest.
type DeploymentImage struct {
	Name   string
	Digest string
}

// VulnCounts count distinct CVEs, each at its highest severity; Fixable
// those with a fixed version.
type VulnCounts struct {
	CVEs, Critical, Important, Moderate, Low, Fixable int
}

// DeploymentVulns is a deployment with the CVEs of the images it runs.
type DeploymentVulns struct {
	ID        string
	Name      string
	Namespace string
	Cluster   string
	Images    []DeploymentImage
	VulnCounts
}

// deploymentVulnOrder is the ORDER BY columns of each deployment sort:
// the key, then name, namespace, cluster and id (deployment_vulns' indexes).
var deploymentVulnOrder = map[string][]string{
	"name":      {"name", "namespace", "cluster", "deployment_id"},
	"namespace": {"namespace", "name", "cluster", "deployment_id"},
	"cluster":   {"cluster", "name", "namespace", "deployment_id"},
	"cves":      {"cves", "name", "namespace", "cluster", "deployment_id"},
	"critical":  {"critical", "name", "namespace", "cluster", "deployment_id"},
	"important": {"important", "name", "namespace", "cluster", "deployment_id"},
	"fixable":   {"fixable", "name", "namespace", "cluster", "deployment_id"},
	"images":    {"images", "name", "namespace", "cluster", "deployment_id"},
}

// ListDeploymentVulns returns the page of deployments q selects, with the
// CVE counts of the images they run, and how many match in all. The counts
// are kept on writes (vulncount.go), so the database sorts and pages.
func (s *Store) ListDeploymentVulns(ctx context.Context, q DeploymentVulnQuery) ([]DeploymentVulns, int, error) {
	key, desc := sortKey(q.Sort, "name")
	order, ok := deploymentVulnOrder[key]
	if !ok || q.Sort == "-" {
		return nil, 0, fmt.Errorf("list deployment vulnerabilities: unknown sort %q: want name, namespace, cluster, cves, critical, important, fixable or images, optionally prefixed with -: %w", q.Sort, ErrInvalid)
	}
	if q.Offset < 0 {
		return nil, 0, fmt.Errorf("list deployment vulnerabilities: negative offset %d: %w", q.Offset, ErrInvalid)
	}
	// The filters are checked as the deployments list checks them.
	if _, _, err := (DeploymentQuery{Cluster: q.Cluster, Namespace: q.Namespace, Text: q.Text}).where(s.d.byteOrder); err != nil {
		return nil, 0, fmt.Errorf("list deployment vulnerabilities: %w", err)
	}
	conds, args := scopeConds("", q.Cluster, q.Namespace)
	if q.Text != "" {
		conds, args = append(conds, `search_text LIKE ? ESCAPE '\'`), append(args, "%"+likeEscaper.Replace(fold(q.Text))+"%")
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	var (
		out   []DeploymentVulns
		total int
	)
	err := s.read(ctx, func(rq querier) error {
		if err := rq.queryRow(ctx, `SELECT COUNT(*) FROM deployment_vulns`+where, args...).Scan(&total); err != nil {
			return err
		}
		var err error
		out, err = rq.deploymentVulnCounts(ctx, where+` ORDER BY `+strings.Join(order, dir+", ")+dir+s.d.limit(q.Limit, q.Offset), args...)
		if err != nil || len(out) == 0 {
			return err
		}
		at := make(map[string]int, len(out))
		ids := make([]string, len(out))
		for i := range out {
			at[out[i].ID], ids[i] = i, out[i].ID
		}
		return chunks(ids, vulnChunk, func(chunk []string) error {
			images, err := readDeploymentImages(ctx, rq, " WHERE id IN "+placeholders(1, len(chunk)), inArgs(chunk))
			if err != nil {
				return err
			}
			for _, d := range images {
				out[at[d.ID]].Images = d.Images
			}
			return nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list deployment vulnerabilities: %w", err)
	}
	if out == nil {
		out = []DeploymentVulns{}
	}
	return out, total, nil
}

// deploymentVulnCounts reads the deployments' CVE counts kept in
// deployment_vulns (vulncount.go); rest is what follows FROM: a WHERE
// clause, an order, a page.
func (q querier) deploymentVulnCounts(ctx context.Context, rest string, args ...any) ([]DeploymentVulns, error) {
	rows, err := q.query(ctx, `SELECT deployment_id, name, namespace, cluster, cves, critical, important, moderate, low, fixable
		FROM deployment_vulns`+rest, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []DeploymentVulns
	for rows.Next() {
		var d DeploymentVulns
		c := &d.VulnCounts
		if err := rows.Scan(&d.ID, &d.Name, &d.Namespace, &d.Cluster, &c.CVEs, &c.Critical, &c.Important, &c.Moderate, &c.Low, &c.Fixable); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// readDeploymentImages reads the deployments where selects (a WHERE clause
// on deployments) with the images they run.
func readDeploymentImages(ctx context.Context, rq querier, where string, args []any) ([]DeploymentVulns, error) {
	rows, err := rq.query(ctx, `SELECT d.id, d.name, d.namespace, d.cluster, di.image_name, n.digest FROM (SELECT id, name, namespace, cluster FROM deployments`+
		where+`) d LEFT JOIN deployment_images di ON di.deployment_id = d.id LEFT JOIN image_names n ON n.full_name = di.image_name`, args...)
	if err != nil {
		return nil, fmt.Errorf("read deployments' images: %w", err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []DeploymentVulns
	at := map[string]int{}
	for rows.Next() {
		var (
			d            DeploymentVulns
			name, digest *string
		)
		if err := rows.Scan(&d.ID, &d.Name, &d.Namespace, &d.Cluster, &name, &digest); err != nil {
			return nil, fmt.Errorf("read deployments' images: %w", err)
		}
		i, ok := at[d.ID]
		if !ok {
			i = len(out)
			at[d.ID] = i
			out = append(out, d)
		}
		if name != nil {
			im := DeploymentImage{Name: *name}
			if digest != nil {
				im.Digest = *digest
			}
			out[i].Images = append(out[i].Images, im)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read deployments' images: %w", err)
	}
	for i := range out {
		slices.SortFunc(out[i].Images, func(a, b DeploymentImage) int { return strings.Compare(a.Name, b.Name) })
	}
	return out, nil
}
