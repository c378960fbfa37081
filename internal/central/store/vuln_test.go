package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/workload"
)

func TestVulns(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range []struct {
				name string
				fn   func(t *testing.T, s *Store)
			}{
				{"CVEList", testCVEList},
				{"CVEDetail", testCVEDetail},
				{"DeploymentVulns", testDeploymentVulns},
				{"ImageFilters", testImageVulnFilters},
				{"IndexFollowsWrites", testVulnIndexFollowsWrites},
				{"Reindex", testVulnReindex},
				{"TopFixableImages", testTopFixableImages},
				{"CountsFollowWrites", testCountsFollowWrites},
				{"CountsRandomWrites", testCountsRandomWrites},
			} {
				t.Run(c.name, func(t *testing.T) {
					dsn, dir := b.fresh(t)
					c.fn(t, openStore(t, dsn, dir))
				})
			}
		})
	}
}

type vulnSpec struct {
	id, comp string
	sev      scan.Severity
	cvss     float64
	fixedBy  string
}

// scannedImage is an image record whose document has vulns, with the
// counts imagescan.Summarize would give it.
func scannedImage(t testing.TB, digest, name string, vulns ...vulnSpec) ImageRecord {
	t.Helper()
	img := scan.Image{Name: name, FullName: name, Registry: "reg.example.com", Digest: digest, Components: []scan.Component{}}
	byComp := map[string]int{}
	rec := ImageRecord{Digest: digest, FullName: name, Registry: "reg.example.com", Remote: strings.TrimPrefix(name, "reg.example.com/")}
	worst := map[string]scan.Severity{}
	fixable := map[string]bool{}
	for _, v := range vulns {
		i, ok := byComp[v.comp]
		if !ok {
			i = len(img.Components)
			byComp[v.comp] = i
			img.Components = append(img.Components, scan.Component{Component: catalog.Component{Name: v.comp, Version: "1.0", Ecosystem: "deb", Layer: "sha256:layer"}})
		}
		img.Components[i].Vulns = append(img.Components[i].Vulns, scan.Vuln{ID: v.id, Severity: v.sev, CVSS: v.cvss,
			CVSSVector: "CVSS:3.1/AV:N", FixedBy: v.fixedBy, Summary: "summary of " + v.id})
		if v.sev.Rank() >= worst[v.id].Rank() {
			worst[v.id] = v.sev
		}
		fixable[v.id] = fixable[v.id] || v.fixedBy != ""
	}
	for id, sev := range worst {
		rec.Vulns++
		if fixable[id] {
			rec.Fixable++
		}
		switch sev {
		case scan.SeverityCritical:
			rec.Critical++
		case scan.SeverityImportant:
			rec.Important++
		case scan.SeverityModerate:
			rec.Moderate++
		case scan.SeverityLow:
			rec.Low++
		}
	}
	rec.Components = len(img.Components)
	doc, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	rec.JSON = doc
	return rec
}

// runningDeployment is a deployment record whose document is a
// workload.Deployment running images.
func runningDeployment(t testing.TB, id, cluster, namespace string, images ...workload.Image) DeploymentRecord {
	t.Helper()
	d := workload.Deployment{ID: id, Name: "dep-" + id, Namespace: namespace, ClusterName: cluster, Kind: "Deployment"}
	for i, im := range images {
		d.Containers = append(d.Containers, workload.Container{Name: fmt.Sprintf("c%d", i), Image: im})
	}
	doc, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return DeploymentRecord{ID: id, Cluster: cluster, Namespace: namespace, Name: d.Name, Kind: d.Kind, Source: "api", JSON: doc}
}

const (
	digestA = "sha256:aaaa"
	digestB = "sha256:bbbb"
	digestC = "sha256:cccc"
	nameA   = "reg.example.com/team/a:1"
	nameB   = "reg.example.com/team/b:2"
	nameC   = "reg.example.com/team/c:3"
)

// vulnFixture: image A has CVE-1 (critical, fixable) and CVE-2 (low); B has
// CVE-1 (important, no fix) and CVE-3 (moderate); C has none. Deployments
// are stored before the images they run: d1 (c1/a) runs A and B, d2 (c1/b)
// runs A pinned by digest, d3 (c2/a) runs B, d4 (c2/a) an unscanned image.
func vulnFixture(t *testing.T, s *Store) {
	t.Helper()
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{
		runningDeployment(t, "d1", "c1", "a", workload.Image{FullName: nameA}, workload.Image{FullName: nameB}),
		runningDeployment(t, "d2", "c1", "b", workload.Image{FullName: "reg.example.com/team/a@" + digestA, Registry: "reg.example.com", Remote: "team/a", Digest: digestA}),
		runningDeployment(t, "d3", "c2", "a", workload.Image{FullName: nameB}, workload.Image{FullName: nameB}),
		runningDeployment(t, "d4", "c2", "a", workload.Image{FullName: "reg.example.com/team/unscanned:1"}),
	}))
	mustNil(t, s.UpsertImage(ctx, scannedImage(t, digestA, nameA,
		vulnSpec{"CVE-1", "openssl", scan.SeverityCritical, 9.8, "3.0.1"},
		vulnSpec{"CVE-2", "zlib", scan.SeverityLow, 3.1, ""}), nameA, "reg.example.com/team/a@"+digestA))
	mustNil(t, s.UpsertImage(ctx, scannedImage(t, digestB, nameB,
		vulnSpec{"CVE-1", "openssl", scan.SeverityImportant, 7.5, ""},
		vulnSpec{"CVE-3", "curl", scan.SeverityModerate, 5.0, ""}), nameB))
	mustNil(t, s.UpsertImage(ctx, scannedImage(t, digestC, nameC), nameC))
	mustNil(t, s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.MarkVulnsSeen(ctx, digestA, []string{"CVE-1", "CVE-2"}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		return err
	}))
}

// cveRows renders CVEs as "id:severity:images:deployments" joined by spaces.
func cveRows(cs []CVESummary) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s:%s:%d:%d", c.ID, c.Severity, c.Images, c.Deployments))
	}
	return strings.Join(out, " ")
}

func testCVEList(t *testing.T, s *Store) {
	vulnFixture(t, s)
	yes, no := true, false
	for _, tc := range []struct {
		q     CVEQuery
		want  string
		total int
	}{
		{CVEQuery{}, "CVE-1:CRITICAL:2:3 CVE-3:MODERATE:1:2 CVE-2:LOW:1:2", 3},
		{CVEQuery{Sort: "id"}, "CVE-1:CRITICAL:2:3 CVE-2:LOW:1:2 CVE-3:MODERATE:1:2", 3},
		{CVEQuery{Sort: "-id", Offset: 1, Limit: 1}, "CVE-2:LOW:1:2", 3},
		{CVEQuery{Sort: "deployments"}, "CVE-2:LOW:1:2 CVE-3:MODERATE:1:2 CVE-1:CRITICAL:2:3", 3},
		{CVEQuery{Sort: "-images"}, "CVE-1:CRITICAL:2:3 CVE-3:MODERATE:1:2 CVE-2:LOW:1:2", 3},
		{CVEQuery{Sort: "cvss"}, "CVE-2:LOW:1:2 CVE-3:MODERATE:1:2 CVE-1:CRITICAL:2:3", 3},
		{CVEQuery{Sort: "-firstSeen"}, "CVE-2:LOW:1:2 CVE-1:CRITICAL:2:3 CVE-3:MODERATE:1:2", 3},
		{CVEQuery{Fixable: &yes}, "CVE-1:CRITICAL:2:3", 1},
		{CVEQuery{Fixable: &no, Sort: "id"}, "CVE-2:LOW:1:2 CVE-3:MODERATE:1:2", 2},
		{CVEQuery{Severities: []scan.Severity{scan.SeverityLow, scan.SeverityModerate}}, "CVE-3:MODERATE:1:2 CVE-2:LOW:1:2", 2},
		{CVEQuery{Text: "ZLIB"}, "CVE-2:LOW:1:2", 1},
		{CVEQuery{Text: "openssl", Fixable: &yes, Severities: []scan.Severity{scan.SeverityCritical}}, "CVE-1:CRITICAL:2:3", 1},
		{CVEQuery{Text: "openssl", Fixable: &no}, "", 0},
		{CVEQuery{Text: "curl", Fixable: &no, Cluster: "c2", Severities: []scan.Severity{scan.SeverityModerate}}, "CVE-3:MODERATE:1:1", 1},
		{CVEQuery{Text: "summary of cve-3"}, "CVE-3:MODERATE:1:2", 1},
		{CVEQuery{Text: "100%"}, "", 0},
		// Scoped to cluster c2, only image B counts: d3 runs it.
		{CVEQuery{Cluster: "c2"}, "CVE-1:IMPORTANT:1:1 CVE-3:MODERATE:1:1", 2},
		{CVEQuery{Cluster: "c1", Namespace: "b"}, "CVE-1:CRITICAL:1:1 CVE-2:LOW:1:1", 2},
		{CVEQuery{Cluster: "nowhere"}, "", 0},
		{CVEQuery{Offset: 5}, "", 3},
	} {
		got, total, err := s.ListCVEs(ctx, tc.q)
		mustNil(t, err)
		if cveRows(got) != tc.want || total != tc.total {
			t.Errorf("ListCVEs(%+v) = %q (total %d), want %q (total %d)", tc.q, cveRows(got), total, tc.want, tc.total)
		}
	}
	got, _, err := s.ListCVEs(ctx, CVEQuery{Sort: "id", Limit: 1})
	mustNil(t, err)
	if len(got) != 1 || got[0].CVSS != 9.8 || got[0].CVSSVersion != "3.1" || !got[0].Fixable || got[0].Summary != "summary of CVE-1" ||
		!got[0].FirstSeen.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("CVE-1 = %+v", got)
	}
	var exported []string
	mustNil(t, s.EachCVE(ctx, CVEQuery{Sort: "id"}, func(c CVESummary) error {
		exported = append(exported, c.ID)
		return nil
	}))
	if strings.Join(exported, ",") != "CVE-1,CVE-2,CVE-3" {
		t.Errorf("EachCVE = %v", exported)
	}
	for _, q := range []CVEQuery{{Sort: "name"}, {Sort: "-"}, {Offset: -1}, {Severities: []scan.Severity{"SEVERE"}}, {Text: "bad\x00"}} {
		if _, _, err := s.ListCVEs(ctx, q); !isInvalid(err) {
			t.Errorf("ListCVEs(%+v) = %v, want ErrInvalid", q, err)
		}
	}
}

func isInvalid(err error) bool {
	return err != nil && strings.Contains(err.Error(), ErrInvalid.Error())
}

func testCVEDetail(t *testing.T, s *Store) {
	vulnFixture(t, s)
	d, err := s.GetCVE(ctx, "CVE-1")
	mustNil(t, err)
	if d.Severity != scan.SeverityCritical || d.CVSS != 9.8 || !d.Fixable || d.Images != 2 || d.Deployments != 3 {
		t.Errorf("GetCVE summary = %+v", d.CVESummary)
	}
	var comps []string
	for _, c := range d.Components {
		comps = append(comps, c.Digest+"/"+c.Component+"@"+c.Version+">"+c.FixedBy+":"+string(c.Severity))
	}
	if got := strings.Join(comps, " "); got != "sha256:aaaa/openssl@1.0>3.0.1:CRITICAL sha256:bbbb/openssl@1.0>:IMPORTANT" {
		t.Errorf("components = %s", got)
	}
	if len(d.AffectedImages) != 2 || d.AffectedImages[0].FullName != nameA || d.AffectedImages[1].FullName != nameB {
		t.Errorf("images = %+v", d.AffectedImages)
	}
	var deps []string
	for _, r := range d.AffectedDeployments {
		deps = append(deps, r.ID+"="+strings.Join(r.Digests, "+"))
	}
	if got := strings.Join(deps, " "); got != "d1=sha256:aaaa+sha256:bbbb d2=sha256:aaaa d3=sha256:bbbb" {
		t.Errorf("deployments = %s", got)
	}
	_, err = s.GetCVE(ctx, "CVE-404")
	mustIs(t, err, ErrNotFound)
}

func testDeploymentVulns(t *testing.T, s *Store) {
	vulnFixture(t, s)
	render := func(ds []DeploymentVulns) string {
		var out []string
		for _, d := range ds {
			var ims []string
			for _, im := range d.Images {
				ims = append(ims, im.Digest)
			}
			out = append(out, fmt.Sprintf("%s:%d/%d/%d/%d/%d/%d[%s]", d.ID, d.CVEs, d.Critical, d.Important, d.Moderate, d.Low, d.Fixable, strings.Join(ims, ",")))
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		q     DeploymentVulnQuery
		want  string
		total int
	}{
		// d1 runs A and B: CVE-1 once, at its highest severity, fixable in A.
		{DeploymentVulnQuery{}, "d1:3/1/0/1/1/1[sha256:aaaa,sha256:bbbb] d2:2/1/0/0/1/1[sha256:aaaa] d3:2/0/1/1/0/0[sha256:bbbb] d4:0/0/0/0/0/0[]", 4},
		{DeploymentVulnQuery{Sort: "-cves", Limit: 2}, "d1:3/1/0/1/1/1[sha256:aaaa,sha256:bbbb] d3:2/0/1/1/0/0[sha256:bbbb]", 4},
		{DeploymentVulnQuery{Sort: "critical", Cluster: "c2"}, "d3:2/0/1/1/0/0[sha256:bbbb] d4:0/0/0/0/0/0[]", 2},
		{DeploymentVulnQuery{Text: "DEP-D2"}, "d2:2/1/0/0/1/1[sha256:aaaa]", 1},
		{DeploymentVulnQuery{Offset: 9}, "", 4},
	} {
		got, total, err := s.ListDeploymentVulns(ctx, tc.q)
		mustNil(t, err)
		if render(got) != tc.want || total != tc.total {
			t.Errorf("ListDeploymentVulns(%+v) = %s (total %d), want %s (total %d)", tc.q, render(got), total, tc.want, tc.total)
		}
	}
	got, _, err := s.ListDeploymentVulns(ctx, DeploymentVulnQuery{Text: "dep-d4"})
	mustNil(t, err)
	if len(got) != 1 || len(got[0].Images) != 1 || got[0].Images[0].Name != "reg.example.com/team/unscanned:1" {
		t.Errorf("d4 = %+v", got)
	}
	if _, _, err := s.ListDeploymentVulns(ctx, DeploymentVulnQuery{Sort: "severity"}); !isInvalid(err) {
		t.Errorf("bad sort: %v", err)
	}
}

func testImageVulnFilters(t *testing.T, s *Store) {
	vulnFixture(t, s)
	yes, no := true, false
	for _, tc := range []struct {
		q    ImageQuery
		want string
	}{
		{ImageQuery{Severities: []scan.Severity{scan.SeverityCritical}}, nameA},
		{ImageQuery{Severities: []scan.Severity{scan.SeverityCritical, scan.SeverityModerate}}, nameA + " " + nameB},
		{ImageQuery{Fixable: &no}, nameB + " " + nameC},
		{ImageQuery{Fixable: &yes}, nameA},
		{ImageQuery{Sort: "-vulns"}, nameB + " " + nameA + " " + nameC},
		{ImageQuery{Sort: "fixable"}, nameB + " " + nameC + " " + nameA},
	} {
		recs, total, err := s.ListImages(ctx, tc.q)
		mustNil(t, err)
		var names []string
		for _, r := range recs {
			names = append(names, r.FullName)
		}
		if strings.Join(names, " ") != tc.want || total != len(names) {
			t.Errorf("ListImages(%+v) = %v (total %d), want %s", tc.q, names, total, tc.want)
		}
	}
	if _, _, err := s.ListImages(ctx, ImageQuery{Severities: []scan.Severity{"HIGH"}}); !isInvalid(err) {
		t.Errorf("bad severity: %v", err)
	}
	counts, err := s.ImageDeploymentCounts(ctx, []string{digestA, digestB, digestC})
	mustNil(t, err)
	if counts[digestA] != 2 || counts[digestB] != 2 || counts[digestC] != 0 {
		t.Errorf("ImageDeploymentCounts = %v", counts)
	}
	total, deps, err := s.ImageDeployments(ctx, digestA, 1)
	mustNil(t, err)
	if total != 2 || len(deps) != 1 || deps[0].ID != "d1" {
		t.Errorf("ImageDeployments = %d %+v", total, deps)
	}
}

func testVulnIndexFollowsWrites(t *testing.T, s *Store) {
	vulnFixture(t, s)
	deploymentCVEs := func() string {
		t.Helper()
		ds, _, err := s.ListDeploymentVulns(ctx, DeploymentVulnQuery{})
		mustNil(t, err)
		var out []string
		for _, d := range ds {
			out = append(out, fmt.Sprintf("%s:%d", d.ID, d.CVEs))
		}
		return strings.Join(out, " ")
	}
	if got := deploymentCVEs(); got != "d1:3 d2:2 d3:2 d4:0" {
		t.Errorf("deployments before the writes: %s", got)
	}
	// A rescan of A without CVE-2, and d1 gone.
	mustNil(t, s.UpsertImage(ctx, scannedImage(t, digestA, nameA, vulnSpec{"CVE-1", "openssl", scan.SeverityCritical, 9.8, "3.0.1"}), nameA))
	mustNil(t, s.DeleteDeployment(ctx, "d1"))
	got, _, err := s.ListCVEs(ctx, CVEQuery{Sort: "id"})
	mustNil(t, err)
	if cveRows(got) != "CVE-1:CRITICAL:2:2 CVE-3:MODERATE:1:1" {
		t.Errorf("after rescan and delete: %s", cveRows(got))
	}
	if got := deploymentCVEs(); got != "d2:1 d3:2 d4:0" {
		t.Errorf("deployments after rescan and delete: %s", got)
	}
	// d3 now runs C instead of B; the tag of B moves to C's digest.
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{runningDeployment(t, "d3", "c2", "a", workload.Image{FullName: nameC})}))
	got, _, err = s.ListCVEs(ctx, CVEQuery{Sort: "id"})
	mustNil(t, err)
	if cveRows(got) != "CVE-1:CRITICAL:2:1 CVE-3:MODERATE:1:0" {
		t.Errorf("after d3 changed image: %s", cveRows(got))
	}
	if got := deploymentCVEs(); got != "d2:1 d3:0 d4:0" {
		t.Errorf("deployments after d3 changed image: %s", got)
	}
	mustNil(t, s.InTx(ctx, func(tx *Tx) error { return tx.NameImage(ctx, digestB, nameC) }))
	got, _, err = s.ListCVEs(ctx, CVEQuery{Sort: "id"})
	mustNil(t, err)
	if cveRows(got) != "CVE-1:CRITICAL:2:2 CVE-3:MODERATE:1:1" {
		t.Errorf("after the tag moved: %s", cveRows(got))
	}
	if got := deploymentCVEs(); got != "d2:1 d3:2 d4:0" {
		t.Errorf("deployments after the tag moved: %s", got)
	}
}

func testVulnReindex(t *testing.T, s *Store) {
	if _, pending, err := s.GetSetting(ctx, reindexSetting); err != nil || pending {
		t.Fatalf("fresh store still marked for reindexing (%v)", err)
	}
	vulnFixture(t, s)
	before, _, err := s.ListCVEs(ctx, CVEQuery{})
	mustNil(t, err)
	// As a database migrated from before the index: empty tables, marker set.
	mustNil(t, s.InTx(ctx, func(tx *Tx) error {
		for _, q := range []string{`DELETE FROM image_cves`, `DELETE FROM cves`, `DELETE FROM deployment_images`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return tx.SetSetting(ctx, reindexSetting, "0009")
	}))
	if got, total, err := s.ListCVEs(ctx, CVEQuery{}); err != nil || total != 0 {
		t.Fatalf("emptied index: %s %v", cveRows(got), err)
	}
	mustNil(t, s.reindexVulns(ctx))
	after, _, err := s.ListCVEs(ctx, CVEQuery{})
	mustNil(t, err)
	if cveRows(after) != cveRows(before) || cveRows(after) == "" {
		t.Errorf("reindexed: %s, want %s", cveRows(after), cveRows(before))
	}
	if _, pending, _ := s.GetSetting(ctx, reindexSetting); pending {
		t.Error("marker left after reindexing")
	}
}

// testTopFixableImages ranks images by their distinct fixable critical and
// important CVEs, within a cluster's deployments when asked.
func testTopFixableImages(t *testing.T, s *Store) {
	vulnFixture(t, s)
	const digestD, nameD = "sha256:dddd", "reg.example.com/team/d:4"
	mustNil(t, s.UpsertImage(ctx, scannedImage(t, digestD, nameD,
		vulnSpec{"CVE-4", "libxml2", scan.SeverityImportant, 7.0, "2.1"},
		vulnSpec{"CVE-4", "libxml2-utils", scan.SeverityImportant, 7.0, "2.1"},
		vulnSpec{"CVE-5", "expat", scan.SeverityImportant, 7.2, "1.2"},
		vulnSpec{"CVE-6", "bash", scan.SeverityModerate, 5.0, "5.2"}), nameD))
	render := func(fs []FixableImage) string {
		var out []string
		for _, f := range fs {
			out = append(out, fmt.Sprintf("%s:%d/%d", f.FullName, f.Critical, f.Important))
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		cluster, namespace string
		limit              int
		want               string
	}{
		{"", "", 10, nameD + ":0/2 " + nameA + ":1/0"},
		{"", "", 1, nameD + ":0/2"},
		{"c1", "", 10, nameA + ":1/0"},
		{"c2", "a", 10, ""},
	} {
		got, err := s.TopFixableImages(ctx, tc.cluster, tc.namespace, tc.limit)
		mustNil(t, err)
		if render(got) != tc.want {
			t.Errorf("TopFixableImages(%q, %q, %d) = %q, want %q", tc.cluster, tc.namespace, tc.limit, render(got), tc.want)
		}
	}
	_, err := s.TopFixableImages(ctx, "", "", 0)
	mustIs(t, err, ErrInvalid)
}
