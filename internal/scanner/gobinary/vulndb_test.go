package gobinary

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stockade-dev/stockade/internal/shareddata"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/version"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

// affects evaluates OSV SEMVER ranges for a Go version, enough to check that
// the components carry the names and versions the database is keyed by.
func affects(t *testing.T, a vulndb.Affected, v string) bool {
	cmp := func(x, y string) int {
		c, err := version.Compare(catalog.Go, x, y)
		if err != nil {
			t.Fatalf("compare %q %q: %v", x, y, err)
		}
		return c
	}
	for _, r := range a.Ranges {
		if r.Type != "SEMVER" {
			continue
		}
		in := false
		for _, e := range r.Events {
			switch {
			case e.Introduced == "0":
				in = true
			case e.Introduced != "" && cmp(v, e.Introduced) >= 0:
				in = true
			case e.Fixed != "" && cmp(v, e.Fixed) >= 0:
				in = false
			case e.LastAffected != "" && cmp(v, e.LastAffected) > 0:
				in = false
			}
		}
		if in {
			return true
		}
	}
	return false
}

func TestComponentsMatchGoVulnDB(t *testing.T) {
	b, err := os.ReadFile(binaries(t)["linux"])
	if err != nil {
		t.Fatal(err)
	}
	comps, err := Parse(bytes.NewReader(b), "vulnapp")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(shareddata.Dir(t), "vulns", "osv-go", "go-vulndb-osv.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := map[string]bool{}
	known := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var rec vulndb.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Withdrawn != nil {
			continue
		}
		for _, a := range rec.Affected {
			known[a.Package.Name] = true
			for _, c := range comps {
				if a.Package.Ecosystem == string(catalog.Go) && a.Package.Name == c.Name && affects(t, a, c.Version) {
					found[rec.ID+" "+c.Name] = true
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range comps {
		if !known[c.Name] {
			t.Errorf("component %s is not a package of the Go vulnerability database", c.Name)
		}
	}
	for _, id := range []string{
		"GO-2021-0113 golang.org/x/text", // fixed in 0.3.7
		"GO-2022-1059 golang.org/x/text", // fixed in 0.3.8
		"GO-2023-1988 golang.org/x/net",  // fixed in 0.13.0
		"GO-2023-2102 golang.org/x/net",  // fixed in 0.17.0
	} {
		if !found[id] {
			t.Errorf("%s not found", id)
		}
	}
	for _, id := range []string{
		"GO-2020-0015 golang.org/x/text", // fixed in 0.3.3, before v0.3.5
		"GO-2023-1571 golang.org/x/net",  // fixed in exactly 0.7.0
	} {
		if found[id] {
			t.Errorf("%s found, but the installed version has the fix", id)
		}
	}
	ids := make([]string, 0, len(found))
	for id := range found {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	t.Logf("%d findings: %v", len(ids), ids)
}
