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
		rows, err := rq.query(ctx, `SELECT `+imageSummaryColumns+` FROM images WHERE digest IN `+inList(len(chunk)), chunk...)
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
			WHERE n.digest IN `+inList(len(chunk)), chunk...)
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
			WHERE n.digest IN `+inList(len(args))+` GROUP BY n.digest`, args...)
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

var deploymentVulnSorts = map[string]func(a, b *DeploymentVulns) int{
	"name":      func(a, b *DeploymentVulns) int { return 0 },
	"namespace": func(a, b *DeploymentVulns) int { return strings.Compare(a.Namespace, b.Namespace) },
	"cluster":   func(a, b *DeploymentVulns) int { return strings.Compare(a.Cluster, b.Cluster) },
	"cves":      func(a, b *DeploymentVulns) int { return cmp.Compare(a.CVEs, b.CVEs) },
	"critical":  func(a, b *DeploymentVulns) int { return cmp.Compare(a.Critical, b.Critical) },
	"important": func(a, b *DeploymentVulns) int { return cmp.Compare(a.Important, b.Important) },
	"fixable":   func(a, b *DeploymentVulns) int { return cmp.Compare(a.Fixable, b.Fixable) },
	"images":    func(a, b *DeploymentVulns) int { return cmp.Compare(len(a.Images), len(b.Images)) },
}

// ListDeploymentVulns returns the page of deployments q selects, with the
// CVE counts of the images they run, and how many match in all.
func (s *Store) ListDeploymentVulns(ctx context.Context, q DeploymentVulnQuery) ([]DeploymentVulns, int, error) {
	key, desc := sortKey(q.Sort, "name")
	by, ok := deploymentVulnSorts[key]
	if !ok || q.Sort == "-" {
		return nil, 0, fmt.Errorf("list deployment vulnerabilities: unknown sort %q: want name, namespace, cluster, cves, critical, important, fixable or images, optionally prefixed with -: %w", q.Sort, ErrInvalid)
	}
	if q.Offset < 0 {
		return nil, 0, fmt.Errorf("list deployment vulnerabilities: negative offset %d: %w", q.Offset, ErrInvalid)
	}
	where, args, err := DeploymentQuery{Cluster: q.Cluster, Namespace: q.Namespace, Text: q.Text}.where()
	if err != nil {
		return nil, 0, fmt.Errorf("list deployment vulnerabilities: %w", err)
	}
	var all []DeploymentVulns
	err = s.read(ctx, func(rq querier) error {
		var err error
		all, err = readDeploymentImages(ctx, rq, where, args)
		if err != nil {
			return err
		}
		return countDeploymentVulns(ctx, rq, all)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list deployment vulnerabilities: %w", err)
	}
	slices.SortFunc(all, func(a, b DeploymentVulns) int {
		c := cmp.Or(by(&a, &b), strings.Compare(a.Name, b.Name), strings.Compare(a.Namespace, b.Namespace),
			strings.Compare(a.Cluster, b.Cluster), strings.Compare(a.ID, b.ID))
		if desc {
			return -c
		}
		return c
	})
	return pageOf(all, q.Offset, q.Limit), len(all), nil
}

// readDeploymentImages reads the deployments where selects (a WHERE clause
// on deployments) with the images they run.
func readDeploymentImages(ctx context.Context, rq querier, where string, args []any) ([]DeploymentVulns, error) {
	rows, err := rq.query(ctx, `SELECT d.id, d.name, d.namespace, d.cluster, di.image_name, n.digest FROM (SELECT id, name, namespace, cluster FROM deployments`+
		where+`) d LEFT JOIN deployment_images di ON di.deployment_id = d.id LEFT JOIN image_names n ON n.full_name = di.image_name
		ORDER BY d.id, di.image_name`, args...)
	if err != nil {
		return nil, fmt.Errorf("read deployments' images: %w", err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []DeploymentVulns
	for rows.Next() {
		var (
			d            DeploymentVulns
			name, digest *string
		)
		if err := rows.Scan(&d.ID, &d.Name, &d.Namespace, &d.Cluster, &name, &digest); err != nil {
			return nil, fmt.Errorf("read deployments' images: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != d.ID {
			out = append(out, d)
		}
		if name != nil {
			im := DeploymentImage{Name: *name}
			if digest != nil {
				im.Digest = *digest
			}
			last := &out[len(out)-1]
			last.Images = append(last.Images, im)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read deployments' images: %w", err)
	}
	return out, nil
}

// countDeploymentVulns fills in the counts of each of ds. A deployment
// running one scanned image has that image's counts; one running several
// has the distinct CVEs of them all, computed once per set of digests.
func countDeploymentVulns(ctx context.Context, rq querier, ds []DeploymentVulns) error {
	rows, err := rq.query(ctx, `SELECT digest, vulns, critical, important, moderate, low, fixable FROM images`)
	if err != nil {
		return fmt.Errorf("read image counts: %w", err)
	}
	single := map[string]VulnCounts{}
	err = func() error {
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			var (
				d string
				c VulnCounts
			)
			if err := rows.Scan(&d, &c.CVEs, &c.Critical, &c.Important, &c.Moderate, &c.Low, &c.Fixable); err != nil {
				return err
			}
			single[d] = c
		}
		return rows.Err()
	}()
	if err != nil {
		return fmt.Errorf("read image counts: %w", err)
	}
	sets := map[string][]string{} // set key → digests
	keys := make([]string, len(ds))
	for i := range ds {
		var digests []string
		for _, im := range ds[i].Images {
			if _, ok := single[im.Digest]; ok && !slices.Contains(digests, im.Digest) {
				digests = append(digests, im.Digest)
			}
		}
		switch len(digests) {
		case 0:
		case 1:
			ds[i].VulnCounts = single[digests[0]]
		default:
			slices.Sort(digests)
			keys[i] = strings.Join(digests, ",")
			sets[keys[i]] = digests
		}
	}
	if len(sets) == 0 {
		return nil
	}
	counts, err := unionCounts(ctx, rq, sets)
	if err != nil {
		return err
	}
	for i := range ds {
		if keys[i] != "" {
			ds[i].VulnCounts = counts[keys[i]]
		}
	}
	return nil
}

// vulnMark is a CVE's highest severity rank and whether it is fixable in
// one image.
type vulnMark struct {
	rank    int
	fixable bool
}

// unionCounts counts the distinct CVEs of each set of digests.
func unionCounts(ctx context.Context, rq querier, sets map[string][]string) (map[string]VulnCounts, error) {
	var args []any
	seen := map[string]bool{}
	for _, digests := range sets {
		for _, d := range digests {
			if !seen[d] {
				seen[d] = true
				args = append(args, d)
			}
		}
	}
	perImage := map[string]map[string]vulnMark{}
	for start := 0; start < len(args); start += vulnChunk {
		chunk := args[start:min(start+vulnChunk, len(args))]
		rows, err := rq.query(ctx, `SELECT digest, vuln_id, MAX(severity), MAX(fixable) FROM image_cves WHERE digest IN `+
			inList(len(chunk))+` GROUP BY digest, vuln_id`, chunk...)
		if err != nil {
			return nil, fmt.Errorf("read CVEs of images: %w", err)
		}
		err = func() error {
			defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
			for rows.Next() {
				var (
					d, v     string
					sev, fix int
				)
				if err := rows.Scan(&d, &v, &sev, &fix); err != nil {
					return err
				}
				m := perImage[d]
				if m == nil {
					m = map[string]vulnMark{}
					perImage[d] = m
				}
				m[v] = vulnMark{rank: sev, fixable: fix == 1}
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("read CVEs of images: %w", err)
		}
	}
	out := make(map[string]VulnCounts, len(sets))
	for key, digests := range sets {
		union := map[string]vulnMark{}
		for _, d := range digests {
			for v, m := range perImage[d] {
				u := union[v]
				union[v] = vulnMark{rank: max(u.rank, m.rank), fixable: u.fixable || m.fixable}
			}
		}
		var c VulnCounts
		for _, m := range union {
			c.CVEs++
			if m.fixable {
				c.Fixable++
			}
			switch m.rank {
			case 4:
				c.Critical++
			case 3:
				c.Important++
			case 2:
				c.Moderate++
			case 1:
				c.Low++
			}
		}
		out[key] = c
	}
	return out, nil
}
