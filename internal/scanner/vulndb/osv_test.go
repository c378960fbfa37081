package vulndb

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

const goVulnDB = "vulns/osv-go/go-vulndb-osv.jsonl"

// goRecords reads the Go vulndb independently of the importer.
func goRecords(t testing.TB) []Record {
	t.Helper()
	f, err := os.Open(dataPath(t, goVulnDB))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func ids(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	sort.Strings(out)
	return out
}

func TestImportGoVulnDB(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		want := goRecords(t)
		if len(want) != 4291 {
			t.Fatalf("test data has %d records, README says 4291", len(want))
		}
		withdrawn := 0
		byModule := map[string][]string{}
		for _, r := range want {
			if r.Withdrawn != nil {
				withdrawn++
				continue
			}
			seen := map[string]bool{}
			for _, a := range r.Affected {
				if !seen[a.Package.Name] {
					seen[a.Package.Name] = true
					byModule[a.Package.Name] = append(byModule[a.Package.Name], r.ID)
				}
			}
		}

		res, err := db.Import(ctx, dataPath(t, goVulnDB))
		if err != nil {
			t.Fatal(err)
		}
		osv := res.Source("osv")
		if osv.Added != len(want)-withdrawn || osv.Withdrawn != withdrawn || osv.Updated != 0 || osv.Unchanged != 0 || osv.Files != 1 {
			t.Errorf("first import: %+v, want %d added, %d withdrawn", osv, len(want)-withdrawn, withdrawn)
		}

		// Every module's records, exactly: one query per package and one for all.
		modules := sortedKeys(byModule)
		for _, m := range modules {
			got, err := db.Affecting(ctx, catalog.Go, "", m)
			if err != nil {
				t.Fatal(err)
			}
			w := slices.Clone(byModule[m])
			sort.Strings(w)
			if g := ids(got); !slices.Equal(g, w) {
				t.Errorf("Affecting(%s) = %v, want %v", m, g, w)
			}
		}
		bulk, err := db.BulkAffecting(ctx, catalog.Go, "", append(modules, "example.com/not/vulnerable"))
		if err != nil {
			t.Fatal(err)
		}
		if len(bulk) != len(modules) {
			t.Errorf("BulkAffecting: %d modules, want %d", len(bulk), len(modules))
		}
		for _, m := range modules {
			w := slices.Clone(byModule[m])
			sort.Strings(w)
			if g := ids(bulk[m]); !slices.Equal(g, w) {
				t.Errorf("BulkAffecting[%s] = %v, want %v", m, g, w)
			}
		}
		// A stored record comes back as it was read.
		for _, r := range want[:50] {
			got, ok, err := db.Get(ctx, r.ID)
			if err != nil || !ok {
				t.Fatalf("Get(%s): %v %v", r.ID, ok, err)
			}
			r.Source = "osv"
			a, _ := json.Marshal(r)
			b, _ := json.Marshal(got)
			if !bytes.Equal(a, b) {
				t.Errorf("Get(%s):\n%s\nwant\n%s", r.ID, b, a)
			}
		}
		// Withdrawn: stored, marked, never returned by Affecting.
		wr, ok, err := db.Get(ctx, "GO-2022-0617")
		if err != nil || !ok || wr.Withdrawn == nil {
			t.Fatalf("withdrawn GO-2022-0617: %v %v %+v", ok, err, wr.Withdrawn)
		}
		k8s, err := db.Affecting(ctx, catalog.Go, "", "k8s.io/kubernetes")
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ids(k8s), "GO-2022-0617") {
			t.Error("withdrawn GO-2022-0617 returned by Affecting")
		}

		st, err := db.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Records != len(want) || st.Withdrawn != withdrawn || st.Ecosystems["Go"] != len(want) || st.RecordSources["osv"] != len(want) {
			t.Errorf("status: %+v", st)
		}
		if len(st.Sources) != 1 || st.Sources[0].Name != "osv" || st.Sources[0].Records != len(want) || time.Since(st.LastImport) > time.Minute {
			t.Errorf("status sources: %+v", st.Sources)
		}

		// Again: zero modified dates are "unknown", so content decides, and
		// nothing changed.
		res, err = db.Import(ctx, dataPath(t, goVulnDB))
		if err != nil {
			t.Fatal(err)
		}
		if o := res.Source("osv"); o.Unchanged != len(want) || o.Added+o.Updated+o.Withdrawn != 0 {
			t.Errorf("second import: %+v", o)
		}
	})
}

// TestImportIncremental: a newer modified time replaces, an older or equal
// one is skipped, and an unknown (zero) one replaces only changed content.
func TestImportIncremental(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		dir := t.TempDir()
		src, err := os.ReadFile(dataPath(t, "vulns/ghsa-sample/GHSA-jfh8-c2jp-5v3q.json"))
		if err != nil {
			t.Fatal(err)
		}
		var base Record
		if err := json.Unmarshal(src, &base); err != nil {
			t.Fatal(err)
		}
		write := func(name string, mutate func(*Record)) string {
			r := base
			mutate(&r)
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		step := func(path string, wantAdded, wantUpdated, wantUnchanged int, wantSummary string) {
			t.Helper()
			res, err := db.Import(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			o := res.Source("osv")
			if o.Added != wantAdded || o.Updated != wantUpdated || o.Unchanged != wantUnchanged {
				t.Errorf("%s: %+v", filepath.Base(path), o)
			}
			got, _, err := db.Get(ctx, base.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Summary != wantSummary {
				t.Errorf("%s: summary %q, want %q", filepath.Base(path), got.Summary, wantSummary)
			}
		}
		step(dataPath(t, "vulns/ghsa-sample/GHSA-jfh8-c2jp-5v3q.json"), 1, 0, 0, base.Summary)
		step(write("same-time.json", func(r *Record) { r.Summary = "same time" }), 0, 0, 1, base.Summary)
		step(write("older.json", func(r *Record) { r.Summary = "older"; r.Modified = r.Modified.Add(-time.Hour) }), 0, 0, 1, base.Summary)
		step(write("newer.json", func(r *Record) { r.Summary = "newer"; r.Modified = r.Modified.Add(time.Hour) }), 0, 1, 0, "newer")
		step(write("unknown-same.json", func(r *Record) {
			r.Summary = "newer"
			r.Modified = time.Time{}
		}), 0, 1, 0, "newer") // content differs: the stored copy had a time
		step(write("unknown-same2.json", func(r *Record) {
			r.Summary = "newer"
			r.Modified = time.Time{}
		}), 0, 0, 1, "newer")
		step(write("unknown-changed.json", func(r *Record) {
			r.Summary = "changed"
			r.Modified = time.Time{}
		}), 0, 1, 0, "changed")
		// Withdrawn later: stored, marked, counted as withdrawn, gone from lookups.
		step(write("withdrawn.json", func(r *Record) {
			w := base.Modified.Add(2 * time.Hour)
			r.Summary = "withdrawn"
			r.Modified = w
			r.Withdrawn = &w
		}), 0, 0, 0, "withdrawn")
		got, err := db.Affecting(ctx, catalog.Maven, "", "org.apache.logging.log4j:log4j-core")
		if err != nil || len(got) != 0 {
			t.Errorf("withdrawn record still affecting: %v %v", ids(got), err)
		}
	})
}

func TestImportOSVSamples(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		res, err := db.Import(ctx, dataPath(t, "vulns/ghsa-sample"), dataPath(t, "vulns/ubuntu-sample/UBUNTU-CVE-2023-4911.json"))
		if err != nil {
			t.Fatal(err)
		}
		if o := res.Source("osv"); o.Added != 10 || o.Files != 10 {
			t.Errorf("samples: %+v", o)
		}
		if !slices.Equal(res.SkippedFiles, []string{filepath.Join(dataPath(t, "vulns/ghsa-sample"), "SOURCES.tsv")}) {
			t.Errorf("skipped %v", res.SkippedFiles)
		}
		check := func(eco catalog.Ecosystem, release, pkg string, want ...string) {
			t.Helper()
			got, err := db.Affecting(ctx, eco, release, pkg)
			if err != nil {
				t.Fatal(err)
			}
			if g := ids(got); !slices.Equal(g, want) && (len(g) != 0 || len(want) != 0) {
				t.Errorf("Affecting(%s, %q, %s) = %v, want %v", eco, release, pkg, g, want)
			}
		}
		check(catalog.Ubuntu, "22.04", "glibc", "UBUNTU-CVE-2023-4911")
		check(catalog.Ubuntu, "24.04", "glibc", "UBUNTU-CVE-2023-4911")
		check(catalog.Ubuntu, "20.04", "glibc")
		check(catalog.Ubuntu, "22.04", "libc6") // keyed by source package
		check(catalog.PyPI, "", "Requests", "GHSA-j8r2-6x86-q33q")
		check(catalog.PyPI, "", "urllib3", "GHSA-v845-jxx5-vc9f")
		check(catalog.Npm, "", "minimist", "GHSA-xvch-5gv4-984h")
		check(catalog.Maven, "", "org.apache.logging.log4j:log4j-core", "GHSA-jfh8-c2jp-5v3q")
		check(catalog.Maven, "", "org.apache.logging.log4j:log4j-api")
		check(catalog.Go, "", "golang.org/x/net", "GHSA-4374-p667-p6c8")

		ub, ok, err := db.Get(ctx, "UBUNTU-CVE-2023-4911")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if !slices.Equal(ub.CVEs(), []string{"CVE-2023-4911"}) || !ub.Affected[0].SourcePackage() {
			t.Errorf("ubuntu record: CVEs %v, source package %v", ub.CVEs(), ub.Affected[0].SourcePackage())
		}
		for alias, want := range map[string]string{"CVE-2023-4911": "UBUNTU-CVE-2023-4911", "CVE-2021-44228": "GHSA-jfh8-c2jp-5v3q"} {
			got, err := db.IDsForAlias(ctx, alias)
			if err != nil || !slices.Equal(got, []string{want}) {
				t.Errorf("IDsForAlias(%s) = %v %v", alias, got, err)
			}
		}
	})
}

// writeZip writes an archive of name → content.
func writeZip(t testing.TB, path string, entries map[string][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, name := range sortedKeys(entries) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(entries[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestImportOSVZip builds an export the way OSV publishes all.zip (one
// record per entry) from the whole Go vulndb.
func TestImportOSVZip(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		entries := map[string][]byte{"README.txt": []byte("not a record")}
		for _, r := range goRecords(t) {
			b, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			entries[r.ID+".json"] = b
		}
		path := filepath.Join(t.TempDir(), "all.zip")
		writeZip(t, path, entries)
		res, err := db.Import(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		o := res.Source("osv")
		if o.Read() != 4291 || o.Files != 4291 || o.Withdrawn != 17 {
			t.Errorf("zip: %+v", o)
		}
		if !slices.Equal(res.SkippedFiles, []string{path + "!README.txt"}) {
			t.Errorf("skipped %v", res.SkippedFiles)
		}
		got, err := db.Affecting(ctx, catalog.Go, "", "golang.org/x/net")
		if err != nil || !slices.Contains(ids(got), "GO-2023-2102") {
			t.Errorf("x/net: %v %v", ids(got), err)
		}
	})
}

// TestImportOSVLayouts: a JSON array, gzip'd JSON Lines, a JSON Lines file
// named .json, a nested directory and concatenated records all read the
// same records.
func TestImportOSVLayouts(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		recs := goRecords(t)[:40]
		var lines, concat bytes.Buffer
		for _, r := range recs {
			b, _ := json.Marshal(r)
			lines.Write(b)
			lines.WriteByte('\n')
			ib, _ := json.MarshalIndent(r, "", "\t")
			concat.Write(ib)
			concat.WriteByte('\n')
		}
		arr, _ := json.MarshalIndent(recs, "", " ")
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(lines.Bytes())
		zw.Close()

		dir := t.TempDir()
		nested := filepath.Join(dir, "tree", "a", "b")
		if err := os.MkdirAll(nested, 0o700); err != nil {
			t.Fatal(err)
		}
		for i, r := range recs {
			b, _ := json.MarshalIndent(r, "", " ")
			sub := filepath.Join(dir, "tree")
			if i%2 == 1 {
				sub = nested
			}
			if err := os.WriteFile(filepath.Join(sub, r.ID+".json"), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		files := map[string][]byte{
			"array.json":       arr,
			"lines.jsonl.gz":   gz.Bytes(),
			"lines-named.json": lines.Bytes(),
			"concat.json":      concat.Bytes(),
			"noext":            lines.Bytes(),
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range append(sortedKeys(files), "tree") {
			t.Run(name, func(t *testing.T) {
				db := be.openDB(t)
				res, err := db.Import(ctx, filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if o := res.Source("osv"); o.Read() != len(recs) {
					t.Errorf("%+v", o)
				}
				got, _, err := db.Get(ctx, recs[7].ID)
				if err != nil || got.Details != recs[7].Details {
					t.Errorf("record %s: %v", recs[7].ID, err)
				}
			})
		}
	})
}

// TestImportBadInput: errors name the file and the line, and an import
// that fails writes nothing, not even the good files before the bad one.
func TestImportBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		dir := t.TempDir()
		good := dataPath(t, "vulns/ghsa-sample/GHSA-jfh8-c2jp-5v3q.json")
		recs := goRecords(t)[:3]
		var lines []string
		for _, r := range recs {
			b, _ := json.Marshal(r)
			lines = append(lines, string(b))
		}
		huge := strings.Repeat("x", MaxRecordSize+10)
		bigRecord := `{"id":"GO-BIG","modified":"2024-01-01T00:00:00Z","details":"` + huge + `"}`
		cases := []struct {
			name, content string
			want          []string
		}{
			{"broken.jsonl", lines[0] + "\n" + lines[1] + "\n{\"id\": \"GO-X\", \"modified\": 12}\n" + lines[2] + "\n", []string{"broken.jsonl", "line 3"}},
			{"truncated.jsonl", lines[0] + "\n" + lines[1][:100] + "\n", []string{"truncated.jsonl", "line 2"}},
			{"noid.jsonl", lines[0] + "\n{\"modified\":\"2024-01-01T00:00:00Z\",\"summary\":\"x\"}\n", []string{"noid.jsonl", "line 2", "no id"}},
			{"big.jsonl", lines[0] + "\n" + bigRecord + "\n", []string{"big.jsonl", "line 2", "larger than 16 MiB"}},
			{"big.json", bigRecord, []string{"big.json", "larger than 16 MiB"}},
			{"unknown.json", `{"hello": "world"}`, []string{"unknown.json", "not a recognized vulnerability feed"}},
			{"text.txt", "just text\n", []string{"text.txt", "not a recognized"}},
			{"empty.json", "", []string{"empty.json", "not a recognized"}},
			{"badeco.json", `{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"name":"p"}}]}`, []string{"badeco.json", "no ecosystem"}},
			{"spaceid.json", `{"id":"X 1","modified":"2024-01-01T00:00:00Z"}`, []string{"spaceid.json", "spaces"}},
			// PostgreSQL's text holds no NUL byte: refused on both backends.
			{"nulname.json", `{"id":"X-2","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"a\u0000b"}}]}`, []string{"nulname.json", "X-2", "affected[0]", "NUL"}},
			{"nulalias.json", `{"id":"X-3","modified":"2024-01-01T00:00:00Z","aliases":["CVE-1\u0000"]}`, []string{"nulalias.json", "X-3", "aliases[0]"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				db := be.openDB(t)
				p := filepath.Join(dir, c.name)
				if err := os.WriteFile(p, []byte(c.content), 0o600); err != nil {
					t.Fatal(err)
				}
				_, err := db.Import(ctx, good, p)
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				st, err := db.Status(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if st.Records != 0 || len(st.Sources) != 0 {
					t.Errorf("failed import wrote %d records, sources %v", st.Records, st.Sources)
				}
			})
		}
		t.Run("big zip entry", func(t *testing.T) {
			db := be.openDB(t)
			p := filepath.Join(dir, "big.zip")
			writeZip(t, p, map[string][]byte{"a.json": []byte(lines[0]), "big.json": []byte(bigRecord)})
			_, err := db.Import(ctx, p)
			if err == nil || !strings.Contains(err.Error(), "big.zip!big.json") || !strings.Contains(err.Error(), "larger than 16 MiB") {
				t.Fatalf("error %v", err)
			}
		})
		t.Run("missing file", func(t *testing.T) {
			db := be.openDB(t)
			_, err := db.Import(ctx, filepath.Join(dir, "nope.json"))
			if err == nil || !strings.Contains(err.Error(), "nope.json") {
				t.Fatalf("error %v", err)
			}
		})
	})
}

func TestSniff(t *testing.T) {
	tests := []struct {
		ext, content string
		kind         Kind
		layout       layout
	}{
		{".json", `{"id":"GO-1","modified":"2024-01-01T00:00:00Z"}`, KindOSV, layoutJSONL},
		{".json", "{\n  \"schema_version\": \"1.3.0\",\n  \"id\": \"GHSA-1\"\n}\n", KindOSV, layoutJSON},
		{"", "{\"id\":\"GO-1\",\"modified\":\"x\"}\n{\"id\":\"GO-2\"}\n", KindOSV, layoutJSONL},
		{".json", `[{"id":"GO-1"}]`, KindOSV, layoutArray},
		{".json", `{"resultsPerPage":1,"vulnerabilities":[]}`, KindNVD, layoutNVDItems},
		{".json", `{"id":"CVE-2023-4911","sourceIdentifier":"x"}`, KindNVD, layoutJSON},
		{".json", `{"apkurl":"x","distroversion":"v3.19","packages":[]}`, KindAlpine, layoutJSON},
		{".yaml", "---\ndistroversion: v3.10\npackages:\n", KindAlpine, layoutYAML},
		{"", "distroversion: v3.10\npackages:\n", KindAlpine, layoutYAML},
		{".yaml", "name: ci\n", KindAuto, 0},
		{".json", `{"glibc":{"CVE-2023-4911":{"releases":{}}}}`, KindDebian, layoutJSON},
		{".json", `{"glibc":{"TEMP-0000000-1A2B3C":{"releases":{}}}}`, KindDebian, layoutJSON},
		{".json", `{"glibc":{"name":"x"}}`, KindAuto, 0},
		{".tsv", "cve\tvector\nCVE-1\tCVSS:3.1/x\n", KindNVD, layoutTable},
		{".csv", "cve,vector,score\n", KindNVD, layoutTable},
		{".tsv", "id\tcvss_v3\n", KindAuto, 0},
		{".json", `"string"`, KindAuto, 0},
	}
	for _, tt := range tests {
		k, l := sniff(tt.ext, []byte(tt.content))
		if k != tt.kind || (k != KindAuto && l != tt.layout) {
			t.Errorf("sniff(%q, %.40q) = %q/%d, want %q/%d", tt.ext, tt.content, k, l, tt.kind, tt.layout)
		}
	}
}
