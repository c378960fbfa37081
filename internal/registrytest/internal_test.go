package registrytest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindBinary(t *testing.T) {
	empty, withBin := t.TempDir(), t.TempDir()
	if _, err := findBinary(empty, filepath.Join(empty, "none")); err == nil || err.Error() != NotInstalled {
		t.Fatalf("no binary: %v", err)
	}
	// A file that is not executable does not count.
	p := filepath.Join(withBin, binaryName)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := findBinary(withBin, ""); err == nil {
		t.Fatal("non-executable file accepted")
	}
	if err := os.Chmod(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if got, err := findBinary(empty+string(filepath.ListSeparator)+withBin, ""); err != nil || got != p {
		t.Fatalf("on PATH: %q %v", got, err)
	}
	if got, err := findBinary("", withBin); err != nil || got != p {
		t.Fatalf("fallback: %q %v", got, err)
	}
}

// recorder notes whether a test was skipped or failed, and with what.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skip(args ...any)             { r.skipped = args[0].(string) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = f }

func TestNotInstalledSkipsOrFails(t *testing.T) {
	t.Setenv(RequireEnv, "")
	r := &recorder{TB: t}
	notInstalled(r)
	if r.skipped != "docker-registry not installed: apt-get install -y docker-registry" || r.failed != "" {
		t.Errorf("without %s: skipped %q failed %q", RequireEnv, r.skipped, r.failed)
	}
	t.Setenv(RequireEnv, "1")
	r = &recorder{TB: t}
	notInstalled(r)
	if r.failed == "" {
		t.Errorf("with %s=1 the test was not failed (skipped %q)", RequireEnv, r.skipped)
	}
}
