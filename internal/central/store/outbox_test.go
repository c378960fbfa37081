package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func testNotifierCRUD(t *testing.T, s *Store) {
	rec := NotifierRecord{ID: "n1", Name: "Slack SecOps", Type: "slack", JSON: []byte(`{"name":"Slack SecOps"}`)}
	mustNil(t, s.CreateNotifier(ctx, rec))
	mustIs(t, s.CreateNotifier(ctx, NotifierRecord{ID: "n2", Name: "slack secops", Type: "slack", JSON: []byte(`{}`)}), ErrConflict)
	// Image integrations are another namespace of names.
	mustNil(t, s.CreateImageIntegration(ctx, ImageIntegrationRecord{ID: "i1", Name: "Slack SecOps", Type: "docker", JSON: []byte(`{}`)}))
	got, err := s.GetNotifier(ctx, "n1")
	mustNil(t, err)
	if got.Name != rec.Name || got.Type != "slack" || string(got.JSON) != string(rec.JSON) {
		t.Fatalf("GetNotifier = %+v", got)
	}
	rec.Name = "Slack SOC"
	mustNil(t, s.UpdateNotifier(ctx, rec))
	list, err := s.ListNotifiers(ctx)
	mustNil(t, err)
	if len(list) != 1 || list[0].Name != "Slack SOC" {
		t.Fatalf("ListNotifiers = %+v", list)
	}
	mustNil(t, s.InTx(ctx, func(tx *Tx) error {
		return tx.EnqueueDeliveries(ctx, []DeliveryRecord{delivery("d1", "n1", time.Now()), delivery("d2", "n1", time.Now())})
	}))
	mustNil(t, s.FinishDeliveries(ctx, []DeliveryOutcome{{ID: "d2", State: DeliveryDelivered}}))
	mustNil(t, s.DeleteNotifier(ctx, "n1"))
	mustIs(t, s.DeleteNotifier(ctx, "n1"), ErrNotFound)
	_, err = s.GetNotifier(ctx, "n1")
	mustIs(t, err, ErrNotFound)
	// Deleting a notifier drops what it still had to send, keeps its history.
	left, _, err := s.ListDeliveries(ctx, DeliveryQuery{NotifierID: "n1"})
	mustNil(t, err)
	if len(left) != 1 || left[0].ID != "d2" || left[0].State != DeliveryDelivered {
		t.Fatalf("deliveries after delete = %+v", left)
	}
}

func delivery(id, notifier string, at time.Time) DeliveryRecord {
	return DeliveryRecord{
		ID: id, NotifierID: notifier, Kind: "alert", Event: "NEW", AlertID: "a-" + id, Severity: "HIGH_SEVERITY",
		PolicyName: "Privileged", CreatedAt: at, ExpiresAt: at.Add(time.Hour), JSON: []byte(`{"id":"` + id + `"}`),
	}
}

func claimIDs(t *testing.T, s *Store, notifier string, at time.Time, limit int) string {
	t.Helper()
	ds, err := s.ClaimDeliveries(ctx, notifier, at, limit, time.Minute)
	mustNil(t, err)
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return strings.Join(ids, ",")
}

func testOutboxLifecycle(t *testing.T, s *Store) {
	base := time.Now().UTC().Round(time.Millisecond)
	var recs []DeliveryRecord
	for i := range 450 { // more than one INSERT chunk
		recs = append(recs, delivery(fmt.Sprintf("d%03d", i), "n1", base.Add(time.Duration(i)*time.Millisecond)))
	}
	recs = append(recs, delivery("other", "n2", base))
	// Enqueued with the transaction or not at all.
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.EnqueueDeliveries(ctx, recs); err != nil {
			return err
		}
		return errors.New("rolled back")
	})
	if err == nil {
		t.Fatal("InTx error lost")
	}
	if got, _, _ := s.ListDeliveries(ctx, DeliveryQuery{}); len(got) != 0 {
		t.Fatalf("rolled-back enqueue left %d deliveries", len(got))
	}
	mustNil(t, s.InTx(ctx, func(tx *Tx) error { return tx.EnqueueDeliveries(ctx, recs) }))
	mustIs(t, s.InTx(ctx, func(tx *Tx) error { return tx.EnqueueDeliveries(ctx, recs[:1]) }), ErrConflict)
	bad := delivery("bad", "n1", base)
	bad.ExpiresAt = time.Time{}
	mustIs(t, s.InTx(ctx, func(tx *Tx) error { return tx.EnqueueDeliveries(ctx, []DeliveryRecord{bad}) }), ErrInvalid)

	now := base.Add(time.Second)
	if got := claimIDs(t, s, "n1", now, 3); got != "d000,d001,d002" {
		t.Fatalf("first claim = %s", got)
	}
	// Leased rows are not claimed again until the lease ends.
	if got := claimIDs(t, s, "n1", now, 2); got != "d003,d004" {
		t.Fatalf("second claim = %s", got)
	}
	// Not yet due: nothing.
	if got := claimIDs(t, s, "n2", base.Add(-time.Second), 5); got != "" {
		t.Fatalf("claim before due = %s", got)
	}
	retryAt := now.Add(time.Minute)
	mustNil(t, s.FinishDeliveries(ctx, []DeliveryOutcome{
		{ID: "d000", State: DeliveryDelivered},
		{ID: "d001", State: DeliveryPending, Error: "hooks.slack.com answered 500", NextAttemptAt: retryAt},
		{ID: "d002", State: DeliveryDead, Error: "hooks.slack.com answered 404: no_service"},
	}))
	d, _, err := s.ListDeliveries(ctx, DeliveryQuery{NotifierID: "n1", State: DeliveryPending, Limit: 1000})
	mustNil(t, err)
	if len(d) != 448 {
		t.Fatalf("%d pending, want 448", len(d))
	}
	// A released lease makes the claimed-but-unfinished rows due at once.
	mustNil(t, s.ReleaseLeases(ctx))
	if got := claimIDs(t, s, "n1", now, 3); got != "d003,d004,d005" {
		t.Fatalf("claim after release = %s", got)
	}
	// d001 comes back when its retry is due, with its attempt counted.
	later := claimIDs(t, s, "n1", retryAt.Add(time.Hour), 1000)
	if !strings.Contains(later, "d001") {
		t.Fatal("retried delivery not claimed when due")
	}
	one, _, err := s.ListDeliveries(ctx, DeliveryQuery{AlertID: "a-d001"})
	mustNil(t, err)
	if len(one) != 1 || one[0].Attempts != 1 || one[0].LastError != "hooks.slack.com answered 500" {
		t.Fatalf("d001 = %+v", one)
	}
	stats, err := s.DeliveryStatsByNotifier(ctx)
	mustNil(t, err)
	st := stats["n1"]
	if st == nil || st.Delivered != 1 || st.Dead != 1 || st.Pending != 448 || st.LastDelivered == nil ||
		!strings.Contains(st.LastError, "500") && !strings.Contains(st.LastError, "no_service") {
		t.Fatalf("stats = %+v", st)
	}
	if stats["n2"] == nil || stats["n2"].Pending != 1 {
		t.Fatalf("n2 stats = %+v", stats["n2"])
	}
	// A finished delivery is not finished again.
	mustNil(t, s.FinishDeliveries(ctx, []DeliveryOutcome{{ID: "d000", State: DeliveryDead, Error: "late"}}))
	again, _, _ := s.ListDeliveries(ctx, DeliveryQuery{AlertID: "a-d000"})
	if again[0].State != DeliveryDelivered || again[0].Attempts != 1 {
		t.Fatalf("d000 after a late outcome = %+v", again[0])
	}
	mustIs(t, s.FinishDeliveries(ctx, []DeliveryOutcome{{ID: "d005", State: "LOST"}}), ErrInvalid)
}

func testOutboxFoldRetryPrune(t *testing.T, s *Store) {
	base := time.Now().UTC().Round(time.Millisecond)
	var recs []DeliveryRecord
	for i := range 5 {
		recs = append(recs, delivery(fmt.Sprintf("d%d", i), "n1", base))
	}
	mustNil(t, s.InTx(ctx, func(tx *Tx) error { return tx.EnqueueDeliveries(ctx, recs) }))
	res := delivery("resolved", "n1", base)
	res.Event = "RESOLVED"
	mustNil(t, s.InTx(ctx, func(tx *Tx) error { return tx.EnqueueDeliveries(ctx, []DeliveryRecord{res}) }))
	var stats FoldStats
	n, err := s.FoldDue(ctx, "n1", base.Add(time.Second), []string{"d0", "d4"}, func(st FoldStats) (DeliveryRecord, error) {
		stats = st
		sum := delivery("summary", "n1", base)
		sum.Kind, sum.Event, sum.AlertID = "summary", "", ""
		return sum, nil
	})
	mustNil(t, err)
	if n != 3 || stats.Count != 3 || stats.BySeverity["HIGH_SEVERITY"] != 3 || stats.ByPolicy["Privileged"] != 3 {
		t.Fatalf("FoldDue = %d %+v", n, stats)
	}
	// State changes are never folded: they close what was sent.
	mustNil(t, s.FinishDeliveries(ctx, []DeliveryOutcome{{ID: "resolved", State: DeliveryDelivered}}))
	if got := claimIDs(t, s, "n1", base.Add(time.Second), 10); got != "d0,d4,summary" {
		t.Fatalf("claim after fold = %s", got)
	}
	var folded []DeliveryRecord
	folded, n, err = s.ListDeliveries(ctx, DeliveryQuery{State: DeliveryFolded})
	mustNil(t, err)
	if n != 3 || folded[0].FoldedInto != "summary" {
		t.Fatalf("folded = %d %+v", n, folded)
	}
	mustNil(t, s.FinishDeliveries(ctx, []DeliveryOutcome{
		{ID: "d0", State: DeliveryDead, Error: "gone"}, {ID: "d4", State: DeliveryDead, Error: "gone"},
		{ID: "summary", State: DeliveryDelivered},
	}))
	revived, err := s.RetryDeliveries(ctx, "n1", []string{"d4", "d1"}, base.Add(time.Hour))
	mustNil(t, err)
	if revived != 1 {
		t.Fatalf("revived %d, want 1 (d1 is folded, not dead)", revived)
	}
	revived, err = s.RetryDeliveries(ctx, "n1", nil, base.Add(time.Hour))
	mustNil(t, err)
	if revived != 1 {
		t.Fatalf("revived %d, want 1 (d0)", revived)
	}
	if got := claimIDs(t, s, "n1", time.Now().Add(time.Second), 10); got != "d4,d0" { // d4 was revived first
		t.Fatalf("claim after retry = %s", got)
	}
	pruned, err := s.PruneDeliveries(ctx, time.Now().Add(time.Minute))
	mustNil(t, err)
	if pruned != 5 { // three folded, the delivered summary and resolution
		t.Fatalf("pruned %d, want 4", pruned)
	}
}
