// Package k8stest starts a real Kubernetes API server for tests: Debian's
// etcd and a kube-apiserver built from the k8s.io/kubernetes module pinned in
// hack/kube/go.mod (make kube-apiserver caches it outside the tree), on free
// loopback ports in a temporary directory.
//
// The server runs the way a cluster's does, minus the nodes: TLS with a CA
// made for it, RBAC authorization, the admission chain with webhooks, service
// account tokens signed by a generated key. Clients authenticate with bearer
// tokens (an admin in system:masters from --token-auth-file; users made by
// CreateUser through a token webhook the test process serves) or with client
// certificates signed by a generated client CA. There is no
// kube-controller-manager: a Deployment is stored and admitted, but gets no
// ReplicaSet or Pods.
//
// Debian bookworm's etcd is 3.4.23, older than the 3.5/3.6 Kubernetes 1.36
// is released with. kube-apiserver 1.36 runs on it unchanged: it only finds
// that 3.4.23 lacks watch progress requests and so serves consistent lists
// from etcd rather than from its watch cache, which changes speed, not
// results. No newer etcd is built.
//
// One cluster serves a whole test binary: it starts on the first Shared call
// and stops when the TestMain built around Main returns. etcd and
// kube-apiserver are children of the test binary, killed by the kernel if it
// dies, so a crashed or timed-out run leaves no server behind; the next run
// removes its directory. Their logs stay in that private directory and are
// printed when a test fails.
//
// Without etcd or a built kube-apiserver, Shared skips the test with the
// command that fixes it, or fails it when STOCKADE_REQUIRE_KUBE=1 (as make
// test and CI set it).
//
// Usage:
//
//	func TestMain(m *testing.M) { k8stest.Main(m) }
//
//	func TestX(t *testing.T) {
//		c := k8stest.Shared(t)
//		cs := kubernetes.NewForConfigOrDie(c.RestConfig())
//		ns := c.NewNamespace(t)
//		…
//	}
package k8stest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// RequireEnv, set to 1, turns "not installed" or "not built" from a skip into
// a failure.
const RequireEnv = "STOCKADE_REQUIRE_KUBE"

// CacheEnv names the directory hack/kube/build.sh builds into (default
// $HOME/.cache/stockade/kube); the binaries are in its <version>/ directory.
const CacheEnv = "STOCKADE_KUBE_CACHE"

// The fixes named when a binary is missing.
const (
	FixEtcd      = "apt-get install -y etcd-server"
	FixAPIServer = "make kube-apiserver"
)

// ErrNotInstalled reports that etcd or kube-apiserver is missing or out of
// date; the error's text names the command that fixes it.
var ErrNotInstalled = errors.New("kubernetes test binaries missing")

// shared is the cluster of this test binary. It is the package's one piece of
// mutable state: Shared(t) has nowhere else to find the cluster Main owns.
// Main sets main; the first Shared starts the cluster.
var shared struct {
	mu      sync.Mutex
	main    bool
	started bool
	c       *Cluster
	err     error
}

// Main runs the tests of m and stops the shared cluster, if one was started,
// before exiting; when a test failed, it first prints the tails of the
// etcd and kube-apiserver logs. Call it from TestMain.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.main = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	c := shared.c
	shared.c, shared.started = nil, false
	shared.mu.Unlock()
	if c != nil {
		if code != 0 {
			fmt.Fprint(os.Stderr, c.LogTails())
		}
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "k8stest: %v\n", err)
		}
	}
	os.Exit(code)
}

// startTimeout bounds the shared cluster's start: etcd, then kube-apiserver
// until /readyz answers ok (a few seconds; more on a loaded machine).
const startTimeout = 3 * time.Minute

// Shared returns the test binary's cluster, starting it on first use, or ends
// the test: skipped when etcd or kube-apiserver is missing (failed under
// STOCKADE_REQUIRE_KUBE=1), failed when the cluster will not start.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.main {
		t.Fatal("k8stest: the test binary's TestMain must call k8stest.Main(m), which stops the cluster at exit")
	}
	if !shared.started {
		shared.started = true
		bins, err := FindBinaries()
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
			shared.c, err = Start(ctx, bins, "")
			cancel()
		}
		shared.err = err
	}
	switch {
	case errors.Is(shared.err, ErrNotInstalled):
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%v (%s=1)", shared.err, RequireEnv)
		}
		t.Skip(shared.err.Error())
	case shared.err != nil:
		t.Fatalf("k8stest: %v", shared.err)
	}
	return shared.c
}
