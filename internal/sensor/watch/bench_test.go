package watch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/stockade-dev/stockade/internal/k8stest"
)

// The child process of BenchmarkInitialSync5000 is this test binary running
// TestSyncChild with these variables set.
const (
	childKubeconfigEnv = "STOCKADE_WATCH_BENCH_KUBECONFIG"
	childNamespaceEnv  = "STOCKADE_WATCH_BENCH_NAMESPACE"
	childWantEnv       = "STOCKADE_WATCH_BENCH_WANT"
	childResultPrefix  = "WATCH-BENCH-RESULT "
	// childHeapProfileEnv, set on the benchmark, makes the child write a
	// heap profile after sync to that file.
	childHeapProfileEnv = "STOCKADE_WATCH_BENCH_HEAPPROFILE"
)

// syncResult is what the child reports.
type syncResult struct {
	SyncSeconds float64 // New → Synced, inside the child
	Emitted     int64   // events for the benchmark's namespace at Synced
	PeakRSS     int64   // VmHWM, bytes
	RSS         int64   // VmRSS after sync, bytes
	HeapInuse   uint64  // after sync and a GC, bytes
}

// BenchmarkInitialSync5000 measures Sensor's watch-and-normalize part of the
// initial sync: 5,000 Deployments created through the API server (in
// parallel, once, outside the timed part), then, per iteration, a fresh
// process that starts a Watcher on the whole cluster and waits until Synced
// with all 5,000 emitted. The watcher runs in a child process so that its
// peak RSS is its own.
//
//	STOCKADE_REQUIRE_KUBE=1 go test -run '^$' -bench InitialSync5000 -benchtime 1x ./internal/sensor/watch/
func BenchmarkInitialSync5000(b *testing.B) {
	const n = 5000
	c := k8stest.Shared(b)
	ctx := context.Background()
	ns := c.NewNamespace(b)
	cfg := c.RestConfig()
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
	if err := k8stest.CreateDeployments(ctx, cs, ns, n, 16); err != nil {
		b.Fatal(err)
	}
	b.Logf("created %d Deployments in %s", n, time.Since(begin).Round(time.Millisecond))

	var last syncResult
	var wall time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		last = runSyncChild(b, c.Kubeconfig(), ns, n)
		wall = time.Since(start)
	}
	b.StopTimer()
	if last.Emitted != n {
		b.Fatalf("child emitted %d deployments of %s at sync, want %d", last.Emitted, ns, n)
	}
	b.ReportMetric(last.SyncSeconds, "sync-s")
	b.ReportMetric(wall.Seconds(), "process-s")
	b.ReportMetric(float64(last.PeakRSS)/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(float64(last.HeapInuse)/(1<<20), "heap-MiB")
	b.Logf("sync %.2fs in the watcher, %.2fs for the whole child process; peak RSS %d MiB, RSS after sync %d MiB, heap in use %d MiB",
		last.SyncSeconds, wall.Seconds(), last.PeakRSS>>20, last.RSS>>20, last.HeapInuse>>20)
}

// runSyncChild runs TestSyncChild in a new process of this test binary and
// returns what it measured.
func runSyncChild(b *testing.B, kubeconfig, ns string, want int) syncResult {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSyncChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childKubeconfigEnv+"="+kubeconfig, childNamespaceEnv+"="+ns, childWantEnv+"="+strconv.Itoa(want))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("watcher process: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, childResultPrefix); ok {
			var res syncResult
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				b.Fatalf("watcher process result %q: %v", rest, err)
			}
			return res
		}
	}
	b.Fatalf("watcher process printed no result:\n%s", out)
	return syncResult{}
}

// TestSyncChild is the watcher process of BenchmarkInitialSync5000; it is
// skipped unless the benchmark started it.
func TestSyncChild(t *testing.T) {
	kubeconfig := os.Getenv(childKubeconfigEnv)
	if kubeconfig == "" {
		t.Skip("run by BenchmarkInitialSync5000 only")
	}
	ns := os.Getenv(childNamespaceEnv)
	want, err := strconv.ParseInt(os.Getenv(childWantEnv), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", childWantEnv, err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var emitted atomic.Int64
	sink := SinkFunc(func(ev Event) {
		if ev.Deployment.Namespace == ns && ev.Action == ActionCreate {
			emitted.Add(1)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	w, err := New(cfg, Config{ClusterName: "bench", Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case <-w.Synced():
	case err := <-done:
		t.Fatalf("watcher stopped: %v", err)
	case <-time.After(5 * time.Minute):
		t.Fatal("watcher did not sync in 5 minutes")
	}
	res := syncResult{SyncSeconds: time.Since(start).Seconds(), Emitted: emitted.Load()}
	if res.Emitted != want {
		t.Errorf("emitted %d, want %d", res.Emitted, want)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapInuse = ms.HeapInuse
	if path := os.Getenv(childHeapProfileEnv); path != "" {
		if err := writeHeapProfile(path); err != nil {
			t.Error(err)
		}
	}
	if res.PeakRSS, res.RSS, err = procMemory(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("watcher: %v", err)
	}
	line, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(childResultPrefix + string(line))
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("heap profile %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("heap profile %s: %w", path, err)
	}
	return nil
}

// procMemory reads the process's peak and current resident set size.
func procMemory() (peak, current int64, err error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, fmt.Errorf("read /proc/self/status: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok || (key != "VmHWM" && key != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/self/status %s: %w", key, err)
		}
		if key == "VmHWM" {
			peak = kb << 10
		} else {
			current = kb << 10
		}
	}
	if peak == 0 {
		return 0, 0, fmt.Errorf("/proc/self/status has no VmHWM")
	}
	return peak, current, nil
}
