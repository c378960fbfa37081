package store

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/workload"
)

// recountedCVE is one CVE within a scope, recounted from the documents.
type recountedCVE struct {
	deployments, images int
	rank                int
	cvss                float64
	fixable             bool
}

// recounted is what the counts kept on writes must equal, computed the
// slow way from the stored documents alone.
type recounted struct {
	deployments map[string]VulnCounts // by deployment id
	images      map[string]int        // by deployment id: image names run
	// scope is the CVEs of each (cluster, namespace), ("", "") being the
	// whole system, (cluster, "") a cluster and ("", namespace) a
	// namespace across clusters.
	scope map[scopeKey]map[string]recountedCVE
}

// recountFromDocuments recomputes every count from the image and deployment documents
// and the image names.
func recountFromDocuments(t *testing.T, s *Store) recounted {
	t.Helper()
	vulns := map[string]imageVulns{} // digest → CVEs
	mustNil(t, s.EachImage(ctx, func(r ImageRecord) error {
		var img scan.Image
		if err := json.Unmarshal(r.JSON, &img); err != nil {
			return err
		}
		vs := imageVulns{}
		for _, c := range img.Components {
			for _, v := range c.Vulns {
				fix := 0
				if v.FixedBy != "" {
					fix = 1
				}
				w := imageVuln{rank: v.Severity.Rank(), cvss: v.CVSS, fixable: fix}
				if o, ok := vs[v.ID]; ok {
					w = imageVuln{rank: max(w.rank, o.rank), cvss: max(w.cvss, o.cvss), fixable: max(w.fixable, o.fixable)}
				}
				vs[v.ID] = w
			}
		}
		vulns[r.Digest] = vs
		return nil
	}))
	names, err := s.ImageNames(ctx)
	mustNil(t, err)
	resolve := map[string]string{}
	for _, n := range names {
		resolve[n.FullName] = n.Digest
	}
	out := recounted{deployments: map[string]VulnCounts{}, images: map[string]int{}, scope: map[scopeKey]map[string]recountedCVE{}}
	scopeImages := map[scopeKey]map[string]map[string]bool{} // scope → CVE → digests
	mustNil(t, s.EachDeployment(ctx, func(r DeploymentRecord) error {
		var d workload.Deployment
		if err := json.Unmarshal(r.JSON, &d); err != nil {
			return err
		}
		digests := map[string]bool{}
		run := map[string]bool{}
		for _, c := range d.Containers {
			n := c.Image.FullName
			if c.Image.Digest != "" && c.Image.Registry != "" && c.Image.Remote != "" {
				n = c.Image.Registry + "/" + c.Image.Remote + "@" + c.Image.Digest
			}
			if n == "" {
				continue
			}
			run[n] = true
			if dg, ok := resolve[n]; ok {
				digests[dg] = true
			}
		}
		out.images[r.ID] = len(run)
		union := imageVulns{}
		for dg := range digests {
			for id, v := range vulns[dg] {
				if o, ok := union[id]; ok {
					v = imageVuln{rank: max(v.rank, o.rank), cvss: max(v.cvss, o.cvss), fixable: max(v.fixable, o.fixable)}
				}
				union[id] = v
			}
		}
		// The union is recounted from the documents; tallying it by
		// severity is countsOf's one loop.
		out.deployments[r.ID] = countsOf(union)
		for _, sc := range []scopeKey{{}, {r.Cluster, ""}, {"", r.Namespace}, {r.Cluster, r.Namespace}} {
			if out.scope[sc] == nil {
				out.scope[sc], scopeImages[sc] = map[string]recountedCVE{}, map[string]map[string]bool{}
			}
			for id := range union {
				e := out.scope[sc][id]
				e.deployments++
				out.scope[sc][id] = e
				if scopeImages[sc][id] == nil {
					scopeImages[sc][id] = map[string]bool{}
				}
				for dg := range digests {
					if _, ok := vulns[dg][id]; ok {
						scopeImages[sc][id][dg] = true
					}
				}
			}
		}
		return nil
	}))
	for sc, cves := range out.scope {
		for id, e := range cves {
			for dg := range scopeImages[sc][id] {
				v := vulns[dg][id]
				e.images++
				e.rank, e.cvss, e.fixable = max(e.rank, v.rank), max(e.cvss, v.cvss), e.fixable || v.fixable == 1
			}
			cves[id] = e
		}
	}
	// Across the whole system every stored image counts, run or not.
	all := map[string]recountedCVE{}
	for _, vs := range vulns {
		for id, v := range vs {
			e := all[id]
			e.images++
			e.rank, e.cvss, e.fixable = max(e.rank, v.rank), max(e.cvss, v.cvss), e.fixable || v.fixable == 1
			all[id] = e
		}
	}
	for id, e := range all {
		e.deployments = out.scope[scopeKey{}][id].deployments
		all[id] = e
	}
	out.scope[scopeKey{}] = all
	return out
}

// checkCounts compares every list's counts with a recount from the
// documents.
func checkCounts(t *testing.T, s *Store, step string) {
	t.Helper()
	want := recountFromDocuments(t, s)
	ds, total, err := s.ListDeploymentVulns(ctx, DeploymentVulnQuery{})
	mustNil(t, err)
	if total != len(want.deployments) || len(ds) != total {
		t.Fatalf("%s: %d deployments listed (total %d), want %d", step, len(ds), total, len(want.deployments))
	}
	for _, d := range ds {
		if d.VulnCounts != want.deployments[d.ID] || len(d.Images) != want.images[d.ID] {
			t.Fatalf("%s: deployment %s has %+v and %d images, want %+v and %d", step, d.ID, d.VulnCounts, len(d.Images),
				want.deployments[d.ID], want.images[d.ID])
		}
	}
	scopes := slices.Collect(maps.Keys(want.scope))
	scopes = append(scopes, scopeKey{"nowhere", ""}, scopeKey{"", "nowhere"}, scopeKey{"nowhere", "nowhere"})
	for _, sc := range scopes {
		got, total, err := s.ListCVEs(ctx, CVEQuery{Cluster: sc.cluster, Namespace: sc.namespace, Sort: "id"})
		mustNil(t, err)
		exp := want.scope[sc]
		if total != len(exp) || len(got) != len(exp) {
			t.Fatalf("%s: %d CVEs in %+v (total %d), want %d", step, len(got), sc, total, len(exp))
		}
		for _, c := range got {
			e, ok := exp[c.ID]
			if !ok || c.Deployments != e.deployments || c.Images != e.images || c.Severity.Rank() != e.rank ||
				c.CVSS != e.cvss || c.Fixable != e.fixable {
				t.Fatalf("%s: CVE %s in %+v is %d deployments, %d images, %s, %.1f, fixable %v; want %+v (listed: %v)",
					step, c.ID, sc, c.Deployments, c.Images, c.Severity, c.CVSS, c.Fixable, e, ok)
			}
		}
	}
}

// testCountsFollowWrites moves the store through every kind of write —
// deployments added, changed, moved and deleted, images rescanned with
// CVEs added and removed, names pointed at other digests — and checks the
// counts against a recount from the documents after each.
func testCountsFollowWrites(t *testing.T, s *Store) {
	vulnFixture(t, s)
	checkCounts(t, s, "fixture")
	// A deployment running two images that share CVE-1 counts it once.
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{
		runningDeployment(t, "d5", "c1", "a", workload.Image{FullName: nameA}, workload.Image{FullName: nameB}, workload.Image{FullName: nameA}),
	}))
	checkCounts(t, s, "d5 added")
	ds, _, err := s.ListDeploymentVulns(ctx, DeploymentVulnQuery{Text: "dep-d5"})
	mustNil(t, err)
	if len(ds) != 1 || ds[0].CVEs != 3 || ds[0].Critical != 1 || ds[0].Fixable != 1 {
		t.Errorf("d5: %+v", ds)
	}
	cves, _, err := s.ListCVEs(ctx, CVEQuery{Cluster: "c1", Namespace: "a", Sort: "id"})
	mustNil(t, err)
	if got := cveRows(cves); got != "CVE-1:CRITICAL:2:2 CVE-2:LOW:1:2 CVE-3:MODERATE:1:2" {
		t.Errorf("CVEs in c1/a: %s", got)
	}
	// d5 moves to another cluster and drops B.
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{runningDeployment(t, "d5", "c3", "z", workload.Image{FullName: nameA})}))
	checkCounts(t, s, "d5 moved")
	// B rescanned: CVE-3 gone, CVE-4 new, CVE-1 now fixable there.
	mustNil(t, s.UpsertImage(ctx, scannedImage(t, digestB, nameB,
		vulnSpec{"CVE-1", "openssl", scan.SeverityImportant, 7.5, "3.0.2"},
		vulnSpec{"CVE-4", "libxml2", scan.SeverityCritical, 9.1, ""}), nameB))
	checkCounts(t, s, "B rescanned")
	// The same scan again changes nothing.
	mustNil(t, s.UpsertImage(ctx, scannedImage(t, digestB, nameB,
		vulnSpec{"CVE-1", "openssl", scan.SeverityImportant, 7.5, "3.0.2"},
		vulnSpec{"CVE-4", "libxml2", scan.SeverityCritical, 9.1, ""}), nameB))
	checkCounts(t, s, "B rescanned the same")
	// The tag of A moves to B's digest, then to an unscanned digest.
	mustNil(t, s.InTx(ctx, func(tx *Tx) error { return tx.NameImage(ctx, digestB, nameA) }))
	checkCounts(t, s, "A's tag on B")
	mustNil(t, s.InTx(ctx, func(tx *Tx) error { return tx.NameImage(ctx, "sha256:ffff", nameA) }))
	checkCounts(t, s, "A's tag on an unscanned digest")
	// The unscanned digest gets its scan.
	mustNil(t, s.UpsertImage(ctx, scannedImage(t, "sha256:ffff", "reg.example.com/team/f:1",
		vulnSpec{"CVE-2", "zlib", scan.SeverityModerate, 4.0, "1.3"})))
	checkCounts(t, s, "unscanned digest scanned")
	mustNil(t, s.DeleteDeployment(ctx, "d1"))
	checkCounts(t, s, "d1 deleted")
	// Several writes in one transaction, rolled back: nothing moves.
	err = s.InTx(ctx, func(tx *Tx) error {
		if err := tx.DeleteDeployment(ctx, "d2"); err != nil {
			return err
		}
		if err := tx.NameImage(ctx, digestC, nameB); err != nil {
			return err
		}
		return fmt.Errorf("roll back")
	})
	if err == nil {
		t.Fatal("transaction not rolled back")
	}
	checkCounts(t, s, "rolled back")
	for _, id := range []string{"d2", "d3", "d4", "d5"} {
		mustNil(t, s.DeleteDeployment(ctx, id))
	}
	checkCounts(t, s, "every deployment deleted")
	for _, table := range []string{"deployment_vulns", "scope_images", "scope_cves"} {
		var n int
		mustNil(t, s.direct().queryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n))
		if n != 0 {
			t.Errorf("%d rows left in %s without deployments", n, table)
		}
	}
}

// testCountsRandomWrites checks the counts after each of a long run of
// random writes over a few clusters, namespaces, names, digests and CVEs,
// where deployments often share images and images share CVEs.
func testCountsRandomWrites(t *testing.T, s *Store) {
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(n int) int { return rng.IntN(n) }
	digest := func(i int) string { return fmt.Sprintf("sha256:%04d", i) }
	name := func(i int) string { return fmt.Sprintf("reg.example.com/team/n%d:1", i) }
	sevs := []scan.Severity{scan.SeverityUnknown, scan.SeverityLow, scan.SeverityModerate, scan.SeverityImportant, scan.SeverityCritical}
	live := map[string]bool{}
	steps := 70
	if testing.Short() {
		steps = 25
	}
	for step := range steps {
		var what string
		switch op := pick(10); {
		case op < 4:
			var batch []DeploymentRecord
			for range 1 + pick(3) {
				var images []workload.Image
				for range pick(4) {
					if pick(4) == 0 {
						dg := digest(pick(6))
						images = append(images, workload.Image{FullName: "reg.example.com/team/pinned@" + dg, Registry: "reg.example.com", Remote: "team/pinned", Digest: dg})
						continue
					}
					images = append(images, workload.Image{FullName: name(pick(7))})
				}
				id := fmt.Sprintf("d%d", pick(12))
				batch = append(batch, runningDeployment(t, id, fmt.Sprintf("c%d", pick(3)), fmt.Sprintf("ns%d", pick(2)), images...))
				live[id] = true
			}
			mustNil(t, s.UpsertDeployments(ctx, batch))
			what = fmt.Sprintf("upsert %d deployments", len(batch))
		case op < 5 && len(live) > 0:
			ids := slices.Sorted(maps.Keys(live))
			id := ids[pick(len(ids))]
			mustNil(t, s.DeleteDeployment(ctx, id))
			delete(live, id)
			what = "delete " + id
		case op < 8:
			i := pick(6)
			var vulns []vulnSpec
			for range pick(6) {
				v := pick(10)
				fix := ""
				if pick(3) == 0 {
					fix = "9.9"
				}
				vulns = append(vulns, vulnSpec{fmt.Sprintf("CVE-%d", v), fmt.Sprintf("comp%d", pick(3)), sevs[pick(len(sevs))], float64(pick(100)) / 10, fix})
			}
			var names []string
			for range pick(3) {
				names = append(names, name(pick(7)))
			}
			names = append(names, "reg.example.com/team/pinned@"+digest(i))
			mustNil(t, s.UpsertImage(ctx, scannedImage(t, digest(i), "reg.example.com/team/pinned:x", vulns...), names...))
			what = fmt.Sprintf("scan %s with %d CVEs, names %v", digest(i), len(vulns), names)
		default:
			n, dg := name(pick(7)), digest(pick(7))
			mustNil(t, s.InTx(ctx, func(tx *Tx) error { return tx.NameImage(ctx, dg, n) }))
			what = "point " + n + " at " + dg
		}
		checkCounts(t, s, fmt.Sprintf("step %d (%s)", step, what))
	}
	// The reindex rebuilds the same counts from scratch.
	mustNil(t, s.SetSetting(ctx, reindexSetting, "test"))
	mustNil(t, s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE deployment_vulns SET critical = critical + 7`)
		return err
	}))
	mustNil(t, s.reindexVulns(ctx))
	checkCounts(t, s, "reindexed")
}
