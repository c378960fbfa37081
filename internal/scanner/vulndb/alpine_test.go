package vulndb

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// affectedIn lists "package fixed repo" of a record's entries for one
// ecosystem.
func affectedIn(r Record, eco string) []string {
	var out []string
	for _, a := range r.Affected {
		if a.Package.Ecosystem == eco {
			repo, _ := a.DatabaseSpecific["repository"].(string)
			out = append(out, a.Package.Name+" "+fixedOf(a)+" "+repo)
		}
	}
	return out
}

func TestImportAlpineSecdb(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		res, err := db.Import(ctx, dataPath(t, "vulns/alpine-secdb"))
		if err != nil {
			t.Fatal(err)
		}
		a := res.Source("alpine")
		if a.Files != 18 || a.Added < 2000 || a.Updated != 0 || len(res.SkippedFiles) != 2 {
			t.Errorf("import: %+v, skipped files %v", a, res.SkippedFiles)
		}
		get := func(id string) Record {
			t.Helper()
			r, ok, err := db.Get(ctx, id)
			if err != nil || !ok {
				t.Fatalf("Get(%s): %v %v", id, ok, err)
			}
			return r
		}

		r := get("ALPINE-CVE-2019-10206")
		if got := affectedIn(r, "Alpine:v3.10"); !slices.Equal(got, []string{"ansible 2.8.4-r0 main"}) {
			t.Errorf("CVE-2019-10206 in v3.10: %v", got)
		}
		if !r.Affected[0].SourcePackage() || r.Source != "alpine" || !slices.Contains(r.CVEs(), "CVE-2019-10206") {
			t.Errorf("record %+v", r)
		}
		// Lookups take the image's VERSION_ID as it is.
		for _, release := range []string{"3.10.4", "v3.10", "3.10"} {
			recs, err := db.Affecting(ctx, catalog.Alpine, release, "ansible")
			if err != nil || !slices.Contains(ids(recs), "ALPINE-CVE-2019-10206") {
				t.Errorf("Affecting(Alpine, %s, ansible): %v %v", release, ids(recs), err)
			}
		}
		// "0" means never affected: Berkeley DB's Oracle CVEs in v3.8.
		if _, ok, _ := db.Get(ctx, "ALPINE-CVE-2016-0682"); ok {
			t.Error(`CVE-2016-0682, listed under "0" for db, has a record`)
		}
		// Identifier lines as they are in the real files.
		if got := affectedIn(get("ALPINE-CVE-2016-6258"), "Alpine:v3.11"); !slices.Contains(got, "xen 4.7.0-r0 main") {
			t.Errorf("CVE-2016-6258 XSA-182: %v", got)
		}
		if ids, _ := db.IDsForAlias(ctx, "XSA-182"); !slices.Equal(ids, []string{"ALPINE-CVE-2016-6258"}) {
			t.Errorf("alias XSA-182: %v", ids)
		}
		if got := affectedIn(get("ALPINE-XSA-295"), "Alpine:v3.11"); !slices.Contains(got, "xen 4.12.0-r3 main") && len(got) == 0 {
			t.Errorf("XSA-295 (no CVE id): %v", got)
		}
		if got := affectedIn(get("ALPINE-CVE-2019-2426"), "Alpine:v3.8"); !slices.Contains(got, "openjdk7 7.211.2.6.17-r0 community") {
			t.Errorf("CVE_2019-2426: %v", got)
		}
		if got := affectedIn(get("ALPINE-CVE-2017-17434"), "Alpine:v3.11"); !slices.Equal(got, []string{"rsync 3.1.2-r7 main"}) {
			t.Errorf("CVE-2017-17434-1/-2: %v", got)
		}
		// One record per CVE across releases.
		openssl := get("ALPINE-CVE-2019-1547")
		var ecos []string
		for _, a := range openssl.Affected {
			ecos = append(ecos, a.Package.Ecosystem)
		}
		if len(slices.Compact(ecos)) < 2 {
			t.Errorf("CVE-2019-1547 in %v, want several releases", ecos)
		}

		res, err = db.Import(ctx, dataPath(t, "vulns/alpine-secdb"))
		if err != nil {
			t.Fatal(err)
		}
		if b := res.Source("alpine"); b.Added+b.Updated != 0 || b.Unchanged != a.Added {
			t.Errorf("re-import: %+v", b)
		}
	})
}

// TestAlpineMerge: a file replaces its own release and repository's
// entries and leaves the other files' alone.
func TestAlpineMerge(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		dir := t.TempDir()
		write := func(name, content string) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		v310 := write("v310-main.yaml", `---
distroversion: v3.10
reponame: main
packages:
  - pkg:
      name: musl
      secfixes:
        1.1.22-r3:
          - CVE-2019-14697
        1.1.20-r5:
          - CVE-2019-1000001
`)
		v310community := write("v310-community.yaml", `distroversion: v3.10
reponame: community
packages:
  - pkg:
      name: musl-compat
      secfixes:
        1.10:
          - CVE-2019-14697
`)
		v311 := write("v311.json", `{"distroversion": "v3.11", "reponame": "main", "archs": ["x86_64"],
 "packages": [{"pkg": {"name": "musl", "secfixes": {"1.1.24-r0": ["CVE-2019-14697"]}}}]}`)
		if _, err := db.Import(ctx, v310, v310community, v311); err != nil {
			t.Fatal(err)
		}
		r, _, _ := db.Get(ctx, "ALPINE-CVE-2019-14697")
		want := []string{"Alpine:v3.10 musl-compat 1.10", "Alpine:v3.10 musl 1.1.22-r3", "Alpine:v3.11 musl 1.1.24-r0"}
		var got []string
		for _, a := range r.Affected {
			got = append(got, a.Package.Ecosystem+" "+a.Package.Name+" "+fixedOf(a))
		}
		if !slices.Equal(got, want) {
			t.Errorf("merged: %v, want %v (1.10 must stay a string)", got, want)
		}

		// v3.10 main drops CVE-2019-14697 and marks CVE-2019-1000001 never
		// affected: those entries go, the community and v3.11 ones stay.
		v310b := write("v310-main-b.yaml", `distroversion: v3.10
reponame: main
packages:
  - pkg:
      name: musl
      secfixes:
        "0":
          - CVE-2019-1000001
`)
		res, err := db.Import(ctx, v310b)
		if err != nil {
			t.Fatal(err)
		}
		if a := res.Source("alpine"); a.Updated != 2 || a.Added != 0 {
			t.Errorf("re-import: %+v", a)
		}
		r, _, _ = db.Get(ctx, "ALPINE-CVE-2019-14697")
		got = nil
		for _, a := range r.Affected {
			got = append(got, a.Package.Ecosystem+" "+a.Package.Name+" "+fixedOf(a))
		}
		if w := []string{want[0], want[2]}; !slices.Equal(got, w) {
			t.Errorf("after v3.10 main update: %v, want %v", got, w)
		}
		gone, _, _ := db.Get(ctx, "ALPINE-CVE-2019-1000001")
		if len(gone.Affected) != 0 {
			t.Errorf("never-affected CVE still has %v", gone.Affected)
		}
		if recs, _ := db.Affecting(ctx, catalog.Alpine, "3.10.9", "musl"); len(recs) != 0 {
			t.Errorf("musl on 3.10 still affected by %v", ids(recs))
		}
	})
}

// TestAlpineJSONMatchesYAML imports a real secdb YAML file and the same
// document as JSON (the format secdb.alpinelinux.org serves): same records.
func TestAlpineJSONMatchesYAML(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		src := dataPath(t, "vulns/alpine-secdb/v3.11/main.yaml")
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		jsPath := filepath.Join(t.TempDir(), "main.json")
		if err := os.WriteFile(jsPath, js, 0o600); err != nil {
			t.Fatal(err)
		}
		dump := func(path string) map[string]string {
			db := be.openDB(t)
			if _, err := db.Import(ctx, path); err != nil {
				t.Fatal(err)
			}
			out := map[string]string{}
			rows, err := db.db.QueryContext(ctx, `SELECT id, data FROM records`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id, d string
				if err := rows.Scan(&id, &d); err != nil {
					t.Fatal(err)
				}
				out[id] = d
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		}
		y, j := dump(src), dump(jsPath)
		if len(y) < 1000 || len(y) != len(j) {
			t.Fatalf("YAML %d records, JSON %d", len(y), len(j))
		}
		for id, d := range y {
			if j[id] != d {
				t.Errorf("%s differs:\nyaml %s\njson %s", id, d, j[id])
			}
		}
	})
}

func TestAlpineBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		dir := t.TempDir()
		for name, doc := range map[string]string{
			"norelease.yaml": "distroversion: \npackages:\n  - pkg:\n      name: a\n",
			"notalpine.yaml": "distroversion: bookworm\npackages: []\n",
			"noname.yaml":    "distroversion: v3.10\npackages:\n  - pkg:\n      secfixes:\n        1.0-r0:\n          - CVE-2020-1\n",
			"badfixes.yaml":  "distroversion: v3.10\npackages:\n  - pkg:\n      name: a\n      secfixes:\n        1.0-r0: CVE-2020-1\n",
			"alias.yaml":     "distroversion: v3.10\npackages:\n  - pkg: &p\n      name: a\n  - pkg: *p\n",
			"broken.json":    `{"distroversion": "v3.10", "packages": [{"pkg": {"name": 5}}]}`,
		} {
			t.Run(name, func(t *testing.T) {
				db := be.openDB(t)
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
					t.Fatal(err)
				}
				_, err := db.Import(ctx, p)
				if err == nil || !strings.Contains(err.Error(), name) {
					t.Fatalf("error %v does not name %s", err, name)
				}
			})
		}
	})
}

func TestSecdbIDs(t *testing.T) {
	tests := []struct {
		in            string
		cves, aliases []string
	}{
		{"CVE-2019-10206", []string{"CVE-2019-10206"}, nil},
		{"CVE-2016-6258 XSA-182", []string{"CVE-2016-6258"}, []string{"XSA-182"}},
		{"CVE-2018-8897  XSA-260", []string{"CVE-2018-8897"}, []string{"XSA-260"}},
		{"CVE-????-?????  XSA-295", nil, []string{"XSA-295"}},
		{"CVE_2019-2426", []string{"CVE-2019-2426"}, nil},
		{"CVE 2018-16859", []string{"CVE-2018-16859"}, nil},
		{"CVE-2017-17434-1", []string{"CVE-2017-17434"}, nil},
		{"CVE-2017-8073.patch", []string{"CVE-2017-8073"}, nil},
		{"CVE-2018-14468 (FrameRelay)", []string{"CVE-2018-14468"}, nil},
		{"CVE-2017-5753 CVE-2017-5715 CVE-2017-5754 XSA-254 XPTI", []string{"CVE-2017-5715", "CVE-2017-5753", "CVE-2017-5754"}, []string{"XSA-254"}},
		{"CVE-2017-2887 TALOS-2017-0394", []string{"CVE-2017-2887"}, []string{"TALOS-2017-0394"}},
		{"wnpa-sec-2017-18", nil, []string{"wnpa-sec-2017-18"}},
		{"ZBX-11023", nil, []string{"ZBX-11023"}},
		{"see upstream", nil, nil},
	}
	for _, tt := range tests {
		cves, others := secdbIDs(tt.in)
		if !slices.Equal(cves, tt.cves) || !slices.Equal(others, tt.aliases) {
			t.Errorf("secdbIDs(%q) = %v %v, want %v %v", tt.in, cves, others, tt.cves, tt.aliases)
		}
	}
}
