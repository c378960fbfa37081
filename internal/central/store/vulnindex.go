package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// The vulnerability index (migration 0009) is two tables the store derives
// from the documents it keeps: image_cves from each image's scan.Image, and
// deployment_images from each deployment's workload.Deployment. They are
// rewritten in the transaction that writes the document, so they never
// disagree with it.

// cveRowWidth is the number of columns of one image_cves insert.
const cveRowWidth = 13

// cveChunk bounds the rows of one image_cves insert (13 parameters each:
// 1,300, below both backends' limits).
const cveChunk = 100

// reindexBatch is how many deployments the reindex indexes per
// transaction: the counts of a batch move once (vulncount.go), so larger
// batches share more of that work.
const reindexBatch = 1000

// reindexSetting marks a database whose documents predate the index.
const reindexSetting = "store/reindex-vulns"

// cvssVersion is the CVSS version a vector names ("CVSS:3.1/…" → "3.1");
// a vector without the prefix is version 2.
func cvssVersion(vector string) string {
	if vector == "" {
		return ""
	}
	if rest, ok := strings.CutPrefix(vector, "CVSS:"); ok {
		v, _, _ := strings.Cut(rest, "/")
		return v
	}
	return "2.0"
}

// imageCVERows turns a scan document into image_cves rows. The store
// accepts any JSON document; one that is not a scan.Image has no rows.
func imageCVERows(digest string, doc []byte) [][]any {
	var img scan.Image
	if err := json.Unmarshal(doc, &img); err != nil {
		return nil
	}
	var rows [][]any
	for _, c := range img.Components {
		for _, v := range c.Vulns {
			if v.ID == "" {
				continue
			}
			fixable := 0
			if v.FixedBy != "" {
				fixable = 1
			}
			rows = append(rows, []any{digest, len(rows), v.ID, v.Severity.Rank(), v.CVSS, cvssVersion(v.CVSSVector), fixable,
				c.Name, c.Version, string(c.Ecosystem), c.Layer, v.FixedBy, v.Summary})
		}
	}
	return rows
}

// indexImage rewrites the image_cves rows of digest from its document,
// and the cves rows of the CVEs it had or has.
//
// The deployments running digest have their counts moved when its CVEs
// change (vulncount.go).
func (q querier) indexImage(ctx context.Context, digest string, doc []byte) error {
	before, err := q.readImageVulns(ctx, []string{digest})
	if err != nil {
		return err
	}
	if err := q.rewriteImageCVEs(ctx, digest, doc); err != nil {
		return err
	}
	after, err := q.readImageVulns(ctx, []string{digest})
	if err != nil {
		return err
	}
	if maps.EqualFunc(before[digest], after[digest], func(a, b imageVuln) bool { return a == b }) {
		return nil
	}
	ids, err := q.column(ctx, `SELECT DISTINCT di.deployment_id FROM image_names n JOIN deployment_images di ON di.image_name = n.full_name
		WHERE n.digest = ?`, digest)
	if err != nil {
		return fmt.Errorf("find deployments running %s: %w", digest, err)
	}
	states, err := q.storedDeploymentStates(ctx, ids)
	if err != nil {
		return err
	}
	now, err := q.currentDeploymentStates(ctx, ids)
	if err != nil {
		return err
	}
	return q.recount(ctx, states, now, map[string]imageVulns{digest: before[digest]})
}

// rewriteImageCVEs rewrites the image_cves rows of digest from its
// document, and the cves rows of the CVEs it had or has.
func (q querier) rewriteImageCVEs(ctx context.Context, digest string, doc []byte) error {
	rows := imageCVERows(digest, doc)
	touched, err := q.imageVulnIDs(ctx, digest)
	if err != nil {
		return err
	}
	for _, r := range rows {
		touched[r[2].(string)] = true
	}
	if _, err := q.exec(ctx, `DELETE FROM image_cves WHERE digest = ?`, digest); err != nil {
		return fmt.Errorf("clear vulnerability index of %s: %w", digest, err)
	}
	for start := 0; start < len(rows); start += cveChunk {
		chunk := rows[start:min(start+cveChunk, len(rows))]
		args := make([]any, 0, len(chunk)*cveRowWidth)
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := q.exec(ctx, `INSERT INTO image_cves (digest, seq, vuln_id, severity, cvss, cvss_version, fixable,
			component, version, comp_type, layer, fixed_by, summary) VALUES `+placeholders(len(chunk), cveRowWidth), args...); err != nil {
			return fmt.Errorf("index vulnerabilities of %s: %w", digest, err)
		}
	}
	ids := make([]string, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return q.refreshCVEs(ctx, ids)
}

// imageVulnIDs returns the set of CVE ids indexed for digest.
func (q querier) imageVulnIDs(ctx context.Context, digest string) (map[string]bool, error) {
	rows, err := q.query(ctx, `SELECT DISTINCT vuln_id FROM image_cves WHERE digest = ?`, digest)
	if err != nil {
		return nil, fmt.Errorf("read indexed vulnerabilities of %s: %w", digest, err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read indexed vulnerabilities of %s: %w", digest, err)
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// maxCVESearchText bounds the component names a CVE's search text keeps.
const maxCVESearchText = 8 << 10

// cveAggregate is one cves row being computed.
type cveAggregate struct {
	severity, fixable int
	cvss              float64
	version, summary  string
	images            map[string]bool
	components        []string
}

// refreshCVEs recomputes the cves rows of ids from image_cves; a CVE no
// image has any more loses its row.
func (q querier) refreshCVEs(ctx context.Context, ids []string) error {
	for start := 0; start < len(ids); start += vulnChunk {
		chunk := ids[start:min(start+vulnChunk, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		aggs, err := q.aggregateCVEs(ctx, args)
		if err != nil {
			return err
		}
		// The deployments a CVE affects are kept by vulncount.go.
		deployments := map[string]int{}
		rows, err := q.query(ctx, `SELECT vuln_id, deployments FROM cves WHERE vuln_id IN `+placeholders(1, len(args)), args...)
		if err != nil {
			return fmt.Errorf("refresh CVEs: %w", err)
		}
		err = func() error {
			defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
			for rows.Next() {
				var (
					id string
					n  int
				)
				if err := rows.Scan(&id, &n); err != nil {
					return err
				}
				deployments[id] = n
			}
			return rows.Err()
		}()
		if err != nil {
			return fmt.Errorf("refresh CVEs: %w", err)
		}
		if _, err := q.exec(ctx, `DELETE FROM cves WHERE vuln_id IN `+placeholders(1, len(args)), args...); err != nil {
			return fmt.Errorf("refresh CVEs: %w", err)
		}
		var ins []any
		n := 0
		for _, id := range chunk {
			a, ok := aggs[id]
			if !ok {
				continue
			}
			text := id + "\n" + a.summary
			for _, c := range a.components {
				if len(text)+len(c) > maxCVESearchText {
					break
				}
				text += "\n" + c
			}
			ins = append(ins, id, a.severity, a.cvss, a.version, a.fixable, len(a.images), deployments[id], a.summary, fold(text))
			n++
		}
		if n == 0 {
			continue
		}
		if _, err := q.exec(ctx, `INSERT INTO cves (vuln_id, severity, cvss, cvss_version, fixable, images, deployments, summary, search_text) VALUES `+
			placeholders(n, 9), ins...); err != nil {
			return fmt.Errorf("refresh CVEs: %w", err)
		}
	}
	return nil
}

// aggregateCVEs computes the cves rows of ids (at most vulnChunk).
func (q querier) aggregateCVEs(ctx context.Context, ids []any) (map[string]*cveAggregate, error) {
	rows, err := q.query(ctx, `SELECT vuln_id, digest, severity, cvss, cvss_version, fixable, component, summary FROM image_cves
		WHERE vuln_id IN `+placeholders(1, len(ids)), ids...)
	if err != nil {
		return nil, fmt.Errorf("aggregate CVEs: %w", err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	out := map[string]*cveAggregate{}
	for rows.Next() {
		var (
			id, digest, version, component, summary string
			severity, fixable                       int
			cvss                                    float64
		)
		if err := rows.Scan(&id, &digest, &severity, &cvss, &version, &fixable, &component, &summary); err != nil {
			return nil, fmt.Errorf("aggregate CVEs: %w", err)
		}
		a := out[id]
		if a == nil {
			a = &cveAggregate{images: map[string]bool{}}
			out[id] = a
		}
		a.severity, a.fixable, a.cvss = max(a.severity, severity), max(a.fixable, fixable), max(a.cvss, cvss)
		a.version, a.summary = max(a.version, version), max(a.summary, summary)
		a.images[digest] = true
		if !slices.Contains(a.components, component) {
			a.components = append(a.components, component)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("aggregate CVEs: %w", err)
	}
	for _, a := range out {
		slices.Sort(a.components)
	}
	return out, nil
}

// deploymentImagesDoc is the part of a workload.Deployment document the
// index reads: its containers' images (the type has no JSON tags, so the
// field names are the Go names).
type deploymentImagesDoc struct {
	Containers []struct {
		Image struct {
			FullName, Registry, Remote, Digest string
		}
	}
}

// deploymentImageNames are the image names a deployment document's
// containers run, as image_names keys them: the full name, or for a pinned
// image its repository at the digest (the name every scan is stored under).
// A document that is not a workload.Deployment runs none.
func deploymentImageNames(doc []byte) []string {
	var d deploymentImagesDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil
	}
	seen := make(map[string]bool, len(d.Containers))
	var names []string
	for _, c := range d.Containers {
		im := c.Image
		n := im.FullName
		if im.Digest != "" && im.Registry != "" && im.Remote != "" {
			n = im.Registry + "/" + im.Remote + "@" + im.Digest
		}
		if n == "" || seen[n] || checkKey("image name", n, true) != nil {
			continue
		}
		seen[n] = true
		names = append(names, n)
	}
	return names
}

// indexDeployments rewrites the deployment_images rows of rows (deployment
// upsert rows: id first, document last, already written) and moves the
// vulnerability counts of those deployments.
func (q querier) indexDeployments(ctx context.Context, rows [][]any) error {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r[0].(string)
	}
	return q.recountAround(ctx, ids, func() error { return q.indexDeploymentImages(ctx, rows) })
}

// indexDeploymentImages rewrites the deployment_images rows of rows; the
// caller moves the counts.
func (q querier) indexDeploymentImages(ctx context.Context, rows [][]any) error {
	ids := make([]any, 0, len(rows))
	var pairs []any
	for _, r := range rows {
		id, doc := r[0].(string), r[len(r)-1].([]byte)
		ids = append(ids, id)
		for _, n := range deploymentImageNames(doc) {
			pairs = append(pairs, id, n)
		}
	}
	if _, err := q.exec(ctx, `DELETE FROM deployment_images WHERE deployment_id IN `+placeholders(1, len(ids)), ids...); err != nil {
		return fmt.Errorf("clear image index of %d deployments: %w", len(ids), err)
	}
	for start := 0; start < len(pairs); start += 2 * cveChunk {
		chunk := pairs[start:min(start+2*cveChunk, len(pairs))]
		if _, err := q.exec(ctx, `INSERT INTO deployment_images (deployment_id, image_name) VALUES `+
			placeholders(len(chunk)/2, 2), chunk...); err != nil {
			return fmt.Errorf("index images of deployments: %w", err)
		}
	}
	return nil
}

// reindexVulns fills the vulnerability index from the documents stored
// before it existed, once: the marker setting is removed when done.
func (s *Store) reindexVulns(ctx context.Context) error {
	if _, pending, err := s.GetSetting(ctx, reindexSetting); err != nil || !pending {
		return err
	}
	// An interrupted earlier run may have left part of the index.
	err := s.InTx(ctx, func(tx *Tx) error {
		for _, table := range []string{"image_cves", "cves", "deployment_images", "deployment_vulns", "scope_images", "scope_cves"} {
			if _, err := tx.q().exec(ctx, `DELETE FROM `+table); err != nil {
				return fmt.Errorf("clear %s: %w", table, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reindex vulnerabilities: %w", err)
	}
	images, deployments := 0, 0
	err = s.EachImage(ctx, func(r ImageRecord) error {
		images++
		return s.InTx(ctx, func(tx *Tx) error { return tx.q().indexImage(ctx, r.Digest, r.JSON) })
	})
	if err != nil {
		return fmt.Errorf("index stored images: %w", err)
	}
	var batch [][]any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.InTx(ctx, func(tx *Tx) error { return tx.q().indexDeployments(ctx, batch) })
		batch = batch[:0]
		return err
	}
	err = s.EachDeployment(ctx, func(d DeploymentRecord) error {
		deployments++
		batch = append(batch, []any{d.ID, d.JSON})
		if len(batch) == reindexBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("index stored deployments: %w", err)
	}
	if err := s.DeleteSetting(ctx, reindexSetting); err != nil {
		return err
	}
	if images+deployments > 0 {
		s.log.Info("vulnerability index built", "images", images, "deployments", deployments)
	}
	return nil
}
