package policyset

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/policy"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "", t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func hostPID(id, name string) *policy.Policy {
	return &policy.Policy{
		ID: id, Name: name, Severity: policy.SeverityHigh, LifecycleStages: []policy.LifecycleStage{policy.StageDeploy},
		PolicySections: []policy.PolicySection{{PolicyGroups: []policy.PolicyGroup{{FieldName: "Host PID", Values: []policy.PolicyValue{{Value: "true"}}}}}},
	}
}

func TestCacheCompilesOnceAndRebuildsAfterInvalidate(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	rec, err := Encode(hostPID("p1", "First"), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreatePolicy(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// A stored record the engine refuses is skipped, not fatal.
	if err := st.CreatePolicy(ctx, store.PolicyRecord{ID: "bad", Name: "Bad", JSON: []byte(`{"name": "Bad", "severity": "NOPE"}`)}); err != nil {
		t.Fatal(err)
	}
	c := NewCache(st, slog.New(slog.DiscardHandler))
	s1, err := c.Set(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s1.Policies()); n != 1 || !s1.Policies()[0].Policy.IsDefault {
		t.Fatalf("set has %d policies, want the valid built-in one", n)
	}
	if s2, _ := c.Set(ctx); s2 != s1 {
		t.Error("the set was rebuilt without a change")
	}
	rec2, _ := Encode(hostPID("p2", "Second"), false)
	if err := st.CreatePolicy(ctx, rec2); err != nil {
		t.Fatal(err)
	}
	if s2, _ := c.Set(ctx); s2 != s1 {
		t.Error("the set was rebuilt before Invalidate")
	}
	c.Invalidate()
	s3, err := c.Set(ctx)
	if err != nil || s3 == s1 || len(s3.Policies()) != 2 {
		t.Fatalf("after Invalidate: %v, %d policies", err, len(s3.Policies()))
	}
	if err := st.SetPolicyDisabled(ctx, "p1", true); err != nil {
		t.Fatal(err)
	}
	c.Invalidate()
	s4, _ := c.Set(ctx)
	if len(s4.DeployPolicies()) != 1 || s4.DeployPolicies()[0].Policy.ID != "p2" {
		t.Errorf("a disabled policy is still evaluated")
	}
}
