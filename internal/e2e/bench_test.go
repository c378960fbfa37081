package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/stockade-dev/stockade/internal/central/clusterapi"
	"github.com/stockade-dev/stockade/internal/central/deploymentapi"
	"github.com/stockade-dev/stockade/internal/k8stest"
)

// BenchmarkInitialSync5000 measures issue 4's initial-sync target end to
// end: 5,000 Deployments created through the API server (once, outside the
// timed part), then, per iteration, a fresh Central and the stockade-sensor
// binary started against the cluster; the time is from starting the Sensor
// process until Central's /v1/deployments lists all 5,000, and the Sensor's
// peak RSS (VmHWM) is read before it is stopped. Targets: under 30 s and
// under 300 MiB.
//
//	STOCKADE_REQUIRE_KUBE=1 go test -run '^$' -bench InitialSync5000 -benchtime 1x ./internal/e2e/
func BenchmarkInitialSync5000(b *testing.B) {
	const n = 5000
	kc := k8stest.Shared(b)
	bins := build(b, "stockade-sensor")
	ns := kc.NewNamespace(b)
	cfg := kc.RestConfig()
	cfg.QPS = -1 // no client-side rate limit for the generator
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	// Without a controller-manager, deleting the namespace leaves its
	// objects behind: delete them first (cleanups run last-in first-out).
	b.Cleanup(func() {
		if err := cs.AppsV1().Deployments(ns).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			b.Errorf("delete the benchmark's deployments: %v", err)
		}
	})
	begin := time.Now()
	if err := k8stest.CreateDeployments(context.Background(), cs, ns, n, 16); err != nil {
		b.Fatal(err)
	}
	b.Logf("created %d Deployments in %s", n, time.Since(begin).Round(time.Millisecond))

	var syncTime time.Duration
	var peak int64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), fmt.Sprintf("central-%d", i))
		c := startCentral(b, dir, freeAddr(b))
		var gen clusterapi.GenerateResponse
		c.must(http.StatusOK, http.MethodPost, "/v1/cluster-init/init-bundles", map[string]string{"name": "bench"}, &gen)
		bundle := filepath.Join(dir, "bundle.yaml")
		if err := os.WriteFile(bundle, gen.KubectlBundle, 0o600); err != nil {
			b.Fatal(err)
		}
		q := url.Values{"cluster": {clusterName}, "namespace": {ns}, "limit": {"1"}}.Encode()
		b.StartTimer()

		start := time.Now()
		s := startSensor(b, filepath.Join(bins, "stockade-sensor"), "--kubeconfig", kc.Kubeconfig(), "--central", c.listen,
			"--init-bundle", bundle, "--cluster-name", clusterName, "--log-format", "json")
		var last int
		waitFor(b, "all deployments in Central", 5*time.Minute, func() bool {
			var list deploymentapi.List
			c.must(http.StatusOK, http.MethodGet, "/v1/deployments?"+q, nil, &list)
			last = list.Total
			return list.Total == n
		})
		syncTime = time.Since(start)

		b.StopTimer()
		// The peak is read once the Sensor has also evaluated and sent
		// every deployment's alerts: nothing buffered, detection still.
		prev := ""
		waitFor(b, "the sensor to settle", 2*time.Minute, func() bool {
			_, body := s.get("/metrics")
			cur := grep(body, "stockade_sensor_detection_alerts ") + grep(body, "stockade_sensor_events_sent_total ")
			settled := cur == prev && strings.Contains(body, "\nstockade_sensor_events_buffered 0\n")
			prev = cur
			if !settled {
				time.Sleep(500 * time.Millisecond)
			}
			return settled
		})
		b.Logf("sensor settled: %s", strings.ReplaceAll(strings.TrimSpace(prev), "\n", ", "))
		peak = s.peakRSS()
		s.stop()
		c.stop()
		b.StartTimer()
		if last != n {
			b.Fatalf("central lists %d deployments, want %d", last, n)
		}
	}
	b.StopTimer()
	b.ReportMetric(syncTime.Seconds(), "sync-s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	b.Logf("5,000 deployments in Central %.2fs after the Sensor started; Sensor peak RSS %d MiB", syncTime.Seconds(), peak>>20)
}
