package inventory

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/workload"
)

func TestRecordListReplaceAndEvict(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "", t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inv := New(st, slog.New(slog.DiscardHandler))
	record := func(ds ...*workload.Deployment) {
		t.Helper()
		if err := st.InTx(ctx, func(tx *store.Tx) error { return inv.Record(ctx, tx, ds) }); err != nil {
			t.Fatal(err)
		}
	}
	dep := func(id string, replicas int64) *workload.Deployment {
		return &workload.Deployment{ID: id, Name: "d-" + id, Namespace: "ns", Kind: "Deployment", Replicas: replicas,
			Containers: []workload.Container{{Name: "c", Image: workload.Image{FullName: "docker.io/library/nginx:1"}}}}
	}
	record(dep("a", 1), dep("b", 1))
	record(dep("a", 3))
	got, err := inv.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "a" || got[0].Replicas != 3 || got[1].ID != "b" || got[0].Containers[0].Image.FullName == "" {
		t.Fatalf("List = %+v", got)
	}

	// Many deployments: the index stays within a setting's size and the
	// oldest are forgotten, their entries deleted.
	var many []*workload.Deployment
	for i := 0; i < 2000; i++ {
		many = append(many, dep(fmt.Sprintf("%s-%04d", strings.Repeat("x", 30), i), 1))
	}
	record(many...)
	got, err = inv.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || len(got) >= 2002 || got[0].ID != many[len(many)-1].ID {
		t.Fatalf("after 2000 more: %d deployments, first %q", len(got), got[0].ID)
	}
	if _, ok, _ := st.GetSetting(ctx, entryKey+"a"); ok {
		t.Error("an evicted deployment's entry was kept")
	}
}
