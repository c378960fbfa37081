package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// Vulnerability management reads: CVEs across images, and deployments with
// the CVEs of the images they run. They read the index of vulnindex.go and
// resolve deployments' image names through image_names when asked, then
// aggregate, sort and page in Go: a few thousand CVEs and ten thousand
// deployments are small sets, while exact counts of distinct deployments
// per CVE (a deployment running two affected images counts once) are not
// something either backend computes quickly in SQL.

// severityRanks are the severities by rank, UNKNOWN first.
var severityRanks = [...]scan.Severity{scan.SeverityUnknown, scan.SeverityLow, scan.SeverityModerate, scan.SeverityImportant, scan.SeverityCritical}

// CVEQuery selects a page of CVEs. Text is a case-insensitive substring of
// the id, an affected component's name or the summary. Severities keeps
// CVEs whose highest severity is one of them; Fixable, when set, CVEs with
// (true) or without (false) a fixed version in some image. Cluster and
// Namespace narrow everything, counts included, to the images deployments
// there run.
//
// Sort is "severity" (then CVSS), "cvss", "images", "deployments",
// "firstSeen" or "id", lowest first, or one of them prefixed with "-" for
// the reverse; empty is "-severity". Ties are broken by id in the same
// direction. Limit <= 0 returns every CVE after Offset.
type CVEQuery struct {
	Text       string
	Severities []scan.Severity
	Fixable    *bool
	Cluster    string
	Namespace  string
	Sort       string
	Offset     int
	Limit      int
}

// CVESummary is one CVE across the images selected. Severity and CVSS are
// the highest found; CVSSVersion the latest CVSS version of its vectors.
type CVESummary struct {
	ID          string
	Severity    scan.Severity
	CVSS        float64
	CVSSVersion string
	Fixable     bool
	Images      int
	Deployments int
	// FirstSeen is when Central first saw the CVE in any image (zero when
	// unknown).
	FirstSeen time.Time
	Summary   string
}

// CVEComponent is one component of one image a CVE affects.
type CVEComponent struct {
	Digest    string
	Component string
	Version   string
	Type      string
	Layer     string
	FixedBy   string
	Severity  scan.Severity
	CVSS      float64
}

// DeploymentRef names a deployment and the stored image digests it runs.
type DeploymentRef struct {
	ID        string
	Name      string
	Namespace string
	Cluster   string
	Digests   []string
}

// CVEDetail is one CVE with where it was found.
type CVEDetail struct {
	CVESummary
	Components []CVEComponent
	// AffectedImages are the images the CVE was found in, by name.
	AffectedImages []ImageRecord
	// AffectedDeployments are at most MaxCVEDeployments of the deployments
	// running an affected image, by cluster, namespace and name; Deployments
	// counts them all.
	AffectedDeployments []DeploymentRef
}

// MaxCVEDeployments bounds the deployments GetCVE lists.
const MaxCVEDeployments = 1000

// cveSorts are the sort keys of CVEQuery.
var cveSorts = map[string]func(a, b *CVESummary) int{
	"severity": func(a, b *CVESummary) int {
		return cmp.Or(cmp.Compare(a.Severity.Rank(), b.Severity.Rank()), cmp.Compare(a.CVSS, b.CVSS))
	},
	"cvss":        func(a, b *CVESummary) int { return cmp.Compare(a.CVSS, b.CVSS) },
	"images":      func(a, b *CVESummary) int { return cmp.Compare(a.Images, b.Images) },
	"deployments": func(a, b *CVESummary) int { return cmp.Compare(a.Deployments, b.Deployments) },
	"firstSeen":   func(a, b *CVESummary) int { return a.FirstSeen.Compare(b.FirstSeen) },
	"id":          func(a, b *CVESummary) int { return 0 },
}

// sortKey splits "-key" into key and descending; empty is def.
func sortKey(sort, def string) (string, bool) {
	if sort == "" {
		sort = def
	}
	return strings.TrimPrefix(sort, "-"), strings.HasPrefix(sort, "-")
}

// pageOf returns the page [offset, offset+limit) of s.
func pageOf[T any](s []T, offset, limit int) []T {
	if offset >= len(s) {
		return nil
	}
	s = s[offset:]
	if limit > 0 && limit < len(s) {
		s = s[:limit]
	}
	return s
}

// scopeDigests is the subquery of the digests deployments in cluster (and
// namespace) run, with its arguments; empty when neither is set.
func scopeDigests(cluster, namespace string) (string, []any) {
	if cluster == "" && namespace == "" {
		return "", nil
	}
	var (
		conds []string
		args  []any
	)
	if cluster != "" {
		conds, args = append(conds, "d.cluster = ?"), append(args, cluster)
	}
	if namespace != "" {
		conds, args = append(conds, "d.namespace = ?"), append(args, namespace)
	}
	return `SELECT n.digest FROM deployments d JOIN deployment_images di ON di.deployment_id = d.id
		JOIN image_names n ON n.full_name = di.image_name WHERE ` + strings.Join(conds, " AND "), args
}

// deploymentDigests maps each stored digest to the indexes (into ids) of the
// deployments in cluster and namespace (empty: any) running it.
func deploymentDigests(ctx context.Context, rq querier, cluster, namespace string) (map[string][]int32, []string, error) {
	where, args := "", []any(nil)
	var conds []string
	if cluster != "" {
		conds, args = append(conds, "d.cluster = ?"), append(args, cluster)
	}
	if namespace != "" {
		conds, args = append(conds, "d.namespace = ?"), append(args, namespace)
	}
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := rq.query(ctx, `SELECT DISTINCT di.deployment_id, n.digest FROM deployment_images di
		JOIN deployments d ON d.id = di.deployment_id JOIN image_names n ON n.full_name = di.image_name`+where, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve deployments' images: %w", err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	byDigest := make(map[string][]int32)
	index := make(map[string]int32)
	var ids []string
	for rows.Next() {
		var id, digest string
		if err := rows.Scan(&id, &digest); err != nil {
			return nil, nil, fmt.Errorf("resolve deployments' images: %w", err)
		}
		i, ok := index[id]
		if !ok {
			i = int32(len(ids))
			index[id] = i
			ids = append(ids, id)
		}
		byDigest[digest] = append(byDigest[digest], i)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("resolve deployments' images: %w", err)
	}
	return byDigest, ids, nil
}

// cachedDeploymentDigests is deploymentDigests, from the cache for the
// whole system when it is current at gen.
func (s *Store) cachedDeploymentDigests(ctx context.Context, rq querier, gen uint64, cluster, namespace string) (map[string][]int32, []string, error) {
	if cluster != "" || namespace != "" {
		return deploymentDigests(ctx, rq, cluster, namespace)
	}
	if j := s.vulnCache.getDigests(gen); j != nil {
		return j.byDigest, j.ids, nil
	}
	byDigest, ids, err := deploymentDigests(ctx, rq, "", "")
	if err != nil {
		return nil, nil, err
	}
	s.vulnCache.putDigests(gen, &deploymentDigestsJoin{byDigest: byDigest, ids: ids})
	return byDigest, ids, nil
}

// countDeployments sets the Deployments of each of cves: the distinct
// deployments in byDigest running an image the CVE affects.
func countDeployments(ctx context.Context, rq querier, cves []CVESummary, byDigest map[string][]int32, deployments int) error {
	if len(cves) == 0 {
		return nil
	}
	at := make(map[string]int, len(cves))
	for i := range cves {
		at[cves[i].ID] = i
		cves[i].Deployments = 0
	}
	// stamp[d] is 1 + the index of the last CVE deployment d was counted for.
	stamp := make([]int32, deployments)
	count := func(vuln, digest string) {
		i, ok := at[vuln]
		if !ok {
			return
		}
		for _, d := range byDigest[digest] {
			if stamp[d] != int32(i+1) {
				stamp[d] = int32(i + 1)
				cves[i].Deployments++
			}
		}
	}
	// Rows come ordered by vuln_id, so each CVE's stamps are contiguous.
	read := func(query string, args ...any) error {
		rows, err := rq.query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			var vuln, digest string
			if err := rows.Scan(&vuln, &digest); err != nil {
				return err
			}
			count(vuln, digest)
		}
		return rows.Err()
	}
	if len(cves) > vulnChunk {
		if err := read(`SELECT DISTINCT vuln_id, digest FROM image_cves ORDER BY vuln_id`); err != nil {
			return fmt.Errorf("count deployments per CVE: %w", err)
		}
		return nil
	}
	ids := make([]any, len(cves))
	for i := range cves {
		ids[i] = cves[i].ID
	}
	if err := read(`SELECT DISTINCT vuln_id, digest FROM image_cves WHERE vuln_id IN `+placeholders(1, len(ids))+` ORDER BY vuln_id`, ids...); err != nil {
		return fmt.Errorf("count deployments per CVE: %w", err)
	}
	return nil
}

// checkCVEQuery validates q's text fields and sort.
func checkCVEQuery(q *CVEQuery) (key string, desc bool, err error) {
	key, desc = sortKey(q.Sort, "-severity")
	if _, ok := cveSorts[key]; !ok || q.Sort == "-" {
		return "", false, fmt.Errorf("unknown sort %q: want severity, cvss, images, deployments, firstSeen or id, optionally prefixed with -: %w", q.Sort, ErrInvalid)
	}
	if q.Offset < 0 {
		return "", false, fmt.Errorf("negative offset %d: %w", q.Offset, ErrInvalid)
	}
	for _, f := range []struct{ name, v string }{{"CVE query text", q.Text}, {"cluster", q.Cluster}, {"namespace", q.Namespace}} {
		if err := checkKey(f.name, f.v, false); err != nil {
			return "", false, err
		}
	}
	for _, s := range q.Severities {
		if s.Rank() == 0 && s != scan.SeverityUnknown {
			return "", false, fmt.Errorf("unknown severity %q: %w", s, ErrInvalid)
		}
	}
	return key, desc, nil
}

// ListCVEs returns the page of CVEs q selects and how many match in all.
func (s *Store) ListCVEs(ctx context.Context, q CVEQuery) ([]CVESummary, int, error) {
	out, total, err := s.listCVEs(ctx, q)
	if err != nil {
		return nil, 0, fmt.Errorf("list CVEs: %w", err)
	}
	return out, total, nil
}

func (s *Store) listCVEs(ctx context.Context, q CVEQuery) ([]CVESummary, int, error) {
	key, desc, err := checkCVEQuery(&q)
	if err != nil {
		return nil, 0, err
	}
	query, args := cveListQuery(&q)
	var (
		all   []CVESummary
		page  []CVESummary
		total = -1
	)
	// Across the whole system every order but "deployments" is the
	// database's, from the cves table's indexes: only the page is read.
	order, inSQL := cveOrder[key]
	inSQL = inSQL && q.Cluster == "" && q.Namespace == ""
	if inSQL {
		dir := " ASC"
		if desc {
			dir = " DESC"
		}
		query = `SELECT * FROM (` + query + `) l ORDER BY ` + strings.Join(order, dir+", ") + dir + s.d.limit(q.Limit, q.Offset)
	}
	gen := s.vulnCache.generation()
	err = s.read(ctx, func(rq querier) error {
		if inSQL {
			cq, cargs := cveListQuery(&q)
			if err := rq.queryRow(ctx, `SELECT COUNT(*) FROM (`+cq+`) l`, cargs...).Scan(&total); err != nil {
				return err
			}
		}
		rows, err := rq.query(ctx, query, args...)
		if err != nil {
			return err
		}
		err = func() error {
			defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
			for rows.Next() {
				var (
					c         CVESummary
					sev, fix  int
					firstSeen *int64
				)
				if err := rows.Scan(&c.ID, &sev, &c.CVSS, &c.CVSSVersion, &fix, &c.Images, &c.Summary, &firstSeen); err != nil {
					return err
				}
				c.Severity, c.Fixable = severityRanks[min(max(sev, 0), len(severityRanks)-1)], fix == 1
				if firstSeen != nil {
					c.FirstSeen = fromNanos(*firstSeen)
				}
				all = append(all, c)
			}
			return rows.Err()
		}()
		if err != nil {
			return err
		}
		if inSQL {
			page = all
			if len(page) == 0 {
				return nil
			}
			byDigest, ids, err := s.cachedDeploymentDigests(ctx, rq, gen, "", "")
			if err != nil {
				return err
			}
			return countDeployments(ctx, rq, page, byDigest, len(ids))
		}
		if len(all) == 0 || q.Offset >= len(all) {
			return nil
		}
		byDigest, ids, err := s.cachedDeploymentDigests(ctx, rq, gen, q.Cluster, q.Namespace)
		if err != nil {
			return err
		}
		if key == "deployments" {
			if err := countDeployments(ctx, rq, all, byDigest, len(ids)); err != nil {
				return err
			}
		}
		sortCVEs(all, key, desc)
		page = pageOf(all, q.Offset, q.Limit)
		if key != "deployments" {
			return countDeployments(ctx, rq, page, byDigest, len(ids))
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if total < 0 {
		total = len(all)
	}
	return page, total, nil
}

// cveOrder is the ORDER BY of each CVE sort done in SQL, over the columns
// of the whole-system list query (ties broken by id, as sortCVEs does).
var cveOrder = map[string][]string{
	"severity":  {"l.severity", "l.cvss", "l.vuln_id"},
	"cvss":      {"l.cvss", "l.vuln_id"},
	"images":    {"l.images", "l.vuln_id"},
	"firstSeen": {"COALESCE(l.first_seen, 0)", "l.vuln_id"},
	"id":        {"l.vuln_id"},
}

// cveListQuery renders the query of every CVE q's filters select, unsorted:
// from the cves table when the whole system is asked about, or aggregated
// from image_cves over the images deployments in q's cluster and namespace
// run.
func cveListQuery(q *CVEQuery) (string, []any) {
	var (
		conds []string
		args  []any
	)
	col := "c.severity"
	fixCol := "c.fixable"
	scope, scopeArgs := scopeDigests(q.Cluster, q.Namespace)
	if scope != "" {
		col, fixCol = "MAX(c.severity)", "MAX(c.fixable)"
	}
	var (
		having     []string
		havingArgs []any
	)
	if len(q.Severities) > 0 {
		having = append(having, col+" IN "+placeholders(1, len(q.Severities)))
		for _, sev := range q.Severities {
			havingArgs = append(havingArgs, sev.Rank())
		}
	}
	if q.Fixable != nil {
		having, havingArgs = append(having, fixCol+" = ?"), append(havingArgs, map[bool]int{false: 0, true: 1}[*q.Fixable])
	}
	like := "%" + likeEscaper.Replace(fold(q.Text)) + "%"
	if scope == "" {
		if q.Text != "" {
			conds, args = append(conds, `c.search_text LIKE ? ESCAPE '\'`), append(args, like)
		}
		conds, args = append(conds, having...), append(args, havingArgs...)
		query := `SELECT c.vuln_id, c.severity, c.cvss, c.cvss_version, c.fixable, c.images, c.summary, v.first_seen
			FROM cves c LEFT JOIN vulns_seen v ON v.vuln_id = c.vuln_id`
		if len(conds) > 0 {
			query += " WHERE " + strings.Join(conds, " AND ")
		}
		return query, args
	}
	args = append(args, scopeArgs...)
	conds = append(conds, "c.digest IN ("+scope+")")
	if q.Text != "" {
		conds = append(conds, `c.vuln_id IN (SELECT vuln_id FROM cves WHERE search_text LIKE ? ESCAPE '\')`)
		args = append(args, like)
	}
	args = append(args, havingArgs...)
	query := `SELECT c.vuln_id, MAX(c.severity), MAX(c.cvss), MAX(c.cvss_version), MAX(c.fixable), COUNT(DISTINCT c.digest)
		FROM image_cves c WHERE ` + strings.Join(conds, " AND ") + ` GROUP BY c.vuln_id`
	if len(having) > 0 {
		query += " HAVING " + strings.Join(having, " AND ")
	}
	return `SELECT a.*, COALESCE(cv.summary, ''), v.first_seen FROM (` + query + `) a
		LEFT JOIN cves cv ON cv.vuln_id = a.vuln_id LEFT JOIN vulns_seen v ON v.vuln_id = a.vuln_id`, args
}

func sortCVEs(all []CVESummary, key string, desc bool) {
	by := cveSorts[key]
	slices.SortFunc(all, func(a, b CVESummary) int {
		c := cmp.Or(by(&a, &b), strings.Compare(a.ID, b.ID))
		if desc {
			return -c
		}
		return c
	})
}

// EachCVE calls fn with every CVE q selects, in q's order and from its
// offset (q.Limit bounds them when positive), and stops at fn's first
// error, which it returns as is. It is ListCVEs for exports: the CVEs are
// aggregated once, then handed out.
func (s *Store) EachCVE(ctx context.Context, q CVEQuery, fn func(CVESummary) error) error {
	all, _, err := s.listCVEs(ctx, q)
	if err != nil {
		return fmt.Errorf("export CVEs: %w", err)
	}
	for _, c := range all {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// GetCVE returns the CVE id with the components, images and deployments it
// affects, or an ErrNotFound error when no stored image has it.
func (s *Store) GetCVE(ctx context.Context, id string) (CVEDetail, error) {
	if err := checkKey("CVE id", id, true); err != nil {
		return CVEDetail{}, fmt.Errorf("get CVE: %w", err)
	}
	var d CVEDetail
	err := s.read(ctx, func(rq querier) error {
		rows, err := rq.query(ctx, `SELECT digest, component, version, comp_type, layer, fixed_by, severity, cvss, cvss_version, summary
			FROM image_cves WHERE vuln_id = ? ORDER BY digest, seq`, id)
		if err != nil {
			return err
		}
		digests := map[string]bool{}
		var digestArgs []any
		err = func() error {
			defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
			for rows.Next() {
				var (
					c         CVEComponent
					sev       int
					ver, summ string
				)
				if err := rows.Scan(&c.Digest, &c.Component, &c.Version, &c.Type, &c.Layer, &c.FixedBy, &sev, &c.CVSS, &ver, &summ); err != nil {
					return err
				}
				c.Severity = severityRanks[min(max(sev, 0), len(severityRanks)-1)]
				if d.Severity == "" || c.Severity.Rank() > d.Severity.Rank() {
					d.Severity = c.Severity
				}
				if c.CVSS > d.CVSS || (c.CVSS == d.CVSS && ver > d.CVSSVersion) {
					d.CVSS, d.CVSSVersion = c.CVSS, ver
				}
				d.Fixable = d.Fixable || c.FixedBy != ""
				d.Summary = max(d.Summary, summ)
				if !digests[c.Digest] {
					digests[c.Digest] = true
					digestArgs = append(digestArgs, c.Digest)
				}
				d.Components = append(d.Components, c)
			}
			return rows.Err()
		}()
		if err != nil {
			return err
		}
		if len(d.Components) == 0 {
			return fmt.Errorf("CVE %q: %w", id, ErrNotFound)
		}
		d.ID, d.Images = id, len(digestArgs)
		var seen int64
		if err := rq.queryRow(ctx, `SELECT COALESCE(MAX(first_seen), 0) FROM vulns_seen WHERE vuln_id = ?`, id).Scan(&seen); err != nil {
			return err
		}
		if seen > 0 {
			d.FirstSeen = fromNanos(seen)
		}
		if d.AffectedImages, err = imagesByDigest(ctx, rq, digestArgs); err != nil {
			return err
		}
		d.Deployments, d.AffectedDeployments, err = deploymentsRunning(ctx, rq, digestArgs, MaxCVEDeployments)
		return err
	})
	if err != nil {
		return CVEDetail{}, fmt.Errorf("get CVE %q: %w", id, err)
	}
	return d, nil
}
