package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestSessionsAndAlertSummary runs the session and alert summary cases
// against every backend, each on a fresh store.
func TestSessionsAndAlertSummary(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range []struct {
				name string
				fn   func(t *testing.T, s *Store)
			}{
				{"Sessions", testSessions},
				{"SessionValidation", testSessionValidation},
				{"AlertSummary", testAlertSummary},
				{"AlertSummaryFollowsWrites", testAlertSummaryFollowsWrites},
				{"AlertQueryPoliciesAndUntil", testAlertQueryPoliciesAndUntil},
			} {
				t.Run(c.name, func(t *testing.T) {
					dsn, dir := b.fresh(t)
					c.fn(t, openStore(t, dsn, dir))
				})
			}
		})
	}
}

func session(hash, credential string, created time.Time) SessionRecord {
	return SessionRecord{IDHash: hash, Kind: "user", UserName: "admin", Role: "Admin", Credential: credential,
		CreatedAt: created, ExpiresAt: created.Add(12 * time.Hour)}
}

func testSessions(t *testing.T, s *Store) {
	t0 := time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC)
	mustNil(t, s.CreateSession(ctx, session("h1", "pw", t0)))
	if err := s.CreateSession(ctx, session("h1", "pw", t0)); !errors.Is(err, ErrConflict) {
		t.Fatalf("second session with the same id: %v, want ErrConflict", err)
	}
	got, err := s.GetSession(ctx, "h1")
	mustNil(t, err)
	if got.UserName != "admin" || got.Role != "Admin" || got.Credential != "pw" || !got.CreatedAt.Equal(t0) ||
		!got.LastSeenAt.Equal(t0) || !got.ExpiresAt.Equal(t0.Add(12*time.Hour)) {
		t.Fatalf("GetSession = %+v", got)
	}
	if _, err := s.GetSession(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetSession(missing) = %v, want ErrNotFound", err)
	}

	// Touch writes only once the stored time is a resolution old, and never backwards.
	mustNil(t, s.TouchSession(ctx, "h1", t0.Add(30*time.Second)))
	if got, _ := s.GetSession(ctx, "h1"); !got.LastSeenAt.Equal(t0) {
		t.Errorf("touched within the resolution: last seen %v", got.LastSeenAt)
	}
	mustNil(t, s.TouchSession(ctx, "h1", t0.Add(2*time.Minute)))
	if got, _ := s.GetSession(ctx, "h1"); !got.LastSeenAt.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("last seen %v, want %v", got.LastSeenAt, t0.Add(2*time.Minute))
	}
	mustNil(t, s.TouchSession(ctx, "h1", t0))
	if got, _ := s.GetSession(ctx, "h1"); !got.LastSeenAt.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("touch moved last seen backwards to %v", got.LastSeenAt)
	}
	mustNil(t, s.TouchSession(ctx, "missing", t0))

	// Expiry: absolute, then idle.
	mustNil(t, s.CreateSession(ctx, session("h2", "pw", t0.Add(time.Hour))))
	old := session("h3", "tok", t0)
	old.ExpiresAt = t0.Add(time.Minute)
	mustNil(t, s.CreateSession(ctx, old))
	n, err := s.DeleteExpiredSessions(ctx, t0.Add(time.Minute), t0.Add(-time.Hour))
	mustNil(t, err)
	if n != 1 {
		t.Errorf("deleted %d sessions past their expiry, want 1", n)
	}
	n, err = s.DeleteExpiredSessions(ctx, t0.Add(time.Minute), t0.Add(30*time.Minute))
	mustNil(t, err)
	if n != 1 { // h1, last seen at t0+2m; h2 was seen at t0+1h
		t.Errorf("deleted %d idle sessions, want 1", n)
	}
	if _, err := s.GetSession(ctx, "h2"); err != nil {
		t.Errorf("the live session is gone: %v", err)
	}

	// Trim keeps the newest sessions of a credential and leaves others alone.
	for i := range 5 {
		mustNil(t, s.CreateSession(ctx, session(fmt.Sprintf("t%d", i), "tok-a", t0.Add(time.Duration(i)*time.Second))))
	}
	mustNil(t, s.TrimSessions(ctx, "tok-a", 2))
	for i := range 5 {
		_, err := s.GetSession(ctx, fmt.Sprintf("t%d", i))
		if kept := err == nil; kept != (i >= 3) {
			t.Errorf("session t%d kept=%v after trimming to the newest 2 (%v)", i, kept, err)
		}
	}
	total, err := s.CountSessions(ctx)
	mustNil(t, err)
	if total != 3 { // h2, t3, t4
		t.Errorf("%d sessions left, want 3", total)
	}
	mustNil(t, s.DeleteSession(ctx, "h2"))
	mustNil(t, s.DeleteSession(ctx, "h2"))
	if _, err := s.GetSession(ctx, "h2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("signed-out session still found: %v", err)
	}
}

func testSessionValidation(t *testing.T, s *Store) {
	t0 := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	for name, rec := range map[string]SessionRecord{
		"no id":         {Kind: "user", UserName: "admin", Role: "Admin", Credential: "pw", ExpiresAt: t0},
		"no expiry":     {IDHash: "x", Kind: "user", UserName: "admin", Role: "Admin", Credential: "pw"},
		"no role":       {IDHash: "x", Kind: "user", UserName: "admin", Credential: "pw", ExpiresAt: t0},
		"NUL in name":   {IDHash: "x", Kind: "user", UserName: "ad\x00min", Role: "Admin", Credential: "pw", ExpiresAt: t0},
		"far future":    {IDHash: "x", Kind: "user", UserName: "admin", Role: "Admin", Credential: "pw", ExpiresAt: time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)},
		"no credential": {IDHash: "x", Kind: "user", UserName: "admin", Role: "Admin", ExpiresAt: t0},
	} {
		if err := s.CreateSession(ctx, rec); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: CreateSession = %v, want ErrInvalid", name, err)
		}
	}
}

func testAlertSummary(t *testing.T, s *Store) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id, sev, cluster, ns, dep, policyID string, at time.Time) AlertRecord {
		a := alert(id)
		a.Severity, a.ClusterName, a.Namespace, a.DeploymentID, a.DeploymentName = sev, cluster, ns, "id-"+dep, dep
		a.PolicyID, a.PolicyName = policyID, "Policy "+policyID
		a.CreatedAt = at
		return a
	}
	alerts := []AlertRecord{
		mk("a1", "LOW_SEVERITY", "prod", "shop", "web", "p1", day.Add(1*time.Hour)),
		mk("a2", "HIGH_SEVERITY", "prod", "shop", "web", "p2", day.Add(2*time.Hour)),
		mk("a3", "HIGH_SEVERITY", "prod", "shop", "db", "p2", day.Add(25*time.Hour)),
		mk("a4", "CRITICAL_SEVERITY", "dev", "test", "job", "p3", day.Add(49*time.Hour)),
		mk("a5", "LOW_SEVERITY", "prod", "shop", "web", "p1", day.Add(50*time.Hour)),
	}
	alerts[4].State = AlertResolved
	mustNil(t, s.AddAlerts(ctx, alerts))

	var groupings []AlertGrouping
	for _, by := range AlertGroupings() {
		groupings = append(groupings, AlertGrouping{By: by})
	}
	sum, err := s.SummarizeAlerts(ctx, AlertQuery{}, groupings)
	mustNil(t, err)
	if sum.Total != 5 {
		t.Errorf("total %d, want 5", sum.Total)
	}
	want := map[string][]AlertCount{
		GroupSeverity:  {{Severity: "CRITICAL_SEVERITY", Count: 1}, {Severity: "HIGH_SEVERITY", Count: 2}, {Severity: "LOW_SEVERITY", Count: 2}},
		GroupState:     {{State: "ACTIVE", Count: 4}, {State: "RESOLVED", Count: 1}},
		GroupStage:     {{Stage: "DEPLOY", Count: 5}},
		GroupPolicy:    {{PolicyID: "p1", PolicyName: "Policy p1", Count: 2}, {PolicyID: "p2", PolicyName: "Policy p2", Count: 2}, {PolicyID: "p3", PolicyName: "Policy p3", Count: 1}},
		GroupCluster:   {{Cluster: "prod", Count: 4}, {Cluster: "dev", Count: 1}},
		GroupNamespace: {{Cluster: "prod", Namespace: "shop", Count: 4}, {Cluster: "dev", Namespace: "test", Count: 1}},
		GroupDeployment: {
			{Cluster: "prod", Namespace: "shop", DeploymentID: "id-web", DeploymentName: "web", MaxSeverity: "HIGH_SEVERITY", Count: 3},
			{Cluster: "dev", Namespace: "test", DeploymentID: "id-job", DeploymentName: "job", MaxSeverity: "CRITICAL_SEVERITY", Count: 1},
			{Cluster: "prod", Namespace: "shop", DeploymentID: "id-db", DeploymentName: "db", MaxSeverity: "HIGH_SEVERITY", Count: 1},
		},
		GroupDay: {{Day: day, Count: 2}, {Day: day.AddDate(0, 0, 1), Count: 1}, {Day: day.AddDate(0, 0, 2), Count: 2}},
	}
	for by, w := range want {
		if got := sum.Groups[by]; !equalCounts(got, w) {
			t.Errorf("by %s:\n got %+v\nwant %+v", by, got, w)
		}
	}

	// Filters apply to every grouping; limits keep the largest groups; the
	// day grouping starts at its Since.
	sum, err = s.SummarizeAlerts(ctx, AlertQuery{State: AlertActive, Cluster: "prod"}, []AlertGrouping{
		{By: GroupDeployment, Limit: 1}, {By: GroupDay, Since: day.AddDate(0, 0, 1)},
	})
	mustNil(t, err)
	if sum.Total != 3 {
		t.Errorf("filtered total %d, want 3", sum.Total)
	}
	if got := sum.Groups[GroupDeployment]; len(got) != 1 || got[0].DeploymentName != "web" || got[0].Count != 2 {
		t.Errorf("top deployment %+v, want web with 2", got)
	}
	if got := sum.Groups[GroupDay]; !equalCounts(got, []AlertCount{{Day: day.AddDate(0, 0, 1), Count: 1}}) {
		t.Errorf("days since the 2nd: %+v", got)
	}

	for name, g := range map[string][]AlertGrouping{
		"unknown":  {{By: "color"}},
		"negative": {{By: GroupSeverity, Limit: -1}},
		"too many": make([]AlertGrouping, maxGroupings+1),
	} {
		if _, err := s.SummarizeAlerts(ctx, AlertQuery{}, g); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	sum, err = s.SummarizeAlerts(ctx, AlertQuery{Namespace: "nothing"}, []AlertGrouping{{By: GroupSeverity}})
	mustNil(t, err)
	if sum.Total != 0 || sum.Groups[GroupSeverity] == nil || len(sum.Groups[GroupSeverity]) != 0 {
		t.Errorf("empty summary = %+v, want zero and an empty (not nil) list", sum)
	}
}

func equalCounts(a, b []AlertCount) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !x.Day.Equal(y.Day) {
			return false
		}
		x.Day, y.Day = time.Time{}, time.Time{}
		if x != y {
			return false
		}
	}
	return true
}

func testAlertQueryPoliciesAndUntil(t *testing.T, s *Store) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var alerts []AlertRecord
	for i, pol := range []string{"p1", "p2", "p3", "p1"} {
		a := alert(fmt.Sprintf("a%d", i))
		a.PolicyID = pol
		a.CreatedAt = t0.Add(time.Duration(i) * time.Hour)
		alerts = append(alerts, a)
	}
	mustNil(t, s.AddAlerts(ctx, alerts))
	ids := func(q AlertQuery) []string {
		t.Helper()
		recs, total, err := s.ListAlerts(ctx, q)
		mustNil(t, err)
		out := []string{}
		for _, r := range recs {
			out = append(out, r.ID)
		}
		if total != len(out) {
			t.Errorf("total %d for %d alerts", total, len(out))
		}
		return out
	}
	for _, tc := range []struct {
		q    AlertQuery
		want string
	}{
		{AlertQuery{PolicyIDs: []string{"p1", "p3"}}, "[a3 a2 a0]"},
		{AlertQuery{PolicyIDs: []string{}}, "[]"},
		{AlertQuery{Until: t0.Add(2 * time.Hour)}, "[a1 a0]"},
		{AlertQuery{Since: t0.Add(time.Hour), Until: t0.Add(3 * time.Hour), PolicyIDs: []string{"p2", "p3"}}, "[a2 a1]"},
	} {
		if got := fmt.Sprint(ids(tc.q)); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.q, got, tc.want)
		}
	}
	if _, _, err := s.ListAlerts(ctx, AlertQuery{PolicyIDs: make([]string, maxPolicyIDs+1)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("too many policy ids: %v, want ErrInvalid", err)
	}
}
