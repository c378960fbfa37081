package vulndb

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

var update = flag.Bool("update", false, "rewrite testdata/debian-tracker-bookworm.json from the changelog data")

const trackerFixture = "testdata/debian-tracker-bookworm.json"

// changelogFix is one (source package, CVE) fact from the changelog data.
type changelogFix struct {
	source, cve, version, urgency, dist string
	date                                time.Time
}

// changelogFixes reads bookworm-changelog-cves.tsv: for each source package
// and CVE, the first changelog entry naming the CVE (by date), whose version
// is the one that fixes it.
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
	if strings.Join(rows[0], ",") != "source,from_binary,binary_version_read,changelog_version,distribution,urgency,date,cve" {
		t.Fatalf("unexpected header %v", rows[0])
	}
	first := map[[2]string]changelogFix{}
	for _, row := range rows[1:] {
		source, version, dist, urgency, date, cve := row[0], row[3], row[4], row[5], row[6], row[7]
		if version == "" || !strings.HasPrefix(cve, "CVE-") {
			continue // NO_CHANGELOG_FILE rows
		}
		d, err := time.Parse(time.RFC1123Z, date)
		if err != nil {
			t.Fatalf("%s %s: date %q: %v", source, cve, date, err)
		}
		k := [2]string{source, cve}
		if old, ok := first[k]; ok && !d.Before(old.date) {
			continue
		}
		first[k] = changelogFix{source: source, cve: cve, version: version, urgency: urgency, dist: dist, date: d}
	}
	out := make([]changelogFix, 0, len(first))
	for _, v := range first {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b changelogFix) int {
		return strings.Compare(a.source+" "+a.cve, b.source+" "+b.cve)
	})
	return out
}

// trackerJSON turns the changelog facts into the Debian Security Tracker's
// JSON: every CVE resolved in bookworm at the version that fixed it.
func trackerJSON(t testing.TB) []byte {
	t.Helper()
	doc := map[string]map[string]trackerEntry{}
	for _, f := range changelogFixes(t) {
		if doc[f.source] == nil {
			doc[f.source] = map[string]trackerEntry{}
		}
		urgency := f.urgency
		if urgency == "critical" { // changelog word; the tracker's top is high
			urgency = "high"
		}
		doc[f.source][f.cve] = trackerEntry{
			Description: "Fixed in " + f.source + " " + f.version + " (" + f.dist + ", " + f.date.UTC().Format("2006-01-02") + ")",
			Scope:       "local",
			Releases: map[string]trackerRelease{"bookworm": {
				Status:       "resolved",
				FixedVersion: f.version,
				Urgency:      urgency,
				Repositories: map[string]string{"bookworm": f.version},
			}},
		}
	}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestDebianTrackerFixtureFresh keeps the committed fixture (which the
// matcher's tests use too) equal to what the generator makes; run with
// -update to rewrite it.
func TestDebianTrackerFixtureFresh(t *testing.T) {
	want := trackerJSON(t)
	if *update {
		if err := os.WriteFile(trackerFixture, want, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(trackerFixture)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: go test ./internal/scanner/vulndb -run TestDebianTrackerFixtureFresh -update", trackerFixture)
	}
}

func TestImportDebianTracker(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		fixes := changelogFixes(t)
		cves := map[string]bool{}
		for _, f := range fixes {
			cves[f.cve] = true
		}
		// The data README says 193 CVEs; the file names 192 distinct ones (the
		// 193rd "id" is NO_CHANGELOG_FILE).
		if len(cves) != 192 {
			t.Fatalf("%d CVEs in the changelog data, want 192", len(cves))
		}
		res, err := db.Import(ctx, trackerFixture)
		if err != nil {
			t.Fatal(err)
		}
		if d := res.Source("debian"); d.Added != len(cves) || d.Files != 1 || d.Skipped != 0 {
			t.Errorf("import: %+v, want %d added", d, len(cves))
		}
		for _, f := range fixes {
			recs, err := db.Affecting(ctx, catalog.Debian, "12", f.source)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(recs, func(r Record) bool { return r.ID == "DEBIAN-"+f.cve })
			if i < 0 {
				t.Errorf("%s %s: not affecting bookworm", f.source, f.cve)
				continue
			}
			r := recs[i]
			if !slices.Equal(r.Aliases, []string{f.cve}) || r.Source != "debian" {
				t.Errorf("%s: aliases %v source %q", r.ID, r.Aliases, r.Source)
			}
			found := false
			for _, a := range r.Affected {
				if a.Package.Name != f.source {
					continue
				}
				found = true
				if a.Package.Ecosystem != "Debian:12" || !a.SourcePackage() || fixedOf(a) != f.version ||
					a.Ranges[0].Events[0].Introduced != "0" || a.Ranges[0].Type != "ECOSYSTEM" {
					t.Errorf("%s %s: affected %+v", r.ID, f.source, a)
				}
			}
			if !found {
				t.Errorf("%s: no entry for %s", r.ID, f.source)
			}
		}
		// CVE-2022-1271 is fixed in two source packages: one record, two entries.
		r, ok, err := db.Get(ctx, "DEBIAN-CVE-2022-1271")
		if err != nil || !ok || len(r.Affected) != 2 || r.Affected[0].Package.Name != "gzip" || r.Affected[1].Package.Name != "xz-utils" {
			t.Errorf("CVE-2022-1271: %v %v %+v", ok, err, r.Affected)
		}
		// The release matters; and the tracker is keyed by source, not binary.
		for _, q := range []struct{ release, pkg string }{{"11", "glibc"}, {"bullseye", "glibc"}, {"12", "libc6"}, {"12", "libc-bin"}} {
			got, err := db.Affecting(ctx, catalog.Debian, q.release, q.pkg)
			if err != nil || len(got) != 0 {
				t.Errorf("Affecting(Debian, %s, %s) = %v %v", q.release, q.pkg, ids(got), err)
			}
		}
		glibc12, _ := db.Affecting(ctx, catalog.Debian, "12", "glibc")
		glibcCodename, _ := db.Affecting(ctx, catalog.Debian, "bookworm", "glibc")
		if len(glibc12) == 0 || !slices.Equal(ids(glibc12), ids(glibcCodename)) {
			t.Errorf("release 12 and bookworm differ: %v / %v", ids(glibc12), ids(glibcCodename))
		}
		// Severity comes from the urgency when there is no vector.
		r, _, _ = db.Get(ctx, "DEBIAN-CVE-2023-4911")
		if rating := SeverityFor(&r); rating.Severity != "MODERATE" {
			t.Errorf("CVE-2023-4911 urgency medium rated %+v", rating)
		}

		// Importing the same tracker again changes nothing.
		res, err = db.Import(ctx, trackerFixture)
		if err != nil {
			t.Fatal(err)
		}
		if d := res.Source("debian"); d.Unchanged != len(cves) || d.Added+d.Updated != 0 {
			t.Errorf("re-import: %+v", d)
		}
	})
}

// TestDebianTrackerSemantics covers the tracker's statuses: fixed version
// "0" is not affected, open affects every version, undetermined is kept
// and says so, unknown releases are skipped with a warning.
func TestDebianTrackerSemantics(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		doc := `{
 "foo": {
  "CVE-2024-0001": {"description": "one", "scope": "remote", "debianbug": 123, "releases": {
    "bookworm": {"status": "resolved", "fixed_version": "0", "urgency": "unimportant"},
    "bullseye": {"status": "resolved", "fixed_version": "1.0-1+deb11u1", "urgency": "low**", "repositories": {"bullseye": "1.0-1+deb11u1"}},
    "trixie": {"status": "undetermined", "urgency": "not yet assigned"},
    "sid": {"status": "open", "urgency": "high"},
    "hardy": {"status": "open", "urgency": "low"}
  }},
  "CVE-2024-0002": {"description": "never", "releases": {"bookworm": {"status": "resolved", "fixed_version": "0", "urgency": "unimportant"}}},
  "TEMP-0000000-ABCDEF": {"description": "temp", "releases": {"bookworm": {"status": "open", "urgency": "low"}}},
  "not-an-id": {"releases": {}}
 },
 "bar": {
  "CVE-2024-0001": {"releases": {"bookworm": {"status": "open", "urgency": "medium"}}}
 }
}`
		p := filepath.Join(t.TempDir(), "tracker.json")
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := db.Import(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		d := res.Source("debian")
		if d.Added != 3 || d.Skipped != 2 || len(d.Warnings) != 2 {
			t.Errorf("result %+v", d)
		}
		r, ok, err := db.Get(ctx, "DEBIAN-CVE-2024-0001")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		var got []string
		for _, a := range r.Affected {
			got = append(got, a.Package.Ecosystem+" "+a.Package.Name+" fixed="+fixedOf(a)+" "+a.DatabaseSpecific["status"].(string))
		}
		want := []string{
			"Debian:12 bar fixed= open",
			"Debian:11 foo fixed=1.0-1+deb11u1 resolved",
			"Debian:13 foo fixed= undetermined",
			"Debian:sid foo fixed= open",
		}
		if !slices.Equal(got, want) {
			t.Errorf("affected:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if r.DatabaseSpecific["severity"] != "high" || r.DatabaseSpecific["scope"] != "remote" || r.Details != "one" {
			t.Errorf("record: %+v", r.DatabaseSpecific)
		}
		if u := r.Affected[1].DatabaseSpecific["urgency"]; u != "low" {
			t.Errorf("urgency %v, want low (stars dropped)", u)
		}
		for _, q := range []struct {
			release, pkg string
			want         []string
		}{
			{"12", "foo", []string{"DEBIAN-TEMP-0000000-ABCDEF"}}, // CVE-2024-0001 fixed version 0: not affected
			{"11", "foo", []string{"DEBIAN-CVE-2024-0001"}},
			{"13", "foo", []string{"DEBIAN-CVE-2024-0001"}},
			{"sid", "foo", []string{"DEBIAN-CVE-2024-0001"}},
			{"12", "bar", []string{"DEBIAN-CVE-2024-0001"}},
			{"11", "bar", nil},
		} {
			recs, err := db.Affecting(ctx, catalog.Debian, q.release, q.pkg)
			if err != nil || !slices.Equal(ids(recs), q.want) && len(q.want)+len(recs) > 0 {
				t.Errorf("Affecting(Debian, %s, %s) = %v %v, want %v", q.release, q.pkg, ids(recs), err, q.want)
			}
		}
		never, ok, _ := db.Get(ctx, "DEBIAN-CVE-2024-0002")
		if !ok || len(never.Affected) != 0 {
			t.Errorf("never-affected record: %v %+v", ok, never.Affected)
		}
		temp, ok, _ := db.Get(ctx, "DEBIAN-TEMP-0000000-ABCDEF")
		if !ok || len(temp.Aliases) != 0 || len(temp.CVEs()) != 0 {
			t.Errorf("TEMP record: %v %+v", ok, temp)
		}
	})
}

func TestDebianTrackerBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		dir := t.TempDir()
		for name, doc := range map[string]string{
			"notobject.json": `{"glibc": {"CVE-2023-4911": {"releases": {}}}, "zlib": ["CVE-1"]}`,
			"badentry.json":  `{"glibc": {"CVE-2023-4911": {"releases": {"bookworm": {"status": 5}}}}}`,
			"trailing.json":  `{"glibc": {"CVE-2023-4911": {"releases": {}}}} {"x": 1}`,
			"truncated.json": `{"glibc": {"CVE-2023-4911": {"releases": {}}`,
		} {
			t.Run(name, func(t *testing.T) {
				db := be.openDB(t)
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
					t.Fatal(err)
				}
				_, err := db.Import(ctx, trackerFixture, p)
				if err == nil || !strings.Contains(err.Error(), name) {
					t.Fatalf("error %v does not name %s", err, name)
				}
				if st, _ := db.Status(ctx); st.Records != 0 {
					t.Errorf("failed import wrote %d records", st.Records)
				}
			})
		}
	})
}
