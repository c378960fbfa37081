package store

import (
	"testing"
	"time"
)

// testAlertSummaryFollowsWrites checks that a cached summary never outlives
// a committed write to alerts, of any kind, and that a rolled-back write
// leaves the cache as it was.
func testAlertSummaryFollowsWrites(t *testing.T, s *Store) {
	active := AlertQuery{State: AlertActive}
	bySeverity := []AlertGrouping{{By: GroupSeverity}}
	total := func(q AlertQuery) int {
		t.Helper()
		sum, err := s.SummarizeAlerts(ctx, q, bySeverity)
		mustNil(t, err)
		return sum.Total
	}
	mustNil(t, s.AddAlerts(ctx, []AlertRecord{alert("c1"), alert("c2")}))
	if got := total(active); got != 2 {
		t.Fatalf("active %d, want 2", got)
	}
	if !hasCurrentSummary(s) {
		t.Fatal("the summary was not cached")
	}

	mustNil(t, s.AddAlerts(ctx, []AlertRecord{alert("c3")}))
	if got := total(active); got != 3 {
		t.Errorf("after adding: active %d, want 3", got)
	}
	mustNil(t, s.SetAlertState(ctx, "c1", AlertResolved))
	if got := total(active); got != 2 {
		t.Errorf("after resolving: active %d, want 2", got)
	}
	resolved := AlertQuery{State: AlertResolved}
	if got := total(resolved); got != 1 {
		t.Errorf("resolved %d, want 1", got)
	}
	n, err := s.PruneResolvedAlerts(ctx, time.Now().Add(time.Hour))
	mustNil(t, err)
	if n != 1 {
		t.Errorf("pruned %d, want 1", n)
	}
	if got := total(resolved); got != 0 {
		t.Errorf("after pruning: resolved %d, want 0", got)
	}
	mustNil(t, s.InTx(ctx, func(tx *Tx) error { return tx.UpdateAlertDocument(ctx, "c2", []byte(`{"id":"c2"}`)) }))
	if s.summaries.generation() == 0 {
		t.Error("updating an alert's document left the generation at 0")
	}

	// A write that rolls back changes nothing and keeps what is cached.
	total(active)
	gen := s.summaries.generation()
	failed := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.AddAlerts(ctx, []AlertRecord{alert("c4")}); err != nil {
			return err
		}
		return ErrConflict
	})
	if failed == nil {
		t.Fatal("the failing transaction committed")
	}
	if s.summaries.generation() != gen {
		t.Error("a rolled-back write dropped the cached summaries")
	}
	if got := total(active); got != 2 {
		t.Errorf("after a rolled-back add: active %d, want 2", got)
	}
}

// hasCurrentSummary reports whether s holds a summary read since the last
// write to alerts.
func hasCurrentSummary(s *Store) bool {
	s.summaries.mu.Lock()
	defer s.summaries.mu.Unlock()
	for _, e := range s.summaries.entries {
		if e.gen == s.summaries.generation() {
			return true
		}
	}
	return false
}

func TestSummaryCacheBounds(t *testing.T) {
	var c summaryCache
	for i := range summaryCacheSize + 10 {
		c.put(string(rune('a'+i)), c.generation(), AlertSummary{Total: i})
		if len(c.entries) > summaryCacheSize {
			t.Fatalf("%d entries, at most %d", len(c.entries), summaryCacheSize)
		}
	}
	c.put("k", c.generation(), AlertSummary{Total: 7})
	if got, ok := c.get("k"); !ok || got.Total != 7 {
		t.Fatalf("get = %+v, %v", got, ok)
	}
	c.invalidate()
	if _, ok := c.get("k"); ok {
		t.Error("an entry outlived invalidate")
	}
	// An entry older than the TTL is stale even without writes.
	c.entries["old"] = summaryEntry{gen: c.generation(), at: now().Add(-summaryCacheTTL - time.Second)}
	if _, ok := c.get("old"); ok {
		t.Error("an entry outlived its TTL")
	}
}
