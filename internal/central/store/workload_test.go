package store

import (
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestWorkloadViews runs the open-violation counts, filters and sorts of
// the deployments and clusters pages against every backend.
func TestWorkloadViews(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for name, fn := range map[string]func(*testing.T, *Store){
				"DeploymentViolations": testDeploymentViolations,
				"PlaceStats":           testPlaceStats,
				"ImagesByName":         testImagesByName,
			} {
				t.Run(name, func(t *testing.T) {
					dsn, dir := b.fresh(t)
					fn(t, openStore(t, dsn, dir))
				})
			}
		})
	}
}

// violation is an alert of deployment d of severity sev in state.
func violation(id string, d DeploymentRecord, sev, state string) AlertRecord {
	a := alert(id)
	a.DeploymentID, a.DeploymentName, a.ClusterName, a.Namespace = d.ID, d.Name, d.Cluster, d.Namespace
	a.Severity, a.State = sev, state
	return a
}

// violationFixture stores five deployments in two clusters:
//
//	d1 (prod/shop/web):   2 critical open, 1 high resolved
//	d2 (prod/shop/cart):  1 high and 3 low open
//	d3 (prod/pay/api):    1 critical open
//	d4 (lab/shop/zeta):   none
//	d5 (lab/test/alpha):  1 medium resolved
//
// and an open medium alert of a workload that is not stored (prod/shop).
func violationFixture(t *testing.T, s *Store) map[string]DeploymentRecord {
	t.Helper()
	ds := map[string]DeploymentRecord{
		"d1": deployment("d1", "prod", "shop", "web"),
		"d2": deployment("d2", "prod", "shop", "cart"),
		"d3": deployment("d3", "prod", "pay", "api"),
		"d4": deployment("d4", "lab", "shop", "zeta"),
		"d5": deployment("d5", "lab", "test", "alpha"),
	}
	mustNil(t, s.UpsertDeployments(ctx, slices.Collect(maps.Values(ds))))
	const (
		crit, high, med, low = "CRITICAL_SEVERITY", "HIGH_SEVERITY", "MEDIUM_SEVERITY", "LOW_SEVERITY"
		open, done           = AlertActive, AlertResolved
	)
	ghost := deployment("ghost", "prod", "shop", "denied")
	mustNil(t, s.AddAlerts(ctx, []AlertRecord{
		violation("a1", ds["d1"], crit, open), violation("a2", ds["d1"], crit, open), violation("a3", ds["d1"], high, done),
		violation("a4", ds["d2"], high, open), violation("a5", ds["d2"], low, open), violation("a6", ds["d2"], low, open),
		violation("a7", ds["d2"], low, open),
		violation("a8", ds["d3"], crit, open),
		violation("a9", ds["d5"], med, done),
		violation("a10", ghost, med, open),
	}))
	return ds
}

func testDeploymentViolations(t *testing.T, s *Store) {
	violationFixture(t, s)
	got, err := s.DeploymentViolations(ctx, []string{"d1", "d2", "d3", "d4", "d5", "nope"})
	mustNil(t, err)
	want := map[string]ViolationCounts{
		"d1": {Critical: 2},
		"d2": {High: 1, Low: 3},
		"d3": {Critical: 1},
	}
	if !maps.Equal(got, want) {
		t.Errorf("DeploymentViolations = %v, want %v", got, want)
	}
	if got["d2"].Total() != 4 {
		t.Errorf("d2 total = %d", got["d2"].Total())
	}
	// More ids than one IN list holds.
	many := make([]string, 0, 2*idChunk+1)
	for i := range 2 * idChunk {
		many = append(many, "x"+strconv.Itoa(i))
	}
	many = append(many, "d3")
	got, err = s.DeploymentViolations(ctx, many)
	mustNil(t, err)
	if !maps.Equal(got, map[string]ViolationCounts{"d3": {Critical: 1}}) {
		t.Errorf("DeploymentViolations of many = %v", got)
	}

	yes, no := true, false
	for _, tc := range []struct {
		name  string
		q     DeploymentQuery
		want  string
		total int
	}{
		{"violated", DeploymentQuery{Violated: &yes}, "d3,d2,d1", 3},
		{"not violated", DeploymentQuery{Violated: &no}, "d5,d4", 2},
		{"critical", DeploymentQuery{Severity: "CRITICAL_SEVERITY"}, "d3,d1", 2},
		{"high is open on d2 only", DeploymentQuery{Severity: "HIGH_SEVERITY"}, "d2", 1},
		{"medium is resolved", DeploymentQuery{Severity: "MEDIUM_SEVERITY"}, "", 0},
		{"critical in a cluster", DeploymentQuery{Severity: "CRITICAL_SEVERITY", Namespace: "pay"}, "d3", 1},
		{"most violations first", DeploymentQuery{Sort: "violations"}, "d1,d3,d2,d5,d4", 5},
		{"fewest first, ties by name", DeploymentQuery{Sort: "-violations"}, "d5,d4,d2,d3,d1", 5},
		{"a page", DeploymentQuery{Sort: "violations", Offset: 1, Limit: 2}, "d3,d2", 5},
		{"past the end", DeploymentQuery{Sort: "violations", Offset: 5, Limit: 2}, "", 5},
		{"filtered and sorted", DeploymentQuery{Sort: "violations", Cluster: "prod", Text: "a"}, "d3,d2", 2},
		{"violated by violations", DeploymentQuery{Sort: "-violations", Violated: &yes, Limit: 2}, "d2,d3", 3},
	} {
		page, total, err := s.ListDeployments(ctx, tc.q)
		mustNil(t, err)
		if got := deploymentIDs(page); got != tc.want || total != tc.total {
			t.Errorf("%s: got %q of %d, want %q of %d", tc.name, got, total, tc.want, tc.total)
		}
		for _, d := range page {
			if len(d.JSON) == 0 || d.Name == "" {
				t.Errorf("%s: %s read without its document or name", tc.name, d.ID)
			}
		}
	}
	_, _, err = s.ListDeployments(ctx, DeploymentQuery{Severity: "SEVERE"})
	mustIs(t, err, ErrInvalid)
	_, _, err = s.ListDeployments(ctx, DeploymentQuery{Sort: "violations", Offset: -1})
	mustIs(t, err, ErrInvalid)
	_, _, err = s.ListDeployments(ctx, DeploymentQuery{Sort: "--violations"})
	mustIs(t, err, ErrInvalid)

	// Resolving the last open alert of d3 takes it out of the violated.
	mustNil(t, s.SetAlertState(ctx, "a8", AlertResolved))
	page, _, err := s.ListDeployments(ctx, DeploymentQuery{Violated: &yes})
	mustNil(t, err)
	if got := deploymentIDs(page); got != "d2,d1" {
		t.Errorf("violated after resolving d3's alert = %s", got)
	}
}

func testPlaceStats(t *testing.T, s *Store) {
	violationFixture(t, s)
	got, err := s.ClusterStats(ctx)
	mustNil(t, err)
	want := map[string]PlaceStats{
		"prod": {Deployments: 3, Namespaces: 2, Violations: ViolationCounts{Critical: 3, High: 1, Medium: 1, Low: 3}},
		"lab":  {Deployments: 2, Namespaces: 2},
	}
	if !maps.Equal(got, want) {
		t.Errorf("ClusterStats = %+v, want %+v", got, want)
	}
	got, err = s.NamespaceStats(ctx, "prod")
	mustNil(t, err)
	want = map[string]PlaceStats{
		"shop": {Deployments: 2, Violations: ViolationCounts{Critical: 2, High: 1, Medium: 1, Low: 3}},
		"pay":  {Deployments: 1, Violations: ViolationCounts{Critical: 1}},
	}
	if !maps.Equal(got, want) {
		t.Errorf("NamespaceStats(prod) = %+v, want %+v", got, want)
	}
	got, err = s.NamespaceStats(ctx, "nowhere")
	mustNil(t, err)
	if len(got) != 0 {
		t.Errorf("NamespaceStats(nowhere) = %+v", got)
	}
	_, err = s.NamespaceStats(ctx, "")
	mustIs(t, err, ErrInvalid)
}

func testImagesByName(t *testing.T, s *Store) {
	t1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mustNil(t, s.UpsertImage(ctx, image("sha256:aa", "reg.example.com/team/app:1", 2, t1), "reg.example.com/team/app:1", "reg.example.com/team/app:latest"))
	mustNil(t, s.UpsertImage(ctx, image("sha256:bb", "reg.example.com/team/db:2", 0, t1)))
	byName, byDigest, err := s.ImagesByName(ctx,
		[]string{"reg.example.com/team/app:latest", "reg.example.com/team/app:1", "reg.example.com/unknown:1"},
		[]string{"sha256:bb", "sha256:cc"})
	mustNil(t, err)
	if len(byName) != 2 || byName["reg.example.com/team/app:latest"].Digest != "sha256:aa" ||
		byName["reg.example.com/team/app:1"].Critical != 2 || byName["reg.example.com/team/app:1"].JSON != nil {
		t.Errorf("by name = %+v", byName)
	}
	if len(byDigest) != 1 || byDigest["sha256:bb"].FullName != "reg.example.com/team/db:2" || !byDigest["sha256:bb"].ScanTime.Equal(t1) {
		t.Errorf("by digest = %+v", byDigest)
	}
	_, _, err = s.ImagesByName(ctx, []string{""}, nil)
	mustIs(t, err, ErrInvalid)
}
