package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/workload"
)

// seedRiskAlerts adds benchAlerts alerts to the deployments seedVulnScale
// stored, on a random 70% of them, 60% of the alerts open, severities
// mixed, as seedWorkloadBench does for its own deployments.
func seedRiskAlerts(b *testing.B, s *Store) {
	b.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	seedBenchAlerts(b, s, rng, func() DeploymentRecord {
		n := rng.IntN(benchDeployments * 7 / 10)
		id := fmt.Sprintf("dep-%05d", n)
		return DeploymentRecord{ID: id, Name: "dep-" + id, Cluster: fmt.Sprintf("cluster-%d", n%5), Namespace: fmt.Sprintf("ns-%02d", n%40)}
	})
	if s.Backend() == "postgres" {
		if _, err := s.db.ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRiskPage ranks 10,000 deployments running 300 scanned images
// (BenchmarkVulnLists' estate) with 50,000 alerts by risk, as GET
// /v1/deployments?sort=-risk does (ListDeploymentsWithRisk), and reports
// the p95 latency. The "after-" cases store one alert or one deployment
// before each call, so that every call finds the cached ranking stale
// (and, after a deployment, the cached CVE counts of deployments too).
func BenchmarkRiskPage(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			dsn, dir := be.fresh(b)
			s := openStore(b, dsn, dir)
			seedVulnScale(b, s)
			seedRiskAlerts(b, s)
			yes := true
			for _, tc := range []struct {
				name  string
				q     DeploymentQuery
				write string // "deployment" or "alert": stored before each call
			}{
				{"tile", DeploymentQuery{Sort: "-risk", Limit: 10}, ""},
				{"tile-scoped", DeploymentQuery{Sort: "-risk", Cluster: "cluster-1", Namespace: "ns-01", Limit: 10}, ""},
				{"page", DeploymentQuery{Sort: "-risk", Limit: 50}, ""},
				{"page-100-least-risky", DeploymentQuery{Sort: "risk", Offset: 99 * 50, Limit: 50}, ""},
				{"page-in-cluster", DeploymentQuery{Sort: "-risk", Cluster: "cluster-3", Limit: 50}, ""},
				{"page-violated-critical", DeploymentQuery{Sort: "-risk", Violated: &yes, Severity: "CRITICAL_SEVERITY", Limit: 50}, ""},
				{"by-name-with-risk", DeploymentQuery{Limit: 50}, ""},
				{"tile-after-alert", DeploymentQuery{Sort: "-risk", Limit: 10}, "alert"},
				{"tile-after-deployment", DeploymentQuery{Sort: "-risk", Limit: 10}, "deployment"},
			} {
				b.Run(tc.name, func(b *testing.B) {
					var took []time.Duration
					n := 0
					cpu0 := cpuTime(b)
					for b.Loop() {
						if tc.write != "" {
							b.StopTimer()
							n++
							d := runningDeployment(b, fmt.Sprintf("extra-%05d", n), "cluster-0", "ns-00", workload.Image{FullName: "reg.example.com/team/app007:1"})
							var err error
							if tc.write == "deployment" {
								err = s.UpsertDeployments(ctx, []DeploymentRecord{d})
							} else {
								err = s.AddAlerts(ctx, []AlertRecord{violation(fmt.Sprintf("extra-alert-%05d", n), d, "HIGH_SEVERITY", AlertActive)})
							}
							if err != nil {
								b.Fatal(err)
							}
							b.StartTimer()
						}
						t0 := time.Now()
						page, _, _, err := s.ListDeploymentsWithRisk(ctx, tc.q)
						if err != nil {
							b.Fatal(err)
						}
						took = append(took, time.Since(t0))
						if len(page) == 0 {
							b.Fatal("empty page")
						}
					}
					cpu := cpuTime(b) - cpu0
					slices.Sort(took)
					b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(took)), "cpu-ms/op")
					b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
				})
			}
		})
	}
}
