package store

import (
	"slices"
	"sort"
	"testing"
	"time"
)

// testAlertPrune: given resolved and active alerts, old and new, of kept and
// deleted deployments and of no deployment, each prune deletes exactly the
// alerts its retention covers.
func testAlertPrune(t *testing.T, s *Store) {
	old := time.Now().Add(-30 * 24 * time.Hour).UTC()
	recent := time.Now().Add(-time.Hour).UTC()
	mk := func(id, state, deployment string, at time.Time) AlertRecord {
		a := alert(id)
		a.State, a.DeploymentID, a.CreatedAt, a.UpdatedAt = state, deployment, at, at
		if deployment == "" {
			a.EntityType, a.DeploymentName = "IMAGE", ""
		}
		return a
	}
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{deployment("kept", "prod", "default", "web")}))
	mustNil(t, s.AddAlerts(ctx, []AlertRecord{
		mk("resolved-old", AlertResolved, "kept", old),
		mk("resolved-new", AlertResolved, "kept", recent),
		mk("active-old", AlertActive, "kept", old),
		mk("image-old", AlertResolved, "", old),
		mk("gone-active-old", AlertActive, "gone", old),
		mk("gone-resolved-new", AlertResolved, "gone", recent),
		mk("image-active-old", AlertActive, "", old),
	}))
	remaining := func() []string {
		t.Helper()
		recs, _, err := s.ListAlerts(ctx, AlertQuery{})
		mustNil(t, err)
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		sort.Strings(ids)
		return ids
	}
	cutoff := time.Now().Add(-7 * 24 * time.Hour)

	n, err := s.PruneResolvedAlerts(ctx, cutoff)
	mustNil(t, err)
	if n != 2 {
		t.Errorf("PruneResolvedAlerts = %d, want 2 (resolved-old, image-old)", n)
	}
	want := []string{"active-old", "gone-active-old", "gone-resolved-new", "image-active-old", "resolved-new"}
	if got := remaining(); !slices.Equal(got, want) {
		t.Errorf("after the resolved prune: %v, want %v", got, want)
	}

	n, err = s.PruneAlertsOfDeletedDeployments(ctx, cutoff)
	mustNil(t, err)
	if n != 1 {
		t.Errorf("PruneAlertsOfDeletedDeployments = %d, want 1 (gone-active-old)", n)
	}
	want = []string{"active-old", "gone-resolved-new", "image-active-old", "resolved-new"}
	if got := remaining(); !slices.Equal(got, want) {
		t.Errorf("after the deleted-deployment prune: %v, want %v", got, want)
	}

	// A cutoff in the future takes the recent ones too.
	n, err = s.PruneAlertsOfDeletedDeployments(ctx, time.Now().Add(time.Hour))
	mustNil(t, err)
	if n != 1 {
		t.Errorf("PruneAlertsOfDeletedDeployments(future) = %d, want 1", n)
	}
}
