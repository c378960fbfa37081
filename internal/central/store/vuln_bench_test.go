package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/workload"
)

// Scale of BenchmarkVulnLists: the target is list calls of a page
// of 50 under 100 ms at p95 with 10,000 deployments and a few hundred
// images with thousands of CVEs.
const (
	benchImages      = 300
	benchCVEPool     = 4000
	benchCVEsByImage = 200
	benchDeployments = 10000
)

// seedVulnScale stores benchImages scanned images, each with
// benchCVEsByImage CVEs drawn from a pool, and benchDeployments deployments
// in 5 clusters and 40 namespaces, one in five running a second image (a
// sidecar). Deployments come first, as a Sensor's initial sync would.
func seedVulnScale(b *testing.B, s *Store) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	sevs := []scan.Severity{scan.SeverityLow, scan.SeverityModerate, scan.SeverityModerate, scan.SeverityImportant, scan.SeverityCritical}
	name := benchImageName
	var batch []DeploymentRecord
	for i := range benchDeployments {
		images := []workload.Image{{FullName: name(rng.IntN(benchImages))}}
		if i%5 == 0 {
			images = append(images, workload.Image{FullName: name(rng.IntN(benchImages))})
		}
		batch = append(batch, runningDeployment(b, fmt.Sprintf("dep-%05d", i), fmt.Sprintf("cluster-%d", i%5), fmt.Sprintf("ns-%02d", i%40), images...))
		if len(batch) == 500 {
			if err := s.UpsertDeployments(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for i := range benchImages {
		var vulns []vulnSpec
		for _, v := range rng.Perm(benchCVEPool)[:benchCVEsByImage] {
			fix := ""
			if v%3 == 0 {
				fix = "2.0"
			}
			vulns = append(vulns, vulnSpec{fmt.Sprintf("CVE-2024-%05d", v), fmt.Sprintf("pkg%d", v%500), sevs[v%len(sevs)], float64(v%100) / 10, fix})
		}
		digest := fmt.Sprintf("sha256:%064d", i)
		if err := s.UpsertImage(ctx, scannedImage(b, digest, name(i), vulns...), name(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// benchImageName is the name of the i-th image of seedVulnScale.
func benchImageName(i int) string { return fmt.Sprintf("reg.example.com/team/app%03d:1", i) }

// BenchmarkVulnLists times pages of 50 of the vulnerability lists and
// reports their p95.
func BenchmarkVulnLists(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			dsn, dir := be.fresh(b)
			s := openStore(b, dsn, dir)
			seedVulnScale(b, s)
			yes := true
			for _, c := range []struct {
				name string
				fn   func() error
			}{
				{"CVEsBySeverity", func() error { _, _, err := s.ListCVEs(ctx, CVEQuery{Limit: 50}); return err }},
				{"CVEsByDeployments", func() error {
					_, _, err := s.ListCVEs(ctx, CVEQuery{Sort: "-deployments", Offset: 100, Limit: 50})
					return err
				}},
				{"CVEsInNamespaceFixable", func() error {
					_, _, err := s.ListCVEs(ctx, CVEQuery{Cluster: "cluster-1", Namespace: "ns-01", Fixable: &yes, Limit: 50})
					return err
				}},
				{"CVEsText", func() error { _, _, err := s.ListCVEs(ctx, CVEQuery{Text: "pkg42", Limit: 50}); return err }},
				{"CVEDetail", func() error { _, err := s.GetCVE(ctx, "CVE-2024-00042"); return err }},
				{"DeploymentsByCritical", func() error {
					_, _, err := s.ListDeploymentVulns(ctx, DeploymentVulnQuery{Sort: "-critical", Limit: 50})
					return err
				}},
				{"ImagesCriticalFixable", func() error {
					_, _, err := s.ListImages(ctx, ImageQuery{Severities: []scan.Severity{scan.SeverityCritical}, Fixable: &yes, Sort: "-vulns", Limit: 50})
					return err
				}},
			} {
				b.Run(c.name, func(b *testing.B) { timeCalls(b, nil, c.fn) })
			}
			// The first list after a write: each call is preceded, untimed,
			// by the upsert of one deployment moved to another image.
			n := 0
			write := func() {
				n++
				d := runningDeployment(b, "dep-00007", "cluster-2", "ns-07", workload.Image{FullName: benchImageName(n % benchImages)})
				if err := s.UpsertDeployments(ctx, []DeploymentRecord{d}); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("CVEsByDeploymentsAfterWrite", func(b *testing.B) {
				timeCalls(b, write, func() error {
					_, _, err := s.ListCVEs(ctx, CVEQuery{Sort: "-deployments", Limit: 50})
					return err
				})
			})
			b.Run("DeploymentsByCriticalAfterWrite", func(b *testing.B) {
				timeCalls(b, write, func() error {
					_, _, err := s.ListDeploymentVulns(ctx, DeploymentVulnQuery{Sort: "-critical", Limit: 50})
					return err
				})
			})
		})
	}
}

// BenchmarkVulnWrites times the writes that move the vulnerability index
// in the store BenchmarkVulnLists seeds: one deployment moved to another
// image, and one image rescanned with some CVEs replaced.
func BenchmarkVulnWrites(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			dsn, dir := be.fresh(b)
			s := openStore(b, dsn, dir)
			seedVulnScale(b, s)
			n := 0
			b.Run("UpsertDeployment", func(b *testing.B) {
				timeCalls(b, nil, func() error {
					n++
					d := runningDeployment(b, "dep-00011", "cluster-1", "ns-11", workload.Image{FullName: benchImageName(n % benchImages)},
						workload.Image{FullName: benchImageName((n + 7) % benchImages)})
					return s.UpsertDeployments(ctx, []DeploymentRecord{d})
				})
			})
			// The common update from a Sensor: the deployment changed, its
			// images did not.
			b.Run("UpsertDeploymentSameImages", func(b *testing.B) {
				timeCalls(b, nil, func() error {
					n++
					d := runningDeployment(b, "dep-00013", "cluster-3", "ns-13", workload.Image{FullName: benchImageName(13)})
					d.UpdatedAt = time.Unix(int64(n), 0)
					return s.UpsertDeployments(ctx, []DeploymentRecord{d})
				})
			})
			// A Sensor's resync: 500 deployments in one batch, each moved to
			// another image.
			b.Run("UpsertDeployments500", func(b *testing.B) {
				timeCalls(b, nil, func() error {
					n++
					batch := make([]DeploymentRecord, 0, 500)
					for i := range 500 {
						j := (i * 20) % benchDeployments
						batch = append(batch, runningDeployment(b, fmt.Sprintf("dep-%05d", j), fmt.Sprintf("cluster-%d", j%5), fmt.Sprintf("ns-%02d", j%40),
							workload.Image{FullName: benchImageName((i + n) % benchImages)}))
					}
					return s.UpsertDeployments(ctx, batch)
				})
			})
			b.Run("RescanImage", func(b *testing.B) {
				timeCalls(b, nil, func() error {
					n++
					var vulns []vulnSpec
					for v := range benchCVEsByImage {
						id := (v*17 + n) % benchCVEPool
						vulns = append(vulns, vulnSpec{fmt.Sprintf("CVE-2024-%05d", id), fmt.Sprintf("pkg%d", id%500), scan.SeverityImportant, 7, ""})
					}
					return s.UpsertImage(ctx, scannedImage(b, fmt.Sprintf("sha256:%064d", 5), benchImageName(5), vulns...), benchImageName(5))
				})
			})
		})
	}
}

// timeCalls runs fn b.N times, each after before (untimed) when set, and
// reports the p95 of fn's calls.
func timeCalls(b *testing.B, before func(), fn func() error) {
	b.Helper()
	var took []time.Duration
	for b.Loop() {
		if before != nil {
			b.StopTimer()
			before()
			b.StartTimer()
		}
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
}

// BenchmarkVulnReindex times the rebuild of the whole vulnerability index
// and its counts from the documents of the store BenchmarkVulnLists seeds,
// as the first Open after an upgrade runs it.
func BenchmarkVulnReindex(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			dsn, dir := be.fresh(b)
			s := openStore(b, dsn, dir)
			seedVulnScale(b, s)
			for b.Loop() {
				if err := s.SetSetting(ctx, reindexSetting, "bench"); err != nil {
					b.Fatal(err)
				}
				if err := s.reindexVulns(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
