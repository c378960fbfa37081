package match

import (
	"context"
	"testing"
)

// BenchmarkMatchBookworm matches the 88 packages of the bookworm minbase
// image against a database holding the whole Go vulnerability database and
// the Debian fixture. Target: under 10 ms per Match.
//
//	go test -run '^$' -bench MatchBookworm ./internal/scanner/match
func BenchmarkMatchBookworm(b *testing.B) {
	ctx := context.Background()
	db := openDB(b)
	importPaths(b, db, dataPath(b, goVulnDB), writeRecords(b, "debian-12.jsonl", debianFixture(b, "12", changelogFixes(b))))
	comps := bookwormPackages(b)
	m := New(db, nil)
	want := 0
	for b.Loop() {
		got, err := m.Match(ctx, bookworm, comps)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, c := range got {
			n += len(c.Vulns)
		}
		if want == 0 {
			want = n
		}
		if n == 0 || n != want {
			b.Fatalf("%d findings, want %d (and more than none)", n, want)
		}
	}
}
