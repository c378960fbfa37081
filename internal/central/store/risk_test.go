package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/workload"
)

func TestRiskOf(t *testing.T) {
	for _, tc := range []struct {
		name           string
		v              ViolationCounts
		c              VulnCounts
		fv, fc, score  float64
		wantViolations ViolationCounts
	}{
		{"nothing against it", ViolationCounts{}, VulnCounts{}, 1, 1, 1, ViolationCounts{}},
		// 4·2 + 3 + 2 + 3 = 16 points → 1 + 3·16/40 = 2.2; 10·2 + 5·4 +
		// 2·2 + 1 + 1 unknown = 46 points → 1 + 3·46/200 = 1.69.
		{"both", ViolationCounts{Critical: 2, High: 1, Medium: 1, Low: 3}, VulnCounts{CVEs: 10, Critical: 2, Important: 4, Moderate: 2, Low: 1, Fixable: 3},
			2.2, 1.69, 3.72, ViolationCounts{Critical: 2, High: 1, Medium: 1, Low: 3}},
		{"violations only", ViolationCounts{Critical: 2, High: 1, Medium: 1, Low: 3}, VulnCounts{}, 2.2, 1, 2.2, ViolationCounts{Critical: 2, High: 1, Medium: 1, Low: 3}},
		{"CVEs only", ViolationCounts{}, VulnCounts{CVEs: 10, Critical: 2, Important: 4, Moderate: 2, Low: 1}, 1, 1.69, 1.69, ViolationCounts{}},
		{"capped", ViolationCounts{Critical: 1000}, VulnCounts{CVEs: 5000, Critical: 5000}, 4, 4, 16, ViolationCounts{Critical: 1000}},
		{"exactly at the caps", ViolationCounts{Critical: 10}, VulnCounts{CVEs: 20, Critical: 20}, 4, 4, 16, ViolationCounts{Critical: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := RiskOf(tc.v, tc.c)
			if r.ViolationFactor != tc.fv || r.VulnFactor != tc.fc || r.Score != tc.score {
				t.Errorf("RiskOf = factors %v × %v = %v, want %v × %v = %v", r.ViolationFactor, r.VulnFactor, r.Score, tc.fv, tc.fc, tc.score)
			}
			if r.Violations != tc.wantViolations || r.CVEs != tc.c {
				t.Errorf("RiskOf inputs = %+v %+v", r.Violations, r.CVEs)
			}
		})
	}
	// Both kinds rank above either alone, at every level below the caps.
	for n := 1; n < 10; n++ {
		v, c := ViolationCounts{High: n}, VulnCounts{CVEs: n, Important: n}
		both, vo, co := RiskOf(v, c).Score, RiskOf(v, VulnCounts{}).Score, RiskOf(ViolationCounts{}, c).Score
		if both <= vo || both <= co {
			t.Errorf("%d: both %v, violations only %v, CVEs only %v", n, both, vo, co)
		}
	}
}

func TestRisk(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			dsn, dir := b.fresh(t)
			testRiskRanking(t, openStore(t, dsn, dir))
		})
	}
}

// riskFixture: image A has CVE-1 (critical, fixable) and CVE-2 (low), B
// has CVE-3 (important); U is never scanned.
//
//	d1 (c1/a) runs A, 1 high open                   → 1.225 × 1.165
//	d2 (c1/b) runs U, 1 high open, 1 critical done  → 1.225
//	d3 (c2/a) runs A                                → 1.165
//	d4 (c2/b) runs U                                → 1
//	d5 (c2/a) runs U                                → 1
//	d6 (c1/a) runs B, 1 high open                   → 1.225 × 1.075
func riskFixture(t *testing.T, s *Store) map[string]DeploymentRecord {
	t.Helper()
	unscanned := workload.Image{FullName: "reg.example.com/team/unscanned:1"}
	ds := map[string]DeploymentRecord{
		"d1": runningDeployment(t, "d1", "c1", "a", workload.Image{FullName: nameA}),
		"d2": runningDeployment(t, "d2", "c1", "b", unscanned),
		"d3": runningDeployment(t, "d3", "c2", "a", workload.Image{FullName: nameA}),
		"d4": runningDeployment(t, "d4", "c2", "b", unscanned),
		"d5": runningDeployment(t, "d5", "c2", "a", unscanned),
		"d6": runningDeployment(t, "d6", "c1", "a", workload.Image{FullName: nameB}),
	}
	for _, id := range []string{"d1", "d2", "d3", "d4", "d5", "d6"} {
		mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{ds[id]}))
	}
	mustNil(t, s.UpsertImage(ctx, scannedImage(t, digestA, nameA,
		vulnSpec{"CVE-1", "openssl", scan.SeverityCritical, 9.8, "3.0.1"},
		vulnSpec{"CVE-2", "zlib", scan.SeverityLow, 2.0, ""},
		vulnSpec{"CVE-1", "libssl", scan.SeverityImportant, 7.5, ""}), nameA))
	mustNil(t, s.UpsertImage(ctx, scannedImage(t, digestB, nameB, vulnSpec{"CVE-3", "curl", scan.SeverityImportant, 7.0, ""}), nameB))
	const high, crit = "HIGH_SEVERITY", "CRITICAL_SEVERITY"
	mustNil(t, s.AddAlerts(ctx, []AlertRecord{
		violation("a1", ds["d1"], high, AlertActive),
		violation("a2", ds["d2"], high, AlertActive), violation("a3", ds["d2"], crit, AlertResolved),
		violation("a4", ds["d6"], high, AlertActive),
	}))
	return ds
}

func testRiskRanking(t *testing.T, s *Store) {
	riskFixture(t, s)
	check := func(name string, q DeploymentQuery, want string, wantTotal int) {
		t.Helper()
		page, total, err := s.ListDeployments(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// The page with its risks is the same page, each row with the
		// risk DeploymentRisks gives it.
		withRisk, risks, total2, err := s.ListDeploymentsWithRisk(ctx, q)
		if err != nil {
			t.Fatalf("%s with risk: %v", name, err)
		}
		if len(withRisk) != len(page) || total2 != total || len(risks) != len(page) {
			t.Errorf("%s: with risk %d rows of %d, %d risks; without %d of %d", name, len(withRisk), total2, len(risks), len(page), total)
		}
		for i, d := range withRisk {
			one, err := s.DeploymentRisks(ctx, []string{d.ID})
			mustNil(t, err)
			if i >= len(page) || page[i].ID != d.ID || risks[d.ID] != one[d.ID] {
				t.Errorf("%s: row %d %s risk %+v, DeploymentRisks %+v", name, i, d.ID, risks[d.ID], one[d.ID])
			}
		}
		ids := make([]string, len(page))
		for i, d := range page {
			ids[i] = d.ID
			if len(d.JSON) == 0 || d.Name != "dep-"+d.ID {
				t.Errorf("%s: row %q read without its document or name", name, d.ID)
			}
		}
		if got := strings.Join(ids, ","); got != want || total != wantTotal {
			t.Errorf("%s: got %s (total %d), want %s (total %d)", name, got, total, want, wantTotal)
		}
	}
	yes := true
	check("riskiest first", DeploymentQuery{Sort: "-risk"}, "d1,d6,d2,d3,d4,d5", 6)
	check("least risky first, ties by name", DeploymentQuery{Sort: "risk"}, "d4,d5,d3,d2,d6,d1", 6)
	check("a page", DeploymentQuery{Sort: "-risk", Offset: 1, Limit: 2}, "d6,d2", 6)
	check("past the end", DeploymentQuery{Sort: "-risk", Offset: 6, Limit: 2}, "", 6)
	check("one cluster", DeploymentQuery{Sort: "-risk", Cluster: "c1"}, "d1,d6,d2", 3)
	check("one namespace", DeploymentQuery{Sort: "-risk", Cluster: "c2", Namespace: "a"}, "d3,d5", 2)
	check("namespace in every cluster", DeploymentQuery{Sort: "-risk", Namespace: "a", Limit: 2}, "d1,d6", 4)
	check("violated", DeploymentQuery{Sort: "-risk", Violated: &yes}, "d1,d6,d2", 3)
	check("text", DeploymentQuery{Sort: "-risk", Text: "D3"}, "d3", 1)
	check("kind and violated", DeploymentQuery{Sort: "risk", Kind: "Deployment", Violated: &yes}, "d2,d6,d1", 3)
	check("severity", DeploymentQuery{Sort: "-risk", Severity: "HIGH_SEVERITY", Cluster: "c1", Offset: 1}, "d6,d2", 3)
	check("by name, with risks", DeploymentQuery{Cluster: "c1"}, "d1,d2,d6", 3)

	risks, err := s.DeploymentRisks(ctx, []string{"d1", "d2", "d3", "d4", "nope"})
	mustNil(t, err)
	want := map[string]Risk{
		"d1":   RiskOf(ViolationCounts{High: 1}, VulnCounts{CVEs: 2, Critical: 1, Low: 1, Fixable: 1}),
		"d2":   RiskOf(ViolationCounts{High: 1}, VulnCounts{}),
		"d3":   RiskOf(ViolationCounts{}, VulnCounts{CVEs: 2, Critical: 1, Low: 1, Fixable: 1}),
		"d4":   RiskOf(ViolationCounts{}, VulnCounts{}),
		"nope": {Score: 1, ViolationFactor: 1, VulnFactor: 1},
	}
	for id, w := range want {
		if risks[id] != w {
			t.Errorf("risk of %s = %+v, want %+v", id, risks[id], w)
		}
	}
	if risks["d1"].Score != 1.43 {
		t.Errorf("d1's score = %v, want 1.225 × 1.165 = 1.43", risks["d1"].Score)
	}

	// After writes: two critical violations lift d3 to the top; A
	// rescanned without CVEs leaves d1 with d2's violations, and the tie
	// goes by name, and d3 with its violations alone; a resolved violation
	// leaves d6 its CVE; a deleted deployment leaves the ranking.
	ds, _, err := s.ListDeployments(ctx, DeploymentQuery{Name: "dep-d3"})
	mustNil(t, err)
	mustNil(t, s.AddAlerts(ctx, []AlertRecord{
		violation("a5", ds[0], "CRITICAL_SEVERITY", AlertActive), violation("a6", ds[0], "CRITICAL_SEVERITY", AlertActive),
	}))
	check("after new violations", DeploymentQuery{Sort: "-risk"}, "d3,d1,d6,d2,d4,d5", 6)
	mustNil(t, s.UpsertImage(ctx, scannedImage(t, digestA, nameA), nameA))
	check("after a rescan", DeploymentQuery{Sort: "-risk"}, "d3,d6,d1,d2,d4,d5", 6)
	mustNil(t, s.SetAlertState(ctx, "a4", AlertResolved))
	mustNil(t, s.DeleteDeployment(ctx, "d2"))
	check("after a resolve and a delete", DeploymentQuery{Sort: "-risk"}, "d3,d1,d6,d4,d5", 5)

	if _, _, err := s.ListDeployments(ctx, DeploymentQuery{Sort: "-risk", Offset: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative offset: %v", err)
	}
	if _, _, err := s.ListDeployments(ctx, DeploymentQuery{Sort: "--risk"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad sort: %v", err)
	}
}

// TestRiskCacheKeptOverBookkeeping checks that signing in, using an API
// token and the notifier outbox's own writes keep the risk ranking cached,
// while a write to what risk is computed from drops it.
func TestRiskCacheKeptOverBookkeeping(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			dsn, dir := b.fresh(t)
			s := openStore(t, dsn, dir)
			ds := riskFixture(t, s)
			cached := func() bool {
				_, _, ok := s.risks.get(s.writes.Load())
				return ok
			}
			_, _, err := s.ListDeployments(ctx, DeploymentQuery{Sort: "-risk"})
			mustNil(t, err)
			if !cached() {
				t.Fatal("no ranking cached after a list by risk")
			}
			at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
			mustNil(t, s.CreateSession(ctx, session("h1", "admin", at)))
			mustNil(t, s.CreateToken(ctx, TokenRecord{ID: "tok1", Role: "Admin", SecretHash: []byte{1}, CreatedAt: at}))
			mustNil(t, s.TouchToken(ctx, "tok1", at.Add(time.Hour)))
			mustNil(t, s.RevokeToken(ctx, "tok1", at.Add(2*time.Hour)))
			mustNil(t, s.ReleaseLeases(ctx))
			if !cached() {
				t.Error("a sign-in or an API token's use dropped the cached ranking")
			}
			// A violation resolved changes d6's risk: the ranking is computed again.
			mustNil(t, s.SetAlertState(ctx, "a4", AlertResolved))
			if cached() {
				t.Error("the ranking stayed cached after a violation was resolved")
			}
			_, _, err = s.ListDeployments(ctx, DeploymentQuery{Sort: "-risk"})
			mustNil(t, err)
			mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{ds["d4"]}))
			if cached() {
				t.Error("the ranking stayed cached after a deployment was written")
			}
		})
	}
}
