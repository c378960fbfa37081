package match

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/dpkg"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
	"github.com/stockade-dev/stockade/internal/scanner/version"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

// dataPath finds a file in ../shared/data beside the module root.
func dataPath(t testing.TB, rel string) string {
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
	p := filepath.Join(dir, "..", "shared", "data", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test data: %v", err)
	}
	return p
}

// openDB opens an empty vulnerability database in a temporary directory.
func openDB(t testing.TB) *vulndb.DB {
	t.Helper()
	db, err := vulndb.Open(context.Background(), filepath.Join(t.TempDir(), "vulndb.sqlite"), slog.New(slog.DiscardHandler))
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

// importPaths imports feed files through the database's importer.
func importPaths(t testing.TB, db *vulndb.DB, paths ...string) {
	t.Helper()
	res, err := db.Import(context.Background(), paths...)
	if err != nil {
		t.Fatalf("import %v: %v", paths, err)
	}
	read := 0
	for _, s := range res.Sources {
		read += s.Read()
		if len(s.Warnings) > 0 {
			t.Logf("import %s: %v", s.Source, s.Warnings)
		}
	}
	if read == 0 {
		t.Fatalf("import %v: no records read", paths)
	}
}

// writeRecords writes records as an OSV JSON Lines file and returns its path.
func writeRecords(t testing.TB, name string, recs []vulndb.Record) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// changelogFix is one row of bookworm-changelog-cves.tsv: a Debian
// changelog entry of the source package, at the version that fixes the CVE.
type changelogFix struct {
	source, version, urgency, cve string
}

func changelogFixes(t testing.TB) []changelogFix {
	t.Helper()
	f, err := os.Open(dataPath(t, "os/debian-bookworm-minbase/bookworm-changelog-cves.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "source,from_binary,binary_version_read,changelog_version,distribution,urgency,date,cve" {
		t.Fatalf("unexpected header %s", got)
	}
	var out []changelogFix
	for _, row := range rows[1:] {
		fx := changelogFix{source: row[0], version: row[3], urgency: row[5], cve: row[7]}
		if fx.version == "" || !strings.HasPrefix(fx.cve, "CVE-") {
			continue // the NO_CHANGELOG_FILE rows name no version and no CVE
		}
		out = append(out, fx)
	}
	return out
}

// debianFixture turns the changelog facts into OSV records for release, the
// way a Debian feed carries them: one record per CVE (DEBIAN-CVE-…, with
// the CVE as alias), one affected entry per source package, every version
// whose changelog names the CVE as a fixed event of one range, and the
// highest urgency as the severity label.
func debianFixture(t testing.TB, release string, fixes []changelogFix) []vulndb.Record {
	t.Helper()
	type key struct{ cve, source string }
	versions := map[key][]string{}
	urgency := map[string]string{}
	var keys []key
	for _, fx := range fixes {
		k := key{fx.cve, fx.source}
		if _, ok := versions[k]; !ok {
			keys = append(keys, k)
		}
		versions[k] = append(versions[k], fx.version)
		if urgencyRank(fx.urgency) > urgencyRank(urgency[fx.cve]) {
			urgency[fx.cve] = fx.urgency
		}
	}
	byCVE := map[string]*vulndb.Record{}
	var ids []string
	for _, k := range keys {
		r, ok := byCVE[k.cve]
		if !ok {
			r = &vulndb.Record{
				ID:        "DEBIAN-" + k.cve,
				Aliases:   []string{k.cve},
				Summary:   k.cve + " in Debian " + release,
				Published: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
				Modified:  time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
			}
			if u := urgency[k.cve]; u != "" {
				r.DatabaseSpecific = map[string]any{"severity": u}
			}
			byCVE[k.cve] = r
			ids = append(ids, k.cve)
		}
		events := []vulndb.Event{{Introduced: "0"}}
		for _, v := range versions[k] {
			events = append(events, vulndb.Event{Fixed: v})
		}
		r.Affected = append(r.Affected, vulndb.Affected{
			Package: vulndb.Package{Ecosystem: "Debian:" + release, Name: k.source},
			Ranges:  []vulndb.Range{{Type: "ECOSYSTEM", Events: events}},
		})
	}
	slices.Sort(ids)
	out := make([]vulndb.Record, 0, len(ids))
	for _, id := range ids {
		out = append(out, *byCVE[id])
	}
	return out
}

func urgencyRank(u string) int {
	return map[string]int{"low": 1, "medium": 2, "high": 3, "critical": 4, "emergency": 4}[u]
}

// bookwormPackages parses the real dpkg database of the minbase image with
// the dpkg analyzer.
func bookwormPackages(t testing.TB) []catalog.Component {
	t.Helper()
	p := dataPath(t, "os/debian-bookworm-minbase/dpkg-status")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	comps, err := dpkg.Parse(context.Background(), layer.File{
		Path:    "var/lib/dpkg/status",
		Size:    int64(len(data)),
		Content: bytes.NewReader(data),
	})
	if err != nil {
		t.Fatalf("parse %s: %v", p, err)
	}
	if len(comps) != 88 {
		t.Fatalf("%d packages in %s, want 88", len(comps), p)
	}
	return comps
}

var bookworm = &catalog.OS{ID: "debian", VersionID: "12", VersionCodename: "bookworm"}

func dpkgLess(t testing.TB, a, b string) bool {
	t.Helper()
	c, err := version.Compare(catalog.Debian, a, b)
	if err != nil {
		t.Fatal(err)
	}
	return c < 0
}

func apkLess(t testing.TB, a, b string) bool {
	t.Helper()
	c, err := version.Compare(catalog.Alpine, a, b)
	if err != nil {
		t.Fatal(err)
	}
	return c < 0
}
