package vulndb

import (
	"context"
	"encoding/csv"
	"log/slog"
	"os"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// BenchmarkImportGoVulnDB imports the whole Go vulndb JSON Lines file into
// a fresh database per iteration, on each backend.
func BenchmarkImportGoVulnDB(b *testing.B) {
	eachBackendB(b, func(b *testing.B, be backend) {
		ctx := context.Background()
		path := dataPath(b, goVulnDB)
		records := 0
		for b.Loop() {
			b.StopTimer()
			db, err := be.open(ctx, be.fresh(b), slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			res, err := db.Import(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			records += res.Source("osv").Read()
			b.StopTimer()
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			if be.name == "sqlite" {
				if err := os.Remove(db.Path()); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	})
}

// eachBackendB runs fn as one sub-benchmark per backend.
func eachBackendB(b *testing.B, fn func(b *testing.B, be backend)) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) { fn(b, be) })
	}
}

// minbaseSources are the source packages of the 88 packages of
// debootstrap --variant=minbase bookworm, one per package as a matcher
// looks them up.
func minbaseSources(b testing.TB) []string {
	f, err := os.Open(dataPath(b, "os/debian-bookworm-minbase/bookworm-minbase-packages.tsv"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	rows, err := r.ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	var out []string
	for _, row := range rows {
		out = append(out, row[2])
	}
	if len(out) != 88 {
		b.Fatalf("%d packages, want 88", len(out))
	}
	return out
}

// matchDB holds the full Go vulndb and the Debian fixture: the database of
// the matching target.
func matchDB(b *testing.B, be backend) *DB {
	db := be.openDB(b)
	if _, err := db.Import(context.Background(), dataPath(b, goVulnDB), trackerFixture); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkAffecting88 looks up the 88 packages of the bookworm minbase
// image one query each; one op is the whole image.
func BenchmarkAffecting88(b *testing.B) {
	eachBackendB(b, func(b *testing.B, be backend) {
		ctx := context.Background()
		db := matchDB(b, be)
		pkgs := minbaseSources(b)
		found := 0
		b.ResetTimer()
		for b.Loop() {
			found = 0
			for _, p := range pkgs {
				recs, err := db.Affecting(ctx, catalog.Debian, "12", p)
				if err != nil {
					b.Fatal(err)
				}
				found += len(recs)
			}
		}
		if found < 192 {
			b.Fatalf("found %d records", found)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(pkgs)), "ns/pkg")
	})
}

// BenchmarkBulkAffecting88 is the same in one query.
func BenchmarkBulkAffecting88(b *testing.B) {
	eachBackendB(b, func(b *testing.B, be backend) {
		ctx := context.Background()
		db := matchDB(b, be)
		pkgs := minbaseSources(b)
		b.ResetTimer()
		for b.Loop() {
			got, err := db.BulkAffecting(ctx, catalog.Debian, "12", pkgs)
			if err != nil {
				b.Fatal(err)
			}
			if len(got) == 0 {
				b.Fatal("nothing found")
			}
		}
	})
}

// BenchmarkAffectingGoStdlib is the heaviest single Go lookup: stdlib has
// the most records.
func BenchmarkAffectingGoStdlib(b *testing.B) {
	eachBackendB(b, func(b *testing.B, be backend) {
		ctx := context.Background()
		db := matchDB(b, be)
		b.ResetTimer()
		for b.Loop() {
			recs, err := db.Affecting(ctx, catalog.Go, "", "stdlib")
			if err != nil || len(recs) < 100 {
				b.Fatal(len(recs), err)
			}
		}
	})
}

// BenchmarkAffectingMiss is a package with no records, the common case.
func BenchmarkAffectingMiss(b *testing.B) {
	eachBackendB(b, func(b *testing.B, be backend) {
		ctx := context.Background()
		db := matchDB(b, be)
		b.ResetTimer()
		for b.Loop() {
			if _, err := db.Affecting(ctx, catalog.Go, "", "example.com/clean/module"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
