package sensorv1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// requireProtocEnv, set to 1, turns "protoc not installed" from a skip into
// a failure.
const requireProtocEnv = "STOCKADE_REQUIRE_PROTOC"

// moduleRoot walks up from the test's directory to go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// protocVersion matches the header line naming protoc's version, which says
// nothing about the code.
var protocVersion = regexp.MustCompile(`(?m)^// [\t-] *protoc +v[0-9.]+\n`)

// TestGeneratedCodeIsFresh regenerates the Go code from the .proto files
// into a temporary directory and compares it with the committed code.
func TestGeneratedCodeIsFresh(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		if os.Getenv(requireProtocEnv) == "1" {
			t.Fatalf("protoc not installed (apt-get install protobuf-compiler) and %s=1", requireProtocEnv)
		}
		t.Skipf("protoc not installed (apt-get install protobuf-compiler); set %s=1 to fail instead", requireProtocEnv)
	}
	root := moduleRoot(t)
	out := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(root, "hack", "proto.sh"), out)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/proto.sh: %v\n%s", err, b)
	}
	committed, err := filepath.Glob(filepath.Join(root, "api", "sensor", "v1", "*.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := filepath.Glob(filepath.Join(out, "sensor", "v1", "*.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := func(paths []string) []string {
		var ns []string
		for _, p := range paths {
			ns = append(ns, filepath.Base(p))
		}
		slices.Sort(ns)
		return ns
	}
	if !slices.Equal(names(committed), names(fresh)) || len(fresh) == 0 {
		t.Fatalf("generated files %v, committed %v: run make proto", names(fresh), names(committed))
	}
	for _, p := range fresh {
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, "api", "sensor", "v1", filepath.Base(p)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(protocVersion.ReplaceAll(got, nil), protocVersion.ReplaceAll(want, nil)) {
			t.Errorf("api/sensor/v1/%s is stale: run make proto and commit the result", filepath.Base(p))
		}
	}
}
