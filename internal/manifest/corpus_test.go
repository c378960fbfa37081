package manifest

import (
	"os"
	"path/filepath"
	"testing"
)

// corpusWorkloads is the number of workload documents in the shared
// corpus: kube-linter fixtures 204, kubernetes/examples 120,
// microservices-demo 38 (see its COUNTS.json files).
const corpusWorkloads = 362

// corpusDir finds ../shared/data/manifests beside the module root.
func corpusDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
	corpus := filepath.Join(dir, "..", "shared", "data", "manifests")
	if _, err := os.Stat(corpus); err != nil {
		tb.Fatalf("manifest corpus: %v", err)
	}
	return corpus
}
