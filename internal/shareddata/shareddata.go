// Package shareddata locates the project's shared test corpus: real
// vulnerability records, package databases, manifests and ACS policies kept
// in ../shared/data beside the module root (see its README), read-only.
// Developers and CI both lay the repository out that way.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of ../shared/data beside the module root,
// found by walking up from the test's working directory to go.mod. It fails
// the test when the corpus is not there.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("shared data: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			data := filepath.Join(dir, "..", "shared", "data")
			if _, err := os.Stat(data); err != nil {
				tb.Fatalf("shared data: %v (the corpus lives in ../shared/data beside the repository)", err)
			}
			return data
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("shared data: go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Path joins elems to Dir.
func Path(tb testing.TB, elems ...string) string {
	tb.Helper()
	return filepath.Join(append([]string{Dir(tb)}, elems...)...)
}
