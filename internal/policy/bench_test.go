package policy_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/shareddata"

	"github.com/stockade-dev/stockade/internal/manifest"
	"github.com/stockade-dev/stockade/internal/policy"
)

// BenchmarkEvaluateBuiltin measures one deployment evaluation against every
// enabled built-in policy: the target is ≥ 20,000 evaluations per
// second on one core (run with -cpu 1).
func BenchmarkEvaluateBuiltin(b *testing.B) {
	ps, err := policy.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		b.Fatal(err)
	}
	d := web()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = set.EvaluateDeployment(d, now)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
	b.ReportMetric(float64(len(set.DeployPolicies())), "policies")
}

// BenchmarkEvaluateACS evaluates the 89 StackRox default policies (those a
// deployment alone can answer) against the same deployment.
func BenchmarkEvaluateACS(b *testing.B) {
	ps := loadACS(b)
	set, err := policy.NewSet(ps)
	if err != nil {
		b.Fatal(err)
	}
	d := web()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = set.EvaluateDeployment(d, now)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
	b.ReportMetric(float64(len(set.DeployPolicies())), "policies")
}

// BenchmarkEvaluateCorpus evaluates the built-in policies against every
// workload of the shared manifest corpus (362 real deployments, hardened and
// not); one op is one deployment evaluation.
func BenchmarkEvaluateCorpus(b *testing.B) {
	ps, err := policy.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		b.Fatal(err)
	}
	res, err := manifest.Load(context.Background(), []string{filepath.Join(shareddata.Dir(b), "manifests")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ds := res.Deployments
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = set.EvaluateDeployment(ds[i%len(ds)], now)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
}

func BenchmarkBuiltin(b *testing.B) {
	for b.Loop() {
		if _, err := policy.Builtin(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuiltinSet(b *testing.B) {
	for b.Loop() {
		ps, err := policy.Builtin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := policy.NewSet(ps); err != nil {
			b.Fatal(err)
		}
	}
}
