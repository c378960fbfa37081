package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stockade-dev/stockade/internal/shareddata"

	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/manifest"
	"github.com/stockade-dev/stockade/internal/pgtest"
	"github.com/stockade-dev/stockade/internal/workload"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

// logBuffer collects what the inventory logs, for the tests that expect a
// warning.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type fixture struct {
	st   *store.Store
	inv  *Inventory
	logs *logBuffer
}

// forEachBackend runs fn on a fresh store of each backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, f fixture)) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			st, err := store.Open(ctx, b.dsn(t), t.TempDir(), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := st.Close(); err != nil {
					t.Error(err)
				}
			})
			logs := &logBuffer{}
			fn(t, fixture{st: st, inv: New(st, slog.New(slog.NewTextHandler(logs, nil))), logs: logs})
		})
	}
}

func (f fixture) record(t *testing.T, ds ...*workload.Deployment) {
	t.Helper()
	if err := f.st.InTx(ctx, func(tx *store.Tx) error { return f.inv.Record(ctx, tx, ds) }); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) all(t *testing.T) []*workload.Deployment {
	t.Helper()
	var out []*workload.Deployment
	if err := f.inv.Each(ctx, func(d *workload.Deployment) error {
		out = append(out, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func dep(id string, replicas int64) *workload.Deployment {
	return &workload.Deployment{ID: id, Name: "d-" + id, Namespace: "ns", Kind: "Deployment", ClusterName: "prod", Replicas: replicas,
		Containers: []workload.Container{{Name: "c", Image: workload.Image{FullName: "docker.io/library/nginx:1"}}}}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// settingsCount counts rows of the settings table: the inventory writes none.
func settingsCount(t *testing.T, st *store.Store) int {
	t.Helper()
	var n int
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM settings`).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRecordReplaceAndEach(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f fixture) {
		f.record(t, dep("b", 1), dep("a", 1))
		first, err := f.st.GetDeployment(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		f.record(t, dep("a", 3))
		got := f.all(t)
		if len(got) != 2 || got[0].ID != "a" || got[0].Replicas != 3 || got[1].ID != "b" || got[0].Containers[0].Image.FullName == "" {
			t.Fatalf("Each = %+v", got)
		}
		// The row carries the copies and keeps its first-seen time.
		rec, err := f.st.GetDeployment(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Name != "d-a" || rec.Namespace != "ns" || rec.Cluster != "prod" || rec.Kind != "Deployment" || rec.Source != SourceAPI ||
			!bytes.Equal(rec.JSON, mustJSON(t, dep("a", 3))) || !rec.CreatedAt.Equal(first.CreatedAt) || rec.UpdatedAt.Before(first.UpdatedAt) {
			t.Errorf("stored a = %+v (first %v)", rec, first.CreatedAt)
		}
		if n := settingsCount(t, f.st); n != 0 {
			t.Errorf("the inventory wrote %d settings", n)
		}

		// A recording that is rolled back leaves nothing behind.
		boom := errors.New("boom")
		err = f.st.InTx(ctx, func(tx *store.Tx) error {
			if err := f.inv.Record(ctx, tx, []*workload.Deployment{dep("c", 1), dep("a", 9)}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("rolled back record: %v", err)
		}
		if got := f.all(t); len(got) != 2 || got[0].Replicas != 3 {
			t.Errorf("after rollback: %d deployments, a has %d replicas", len(got), got[0].Replicas)
		}
		f.record(t) // nothing to record
	})
}

// TestNoCountOrSizeLimit records more and larger deployments than the
// settings-based inventory could hold, and skips only one past MaxDocument.
func TestNoCountOrSizeLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f fixture) {
		var many []*workload.Deployment
		for i := range 3000 {
			many = append(many, dep(fmt.Sprintf("%s-%04d", strings.Repeat("x", 30), i), 1))
		}
		large := dep("large", 1)
		large.Annotations = map[string]string{"config": strings.Repeat("a", 1<<20)}
		huge := dep("huge", 1)
		huge.Annotations = map[string]string{"config": strings.Repeat("h", MaxDocument)}
		f.record(t, append(many, large, huge)...)

		got := f.all(t)
		if len(got) != len(many)+1 {
			t.Fatalf("kept %d deployments, want %d", len(got), len(many)+1)
		}
		ids := make([]string, len(got))
		for i, d := range got {
			ids[i] = d.ID
		}
		if !slices.IsSorted(ids) || ids[0] != "large" || ids[len(ids)-1] != many[len(many)-1].ID {
			t.Errorf("ids from %s to %s, sorted %v", ids[0], ids[len(ids)-1], slices.IsSorted(ids))
		}
		if len(got[0].Annotations["config"]) != 1<<20 {
			t.Errorf("large deployment kept with %d bytes of annotation", len(got[0].Annotations["config"]))
		}
		if _, err := f.st.GetDeployment(ctx, "huge"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deployment past MaxDocument: %v", err)
		}
		if logs := f.logs.String(); !strings.Contains(logs, "deployment too large for the inventory") || !strings.Contains(logs, "d-huge") {
			t.Errorf("no warning for the skipped deployment: %q", logs)
		}
		if n := settingsCount(t, f.st); n != 0 {
			t.Errorf("the inventory wrote %d settings", n)
		}
	})
}

func TestEachStopsAndSkips(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f fixture) {
		var ds []*workload.Deployment
		for i := range 10 {
			ds = append(ds, dep(fmt.Sprintf("d%d", i), 1))
		}
		f.record(t, ds...)
		// A document that is JSON but not a deployment, written by another
		// source, is skipped with a warning.
		if err := f.st.UpsertDeployments(ctx, []store.DeploymentRecord{{ID: "d5", Name: "odd", Source: "sensor", JSON: []byte(`[1, 2]`)}}); err != nil {
			t.Fatal(err)
		}
		if got := f.all(t); len(got) != 9 || slices.ContainsFunc(got, func(d *workload.Deployment) bool { return d.ID == "d5" }) {
			t.Errorf("Each with an unreadable document: %d deployments", len(got))
		}
		if !strings.Contains(f.logs.String(), "unreadable deployment in the inventory") {
			t.Error("no warning for the unreadable document")
		}

		stop := errors.New("stop")
		calls := 0
		err := f.inv.Each(ctx, func(*workload.Deployment) error {
			calls++
			if calls == 4 {
				return stop
			}
			return nil
		})
		if err != stop || calls != 4 { //nolint:errorlint // returned as is, not wrapped
			t.Errorf("Each stopped with %v after %d calls, want stop after 4", err, calls)
		}

		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err = f.inv.Each(cctx, func(*workload.Deployment) error { return nil })
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "read inventory") {
			t.Errorf("cancelled Each: %v", err)
		}
	})
}

// TestRecordInvalid: a deployment the store refuses fails the recording,
// naming it, and writes nothing.
func TestRecordInvalid(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f fixture) {
		bad := dep("bad", 1)
		bad.Name = ""
		err := f.st.InTx(ctx, func(tx *store.Tx) error {
			return f.inv.Record(ctx, tx, []*workload.Deployment{dep("ok", 1), bad})
		})
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), `"bad"`) {
			t.Errorf("record of a nameless deployment: %v", err)
		}
		if n, _ := f.st.CountDeployments(ctx); n != 0 {
			t.Errorf("%d deployments stored", n)
		}
	})
}

// TestRealManifests records the microservices-demo release and reads every
// workload back as it was.
func TestRealManifests(t *testing.T) {
	path := filepath.Join(shareddata.Dir(t), "manifests", "microservices-demo", "release", "kubernetes-manifests.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := manifest.Parse(path, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deployments) < 10 {
		t.Fatalf("%s: %d workloads", path, len(res.Deployments))
	}
	want := map[string][]byte{}
	for _, d := range res.Deployments {
		d.ClusterName = "demo"
		want[d.ID] = mustJSON(t, d)
	}
	forEachBackend(t, func(t *testing.T, f fixture) {
		f.record(t, res.Deployments...)
		got := f.all(t)
		if len(got) != len(want) {
			t.Fatalf("read back %d of %d workloads", len(got), len(want))
		}
		for _, d := range got {
			if !bytes.Equal(mustJSON(t, d), want[d.ID]) {
				t.Errorf("%s/%s changed on the way through the store", d.Namespace, d.Name)
			}
		}
		page, total, err := f.st.ListDeployments(ctx, store.DeploymentQuery{Cluster: "demo", Text: "FRONTEND"})
		if err != nil {
			t.Fatal(err)
		}
		if total != 1 || page[0].Name != "frontend" || page[0].Kind != "Deployment" {
			t.Errorf("search for the frontend: %d found", total)
		}
	})
}
