package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
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
	// The filters are checked as the deployments list checks them, then
	// applied here to every deployment with its counts, cached between writes.
	if _, _, err := (DeploymentQuery{Cluster: q.Cluster, Namespace: q.Namespace, Text: q.Text}).where(s.d.byteOrder); err != nil {
		return nil, 0, fmt.Errorf("list deployment vulnerabilities: %w", err)
	}
	gen := s.vulnCache.generation()
	all, ok := s.vulnCache.getDeployments(gen)
	if !ok {
		err := s.read(ctx, func(rq querier) error {
			var err error
			if all, err = readDeploymentImages(ctx, rq, "", nil); err != nil {
				return err
			}
			return s.countDeploymentVulns(ctx, rq, all)
		})
		if err != nil {
			return nil, 0, fmt.Errorf("list deployment vulnerabilities: %w", err)
		}
		if all == nil {
			all = []DeploymentVulns{}
		}
		s.vulnCache.putDeployments(gen, all)
	}
	text := fold(q.Text)
	order := make([]*DeploymentVulns, 0, len(all))
	for i := range all {
		d := &all[i]
		if (q.Cluster != "" && d.Cluster != q.Cluster) || (q.Namespace != "" && d.Namespace != q.Namespace) ||
			(text != "" && !strings.Contains(fold(d.Name+"\n"+d.Namespace+"\n"+d.Cluster), text)) {
			continue
		}
		order = append(order, d)
	}
	slices.SortFunc(order, func(a, b *DeploymentVulns) int {
		c := cmp.Or(by(a, b), strings.Compare(a.Name, b.Name), strings.Compare(a.Namespace, b.Namespace),
			strings.Compare(a.Cluster, b.Cluster), strings.Compare(a.ID, b.ID))
		if desc {
			return -c
		}
		return c
	})
	page := pageOf(order, q.Offset, q.Limit)
	out := make([]DeploymentVulns, len(page))
	for i, d := range page {
		out[i] = *d
	}
	return out, len(order), nil
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

// countDeploymentVulns fills in the counts of each of ds. A deployment
// running one scanned image has that image's counts; one running several
// has the distinct CVEs of them all, computed once per set of digests.
func (s *Store) countDeploymentVulns(ctx context.Context, rq querier, ds []DeploymentVulns) error {
	rows, err := rq.query(ctx, `SELECT digest, vulns, critical, important, moderate, low, fixable, updated_at FROM images`)
	if err != nil {
		return fmt.Errorf("read image counts: %w", err)
	}
	single := map[string]VulnCounts{}
	updated := map[string]int64{}
	err = func() error {
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			var (
				d  string
				c  VulnCounts
				at int64
			)
			if err := rows.Scan(&d, &c.CVEs, &c.Critical, &c.Important, &c.Moderate, &c.Low, &c.Fixable, &at); err != nil {
				return err
			}
			single[d], updated[d] = c, at
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
	counts, err := s.unionCounts(ctx, rq, sets, updated)
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

// vulnMark is one CVE of one image: its id, its severity rank and whether
// the image has a fix.
type vulnMark struct {
	vuln    string
	rank    int8
	fixable bool
}

// imageMarks are the CVEs of one image as of its updated_at.
type imageMarks struct {
	updated int64
	marks   []vulnMark
}

// markCache keeps the CVEs of each image for deployments' counts, keyed by
// digest and valid while the image's updated_at is unchanged: an image's
// index rows change only with its upsert, which moves updated_at. Stale
// entries are replaced on their next use.
type markCache struct {
	mu     sync.Mutex
	images map[string]imageMarks
}

// get returns the cached CVEs of each of digests still current, and the
// digests to read.
func (c *markCache) get(digests []string, updated map[string]int64) (map[string][]vulnMark, []any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]vulnMark, len(digests))
	var missing []any
	for _, d := range digests {
		if m, ok := c.images[d]; ok && m.updated == updated[d] {
			out[d] = m.marks
			continue
		}
		missing = append(missing, d)
	}
	return out, missing
}

func (c *markCache) put(read map[string][]vulnMark, updated map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.images == nil {
		c.images = map[string]imageMarks{}
	}
	for d, m := range read {
		c.images[d] = imageMarks{updated: updated[d], marks: m}
	}
	// Images are never deleted today; should that change, bound the cache.
	if len(c.images) > 4*len(updated)+1024 {
		for d := range c.images {
			if _, ok := updated[d]; !ok {
				delete(c.images, d)
			}
		}
	}
}

// unionCounts counts the distinct CVEs of each set of digests, each at its
// highest severity in the set. CVEs are numbered as they are met so that
// the unions run over arrays rather than maps.
func (s *Store) unionCounts(ctx context.Context, rq querier, sets map[string][]string, updated map[string]int64) (map[string]VulnCounts, error) {
	var digests []string
	seen := map[string]bool{}
	for _, ds := range sets {
		for _, d := range ds {
			if !seen[d] {
				seen[d] = true
				digests = append(digests, d)
			}
		}
	}
	perImage, missing := s.marks.get(digests, updated)
	read := map[string][]vulnMark{}
	for start := 0; start < len(missing); start += vulnChunk {
		chunk := missing[start:min(start+vulnChunk, len(missing))]
		rows, err := rq.query(ctx, `SELECT digest, vuln_id, severity, fixable FROM image_cves WHERE digest IN `+placeholders(1, len(chunk)), chunk...)
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
				read[d] = append(read[d], vulnMark{vuln: v, rank: int8(sev), fixable: fix == 1})
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("read CVEs of images: %w", err)
		}
	}
	for _, d := range missing {
		d := d.(string)
		if read[d] == nil {
			read[d] = []vulnMark{}
		}
		perImage[d] = read[d]
	}
	s.marks.put(read, updated)

	number := map[string]int32{}
	numbered := make(map[string][]int32, len(perImage))
	for d, marks := range perImage {
		ns := make([]int32, len(marks))
		for i, m := range marks {
			n, ok := number[m.vuln]
			if !ok {
				n = int32(len(number))
				number[m.vuln] = n
			}
			ns[i] = n
		}
		numbered[d] = ns
	}
	var (
		stamp   = make([]int32, len(number)) // 1 + the set that last saw the CVE
		rank    = make([]int8, len(number))
		fixable = make([]bool, len(number))
		touched []int32
		out     = make(map[string]VulnCounts, len(sets))
		set     int32
	)
	for key, ds := range sets {
		set++
		touched = touched[:0]
		for _, d := range ds {
			for i, m := range perImage[d] {
				v := numbered[d][i]
				if stamp[v] != set {
					stamp[v], rank[v], fixable[v] = set, m.rank, m.fixable
					touched = append(touched, v)
					continue
				}
				rank[v], fixable[v] = max(rank[v], m.rank), fixable[v] || m.fixable
			}
		}
		var c VulnCounts
		for _, v := range touched {
			c.CVEs++
			if fixable[v] {
				c.Fixable++
			}
			switch rank[v] {
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
