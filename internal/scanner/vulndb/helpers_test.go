package vulndb

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stockade-dev/stockade/internal/pgtest"
)

// dataDir finds ../shared/data beside the module root.
func dataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	d := filepath.Join(dir, "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("test data: %v", err)
	}
	return d
}

func dataPath(t testing.TB, rel string) string {
	return filepath.Join(dataDir(t), filepath.FromSlash(rel))
}

func TestMain(m *testing.M) { pgtest.Main(m) }

// backend is a kind of database the suite runs against: fresh makes an
// empty one and returns where it is (a file path or a DSN), open opens it
// (possibly several times).
type backend struct {
	name  string
	fresh func(t testing.TB) string
	open  func(ctx context.Context, where string, log *slog.Logger) (*DB, error)
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), FileName) }, Open},
		{"postgres", pgtest.NewDatabase, OpenPostgres},
	}
}

// eachBackend runs fn as one subtest per backend: every test of the
// package holds for both.
func eachBackend(t *testing.T, fn func(t *testing.T, be backend)) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) { fn(t, be) })
	}
}

// openDB opens a fresh, empty database, closed when the test ends.
func (be backend) openDB(t testing.TB) *DB {
	t.Helper()
	db, err := be.open(context.Background(), be.fresh(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}
