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
// the counts vulncount.go keeps on writes — exact counts of distinct
// deployments per CVE (a deployment running two affected images counts
// once), which neither backend computes quickly at read time — so the
// database filters, sorts and pages on indexes.

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
	conds, args := scopeConds("", cluster, namespace)
	if len(conds) == 0 {
		return "", nil
	}
	return `SELECT digest FROM scope_images WHERE ` + strings.Join(conds, " AND "), args
}

// scopeConds are the conditions on the cluster and namespace columns of
// table (an alias with its dot, or "") that select cluster and namespace
// (empty: any).
func scopeConds(table, cluster, namespace string) ([]string, []any) {
	var (
		conds []string
		args  []any
	)
	if cluster != "" {
		conds, args = append(conds, table+"cluster = ?"), append(args, cluster)
	}
	if namespace != "" {
		conds, args = append(conds, table+"namespace = ?"), append(args, namespace)
	}
	return conds, args
}

// scopeImageCounts sets the Images of each of cves: the distinct images
// deployments in cluster and namespace run that have the CVE. It is for
// scopes spanning namespaces, whose image counts do not add up from
// scope_cves.
func scopeImageCounts(ctx context.Context, rq querier, cves []CVESummary, cluster, namespace string) error {
	if len(cves) == 0 {
		return nil
	}
	scope, scopeArgs := scopeDigests(cluster, namespace)
	at := make(map[string]int, len(cves))
	ids := make([]string, len(cves))
	for i := range cves {
		at[cves[i].ID], ids[i] = i, cves[i].ID
	}
	read := func(query string, args ...any) error {
		rows, err := rq.query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			var (
				id string
				n  int
			)
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			if i, ok := at[id]; ok {
				cves[i].Images = n
			}
		}
		return rows.Err()
	}
	var err error
	if len(cves) > vulnChunk {
		err = read(`SELECT vuln_id, COUNT(DISTINCT digest) FROM image_cves WHERE digest IN (`+scope+`) GROUP BY vuln_id`, scopeArgs...)
	} else {
		err = read(`SELECT vuln_id, COUNT(DISTINCT digest) FROM image_cves WHERE vuln_id IN `+placeholders(1, len(ids))+
			` AND digest IN (`+scope+`) GROUP BY vuln_id`, append(inArgs(ids), scopeArgs...)...)
	}
	if err != nil {
		return fmt.Errorf("count images per CVE: %w", err)
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
	// Every sort is the database's, from the indexes of cves and
	// scope_cves, except images over a scope spanning namespaces: those
	// counts are computed here, for the page or, to sort by them, for all.
	spanning := (q.Cluster == "") != (q.Namespace == "")
	inSQL := !spanning || key != "images"
	listed := query
	if inSQL {
		dir := " ASC"
		if desc {
			dir = " DESC"
		}
		listed = `SELECT * FROM (` + query + `) l ORDER BY ` + strings.Join(cveOrder[key], dir+", ") + dir + s.d.limit(q.Limit, q.Offset)
	}
	var (
		all   []CVESummary
		total = -1
	)
	err = s.read(ctx, func(rq querier) error {
		if inSQL {
			if err := rq.queryRow(ctx, `SELECT COUNT(*) FROM (`+query+`) l`, args...).Scan(&total); err != nil {
				return err
			}
		}
		rows, err := rq.query(ctx, listed, args...)
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
				if err := rows.Scan(&c.ID, &sev, &c.CVSS, &c.CVSSVersion, &fix, &c.Images, &c.Deployments, &c.Summary, &firstSeen); err != nil {
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
		if !spanning {
			return nil
		}
		if !inSQL {
			total = len(all)
			if q.Offset >= len(all) {
				all = nil
				return nil
			}
		}
		return scopeImageCounts(ctx, rq, all, q.Cluster, q.Namespace)
	})
	if err != nil {
		return nil, 0, err
	}
	if inSQL {
		return all, total, nil
	}
	sortCVEs(all, key, desc)
	return pageOf(all, q.Offset, q.Limit), total, nil
}

// cveOrder is the ORDER BY of each CVE sort, over the columns of the list
// query (ties broken by id, as sortCVEs does).
var cveOrder = map[string][]string{
	"severity":    {"l.severity", "l.cvss", "l.vuln_id"},
	"cvss":        {"l.cvss", "l.vuln_id"},
	"images":      {"l.images", "l.vuln_id"},
	"deployments": {"l.deployments", "l.vuln_id"},
	"firstSeen":   {"COALESCE(l.first_seen, 0)", "l.vuln_id"},
	"id":          {"l.vuln_id"},
}

// cveListQuery renders the query of every CVE q's filters select, unsorted,
// as vuln_id, severity, cvss, cvss_version, fixable, images, deployments,
// summary and first_seen: from cves across the whole system, from
// scope_cves in one cluster and namespace, and summed from scope_cves over
// the namespaces of a cluster, or the clusters of a namespace (with images
// left 0 for scopeImageCounts).
func cveListQuery(q *CVEQuery) (string, []any) {
	var (
		conds []string
		args  []any
	)
	spanning := (q.Cluster == "") != (q.Namespace == "")
	sev, fix := "c.severity", "c.fixable"
	switch {
	case spanning:
		sev, fix = "MAX(s.severity)", "MAX(s.fixable)"
	case q.Cluster != "":
		sev, fix = "s.severity", "s.fixable"
	}
	var (
		filters    []string
		filterArgs []any
	)
	if len(q.Severities) > 0 {
		filters = append(filters, sev+" IN "+placeholders(1, len(q.Severities)))
		for _, s := range q.Severities {
			filterArgs = append(filterArgs, s.Rank())
		}
	}
	if q.Fixable != nil {
		filters, filterArgs = append(filters, fix+" = ?"), append(filterArgs, map[bool]int{false: 0, true: 1}[*q.Fixable])
	}
	like := "%" + likeEscaper.Replace(fold(q.Text)) + "%"
	switch {
	case q.Cluster == "" && q.Namespace == "":
		if q.Text != "" {
			conds, args = append(conds, `c.search_text LIKE ? ESCAPE '\'`), append(args, like)
		}
		conds, args = append(conds, filters...), append(args, filterArgs...)
		query := `SELECT c.vuln_id, c.severity, c.cvss, c.cvss_version, c.fixable, c.images, c.deployments, c.summary, v.first_seen
			FROM cves c LEFT JOIN vulns_seen v ON v.vuln_id = c.vuln_id`
		if len(conds) > 0 {
			query += " WHERE " + strings.Join(conds, " AND ")
		}
		return query, args
	case !spanning:
		conds, args = scopeConds("s.", q.Cluster, q.Namespace)
		if q.Text != "" {
			conds, args = append(conds, `c.search_text LIKE ? ESCAPE '\'`), append(args, like)
		}
		conds, args = append(conds, filters...), append(args, filterArgs...)
		return `SELECT s.vuln_id, s.severity, s.cvss, s.cvss_version, s.fixable, s.images, s.deployments, COALESCE(c.summary, '') AS summary, v.first_seen
			FROM scope_cves s LEFT JOIN cves c ON c.vuln_id = s.vuln_id LEFT JOIN vulns_seen v ON v.vuln_id = s.vuln_id
			WHERE ` + strings.Join(conds, " AND "), args
	}
	conds, args = scopeConds("s.", q.Cluster, q.Namespace)
	if q.Text != "" {
		conds, args = append(conds, `s.vuln_id IN (SELECT vuln_id FROM cves WHERE search_text LIKE ? ESCAPE '\')`), append(args, like)
	}
	query := `SELECT s.vuln_id, MAX(s.severity) AS severity, MAX(s.cvss) AS cvss, MAX(s.cvss_version) AS cvss_version,
			MAX(s.fixable) AS fixable, 0 AS images, SUM(s.deployments) AS deployments
		FROM scope_cves s WHERE ` + strings.Join(conds, " AND ") + ` GROUP BY s.vuln_id`
	if len(filters) > 0 {
		query += " HAVING " + strings.Join(filters, " AND ")
		args = append(args, filterArgs...)
	}
	return `SELECT a.vuln_id, a.severity, a.cvss, a.cvss_version, a.fixable, a.images, a.deployments, COALESCE(c.summary, '') AS summary, v.first_seen
		FROM (` + query + `) a LEFT JOIN cves c ON c.vuln_id = a.vuln_id LEFT JOIN vulns_seen v ON v.vuln_id = a.vuln_id`, args
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
