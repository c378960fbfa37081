package central

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/policy"
)

// An upgrade adds the built-in policies that are new in the release, once;
// a built-in the user deleted stays deleted.
func TestNewBuiltinsAreAddedOnUpgrade(t *testing.T) {
	ctx := context.Background()
	builtin, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	deleted, fresh := builtin[0], builtin[1]

	dir := t.TempDir()
	c := start(t, dir)
	c.must(http.StatusNoContent, c.admin(), "DELETE", "/v1/policies/"+deleted.ID, nil)
	c.stop()

	// Make the store look as if it came from a release without "fresh".
	st, err := store.Open(ctx, "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeletePolicy(ctx, fresh.ID); err != nil {
		t.Fatal(err)
	}
	raw, _, err := st.GetSetting(ctx, builtinSeenSetting)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	if err := json.Unmarshal([]byte(raw), &seen); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(seen, deleted.ID) || len(seen) != len(builtin) {
		t.Fatalf("first start recorded %d built-in ids, want %d", len(seen), len(builtin))
	}
	seen = slices.DeleteFunc(seen, func(id string) bool { return id == fresh.ID })
	b, _ := json.Marshal(seen)
	if err := st.SetSetting(ctx, builtinSeenSetting, string(b)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	for range 2 { // the second restart must change nothing
		c = start(t, dir)
		c.must(http.StatusOK, c.admin(), "GET", "/v1/policies/"+fresh.ID, nil)
		c.must(http.StatusNotFound, c.admin(), "GET", "/v1/policies/"+deleted.ID, nil)
		c.stop()
	}
}
