package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Vulnerability counts kept on writes (migration 0010). Every write that
// can change which CVEs a deployment has — a deployment upserted or
// deleted, an image rescanned, an image name pointed at another digest —
// reads the state of the deployments it touches before and after, and
// moves the counts by the difference in the same transaction:
//
//   - deployment_vulns: each deployment's digests and its distinct CVEs by
//     severity;
//   - scope_images: deployments per (cluster, namespace, digest), whose
//     transitions to and from zero say which images entered or left a
//     namespace;
//   - scope_cves: per (cluster, namespace, CVE) the distinct deployments
//     (moved by the difference) and the images, severity, score and fix
//     among the namespace's images (recomputed for the CVEs of images that
//     entered, left or changed);
//   - cves.deployments: the distinct deployments across the system.
//
// A deployment runs each CVE once however many of its images have it, so
// a deployment's contribution is the union of its images' CVEs.

// imageVuln is one CVE of one image at its worst over the image's
// components.
type imageVuln struct {
	rank    int
	cvss    float64
	version string
	fixable int
}

// merge keeps the worst of v and o.
func (v imageVuln) merge(o imageVuln) imageVuln {
	return imageVuln{rank: max(v.rank, o.rank), cvss: max(v.cvss, o.cvss), version: max(v.version, o.version), fixable: max(v.fixable, o.fixable)}
}

// imageVulns are the CVEs of one image by id.
type imageVulns map[string]imageVuln

// scopeKey is a cluster and namespace.
type scopeKey struct{ cluster, namespace string }

type scopeVuln struct {
	scope scopeKey
	vuln  string
}

type scopeDigest struct {
	scope  scopeKey
	digest string
}

// deploymentState is one deployment_vulns row.
type deploymentState struct {
	id, name string
	scope    scopeKey
	digests  []string // sorted, distinct
	images   int
	counts   VulnCounts
}

// key identifies what the deployment contributes: where it is and what it
// runs.
func (d *deploymentState) key() string {
	return d.scope.cluster + "\x00" + d.scope.namespace + "\x00" + strings.Join(d.digests, "\x00")
}

// countChunk bounds the rows of one multi-row statement of the counts
// (at most 9 parameters each).
const countChunk = 100

// inArgs are ids as the arguments of an IN list.
func inArgs(ids []string) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}

// chunks calls fn with successive chunks of at most n of s.
func chunks[T any](s []T, n int, fn func([]T) error) error {
	for start := 0; start < len(s); start += n {
		if err := fn(s[start:min(start+n, len(s))]); err != nil {
			return err
		}
	}
	return nil
}

// readImageVulns returns the CVEs of each of digests that has any.
func (q querier) readImageVulns(ctx context.Context, digests []string) (map[string]imageVulns, error) {
	out := make(map[string]imageVulns, len(digests))
	err := chunks(digests, vulnChunk, func(chunk []string) error {
		rows, err := q.query(ctx, `SELECT digest, vuln_id, MAX(severity), MAX(cvss), MAX(cvss_version), MAX(fixable) FROM image_cves
			WHERE digest IN `+placeholders(1, len(chunk))+` GROUP BY digest, vuln_id`, inArgs(chunk)...)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			var (
				d, id string
				v     imageVuln
			)
			if err := rows.Scan(&d, &id, &v.rank, &v.cvss, &v.version, &v.fixable); err != nil {
				return err
			}
			if out[d] == nil {
				out[d] = imageVulns{}
			}
			out[d][id] = v
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read CVEs of images: %w", err)
	}
	return out, nil
}

// storedDeploymentStates reads the deployment_vulns rows of ids.
func (q querier) storedDeploymentStates(ctx context.Context, ids []string) (map[string]*deploymentState, error) {
	out := make(map[string]*deploymentState, len(ids))
	err := chunks(ids, vulnChunk, func(chunk []string) error {
		rows, err := q.query(ctx, `SELECT deployment_id, cluster, namespace, name, digests, images, cves, critical, important, moderate, low, fixable
			FROM deployment_vulns WHERE deployment_id IN `+placeholders(1, len(chunk)), inArgs(chunk)...)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			var (
				d       deploymentState
				digests string
				c       = &d.counts
			)
			if err := rows.Scan(&d.id, &d.scope.cluster, &d.scope.namespace, &d.name, &digests, &d.images,
				&c.CVEs, &c.Critical, &c.Important, &c.Moderate, &c.Low, &c.Fixable); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(digests), &d.digests); err != nil {
				return fmt.Errorf("deployment %q: digests: %w", d.id, err)
			}
			out[d.id] = &d
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read vulnerability counts of deployments: %w", err)
	}
	return out, nil
}

// currentDeploymentStates resolves ids as stored now: their cluster,
// namespace and name, and the digests their image names resolve to. A
// deleted deployment is missing.
func (q querier) currentDeploymentStates(ctx context.Context, ids []string) (map[string]*deploymentState, error) {
	out := make(map[string]*deploymentState, len(ids))
	err := chunks(ids, vulnChunk, func(chunk []string) error {
		rows, err := q.query(ctx, `SELECT d.id, d.cluster, d.namespace, d.name, di.image_name, n.digest FROM deployments d
			LEFT JOIN deployment_images di ON di.deployment_id = d.id LEFT JOIN image_names n ON n.full_name = di.image_name
			WHERE d.id IN `+placeholders(1, len(chunk)), inArgs(chunk)...)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			var (
				id, cluster, namespace, name string
				image, digest                *string
			)
			if err := rows.Scan(&id, &cluster, &namespace, &name, &image, &digest); err != nil {
				return err
			}
			d := out[id]
			if d == nil {
				d = &deploymentState{id: id, name: name, scope: scopeKey{cluster, namespace}}
				out[id] = d
			}
			if image != nil {
				d.images++
			}
			if digest != nil && !slices.Contains(d.digests, *digest) {
				d.digests = append(d.digests, *digest)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("resolve images of deployments: %w", err)
	}
	for _, d := range out {
		slices.Sort(d.digests)
	}
	return out, nil
}

// recount moves every count from before to after: the states of the same
// deployments (one missing from before is new, from after deleted) before
// and after a write. changed holds, for each digest whose CVEs the write
// replaced, its CVEs before the write (nil when it had none); the image
// index must already hold the new ones.
func (q querier) recount(ctx context.Context, before, after map[string]*deploymentState, changed map[string]imageVulns) error {
	ids := slices.Sorted(maps.Keys(before))
	for id := range after {
		if before[id] == nil {
			ids = append(ids, id)
		}
	}
	runsChanged := func(d *deploymentState) bool {
		for _, dg := range d.digests {
			if _, ok := changed[dg]; ok {
				return true
			}
		}
		return false
	}
	var moved []string
	isMoved := map[string]bool{}
	need := map[string]bool{}
	for _, id := range ids {
		b, a := before[id], after[id]
		if b != nil && a != nil && b.key() == a.key() && !runsChanged(a) {
			continue
		}
		moved, isMoved[id] = append(moved, id), true
		for _, d := range []*deploymentState{b, a} {
			if d != nil {
				for _, dg := range d.digests {
					need[dg] = true
				}
			}
		}
	}
	for dg := range changed {
		need[dg] = true
	}
	cur, err := q.readImageVulns(ctx, slices.Sorted(maps.Keys(need)))
	if err != nil {
		return err
	}
	old := func(dg string) imageVulns {
		if v, ok := changed[dg]; ok {
			return v
		}
		return cur[dg]
	}
	// Unions are computed once per set of digests and side.
	unions := map[string]imageVulns{}
	union := func(d *deploymentState, side string, of func(string) imageVulns) imageVulns {
		k := side + strings.Join(d.digests, "\x00")
		if u, ok := unions[k]; ok {
			return u
		}
		u := imageVulns{}
		for _, dg := range d.digests {
			for id, v := range of(dg) {
				if w, ok := u[id]; ok {
					v = v.merge(w)
				}
				u[id] = v
			}
		}
		unions[k] = u
		return u
	}
	var (
		deps    = map[scopeVuln]int{}
		system  = map[string]int{}
		refs    = map[scopeDigest]int{}
		writes  []*deploymentState
		deleted []string
	)
	for _, id := range moved {
		if b := before[id]; b != nil {
			for v := range union(b, "old", old) {
				deps[scopeVuln{b.scope, v}]--
				system[v]--
			}
			for _, dg := range b.digests {
				refs[scopeDigest{b.scope, dg}]--
			}
		}
		a := after[id]
		if a == nil {
			deleted = append(deleted, id)
			continue
		}
		u := union(a, "new", func(dg string) imageVulns { return cur[dg] })
		a.counts = countsOf(u)
		for v := range u {
			deps[scopeVuln{a.scope, v}]++
			system[v]++
		}
		for _, dg := range a.digests {
			refs[scopeDigest{a.scope, dg}]++
		}
		writes = append(writes, a)
	}
	// Deployments whose CVEs did not move may still have been renamed or
	// run other names of the same digests.
	for _, id := range ids {
		b, a := before[id], after[id]
		if b == nil || a == nil || isMoved[id] {
			continue
		}
		if b.name != a.name || b.images != a.images {
			a.counts = b.counts
			writes = append(writes, a)
		}
	}
	attrs, err := q.moveScopeImages(ctx, refs, changed, cur, old)
	if err != nil {
		return err
	}
	if err := q.writeScopeCVEs(ctx, deps, attrs); err != nil {
		return err
	}
	if err := q.moveSystemCounts(ctx, system); err != nil {
		return err
	}
	return q.writeDeploymentStates(ctx, writes, deleted)
}

// countsOf counts the CVEs u.
func countsOf(u imageVulns) VulnCounts {
	var c VulnCounts
	for _, v := range u {
		c.CVEs++
		c.Fixable += v.fixable
		switch v.rank {
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
	return c
}

// moveScopeImages applies refs to scope_images and returns the scope_cves
// rows whose image aggregates changed, recomputed: the CVEs of images that
// entered or left a namespace, and of changed images still in one.
func (q querier) moveScopeImages(ctx context.Context, refs map[scopeDigest]int, changed map[string]imageVulns,
	cur map[string]imageVulns, old func(string) imageVulns,
) (map[scopeVuln]scopeAggregate, error) {
	digests := map[string]bool{}
	for k, n := range refs {
		if n == 0 {
			delete(refs, k)
			continue
		}
		digests[k.digest] = true
	}
	for dg := range changed {
		digests[dg] = true
	}
	if len(digests) == 0 {
		return nil, nil
	}
	present := map[scopeDigest]int{}
	err := chunks(slices.Sorted(maps.Keys(digests)), vulnChunk, func(chunk []string) error {
		rows, err := q.query(ctx, `SELECT cluster, namespace, digest, deployments FROM scope_images WHERE digest IN `+
			placeholders(1, len(chunk)), inArgs(chunk)...)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			var (
				k scopeDigest
				n int
			)
			if err := rows.Scan(&k.scope.cluster, &k.scope.namespace, &k.digest, &n); err != nil {
				return err
			}
			present[k] = n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read images of namespaces: %w", err)
	}
	stale := map[scopeVuln]bool{}
	var (
		upserts []any
		nUp     int
		gone    []scopeDigest
	)
	for _, k := range slices.SortedFunc(maps.Keys(refs), compareScopeDigest) {
		was := present[k]
		now := was + refs[k]
		if now < 0 {
			return nil, fmt.Errorf("image %s in %s/%s: deployment count would be %d: %w", k.digest, k.scope.cluster, k.scope.namespace, now, errCountsDrift)
		}
		switch {
		case was == 0 && now > 0:
			for v := range cur[k.digest] {
				stale[scopeVuln{k.scope, v}] = true
			}
		case was > 0 && now == 0:
			for v := range old(k.digest) {
				stale[scopeVuln{k.scope, v}] = true
			}
		}
		if now == 0 {
			gone = append(gone, k)
			delete(present, k)
			continue
		}
		present[k] = now
		upserts = append(upserts, k.scope.cluster, k.scope.namespace, k.digest, now)
		nUp++
	}
	// A changed image that stays in a namespace changes the aggregates of
	// the CVEs it gained, lost or holds differently there.
	for k, n := range present {
		before, ok := changed[k.digest]
		if !ok || n == 0 || (refs[k] != 0 && present[k]-refs[k] == 0) {
			continue
		}
		for v, a := range cur[k.digest] {
			if b, ok := before[v]; !ok || b != a {
				stale[scopeVuln{k.scope, v}] = true
			}
		}
		for v := range before {
			if _, ok := cur[k.digest][v]; !ok {
				stale[scopeVuln{k.scope, v}] = true
			}
		}
	}
	for start := 0; start < nUp; start += countChunk {
		n := min(countChunk, nUp-start)
		if _, err := q.exec(ctx, `INSERT INTO scope_images (cluster, namespace, digest, deployments) VALUES `+placeholders(n, 4)+`
			ON CONFLICT (cluster, namespace, digest) DO UPDATE SET deployments = excluded.deployments`, upserts[4*start:4*(start+n)]...); err != nil {
			return nil, fmt.Errorf("count deployments of images per namespace: %w", err)
		}
	}
	goneByScope := map[scopeKey][]string{}
	for _, k := range gone {
		goneByScope[k.scope] = append(goneByScope[k.scope], k.digest)
	}
	for sc, digests := range goneByScope {
		err := chunks(digests, vulnChunk, func(chunk []string) error {
			_, err := q.exec(ctx, `DELETE FROM scope_images WHERE cluster = ? AND namespace = ? AND digest IN `+placeholders(1, len(chunk)),
				append([]any{sc.cluster, sc.namespace}, inArgs(chunk)...)...)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("count deployments of images per namespace: %w", err)
		}
	}
	return q.aggregateScopes(ctx, stale)
}

// errCountsDrift reports counts that disagree with the index they are
// kept from; the reindex rebuilds them.
var errCountsDrift = errors.New("vulnerability counts disagree with the index (setting " + reindexSetting + " rebuilds them)")

func compareScopeDigest(a, b scopeDigest) int {
	return cmp.Or(strings.Compare(a.scope.cluster, b.scope.cluster), strings.Compare(a.scope.namespace, b.scope.namespace),
		strings.Compare(a.digest, b.digest))
}

// scopeAggregate is the image side of one scope_cves row; images 0 means
// the CVE left the namespace.
type scopeAggregate struct {
	images int
	imageVuln
}

// aggregateScopes recomputes the image aggregates of stale from
// scope_images (as updated) and image_cves.
func (q querier) aggregateScopes(ctx context.Context, stale map[scopeVuln]bool) (map[scopeVuln]scopeAggregate, error) {
	if len(stale) == 0 {
		return nil, nil
	}
	scopes := map[scopeKey]bool{}
	vulns := map[string][]scopeKey{} // the stale scopes of each CVE
	for k := range stale {
		scopes[k.scope] = true
		vulns[k.vuln] = append(vulns[k.vuln], k.scope)
	}
	// The digests of each scope concerned.
	in := map[scopeKey]map[string]bool{}
	for s := range scopes {
		rows, err := q.query(ctx, `SELECT digest FROM scope_images WHERE cluster = ? AND namespace = ?`, s.cluster, s.namespace)
		if err != nil {
			return nil, fmt.Errorf("read images of namespace %s/%s: %w", s.cluster, s.namespace, err)
		}
		set := map[string]bool{}
		err = func() error {
			defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
			for rows.Next() {
				var dg string
				if err := rows.Scan(&dg); err != nil {
					return err
				}
				set[dg] = true
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("read images of namespace %s/%s: %w", s.cluster, s.namespace, err)
		}
		in[s] = set
	}
	out := make(map[scopeVuln]scopeAggregate, len(stale))
	for k := range stale {
		out[k] = scopeAggregate{}
	}
	err := chunks(slices.Sorted(maps.Keys(vulns)), vulnChunk, func(chunk []string) error {
		rows, err := q.query(ctx, `SELECT vuln_id, digest, MAX(severity), MAX(cvss), MAX(cvss_version), MAX(fixable) FROM image_cves
			WHERE vuln_id IN `+placeholders(1, len(chunk))+` GROUP BY vuln_id, digest`, inArgs(chunk)...)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for rows.Next() {
			var (
				id, dg string
				v      imageVuln
			)
			if err := rows.Scan(&id, &dg, &v.rank, &v.cvss, &v.version, &v.fixable); err != nil {
				return err
			}
			for _, s := range vulns[id] {
				if !in[s][dg] {
					continue
				}
				k := scopeVuln{s, id}
				a := out[k]
				if a.images == 0 {
					a.imageVuln = v
				} else {
					a.imageVuln = a.merge(v)
				}
				a.images++
				out[k] = a
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("aggregate CVEs per namespace: %w", err)
	}
	return out, nil
}

// writeScopeCVEs moves the deployments of scope_cves by deps and writes
// the recomputed image aggregates attrs.
func (q querier) writeScopeCVEs(ctx context.Context, deps map[scopeVuln]int, attrs map[scopeVuln]scopeAggregate) error {
	var (
		upserts []any
		nUp     int
		gone    = map[scopeKey][]string{}
		moves   = map[scopeKey]map[int][]string{}
	)
	for _, k := range slices.SortedFunc(maps.Keys(attrs), compareScopeVuln) {
		a := attrs[k]
		if a.images == 0 {
			gone[k.scope] = append(gone[k.scope], k.vuln)
			continue
		}
		upserts = append(upserts, k.scope.cluster, k.scope.namespace, k.vuln, deps[k], a.images, a.rank, a.cvss, a.version, a.fixable)
		nUp++
	}
	for k, n := range deps {
		if _, ok := attrs[k]; ok || n == 0 {
			continue
		}
		if moves[k.scope] == nil {
			moves[k.scope] = map[int][]string{}
		}
		moves[k.scope][n] = append(moves[k.scope][n], k.vuln)
	}
	for start := 0; start < nUp; start += countChunk {
		n := min(countChunk, nUp-start)
		if _, err := q.exec(ctx, `INSERT INTO scope_cves (cluster, namespace, vuln_id, deployments, images, severity, cvss, cvss_version, fixable)
			VALUES `+placeholders(n, 9)+` ON CONFLICT (cluster, namespace, vuln_id) DO UPDATE SET
			deployments = scope_cves.deployments + excluded.deployments, images = excluded.images, severity = excluded.severity,
			cvss = excluded.cvss, cvss_version = excluded.cvss_version, fixable = excluded.fixable`, upserts[9*start:9*(start+n)]...); err != nil {
			return fmt.Errorf("count CVEs per namespace: %w", err)
		}
	}
	for s, vulns := range gone {
		slices.Sort(vulns)
		err := chunks(vulns, vulnChunk, func(chunk []string) error {
			_, err := q.exec(ctx, `DELETE FROM scope_cves WHERE cluster = ? AND namespace = ? AND vuln_id IN `+placeholders(1, len(chunk)),
				append([]any{s.cluster, s.namespace}, inArgs(chunk)...)...)
			return err
		})
		if err != nil {
			return fmt.Errorf("count CVEs per namespace: %w", err)
		}
	}
	for s, byDelta := range moves {
		for n, vulns := range byDelta {
			slices.Sort(vulns)
			err := chunks(vulns, vulnChunk, func(chunk []string) error {
				_, err := q.exec(ctx, `UPDATE scope_cves SET deployments = deployments + ? WHERE cluster = ? AND namespace = ? AND vuln_id IN `+
					placeholders(1, len(chunk)), append([]any{n, s.cluster, s.namespace}, inArgs(chunk)...)...)
				return err
			})
			if err != nil {
				return fmt.Errorf("count CVEs per namespace: %w", err)
			}
		}
	}
	return nil
}

func compareScopeVuln(a, b scopeVuln) int {
	return cmp.Or(strings.Compare(a.scope.cluster, b.scope.cluster), strings.Compare(a.scope.namespace, b.scope.namespace),
		strings.Compare(a.vuln, b.vuln))
}

// moveSystemCounts moves cves.deployments by system. A CVE without a row
// any more (no image has it) needs none.
func (q querier) moveSystemCounts(ctx context.Context, system map[string]int) error {
	byDelta := map[int][]string{}
	for v, n := range system {
		if n != 0 {
			byDelta[n] = append(byDelta[n], v)
		}
	}
	for n, vulns := range byDelta {
		slices.Sort(vulns)
		err := chunks(vulns, vulnChunk, func(chunk []string) error {
			_, err := q.exec(ctx, `UPDATE cves SET deployments = deployments + ? WHERE vuln_id IN `+placeholders(1, len(chunk)),
				append([]any{n}, inArgs(chunk)...)...)
			return err
		})
		if err != nil {
			return fmt.Errorf("count deployments per CVE: %w", err)
		}
	}
	return nil
}

// writeDeploymentStates upserts the deployment_vulns rows of writes and
// removes those of deleted.
func (q querier) writeDeploymentStates(ctx context.Context, writes []*deploymentState, deleted []string) error {
	err := chunks(writes, countChunk, func(chunk []*deploymentState) error {
		args := make([]any, 0, 13*len(chunk))
		for _, d := range chunk {
			digests, err := json.Marshal(d.digests)
			if err != nil {
				return err
			}
			if d.digests == nil {
				digests = []byte("[]")
			}
			c := d.counts
			args = append(args, d.id, d.scope.cluster, d.scope.namespace, d.name,
				fold(d.name+"\n"+d.scope.namespace+"\n"+d.scope.cluster), string(digests), d.images,
				c.CVEs, c.Critical, c.Important, c.Moderate, c.Low, c.Fixable)
		}
		_, err := q.exec(ctx, `INSERT INTO deployment_vulns (deployment_id, cluster, namespace, name, search_text, digests, images,
				cves, critical, important, moderate, low, fixable) VALUES `+placeholders(len(chunk), 13)+`
			ON CONFLICT (deployment_id) DO UPDATE SET cluster = excluded.cluster, namespace = excluded.namespace, name = excluded.name,
				search_text = excluded.search_text, digests = excluded.digests, images = excluded.images, cves = excluded.cves,
				critical = excluded.critical, important = excluded.important, moderate = excluded.moderate, low = excluded.low,
				fixable = excluded.fixable`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("write vulnerability counts of deployments: %w", err)
	}
	err = chunks(deleted, vulnChunk, func(chunk []string) error {
		_, err := q.exec(ctx, `DELETE FROM deployment_vulns WHERE deployment_id IN `+placeholders(1, len(chunk)), inArgs(chunk)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("remove vulnerability counts of deployments: %w", err)
	}
	return nil
}

// recountAround runs write between reading the states of ids and reading
// them again, and moves the counts by the difference.
func (q querier) recountAround(ctx context.Context, ids []string, write func() error) error {
	before, err := q.storedDeploymentStates(ctx, ids)
	if err != nil {
		return err
	}
	if err := write(); err != nil {
		return err
	}
	after, err := q.currentDeploymentStates(ctx, ids)
	if err != nil {
		return err
	}
	return q.recount(ctx, before, after, nil)
}

// pointName records that the image name fullName resolves to digest, and
// moves the counts of the deployments running it.
func (q querier) pointName(ctx context.Context, fullName, digest string) error {
	stamp := now().UnixNano()
	var cur string
	err := q.queryRow(ctx, `SELECT digest FROM image_names WHERE full_name = ?`, fullName).Scan(&cur)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("resolve %q: %w", fullName, err)
	}
	if err == nil && cur == digest {
		_, err := q.exec(ctx, `UPDATE image_names SET updated_at = ? WHERE full_name = ?`, stamp, fullName)
		return err
	}
	ids, err := q.column(ctx, `SELECT deployment_id FROM deployment_images WHERE image_name = ?`, fullName)
	if err != nil {
		return fmt.Errorf("find deployments running %q: %w", fullName, err)
	}
	return q.recountAround(ctx, ids, func() error {
		_, err := q.exec(ctx, `INSERT INTO image_names (full_name, digest, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (full_name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`, fullName, digest, stamp)
		return err
	})
}

// unindexDeployment removes the index rows of the deleted deployment id
// and its counts.
func (q querier) unindexDeployment(ctx context.Context, id string) error {
	return q.recountAround(ctx, []string{id}, func() error {
		_, err := q.exec(ctx, `DELETE FROM deployment_images WHERE deployment_id = ?`, id)
		return err
	})
}

// column reads the single string column query returns.
func (q querier) column(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
